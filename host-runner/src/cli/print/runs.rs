//! `pilot runs`.

use super::table;
use host_runner::storage::executions::Execution;
use host_runner::storage::records::UsageRow;
use host_runner::storage::runs::{Cancel, Checkpoint, Requeue};

pub fn list(runs: &[Execution]) {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.workflow_id.clone(),
                r.agent_id.clone(),
                r.state.clone(),
                r.cohort_label().unwrap_or_else(|| "-".into()),
                if r.durable { format!("{}", r.leases) } else { "sync".into() },
                r.rerun_steps.to_string(),
                r.started_at.clone(),
                r.ended_at.clone().unwrap_or_else(|| "-".into()),
                r.error.as_deref().unwrap_or("").chars().take(60).collect(),
            ]
        })
        .collect();
    table(
        &[
            "execution",
            "workflow",
            "agent",
            "state",
            "orchestrated (by)",
            "leases",
            "re-run",
            "started",
            "ended",
            "error",
        ],
        &rows,
    );
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

/// A durable run's checkpoints: each step's state and how often it was started.
pub fn checkpoints(rows: &[Checkpoint]) {
    if rows.is_empty() {
        return;
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|c| {
            let path = c.report.as_ref().and_then(|r| r["path"].as_str()).unwrap_or("-");
            vec![c.step_id.clone(), c.state.as_str().into(), path.into(), c.starts.to_string(), c.updated_at.clone()]
        })
        .collect();
    table(&["step", "checkpoint", "path", "starts", "at"], &rows);
}

pub fn requeued(id: &str, outcome: &Requeue) {
    match outcome {
        Requeue::Queued => println!("{id}: queued again; a serving replica resumes it from its checkpoints"),
        Requeue::NotResumable(state) => {
            eprintln!("{id} is {state}: only failed, cancelled or orphaned durable runs are resumed")
        }
        Requeue::NotDurable => {
            eprintln!("{id} was submitted synchronously: its workflow was not kept; submit it again")
        }
        Requeue::NotFound => eprintln!("no execution `{id}`"),
    }
}

pub fn cancelled(id: &str, outcome: &Cancel) {
    match outcome {
        Cancel::Cancelled => println!("{id}: cancelled (it had not started)"),
        Cancel::Requested => println!("{id}: cancel requested; it stops at its next step boundary"),
        Cancel::AlreadyEnded(state) => eprintln!("{id} already ended: {state}"),
        Cancel::NotFound => eprintln!("no execution `{id}`"),
    }
}
