//! The agent's row of `agent_intensity_metrics` and how a completed run
//! updates its execution score.

use serde::{Deserialize, Serialize};

/// An agent's row of `agent_intensity_metrics`, each 0-10 (higher = needs
/// stronger models).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AgentScores {
    pub creation: f32,
    pub execution: f32,
    pub combined: f32,
}

/// What a completed run tells about the agent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// Steps routed in the run.
    pub steps: u32,
    /// Steps that failed (counted once per step).
    pub failures: u32,
    /// Mean tier used, 0.0 (all fast) to 2.0 (all powerful); see [`super::Tier::index`].
    pub avg_tier_used: f32,
    /// Tokens the run used.
    pub tokens: u64,
}

/// Smoothing of the execution score: the share of the newest run.
pub const EXECUTION_EMA_ALPHA: f32 = 0.3;

/// The run's own intensity (0-10):
///
/// ```text
/// 0.60 * tier      (avg_tier_used / 2 * 10: which models the steps needed)
/// 0.25 * failures  (failures / steps * 10: steps that failed needed more)
/// 0.15 * tokens    (2 * log2(tokens per step / 250), 0-10: 250 -> 0, 1k -> 4, 8k -> 10)
/// ```
pub fn run_intensity(run: &RunOutcome) -> Option<f32> {
    if run.steps == 0 {
        return None;
    }
    let steps = run.steps as f32;
    let tier = (run.avg_tier_used.clamp(0.0, 2.0) / 2.0) * 10.0;
    let failures = (run.failures.min(run.steps) as f32 / steps) * 10.0;
    let per_step = run.tokens as f32 / steps;
    let tokens = if per_step <= 250.0 { 0.0 } else { (2.0 * (per_step / 250.0).log2()).min(10.0) };
    Some((0.60 * tier + 0.25 * failures + 0.15 * tokens).clamp(0.0, 10.0))
}

/// The agent's scores after a completed run.
///
/// The execution score is an exponential moving average of [`run_intensity`]:
/// `execution' = execution + 0.3 * (intensity - execution)`, so the newest run
/// weighs 30% and older runs fade geometrically. An agent without a row starts
/// at the run's intensity (creation score the same, for want of anything
/// better). The creation score is not touched by runs; `combined` is the mean
/// of creation and execution. A run with no steps changes nothing.
pub fn updated_execution_score(previous: Option<AgentScores>, run: &RunOutcome) -> Option<AgentScores> {
    let Some(intensity) = run_intensity(run) else {
        return previous;
    };
    let (creation, execution) = match previous {
        Some(p) => {
            let e = p.execution.clamp(0.0, 10.0);
            (p.creation.clamp(0.0, 10.0), e + EXECUTION_EMA_ALPHA * (intensity - e))
        }
        None => (intensity, intensity),
    };
    Some(AgentScores { creation, execution, combined: (creation + execution) / 2.0 })
}
