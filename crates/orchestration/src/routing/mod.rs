//! Model-tier routing: the seed's AIS (Agent Intensity System), driven by the step.
//!
//! The seed routed every step of an agent on the agent's `combined_score`
//! (table `agent_intensity_metrics`, 0-10) alone: fast below 3.0, balanced up to
//! 6.5, powerful above. Here the **step's own complexity** (0-10) decides, and
//! the agent's `execution_score` only nudges it:
//!
//! ```text
//! score = 0.75 * step complexity + 0.25 * agent execution score   (agent row present)
//! score = step complexity                                         (no row)
//! tier  = fast if score < fast_below, powerful if score > powerful_above, else balanced
//! ```
//!
//! then one tier up when the workflow marks the step `critical` and its work
//! is the model's judgment, one tier up per previous failure of the step, and
//! down again while the remaining token budget cannot cover the step (prompt
//! plus the output its intent typically needs, within the tier's `max_tokens`).
//!
//! Step complexity is a sum of table-driven contributions, each recorded with
//! what caused it, clamped to 0-10:
//!
//! | factor | source | points |
//! |---|---|---|
//! | intent | the intent's profile (`crate::intents`), `base_complexity` | 0.5 (send) .. 4.5 (generate) |
//! | params | structured params (mapping, where, condition, group_by, structured rules, plugin, lookup) | -1.5 |
//! | params | fuzzy params (`criteria`, `question`, `judgment` rules) or work left to the instruction | +3.0 (+0.25 per extra judgment rule, at most +0.75) |
//! | params | work left to the instruction that is mechanical (`mechanical`): counts and totals, a filter's comparison against a stated value, a join against given reference data, a format conversion; never a conditional, nor an instruction that hedges or carries a reasoning cue | +0.5 |
//! | output | `params.type` of generate (`complexity::GENERATE_TYPES`), `max_words`, `target_length`, extract `schema` size and nesting | -1.5 .. +3.5 |
//! | input size | prompt tokens (`complexity::INPUT_SIZE`) | 0 .. +2.0 |
//! | cues | words in the step name and the prompt's instructions (`cues::REASONING_CUES`, `STAKES_CUES`, `CODE_CUES`, `SIMPLICITY_CUES`) | -1.5 .. +3.5 |
//!
//! Calibrated on `bench/corpus` (189 labelled steps): see the `routing_corpus_calibration`
//! test, which prints the confusion matrix and the implied cost reduction.
//!
//! One job per file: [`Tier`]s and their models (`tiers`), the score
//! boundaries (`thresholds`), the cue words (`cues`), the complexity sum
//! (`complexity`), mechanical work stated in words (`mechanical`), the decision (`decision`) and the agent's scores
//! (`agent_scores`).

mod agent_scores;
mod complexity;
mod cues;
mod decision;
mod mechanical;
mod thresholds;
mod tiers;

pub use agent_scores::{AgentScores, EXECUTION_EMA_ALPHA, RunOutcome, run_intensity, updated_execution_score};
pub use complexity::{Complexity, Contribution, Factor, step_complexity};
pub use decision::{AGENT_WEIGHT, RouteDecision, RouteInput, reserve_tokens, route};
pub use thresholds::{FAST_THRESHOLD_KEY, POWERFUL_THRESHOLD_KEY, Thresholds, thresholds_from_settings};
pub use tiers::{ModelConfig, TIER_KEY_PREFIX, Tier, TierModels, cost_usd, tier_models_from_settings};

#[cfg(test)]
mod tests;
