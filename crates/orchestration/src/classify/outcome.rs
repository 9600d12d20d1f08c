//! What classifying a step answers, and the safe fallback when nothing is sure.

use serde::Serialize;

/// The intent used when nothing matches: a plain model call on the prompt.
pub const FALLBACK_INTENT: &str = "generate";

/// How an intent was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Explicit,
    Params,
    Pattern,
    /// The fast-tier model, asked about the steps the free tiers were unsure of.
    Llm,
    /// Cue words over the whole step, the workflow goal and the dependency graph.
    Context,
    Fallback,
}

/// The outcome of classifying one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub intent: String,
    pub confidence: f32,
    pub method: Method,
    pub reasoning: String,
    pub alternatives: Vec<String>,
    /// No tier reached its acceptance threshold: the intent is a best guess.
    pub ambiguous: bool,
}

/// The safe fallback: a plain model call on the prompt.
pub fn fallback(reasoning: String, alternatives: Vec<String>) -> Classification {
    Classification {
        intent: FALLBACK_INTENT.into(),
        confidence: 0.3,
        method: Method::Fallback,
        reasoning,
        alternatives,
        ambiguous: true,
    }
}
