//! Token budget allocation over a workflow's steps (the seed's TokenBudgetManager).
//!
//! The workflow budget is split by strategy, then each share is capped by
//! `orchestration_max_tokens_per_step` and by the intent's own budget
//! (`orchestration_token_budget_<intent>`) when one is set. Whatever a cap
//! cuts off stays unallocated: the sum never exceeds the workflow budget.

use crate::settings::BudgetStrategy;

/// Output tokens a step of each intent typically needs, on top of its prompt.
/// Intents whose handlers make no model call when the work is structured
/// (`transform`) get none.
pub fn expected_output_tokens(intent: &str) -> u32 {
    match intent {
        "transform" => 0,
        "send" | "conditional" | "filter" => 200,
        "validate" | "aggregate" | "enrich" => 400,
        "summarize" => 500,
        "extract" => 800,
        _ => 1_200, // generate and intents a new handler declares
    }
}

/// One step's claim on the budget.
#[derive(Debug, Clone)]
pub struct Need {
    pub intent: String,
    /// Tokens of the step's prompt and params as written (before templates resolve).
    pub prompt_tokens: u32,
    /// `orchestration_token_budget_<intent>`, when set.
    pub intent_cap: Option<u32>,
}

impl Need {
    fn estimate(&self) -> u64 {
        // Twice the prompt: resolved templates usually bring the step's inputs in.
        u64::from(self.prompt_tokens) * 2 + u64::from(expected_output_tokens(&self.intent))
    }
}

/// Allocates `workflow_budget` over `needs`, one figure per step, in order.
pub fn allocate(strategy: BudgetStrategy, workflow_budget: u32, max_per_step: u32, needs: &[Need]) -> Vec<u32> {
    if needs.is_empty() {
        return vec![];
    }
    let shares: Vec<u64> = match strategy {
        BudgetStrategy::Equal => vec![u64::from(workflow_budget) / needs.len() as u64; needs.len()],
        BudgetStrategy::Proportional => {
            let total: u64 = needs.iter().map(Need::estimate).sum();
            needs
                .iter()
                .map(|n| if total == 0 { 0 } else { u64::from(workflow_budget) * n.estimate() / total })
                .collect()
        }
    };
    shares
        .into_iter()
        .zip(needs)
        .map(|(share, need)| {
            let cap = need.intent_cap.map_or(max_per_step, |c| c.min(max_per_step));
            share.min(u64::from(cap)) as u32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(intent: &str, prompt_tokens: u32) -> Need {
        Need { intent: intent.into(), prompt_tokens, intent_cap: None }
    }

    #[test]
    fn proportional_follows_need_and_never_exceeds_the_workflow_budget() {
        let needs = [need("extract", 200), need("summarize", 100), need("transform", 50)];
        let shares = allocate(BudgetStrategy::Proportional, 3_000, 10_000, &needs);
        assert!(shares[0] > shares[1] && shares[1] > shares[2], "{shares:?}");
        assert!(shares.iter().sum::<u32>() <= 3_000);
    }

    #[test]
    fn caps_apply_per_step_and_per_intent() {
        let mut capped = need("generate", 100);
        capped.intent_cap = Some(300);
        let shares = allocate(BudgetStrategy::Equal, 10_000, 2_000, &[need("extract", 10), capped]);
        assert_eq!(shares, vec![2_000, 300]);
    }

    #[test]
    fn equal_splits_evenly() {
        let shares = allocate(BudgetStrategy::Equal, 900, 10_000, &[need("a", 1), need("b", 99), need("c", 5)]);
        assert_eq!(shares, vec![300, 300, 300]);
    }
}
