//! `pilot run`: the steps' table, the run's totals and the orchestrator's metrics.

use super::table;
use host_runner::RunReport;
use host_runner::runner::report::Path;

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
                match s.path {
                    Path::Orchestrated => "orchestrated".into(),
                    Path::Fallback => "fallback".into(),
                    Path::Skipped => "skipped".into(),
                    Path::Failed => "failed".into(),
                },
            ]
        })
        .collect();
    table(&["step", "intent", "handler", "model", "tokens", "saved", "cost", "ms", "path"], &rows);
    for s in report.steps.iter().filter(|s| s.fallback_reason.is_some()) {
        println!("  {} fell back: {}", s.id, s.fallback_reason.as_deref().unwrap_or_default());
    }
    let m = &report.metrics;
    println!(
        "\ntotal: {} tokens, {} saved, ${:.5}, {} orchestrated / {} fallback / {} skipped / {} failed, {:.1} ms",
        m.total_tokens,
        m.tokens_saved,
        m.total_cost_usd,
        m.steps_orchestrated,
        m.steps_fallback,
        m.steps_skipped,
        m.steps_failed,
        m.total_time_ms
    );
    if m.failed_attempts.calls > 0 {
        println!(
            "  of which failed handler attempts: {} model calls, {} tokens, ${:.5} (in token_usage as path failed_attempt)",
            m.failed_attempts.calls, m.failed_attempts.tokens, m.failed_attempts.cost_usd
        );
    }
    match &report.orchestration {
        Some(o) => {
            println!(
                "orchestration: {} tokens used, {} saved, ${:.5}, budget utilization {:.1}%, {} executed / {} fell back",
                o.total_tokens_used,
                o.total_tokens_saved,
                o.total_cost,
                o.budget_utilization * 100.0,
                o.steps_executed,
                o.steps_fell_back
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
                "  quality: {} compressions (mean quality {:.2}, min {:.2}), {} refused for quality, success {:.0}%, {} retries",
                o.compressions_applied,
                o.avg_compression_quality,
                o.min_compression_quality,
                o.quality_degraded,
                o.success_rate() * 100.0,
                o.retries
            );
        }
        None => match &report.orchestrator_unavailable {
            Some(reason) => println!("orchestration: UNAVAILABLE ({reason}); every step ran the normal way"),
            None => println!("orchestration: off (orchestration_enabled is false); every step ran the normal way"),
        },
    }
}
