//! `pilot run`: the steps' table, the run's totals and the orchestrator's metrics.
//!
//! One vocabulary for steps: the four names of a step's path (`orchestrated`,
//! `fallback`, `skipped`, `failed`), as in `--json`. The orchestrator counts
//! otherwise: of the steps it tried, its handlers ran some (path
//! `orchestrated`) and it declined the rest, which then ran the normal way
//! (path `fallback`) or failed there. Its line says which is which.

use super::table;
use host_runner::RunReport;
use host_runner::runner::report::{OrchestrationMetrics, Path, RunMetrics};

pub fn report(report: &RunReport) {
    println!("execution {}  workflow {}  provider {}\n", report.execution_id, report.workflow_id, report.provider);
    let rows: Vec<Vec<String>> = report
        .steps
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                s.intent.clone().unwrap_or_else(|| "-".into()),
                s.handler.clone().unwrap_or_else(|| "-".into()),
                if s.model.is_empty() { "-".into() } else { s.model.clone() },
                s.tokens.total.to_string(),
                s.tokens_saved.to_string(),
                format!("${:.5}", s.cost_usd),
                format!("{:.1}", s.time_ms),
                path_name(s.path).into(),
            ]
        })
        .collect();
    table(&["step", "intent", "handler", "model", "tokens", "saved", "cost", "ms", "path"], &rows);
    for s in report.steps.iter().filter(|s| s.fallback_reason.is_some()) {
        println!("  {} fell back: {}", s.id, s.fallback_reason.as_deref().unwrap_or_default());
    }
    let m = &report.metrics;
    println!(
        "\ntotal: {} tokens, {} saved, ${:.5}, {}, {:.1} ms",
        m.total_tokens,
        m.tokens_saved,
        m.total_cost_usd,
        steps_by_path(m),
        m.total_time_ms
    );
    if m.failed_attempts.calls > 0 {
        println!(
            "  of which handler attempts that errored (then retried or declined): {} model calls, {} tokens, ${:.5} \
             (in token_usage as path failed_attempt)",
            m.failed_attempts.calls, m.failed_attempts.tokens, m.failed_attempts.cost_usd
        );
    }
    match &report.orchestration {
        Some(o) => orchestration(o),
        None => match &report.orchestrator_unavailable {
            Some(reason) => println!("orchestration: UNAVAILABLE ({reason}); every step ran the normal way (fallback)"),
            None => println!(
                "orchestration: off (orchestration_enabled is false); every step ran the normal way (fallback)"
            ),
        },
    }
}

/// The orchestrator's own metrics, from `complete()`: its steps, time, cost and quality.
fn orchestration(o: &OrchestrationMetrics) {
    println!(
        "orchestration: {} tokens used, {} saved, ${:.5}, budget utilization {:.1}%, {}",
        o.total_tokens_used,
        o.total_tokens_saved,
        o.total_cost,
        o.budget_utilization * 100.0,
        steps_tried(o)
    );
    println!(
        "  performance: overhead {:.2} ms (classification {:.2}, compression {:.2}, routing {:.2})",
        o.orchestration_overhead_us as f64 / 1e3,
        o.classification_time_us as f64 / 1e3,
        o.compression_time_us as f64 / 1e3,
        o.routing_time_us as f64 / 1e3
    );
    println!(
        "  cost: ${:.5} vs ${:.5} baseline (full prompts on the powerful tier), {:.1}% saved; orchestrator's own calls {} (${:.5})",
        o.total_cost,
        o.baseline_cost,
        o.cost_savings() * 100.0,
        o.overhead.calls,
        o.overhead.cost_usd
    );
    println!(
        "  quality: {} compressions (mean quality {:.2}, min {:.2}), {} refused for quality, handler success {:.0}%, {} retries",
        o.compressions_applied,
        o.avg_compression_quality,
        o.min_compression_quality,
        o.quality_degraded,
        o.success_rate() * 100.0,
        o.retries
    );
}

/// A path's name, the word `--json` uses for it.
fn path_name(path: Path) -> &'static str {
    match path {
        Path::Orchestrated => "orchestrated",
        Path::Fallback => "fallback",
        Path::Skipped => "skipped",
        Path::Failed => "failed",
    }
}

/// The run's steps counted by path: `1 orchestrated / 0 fallback / 0 skipped / 1 failed`.
fn steps_by_path(m: &RunMetrics) -> String {
    let counts = [
        (m.steps_orchestrated, Path::Orchestrated),
        (m.steps_fallback, Path::Fallback),
        (m.steps_skipped, Path::Skipped),
        (m.steps_failed, Path::Failed),
    ];
    counts.map(|(n, path)| format!("{n} {}", path_name(path))).join(" / ")
}

/// The orchestrator's step counts in the paths' words: `steps_executed` are
/// the `orchestrated` steps, `steps_fell_back` those it declined, each of
/// which then took the `fallback` path or `failed`.
fn steps_tried(o: &OrchestrationMetrics) -> String {
    format!(
        "handlers ran {} ({}), declined {} (then {} or {})",
        o.steps_executed,
        path_name(Path::Orchestrated),
        o.steps_fell_back,
        path_name(Path::Fallback),
        path_name(Path::Failed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_names_are_the_json_values() {
        for path in [Path::Orchestrated, Path::Fallback, Path::Skipped, Path::Failed] {
            assert_eq!(serde_json::to_value(path).unwrap(), path_name(path));
        }
    }

    /// Seen against a LiteLLM proxy: one step ran through its handler, the
    /// other was declined and then failed on the normal path.
    #[test]
    fn a_declined_step_that_then_failed_is_not_called_a_fallback() {
        let o = OrchestrationMetrics { steps_executed: 1, steps_fell_back: 1, ..Default::default() };
        assert_eq!(steps_tried(&o), "handlers ran 1 (orchestrated), declined 1 (then fallback or failed)");
    }
}
