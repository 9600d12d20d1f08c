//! Human-readable output of the CLI.

use host_runner::components::registry::Snapshot;
use host_runner::runner::report::Path;
use host_runner::storage::executions::Execution;
use host_runner::storage::records::AuditRow;
use host_runner::storage::settings::Setting;
use host_runner::{Host, RunReport};

/// How long ago, for humans.
fn age(t: std::time::SystemTime) -> String {
    let secs = t.elapsed().map_or(0, |d| d.as_secs());
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        _ => format!("{}h ago", secs / 3600),
    }
}

pub fn provider_note(host: &Host) {
    match host.provider_name() {
        "simulated" => eprintln!(
            "provider: simulated (offline, deterministic test double; not a model. Set ANTHROPIC_API_KEY to call \
             Anthropic, or OPENAI_API_KEY / OPENAI_BASE_URL for an OpenAI-compatible server)"
        ),
        name => eprintln!("provider: {name}"),
    }
}

/// Prints rows as aligned columns under a header.
fn table(header: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    line(widths.iter().map(|w| "-".repeat(*w)).collect());
    rows.iter().for_each(|r| line(r.clone()));
}

pub fn run_report(report: &RunReport) {
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

pub fn agents(rows: &[(String, host_runner::storage::agents::AgentRow)]) {
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

pub fn settings(rows: &[Setting]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|s| vec![s.key.clone(), s.value.clone(), s.value_type.clone(), s.description.clone()])
        .collect();
    table(&["key", "value", "type", "description"], &rows);
}

pub fn handlers(snapshot: &Snapshot, dir: &std::path::Path) {
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

pub fn audit(rows: &[AuditRow]) {
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

pub fn eval_report(r: &super::eval::EvalReport) {
    println!(
        "split {}: {} workflows, {} steps ({} labeled), provider {}",
        r.split, r.workflows, r.steps, r.labeled_steps, r.provider
    );
    println!("intent accuracy     {:6.1}%  ({} misclassified)", r.intent_accuracy, r.misclassified.len());
    for (method, [correct, total]) in &r.accuracy_by_method {
        println!("  by {method:<9}       {correct}/{total}");
    }
    println!("  free tiers alone    {:.1}%  (declared intents and params withheld, no model)", r.free_tier_accuracy);
    println!(
        "tokens              baseline {} -> orchestrated {}  (savings {:.1}%)",
        r.baseline.tokens, r.orchestrated.tokens, r.token_savings_pct
    );
    println!(
        "cost                baseline ${:.4} -> orchestrated ${:.4}  (reduction {:.1}% vs. all-{})",
        r.baseline.cost_usd,
        r.orchestrated.cost_usd,
        r.cost_reduction_pct,
        super::eval::BASELINE_MODEL
    );
    println!(
        "steps               {} orchestrated, {} fallback ({:.1}%), {} skipped, {} failed",
        r.orchestrated.steps_orchestrated,
        r.orchestrated.steps_fallback,
        r.fallback_pct,
        r.orchestrated.steps_skipped,
        r.orchestrated.steps_failed
    );
    if let Some(f) = &r.fidelity {
        let pct = f.pct().map_or_else(|| "n/a".to_string(), |p| format!("{p:.1}%"));
        println!(
            "fidelity            {}/{} data facts reached the model ({pct}) over {} orchestrated model-calling steps",
            f.present, f.facts, f.steps_checked
        );
        for missing in &f.missing {
            println!("  missing: {missing}");
        }
    }
    if let Some(f) = &r.baseline_fidelity {
        let pct = f.pct().map_or_else(|| "n/a".to_string(), |p| format!("{p:.1}%"));
        println!("  baseline (normal path) {}/{} ({pct}) over {} steps", f.present, f.facts, f.steps_checked);
    }
    println!("compression         {} tokens removed from what handlers sent", r.orchestrated.tokens_saved);
    if let Some(k) = &r.key_facts {
        println!(
            "key facts           {}/{} kept in what the models read ({:.1}%) over {} orchestrated model-calling steps",
            k.retained,
            k.facts,
            k.retention_pct(),
            k.steps_checked
        );
        for lost in &k.lost {
            println!("  lost: {lost}");
        }
    }
    println!(
        "routing             {} of {} model-calling steps below their labeled tier ({:.1}% under-routed), {} above it",
        r.under_routed, r.routed_steps, r.under_routing_pct, r.over_routed
    );
    for step in &r.under_routed_steps {
        println!("  under-routed: {step}");
    }
    println!("budget events       {}", r.budget_events);
    if !r.plugin_requests.is_empty() {
        let answered: Vec<String> = r.plugin_requests.iter().map(|(p, n)| format!("{p} {n}")).collect();
        println!("plugin sink         {} (loopback test double answering send/enrich)", answered.join(", "));
    }
    if !r.fallback_reasons.is_empty() {
        println!("\nfallbacks (orchestrated pass), by intent and reason:");
        for (reason, n) in &r.fallback_reasons {
            println!("  {n:>3}  {reason}");
        }
    }
    if !r.misclassified.is_empty() {
        println!("\nmisclassified:");
        let rows: Vec<Vec<String>> = r
            .misclassified
            .iter()
            .map(|m| {
                vec![
                    m.workflow.clone(),
                    m.step.clone(),
                    m.label.clone(),
                    m.classified.clone(),
                    format!("{:.2}", m.confidence),
                ]
            })
            .collect();
        table(&["workflow", "step", "label", "classified", "confidence"], &rows);
    }
}

pub fn bench(results: &[super::bench::BenchResult]) {
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

pub fn bench_serve(results: &[super::bench::ServeResult]) {
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
