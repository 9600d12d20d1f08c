//! `pilot runs`.

use super::table;
use host_runner::storage::executions::Execution;
use host_runner::storage::records::UsageRow;

pub fn list(runs: &[Execution]) {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.workflow_id.clone(),
                r.agent_id.clone(),
                r.state.clone(),
                r.started_at.clone(),
                r.ended_at.clone().unwrap_or_else(|| "-".into()),
                r.error.as_deref().unwrap_or("").chars().take(60).collect(),
            ]
        })
        .collect();
    table(&["execution", "workflow", "agent", "state", "started", "ended", "error"], &rows);
}

/// A run's `token_usage` rows: one per step that ran, plus the orchestrator's own calls.
pub fn usage(rows: &[UsageRow]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|u| {
            let info = |key: &str| u.model_info[key].as_str().unwrap_or("-").to_string();
            vec![
                u.step_id.clone().unwrap_or_else(|| "(orchestrator)".into()),
                info("path"),
                info("intent"),
                info("handler"),
                info("model"),
                u.tokens_used.to_string(),
                u.tokens_saved.to_string(),
                format!("${:.5}", u.cost),
            ]
        })
        .collect();
    table(&["step", "path", "intent", "handler", "model", "tokens", "saved", "cost"], &rows);
}
