//! `pilot agents list`.

use super::table;
use host_runner::storage::agents::AgentRow;

pub fn scores(rows: &[(String, AgentRow)]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(id, r)| {
            vec![
                id.clone(),
                format!("{:.2}", r.scores.creation),
                format!("{:.2}", r.scores.execution),
                format!("{:.2}", r.scores.combined),
                r.runs.to_string(),
            ]
        })
        .collect();
    table(&["agent", "creation", "execution", "combined", "routed runs"], &rows);
}
