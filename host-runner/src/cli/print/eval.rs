//! `pilot eval`.

use super::table;
use crate::cli::eval::{BASELINE_MODEL, EvalReport};

/// Every split's evaluation, a blank line between them.
pub fn reports(reports: &[EvalReport]) {
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            println!();
        }
        report(r);
    }
}

/// One split's evaluation.
fn report(r: &EvalReport) {
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
        "  confident-wrong   {:6.1}%  ({} steps the free tiers settled wrongly, the LLM tier never asked)",
        r.confident_wrong_pct, r.confident_wrong
    );
    let spend = r.llm_tier.spend.map_or_else(String::new, |s| format!(", {} calls, {} tokens", s.calls, s.tokens));
    println!(
        "  LLM tier            {} steps ({:.1}%), answered by {}{spend}",
        r.llm_tier.steps, r.llm_tier.share_pct, r.llm_tier.answered_by
    );
    println!(
        "tokens              baseline {} -> orchestrated {}  (savings {:.1}%)",
        r.baseline.tokens, r.orchestrated.tokens, r.token_savings_pct
    );
    println!(
        "cost                baseline ${:.4} -> orchestrated ${:.4}  (reduction {:.1}% vs. all-{})",
        r.baseline.cost_usd, r.orchestrated.cost_usd, r.cost_reduction_pct, BASELINE_MODEL
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
        "routing             {} of {} model-calling steps below their labeled tier ({:.1}% under-routed), {} above it ({:.1}% over-routed)",
        r.under_routed, r.routed_steps, r.under_routing_pct, r.over_routed, r.over_routing_pct
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
