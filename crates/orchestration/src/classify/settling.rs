//! Settling a step the free tiers were unsure of: each tier's answer is
//! accepted from its own confidence threshold, else the best guess is marked
//! ambiguous, else the fallback intent runs.

use super::context;
use super::outcome::{Classification, Method, fallback};
use super::rules::classify;

/// The LLM tier's answer is taken from this confidence (the seed's 0.7).
pub const LLM_ACCEPT: f32 = 0.7;
/// The context tier's answer is taken from this confidence (the seed's 0.6).
pub const CONTEXT_ACCEPT: f32 = 0.6;
/// At or below this, no tier's guess is trusted: the safe fallback intent
/// runs. Cue scoring gives at most 0.55 to a tie between two intents.
pub const GUESS_FLOOR: f32 = 0.55;

/// The answer for a step the free tiers were unsure of: the rules' answer,
/// the LLM tier's (when it gave one) and the context tier's, settled.
pub fn settle_unsure(
    rules: Classification,
    threshold: f32,
    model: Option<Classification>,
    step: &context::StepContext,
) -> Classification {
    let mut tried = vec![(rules, threshold)];
    if let Some(answer) = model {
        tried.push((answer, LLM_ACCEPT));
    }
    if let Some(c) = context::classify(step) {
        tried.push((c, CONTEXT_ACCEPT));
    }
    settle(tried)
}

/// The free tiers alone (rules, then the context tier where they are
/// unsure), with no model: how a step fares when no LLM tier runs.
pub fn without_model(params: &serde_json::Value, step: &context::StepContext, threshold: f32) -> Classification {
    let rules = classify(None, params, step.name, step.prompt);
    if is_unsure(&rules, threshold) { settle_unsure(rules, threshold, None, step) } else { rules }
}

/// Whether the free tiers' answer needs the LLM and context tiers.
pub fn is_unsure(c: &Classification, threshold: f32) -> bool {
    matches!(c.method, Method::Pattern | Method::Fallback) && c.confidence < threshold
}

/// The final answer from the tiers tried, in order: the first that reached
/// its acceptance threshold, else the most confident guess above
/// [`GUESS_FLOOR`] marked ambiguous, else the fallback intent.
pub fn settle(tried: Vec<(Classification, f32)>) -> Classification {
    let trail = tried
        .iter()
        .map(|(c, _)| format!("{:?} {} {:.2}", c.method, c.intent, c.confidence).to_lowercase())
        .collect::<Vec<_>>()
        .join("; ");
    if let Some((accepted, _)) = tried.iter().find(|(c, accept)| c.confidence >= *accept) {
        let mut c = accepted.clone();
        if tried.len() > 1 {
            c.reasoning = format!("{} (tiers: {trail})", c.reasoning);
        }
        return c;
    }
    let mut candidates: Vec<String> = Vec::new();
    for (c, _) in &tried {
        for intent in std::iter::once(&c.intent).chain(&c.alternatives) {
            if !candidates.contains(intent) {
                candidates.push(intent.clone());
            }
        }
    }
    let best = tried
        .into_iter()
        .map(|(c, _)| c)
        .filter(|c| c.method != Method::Fallback && c.confidence > GUESS_FLOOR)
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence));
    match best {
        Some(mut c) => {
            c.ambiguous = true;
            c.reasoning = format!("{}; no tier was sure (tiers: {trail})", c.reasoning);
            c.alternatives = candidates.into_iter().filter(|i| *i != c.intent).collect();
            c
        }
        None => fallback(format!("no tier was sure (tiers: {trail})"), candidates),
    }
}
