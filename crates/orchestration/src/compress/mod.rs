//! Prompt, context and memory compression (the seed's compression layer) as
//! pure functions: no I/O, no model calls, tokens counted by a
//! [`TokenCounter`] the caller supplies (the host's BPE tokenizer).
//!
//! Strategies, each `fn(&input, &Policy, &dyn TokenCounter) -> Compressed`:
//! - [`structural`]: whitespace, JSON minification, empty fields, duplicate
//!   records, unreferenced context variables ([`structural::prune_context`]);
//! - [`template`]: repeated signatures, footers and disclaimers kept once;
//! - [`truncate`]: the beginning kept to a budget, in whole sentences;
//! - [`semantic`]: a model summary, requested by [`semantic_request`] and
//!   checked by [`accept_semantic`] (the call itself is the caller's).
//!
//! [`compress`] applies a step's [`Policy`] to its prompt, context and memory
//! ([`MemoryCompressor`]): structural first, then template, then truncate, as
//! the strategy allows; it scores the result ([`quality`]) and sends the
//! original when the quality is below the policy's minimum. `extract` and
//! `validate` steps only ever get lossless transformations.

pub mod memory;
pub mod policy;
pub mod quality;
pub mod semantic;
pub mod structural;
pub mod template;
pub mod truncate;

mod json;
mod text;

#[cfg(test)]
mod tests;

pub use memory::MemoryCompressor;
pub use policy::{Aggressiveness, Policy, Strategy};
pub use quality::{score, Score};
pub use semantic::{accept_semantic, semantic_request};

use serde::Serialize;

/// Counts tokens the way the model is billed. The host implements it with its
/// BPE tokenizer; never estimate tokens from characters.
pub trait TokenCounter {
    fn count(&self, text: &str) -> u32;
}

/// Any `Fn(&str) -> u32` counts tokens, e.g. `&|t: &str| env.count_tokens(t)`.
impl<F: Fn(&str) -> u32> TokenCounter for F {
    fn count(&self, text: &str) -> u32 {
        self(text)
    }
}

/// The result of one strategy on one text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Compressed {
    pub text: String,
    pub tokens_before: u32,
    pub tokens_after: u32,
    /// 0..1, see [`quality::score`].
    pub quality: f32,
    /// Whether `text` differs from the input (a refused semantic summary or a
    /// text already within budget leaves it unchanged).
    pub applied: bool,
    pub notes: Vec<String>,
}

impl Compressed {
    /// The input, unchanged, at quality 1.
    pub fn unchanged(text: &str, counter: &dyn TokenCounter) -> Compressed {
        let tokens = counter.count(text);
        Compressed { text: text.to_string(), tokens_before: tokens, tokens_after: tokens, quality: 1.0, applied: false, notes: vec![] }
    }

    pub fn tokens_saved(&self) -> u32 {
        self.tokens_before.saturating_sub(self.tokens_after)
    }
}

/// Tokens and quality of one part of a step's input, as compression measured
/// it (also when the outcome fell back to the original).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PartStats {
    pub tokens_before: u32,
    pub tokens_after: u32,
    pub quality: f32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Parts {
    pub prompt: PartStats,
    pub context: PartStats,
    pub memory: PartStats,
}

/// What [`compress`] hands back: the texts to send and the figures for
/// metrics and audit (`compression_applied`, `quality_degraded`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompressionOutcome {
    pub prompt: String,
    pub context: String,
    pub memory: String,
    /// Prompt, context and memory together.
    pub tokens_before: u32,
    pub tokens_after: u32,
    pub tokens_saved: u32,
    /// The lowest quality of the three parts.
    pub quality: f32,
    /// The compressed texts are the ones returned.
    pub applied: bool,
    /// The quality fell below the policy's minimum: the originals are returned.
    pub quality_degraded: bool,
    pub strategy: Strategy,
    pub notes: Vec<String>,
    pub parts: Parts,
}

/// Compresses a step's prompt, context (JSON) and memory (JSON) by its
/// policy, with the default [`MemoryCompressor`]. See [`compress_with`].
pub fn compress(
    step_prompt: &str,
    context_json: &str,
    memory_json: &str,
    intent: &str,
    policy: &Policy,
    counter: &dyn TokenCounter,
) -> CompressionOutcome {
    compress_with(step_prompt, context_json, memory_json, intent, policy, &MemoryCompressor::default(), counter)
}

/// Compresses a step's input:
///
/// - prompt: structural, then template (template, truncate and semantic
///   strategies), then truncation to `target_ratio` (truncate strategy);
///   the semantic strategy stops before the model call, which is the caller's
///   ([`semantic_request`], [`accept_semantic`]);
/// - context: unreferenced variables pruned (medium aggressiveness and up),
///   then structural, then template on its strings (as for the prompt);
/// - memory: [`MemoryCompressor`].
///
/// For `extract` and `validate` (or a lossless policy) only lossless steps
/// run: whitespace, JSON minification, empty context fields; no boilerplate
/// removal, no pruning, no truncation, whatever the policy says.
///
/// The quality is the lowest of the parts' scores (the prompt against the
/// original prompt, the context against the pruned context, the memory
/// against what it keeps in full). Below `policy.min_quality` the originals
/// are returned with `applied == false` and `quality_degraded == true`; when
/// nothing is saved they are returned with `applied == false`. A part whose
/// compression saves nothing is returned as it was.
pub fn compress_with(
    step_prompt: &str,
    context_json: &str,
    memory_json: &str,
    intent: &str,
    policy: &Policy,
    memory: &MemoryCompressor,
    counter: &dyn TokenCounter,
) -> CompressionOutcome {
    let mut policy = policy.clone();
    policy.enforce_lossless(intent);
    let mut notes = std::mem::take(&mut policy.notes);
    let strategy = policy.strategy;
    let before = [counter.count(step_prompt), counter.count(context_json), counter.count(memory_json)];
    let tokens_before: u32 = before.iter().sum();
    let original = |notes: Vec<String>, quality: f32, degraded: bool, parts: Parts| CompressionOutcome {
        prompt: step_prompt.to_string(),
        context: context_json.to_string(),
        memory: memory_json.to_string(),
        tokens_before,
        tokens_after: tokens_before,
        tokens_saved: 0,
        quality,
        applied: false,
        quality_degraded: degraded,
        strategy,
        notes,
        parts,
    };
    if strategy == Strategy::None {
        notes.push("strategy none: nothing compressed".into());
        let parts = Parts {
            prompt: PartStats { tokens_before: before[0], tokens_after: before[0], quality: 1.0 },
            context: PartStats { tokens_before: before[1], tokens_after: before[1], quality: 1.0 },
            memory: PartStats { tokens_before: before[2], tokens_after: before[2], quality: 1.0 },
        };
        return original(notes, 1.0, false, parts);
    }
    let lossy = !policy.lossless;
    let template_on = lossy && matches!(strategy, Strategy::Template | Strategy::Truncate | Strategy::Semantic);

    // Prompt.
    let step = |c: Compressed, notes: &mut Vec<String>| {
        notes.extend(c.notes);
        c.text
    };
    let mut prompt = step(structural::compress_text(step_prompt, &policy, counter), &mut notes);
    if template_on {
        prompt = step(template::compress(&prompt, &policy, counter), &mut notes);
    }
    let mut dropped_blocks = 0;
    if lossy && strategy == Strategy::Truncate {
        let budget = ((before[0] as f32) * policy.target_ratio).ceil().max(1.0) as u32;
        let blocks = quality::json_blocks(&prompt);
        prompt = step(truncate::to_budget(&prompt, budget, counter), &mut notes);
        dropped_blocks = blocks.saturating_sub(quality::json_blocks(&prompt));
    }
    let prompt_score = quality::score_with(step_prompt, &prompt, dropped_blocks);
    if lossy && strategy == Strategy::Semantic {
        let target = ((counter.count(&prompt) as f32) * policy.target_ratio).ceil() as u32;
        notes.push(format!(
            "semantic: structural and template applied; a model summary to about {target} tokens is the caller's \
             (semantic_request, then accept_semantic)"
        ));
    }

    // Context.
    let trimmed = context_json.trim();
    let context_scope = if lossy && policy.aggressiveness >= Aggressiveness::Medium && !trimmed.is_empty() && trimmed != "null" {
        step(structural::prune_context(context_json, step_prompt, &policy, counter), &mut notes)
    } else {
        context_json.to_string()
    };
    let mut context = step(structural::compress_json(&context_scope, &policy, counter), &mut notes);
    if template_on {
        context = step(template::compress_json(&context, &policy, counter), &mut notes);
    }
    let context_quality = score(&context_scope, &context).quality;

    // Memory.
    let m = memory.compress(memory_json, &policy, counter);
    let memory_quality = m.quality;
    let memory_text = step(m, &mut notes);

    // A part that saves nothing goes as it was.
    let pick = |text: String, original: &str, before: u32, quality: f32| {
        let after = counter.count(&text);
        let stats = PartStats { tokens_before: before, tokens_after: after, quality };
        if after < before { (text, stats) } else { (original.to_string(), PartStats { tokens_after: before, ..stats }) }
    };
    let (prompt, prompt_stats) = pick(prompt, step_prompt, before[0], prompt_score.quality);
    let (context, context_stats) = pick(context, context_json, before[1], context_quality);
    let (memory_text, memory_stats) = pick(memory_text, memory_json, before[2], memory_quality);
    let parts = Parts { prompt: prompt_stats, context: context_stats, memory: memory_stats };
    let quality = prompt_stats.quality.min(context_stats.quality).min(memory_stats.quality);

    if quality < policy.min_quality {
        notes.push(format!(
            "quality {quality:.2} is below the minimum {:.2}: the original is sent",
            policy.min_quality
        ));
        if !prompt_score.missing.is_empty() {
            let missing: Vec<&str> = prompt_score.missing.iter().take(10).map(String::as_str).collect();
            notes.push(format!("prompt facts lost: {}", missing.join(", ")));
        }
        return original(notes, quality, true, parts);
    }
    let tokens_after = prompt_stats.tokens_after + context_stats.tokens_after + memory_stats.tokens_after;
    if tokens_after >= tokens_before {
        notes.push("no token saving: the original is sent".into());
        return original(notes, quality, false, parts);
    }
    CompressionOutcome {
        prompt,
        context,
        memory: memory_text,
        tokens_before,
        tokens_after,
        tokens_saved: tokens_before - tokens_after,
        quality,
        applied: true,
        quality_degraded: false,
        strategy,
        notes,
        parts,
    }
}
