//! The route decision: a step's tier from its complexity and the agent's
//! execution score, moved up by previous failures and down by the budget.

use super::agent_scores::AgentScores;
use super::complexity::{Contribution, step_complexity};
use super::thresholds::Thresholds;
use super::tiers::{ModelConfig, Tier, TierModels, cost_usd};
use crate::budget;
use serde::Serialize;
use serde_json::Value;

/// Share of the agent's execution score in the routing score, when the agent has a row.
pub const AGENT_WEIGHT: f32 = 0.25;

/// Everything the router looks at for one step.
#[derive(Debug, Clone)]
pub struct RouteInput<'a> {
    pub intent: &'a str,
    pub step_name: &'a str,
    /// The step's prompt; only its first paragraph is read for cues.
    pub prompt: &'a str,
    /// The workflow's description, read for its domain.
    pub goal: Option<&'a str>,
    pub params: &'a Value,
    pub prompt_tokens: u32,
    /// The agent's `agent_intensity_metrics` row, `None` when it has none.
    pub agent: Option<AgentScores>,
    /// Tokens left in the workflow budget; `None` when not limited.
    pub budget_remaining: Option<u32>,
    /// The workflow marks the step `critical`: a wrong answer there costs the most.
    pub critical: bool,
    /// How many times this step already failed.
    pub previous_failures: u32,
    pub thresholds: Thresholds,
    pub models: &'a TierModels,
}

/// The router's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteDecision {
    pub tier: Tier,
    pub model: ModelConfig,
    /// The routing score (0-10): step complexity blended with the agent's execution score.
    pub score: f32,
    pub step_complexity: f32,
    /// The agent's execution score when it took part.
    pub agent_execution: Option<f32>,
    /// The tier the score alone gave, before failures and budget.
    pub score_tier: Tier,
    /// Expected cost of the step on the chosen model (prompt plus the intent's typical output).
    pub expected_cost_usd: f64,
    pub reason: String,
    pub contributions: Vec<Contribution>,
}

/// Tokens a step needs on a tier: its prompt plus the output its intent
/// typically produces, capped by the tier's output allowance. (The host lowers
/// `max_tokens` to what the budget leaves, so the full allowance is not needed.)
pub fn reserve_tokens(model: &ModelConfig, intent: &str, prompt_tokens: u32) -> u64 {
    u64::from(prompt_tokens) + u64::from(budget::expected_output_tokens(intent).min(model.max_tokens))
}

/// Routes one step to a tier and its model.
pub fn route(input: &RouteInput) -> RouteDecision {
    let complexity =
        step_complexity(input.intent, input.step_name, input.prompt, input.goal, input.params, input.prompt_tokens);
    let agent_execution = input.agent.map(|a| a.execution.clamp(0.0, 10.0));
    let score = match agent_execution {
        Some(e) => (1.0 - AGENT_WEIGHT) * complexity.score + AGENT_WEIGHT * e,
        None => complexity.score,
    };
    let score_tier = input.thresholds.tier(score);

    let mut reason =
        format!("{score_tier}: step complexity {:.1} from {}", complexity.score, drivers(&complexity.contributions));
    match agent_execution {
        Some(e) => reason
            .push_str(&format!("; agent execution score {e:.1} weighed {:.0}% gives {score:.2}", AGENT_WEIGHT * 100.0)),
        None => reason.push_str("; no agent scores"),
    }
    let t = input.thresholds;
    reason.push_str(&format!(" (fast < {:.1}, powerful > {:.1})", t.fast_below, t.powerful_above));

    let mut tier = score_tier;
    if input.critical && complexity.judgment {
        tier = tier.escalate();
        if tier == score_tier {
            reason.push_str("; a critical step of judgment, already at the top tier");
        } else {
            reason.push_str(&format!("; a critical step of judgment: {score_tier} -> {tier}"));
        }
    }
    if input.previous_failures > 0 {
        let before = tier;
        for _ in 0..input.previous_failures.min(2) {
            tier = tier.escalate();
        }
        if tier == before {
            reason
                .push_str(&format!("; already at the top tier after {} previous failure(s)", input.previous_failures));
        } else {
            reason.push_str(&format!(
                "; escalated {before} -> {tier} after {} previous failure(s)",
                input.previous_failures
            ));
        }
    }

    if let Some(remaining) = input.budget_remaining {
        let wanted = tier;
        let needed = |t: Tier| reserve_tokens(input.models.get(t), input.intent, input.prompt_tokens);
        while tier != Tier::Fast && needed(tier) > u64::from(remaining) {
            tier = tier.de_escalate();
        }
        if tier != wanted {
            let m = input.models.get(wanted);
            reason.push_str(&format!(
                "; stepped down {wanted} -> {tier}: {remaining} tokens left cannot cover {wanted}'s {} (prompt {} + expected output, at most {})",
                needed(wanted),
                input.prompt_tokens,
                m.max_tokens
            ));
        }
        if needed(tier) > u64::from(remaining) {
            reason.push_str(&format!(
                "; even {tier} needs {} tokens and {remaining} are left: the budget check decides",
                needed(tier)
            ));
        }
    }

    let model = input.models.get(tier).clone();
    let output = budget::expected_output_tokens(input.intent).min(model.max_tokens);
    let expected_cost_usd = cost_usd(&model, input.prompt_tokens, output);
    reason.push_str(&format!(" -> {} ({})", model.model, model.provider));
    RouteDecision {
        tier,
        model,
        score,
        step_complexity: complexity.score,
        agent_execution,
        score_tier,
        expected_cost_usd,
        reason,
        contributions: complexity.contributions,
    }
}

/// The three largest contributions, as `detail (+x.x)`.
fn drivers(contributions: &[Contribution]) -> String {
    let mut sorted: Vec<&Contribution> = contributions.iter().collect();
    sorted.sort_by(|a, b| b.points.abs().total_cmp(&a.points.abs()));
    sorted.iter().take(3).map(|c| format!("{} ({:+.2})", c.detail, c.points)).collect::<Vec<_>>().join(", ")
}
