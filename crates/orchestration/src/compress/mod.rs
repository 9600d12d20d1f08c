//! Compression of a step's material (the seed's compression layer) as
//! pure functions: no I/O, no model calls, tokens counted by a
//! [`TokenCounter`] the caller supplies (the host's BPE tokenizer).
//!
//! Strategies, each `fn(&input, &Policy, &dyn TokenCounter) -> Compressed`:
//! - [`structural`]: whitespace, JSON minification, empty fields, duplicate
//!   records;
//! - [`template`]: repeated signatures, footers and disclaimers kept once;
//! - [`table`]: arrays of records written as a header and rows (lossless);
//! - [`truncate`]: the beginning kept to a budget, in whole sentences;
//! - [`semantic`]: a model summary, requested by [`semantic_request`] and
//!   checked by [`accept_semantic`] (the call itself is the caller's).
//!
//! [`material()`] applies a step's [`Policy`] to each piece of its material
//! (memory through [`MemoryCompressor`]): structural first, then template,
//! then truncate, as the strategy allows; it scores the result ([`quality`])
//! and sends the original when the quality is below the policy's minimum.
//! `extract` and `validate` steps only ever get lossless transformations.

pub mod memory;
pub mod policy;
pub mod quality;
pub mod semantic;
pub mod strategy;
pub mod structural;
pub mod table;
pub mod template;
pub mod truncate;

mod json;
mod text;

#[cfg(test)]
mod tests;

pub use memory::MemoryCompressor;
pub use policy::Policy;
pub use quality::{Score, score};
pub use semantic::{accept_semantic, semantic_request};
pub use strategy::{Aggressiveness, Strategy};

use crate::material::{Format, Piece, Source};
use crate::tokens::TokenCounter;
use serde::Serialize;

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
        Compressed {
            text: text.to_string(),
            tokens_before: tokens,
            tokens_after: tokens,
            quality: 1.0,
            applied: false,
            notes: vec![],
        }
    }

    pub fn tokens_saved(&self) -> u32 {
        self.tokens_before.saturating_sub(self.tokens_after)
    }
}

/// What compression did to one piece of a step's material.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cut {
    pub piece: String,
    pub source: Source,
    pub tokens_before: u32,
    pub tokens_after: u32,
    pub quality: f32,
    /// What was removed (`3 empty fields dropped`, `footer kept once`...).
    pub notes: Vec<String>,
}

/// What [`material`] hands back: the pieces to send and the figures for
/// metrics and audit (`compression_applied`, `quality_degraded`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaterialOutcome {
    /// Every piece of the input, in order: compressed where that saved
    /// tokens at sufficient quality, as it was otherwise. None is dropped.
    pub pieces: Vec<Piece>,
    pub tokens_before: u32,
    pub tokens_after: u32,
    /// The lowest quality of the pieces.
    pub quality: f32,
    /// Some piece is sent compressed.
    pub applied: bool,
    /// The quality fell below the policy's minimum: the originals are returned.
    pub quality_degraded: bool,
    pub strategy: Strategy,
    pub notes: Vec<String>,
    /// Each piece compression shortened (or tried to, when degraded).
    pub cuts: Vec<Cut>,
}

impl MaterialOutcome {
    pub fn tokens_saved(&self) -> u32 {
        self.tokens_before.saturating_sub(self.tokens_after)
    }
}

/// Compresses a step's material by its intent's policy, piece by piece:
///
/// - text (the prompt, text params, inputs and outputs): structural, then
///   template (template, truncate and semantic strategies), then truncation
///   to `target_ratio` (truncate strategy); the semantic strategy stops
///   before the model call, which is the caller's ([`semantic_request`],
///   [`accept_semantic`]);
/// - JSON values: minified, empty fields and (medium aggressiveness and up)
///   duplicate records dropped, then template on their strings;
/// - memory: [`MemoryCompressor`].
///
/// A piece named in `preserve_fields` is sent as it is. For `extract` and
/// `validate` (or a lossless policy) only lossless steps run. The quality is
/// the lowest of the pieces' scores; below `policy.min_quality` every piece
/// goes as it was (`quality_degraded`). A piece whose compression saves
/// nothing goes as it was.
pub fn material(
    pieces: &[Piece],
    intent: &str,
    policy: &Policy,
    memory: &MemoryCompressor,
    counter: &dyn TokenCounter,
) -> MaterialOutcome {
    let mut policy = policy.clone();
    policy.enforce_lossless(intent);
    let mut notes = std::mem::take(&mut policy.notes);
    let strategy = policy.strategy;
    let tokens_before: u32 = pieces.iter().map(|p| p.tokens).sum();
    let unchanged = |notes: Vec<String>, quality: f32, degraded: bool, cuts: Vec<Cut>| MaterialOutcome {
        pieces: pieces.to_vec(),
        tokens_before,
        tokens_after: tokens_before,
        quality,
        applied: false,
        quality_degraded: degraded,
        strategy,
        notes,
        cuts,
    };
    if strategy == Strategy::None {
        notes.push("strategy none: nothing compressed".into());
        return unchanged(notes, 1.0, false, vec![]);
    }
    let mut out = Vec::with_capacity(pieces.len());
    let mut cuts = Vec::new();
    for piece in pieces {
        if policy.preserves(&piece.name, &piece.name) {
            out.push(piece.clone());
            continue;
        }
        let PieceResult { text, quality, notes: piece_notes, format } = compress_piece(piece, &policy, memory, counter);
        let after = counter.count(&text);
        if after >= piece.tokens {
            out.push(piece.clone());
            continue;
        }
        cuts.push(Cut {
            piece: piece.name.clone(),
            source: piece.source,
            tokens_before: piece.tokens,
            tokens_after: after,
            quality,
            notes: piece_notes,
        });
        out.push(Piece { content: text, tokens: after, compressed: true, format, ..piece.clone() });
    }
    let quality = cuts.iter().map(|c| c.quality).fold(1.0, f32::min);
    if quality < policy.min_quality {
        notes
            .push(format!("quality {quality:.2} is below the minimum {:.2}: the original is sent", policy.min_quality));
        return unchanged(notes, quality, true, cuts);
    }
    if cuts.is_empty() {
        notes.push("no token saving: the original is sent".into());
        return unchanged(notes, 1.0, false, cuts);
    }
    MaterialOutcome {
        tokens_after: out.iter().map(|p| p.tokens).sum(),
        pieces: out,
        tokens_before,
        quality,
        applied: true,
        quality_degraded: false,
        strategy,
        notes,
        cuts,
    }
}

/// One piece after the policy's pipeline.
struct PieceResult {
    text: String,
    quality: f32,
    notes: Vec<String>,
    /// JSON written as tables is text.
    format: Format,
}

/// One piece through the policy's pipeline, then its records as tables
/// when that is shorter (lossless, so under every policy; not the prompt,
/// whose wording is the author's).
fn compress_piece(
    piece: &Piece,
    policy: &Policy,
    memory: &MemoryCompressor,
    counter: &dyn TokenCounter,
) -> PieceResult {
    let (text, quality, mut notes) = pipeline(piece, policy, memory, counter);
    if piece.source != Source::Prompt
        && let Some(tabled) = table::encode(&text)
        && counter.count(&tabled) < counter.count(&text)
    {
        notes.push("table: records written as rows under one header".into());
        let quality = quality.min(score(&piece.content, &tabled).retention);
        return PieceResult { text: tabled, quality, notes, format: Format::Text };
    }
    PieceResult { text, quality, notes, format: piece.format }
}

/// The policy's strategies on one piece: its new text, quality and notes.
fn pipeline(
    piece: &Piece,
    policy: &Policy,
    memory: &MemoryCompressor,
    counter: &dyn TokenCounter,
) -> (String, f32, Vec<String>) {
    let lossy = !policy.lossless;
    let template_on = lossy && matches!(policy.strategy, Strategy::Template | Strategy::Truncate | Strategy::Semantic);
    let mut notes = Vec::new();
    let mut step = |c: Compressed| {
        notes.extend(c.notes);
        c.text
    };
    let original = piece.content.as_str();
    match (piece.source, piece.format) {
        (Source::Memory, _) => {
            let m = memory.compress(original, policy, counter);
            let quality = m.quality;
            (step(m), quality, notes)
        }
        (_, Format::Json) => {
            let mut text = step(structural::compress_json(original, policy, counter));
            if template_on {
                text = step(template::compress_json(&text, policy, counter));
            }
            let quality = score(original, &text).quality;
            (text, quality, notes)
        }
        (_, Format::Text) => {
            let mut text = step(structural::compress_text(original, policy, counter));
            if template_on {
                text = step(template::compress(&text, policy, counter));
            }
            let mut dropped_blocks = 0;
            if lossy && policy.strategy == Strategy::Truncate && piece.source != Source::Prompt {
                let budget = ((piece.tokens as f32) * policy.target_ratio).ceil().max(1.0) as u32;
                let blocks = quality::json_blocks(&text);
                text = step(truncate::to_budget(&text, budget, counter));
                dropped_blocks = blocks.saturating_sub(quality::json_blocks(&text));
            }
            let quality = quality::score_with(original, &text, dropped_blocks).quality;
            (text, quality, notes)
        }
    }
}
