//! `pilot bench`.

use super::table;
use crate::cli::bench::{BenchResult, ServeResult};

/// Steps one at a time, orchestration off and all flags on.
pub fn steps(results: &[BenchResult]) {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.mode.to_string(),
                r.runs.to_string(),
                r.steps.to_string(),
                format!("{:.3}", r.overhead_p50_ms),
                format!("{:.3}", r.overhead_p99_ms),
                format!("{:.3}", r.step_p50_ms),
                format!("{:.2}", r.run_p50_ms),
                format!("{:.0}", r.steps_per_second),
            ]
        })
        .collect();
    table(
        &["mode", "runs", "steps", "overhead p50 ms", "overhead p99 ms", "step p50 ms", "run p50 ms", "steps/s"],
        &rows,
    );
    if let [off, on] = results {
        println!(
            "all flags on / off, same run: overhead p50 {:.2}x, p99 {:.2}x, steps/s {:.2}x",
            on.overhead_p50_ms / off.overhead_p50_ms,
            on.overhead_p99_ms / off.overhead_p99_ms,
            on.steps_per_second / off.steps_per_second
        );
    }
}

/// The serve path, orchestration off and all flags on.
pub fn serve_path(results: &[ServeResult]) {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.mode.to_string(),
                r.concurrency.to_string(),
                r.workflows.to_string(),
                r.steps.to_string(),
                format!("{:.0}", r.steps_per_second),
                format!("{:.1}", r.workflow_p50_ms),
                format!("{:.1}", r.workflow_p99_ms),
                format!("{}/{}", r.usage_rows, r.steps),
            ]
        })
        .collect();
    table(
        &["mode", "clients", "workflows", "steps", "steps/s", "workflow p50 ms", "workflow p99 ms", "usage rows"],
        &rows,
    );
    if let [off, on] = results {
        println!("all flags on / off, same run: steps/s {:.2}x", on.steps_per_second / off.steps_per_second);
    }
}
