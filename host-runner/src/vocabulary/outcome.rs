//! What happened to one step: the runner's step functions return it, and
//! one place (the runner's recorder) turns it into the step's report, usage
//! row, audit event and metrics.

use super::failures::{FallbackReason, SkipReason, StepFailure};
use orchestration::types::Usage;
use serde_json::Value;

/// A step's outcome.
#[derive(Debug, Clone)]
pub enum StepOutcome {
    /// Its intent handler ran it.
    Orchestrated(Ran),
    /// It ran the normal way: with orchestration off (`reason` none), or after
    /// the orchestrator fell back for `reason`.
    Fallback { reason: Option<FallbackReason>, ran: Ran },
    /// It was not run.
    Skipped(SkipReason),
    /// Neither path could run it; `intent` when the orchestrator had classified it.
    Failed { intent: Option<String>, failure: StepFailure },
}

/// What a step that ran produced and spent.
#[derive(Debug, Clone)]
pub struct Ran {
    pub intent: Option<String>,
    pub handler: Option<String>,
    pub model: String,
    pub provider: String,
    pub tokens: Usage,
    pub tokens_saved: u32,
    pub compression_applied: bool,
    pub cost_usd: f64,
    /// Time spent waiting for the model provider, in milliseconds.
    pub provider_ms: f64,
    pub output: Value,
}

impl StepOutcome {
    /// What the step ran to, when it ran.
    pub fn ran(&self) -> Option<&Ran> {
        match self {
            StepOutcome::Orchestrated(ran) | StepOutcome::Fallback { ran, .. } => Some(ran),
            StepOutcome::Skipped(_) | StepOutcome::Failed { .. } => None,
        }
    }
}
