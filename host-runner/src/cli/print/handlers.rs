//! `pilot handlers list` and `pilot handlers test`.

use super::table;
use host_runner::components::registry::Snapshot;
use host_runner::harness::Outcome;
use std::time::SystemTime;

pub fn list(snapshot: &Snapshot, dir: &std::path::Path) {
    if snapshot.handlers().is_empty() {
        println!("no handlers in {}", dir.display());
        return;
    }
    let rows: Vec<Vec<String>> = snapshot
        .handlers()
        .iter()
        .map(|h| {
            vec![
                h.info.name.clone(),
                h.info.version.clone(),
                h.info.intents.join(","),
                h.path.display().to_string(),
                age(h.loaded_at),
                "active".into(),
                h.code.as_str().into(),
            ]
        })
        .collect();
    table(&["name", "version", "intents", "file", "loaded", "state", "code"], &rows);
}

/// How long ago, for humans.
fn age(t: SystemTime) -> String {
    let secs = t.elapsed().map_or(0, |d| d.as_secs());
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        _ => format!("{}h ago", secs / 3600),
    }
}

/// What one handler did with one request: its model calls, imports, audit events and answer.
pub fn test_outcome(outcome: &Outcome) {
    println!("handler {} as `{}`", outcome.handler, outcome.intent);
    for (n, call) in outcome.llm_calls.iter().enumerate() {
        let answered = call.answered_by.map_or("unanswered".to_string(), |i| format!("answer #{}", i + 1));
        println!(
            "  llm call {}: {} ({} in / {} out tokens, max {}), {answered}",
            n + 1,
            call.model,
            call.input_tokens,
            call.output_tokens,
            call.max_tokens
        );
    }
    for call in &outcome.imports {
        println!("  {}", serde_json::to_string(call).unwrap_or_default());
    }
    for event in &outcome.audit {
        println!("  audit {} ({}) from {}", event.event_type, event.severity, event.source);
    }
    println!("tokens: {} in / {} out", outcome.tokens[0], outcome.tokens[1]);
    match &outcome.result {
        Ok(output) => println!("{}", serde_json::to_string_pretty(output).unwrap_or_else(|_| output.to_string())),
        Err(error) => {
            let whose = if outcome.handler_error { "handler error" } else { "sandbox error" };
            println!("{whose}: {error}");
        }
    }
}
