//! `pilot audit`.

use super::table;
use host_runner::storage::executions::Execution;
use host_runner::storage::records::AuditRow;

/// How one execution ended, above its events.
pub fn execution(run: &Execution) {
    println!(
        "execution {} ({}): {} on replica {}, started {}, ended {}",
        run.id,
        run.workflow_id,
        run.state,
        run.replica,
        run.started_at,
        run.ended_at.as_deref().unwrap_or("-")
    );
    if let Some(error) = &run.error {
        println!("error: {error}");
    }
    println!();
}

pub fn events(rows: &[AuditRow]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.created_at.clone(),
                r.event_type.clone(),
                r.severity.clone(),
                r.execution_id.chars().take(8).collect(),
                r.step_id.clone().unwrap_or_else(|| "-".into()),
                r.source.clone(),
                r.metadata.to_string().chars().take(100).collect(),
            ]
        })
        .collect();
    table(&["time", "event", "severity", "execution", "step", "source", "metadata"], &rows);
}
