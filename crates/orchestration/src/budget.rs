//! Token budget allocation over a workflow's steps (the seed's TokenBudgetManager).
//!
//! Each step's need is estimated (from its prompt and intent, or from the
//! agent's past usage under the adaptive strategy), a critical step's need is
//! multiplied, and the workflow budget is split by strategy:
//!
//! - `proportional` (default): shares in proportion to the needs;
//! - `equal`: the same share per step (a critical step weighs its multiplier);
//! - `priority`: needs funded in full, one step after the other, critical
//!   steps first, then the steps most others depend on, then workflow order;
//!   what is left is spread in proportion to the needs;
//! - `adaptive`: proportional, with each need taken from this agent's past
//!   steps of the same intent (90th percentile plus a margin) where there are
//!   enough of them.
//!
//! Each share is then capped by `orchestration_max_tokens_per_step` and the
//! intent's own budget (`orchestration_token_budget_<intent>`), both times the
//! multiplier for a critical step. Whatever a cap cuts off stays unallocated:
//! the sum never exceeds the workflow budget.

/// How the workflow budget is split over steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetStrategy {
    /// By each step's estimated need (the seed's default).
    Proportional,
    /// The same share for every step.
    Equal,
    /// Critical steps, then the steps others depend on, funded in full first.
    Priority,
    /// Proportional to the agent's past use per intent (needs `orchestration_adaptive_budget_enabled`).
    Adaptive,
}

impl BudgetStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetStrategy::Proportional => "proportional",
            BudgetStrategy::Equal => "equal",
            BudgetStrategy::Priority => "priority",
            BudgetStrategy::Adaptive => "adaptive",
        }
    }
}

/// Output tokens a step of `intent` typically needs on top of its prompt:
/// its profile's ([`crate::intents`]), else a plain model call's.
pub fn expected_output_tokens(intent: &str) -> u32 {
    crate::intents::handling(intent).expected_output_tokens
}

/// Past steps of one intent needed before the adaptive strategy trusts them.
pub const ADAPTIVE_MIN_SAMPLES: u32 = 3;
/// Headroom over the 90th percentile of past use.
const ADAPTIVE_MARGIN: f64 = 1.15;

/// An agent's past token use for one intent (from `token_usage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentUsage {
    pub intent: String,
    /// Orchestrated steps counted.
    pub steps: u32,
    pub avg_tokens: u32,
    /// 90th percentile of tokens per step.
    pub p90_tokens: u32,
}

/// One step's claim on the budget.
#[derive(Debug, Clone, Default)]
pub struct Need {
    pub intent: String,
    /// Tokens of the step's prompt and params as written (before templates resolve).
    pub prompt_tokens: u32,
    /// `orchestration_token_budget_<intent>`, when set.
    pub intent_cap: Option<u32>,
    /// The step is marked critical.
    pub critical: bool,
    /// Steps that read this step's output, directly or further down.
    pub dependents: u32,
    /// The agent's past use for this intent (adaptive strategy only).
    pub history: Option<IntentUsage>,
}

/// How a step's need was estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Twice the prompt plus the intent's typical output.
    Estimate,
    /// The agent's past steps of this intent.
    History,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Estimate => "estimate",
            Basis::History => "history",
        }
    }
}

/// How the budget is split and capped.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub strategy: BudgetStrategy,
    pub workflow_budget: u32,
    pub max_per_step: u32,
    /// Factor on a critical step's need and caps (>= 1).
    pub critical_multiplier: f32,
}

impl Need {
    /// Tokens the step is expected to need, and on what basis.
    pub fn estimate(&self, strategy: BudgetStrategy) -> (u64, Basis) {
        if strategy == BudgetStrategy::Adaptive
            && let Some(h) = self.history.as_ref().filter(|h| h.steps >= ADAPTIVE_MIN_SAMPLES && h.p90_tokens > 0)
        {
            return ((f64::from(h.p90_tokens) * ADAPTIVE_MARGIN).ceil() as u64, Basis::History);
        }
        // Twice the prompt: resolved templates usually bring the step's inputs in.
        (u64::from(self.prompt_tokens) * 2 + u64::from(expected_output_tokens(&self.intent)), Basis::Estimate)
    }
}

/// One step's allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub allocated: u32,
    pub basis: Basis,
}

/// Allocates the workflow budget over `needs`, one share per step, in order.
pub fn allocate(rules: &Rules, needs: &[Need]) -> Vec<Share> {
    if needs.is_empty() {
        return vec![];
    }
    let multiplier = f64::from(rules.critical_multiplier.max(1.0));
    let weight = |n: &Need| if n.critical { multiplier } else { 1.0 };
    let estimates: Vec<(u64, Basis)> = needs.iter().map(|n| n.estimate(rules.strategy)).collect();
    let wants: Vec<u64> =
        needs.iter().zip(&estimates).map(|(n, (e, _))| (*e as f64 * weight(n)).ceil() as u64).collect();
    let budget = u64::from(rules.workflow_budget);
    let proportional = |pool: u64| -> Vec<u64> {
        let total: u64 = wants.iter().sum();
        wants.iter().map(|w| (pool * w).checked_div(total).unwrap_or(0)).collect()
    };
    let shares: Vec<u64> = match rules.strategy {
        BudgetStrategy::Equal => {
            let total: f64 = needs.iter().map(weight).sum();
            needs.iter().map(|n| (budget as f64 * weight(n) / total) as u64).collect()
        }
        BudgetStrategy::Proportional | BudgetStrategy::Adaptive => proportional(budget),
        BudgetStrategy::Priority => {
            let mut order: Vec<usize> = (0..needs.len()).collect();
            order.sort_by_key(|&i| (!needs[i].critical, std::cmp::Reverse(needs[i].dependents), i));
            let mut left = budget;
            let mut funded = vec![0u64; needs.len()];
            for i in order {
                funded[i] = wants[i].min(left);
                left -= funded[i];
            }
            funded.iter().zip(proportional(left)).map(|(f, extra)| f + extra).collect()
        }
    };
    shares
        .into_iter()
        .zip(needs)
        .zip(estimates)
        .map(|((share, need), (_, basis))| {
            let cap = need.intent_cap.map_or(rules.max_per_step, |c| c.min(rules.max_per_step));
            let cap = (f64::from(cap) * weight(need)) as u64;
            Share { allocated: share.min(cap) as u32, basis }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(intent: &str, prompt_tokens: u32) -> Need {
        Need { intent: intent.into(), prompt_tokens, ..Need::default() }
    }

    fn rules(strategy: BudgetStrategy, workflow_budget: u32, max_per_step: u32) -> Rules {
        Rules { strategy, workflow_budget, max_per_step, critical_multiplier: 1.5 }
    }

    fn allocated(shares: &[Share]) -> Vec<u32> {
        shares.iter().map(|s| s.allocated).collect()
    }

    #[test]
    fn proportional_follows_need_and_never_exceeds_the_workflow_budget() {
        let needs = [need("extract", 200), need("summarize", 100), need("transform", 50)];
        let shares = allocated(&allocate(&rules(BudgetStrategy::Proportional, 3_000, 10_000), &needs));
        assert!(shares[0] > shares[1] && shares[1] > shares[2], "{shares:?}");
        assert!(shares.iter().sum::<u32>() <= 3_000);
    }

    #[test]
    fn caps_apply_per_step_and_per_intent() {
        let mut capped = need("generate", 100);
        capped.intent_cap = Some(300);
        let shares = allocate(&rules(BudgetStrategy::Equal, 10_000, 2_000), &[need("extract", 10), capped]);
        assert_eq!(allocated(&shares), vec![2_000, 300]);
    }

    #[test]
    fn equal_splits_evenly() {
        let shares = allocate(&rules(BudgetStrategy::Equal, 900, 10_000), &[need("a", 1), need("b", 99), need("c", 5)]);
        assert_eq!(allocated(&shares), vec![300, 300, 300]);
    }

    #[test]
    fn a_critical_step_gets_its_multiplier_and_a_higher_cap() {
        let mut critical = need("extract", 100);
        critical.critical = true;
        let shares = allocated(&allocate(
            &rules(BudgetStrategy::Equal, 2_500, 10_000),
            &[need("extract", 100), critical.clone()],
        ));
        assert_eq!(shares, vec![1_000, 1_500]);
        // The per-step cap grows by the multiplier too.
        let shares =
            allocated(&allocate(&rules(BudgetStrategy::Equal, 100_000, 1_000), &[need("extract", 100), critical]));
        assert_eq!(shares, vec![1_000, 1_500]);
    }

    #[test]
    fn priority_funds_critical_then_upstream_steps_first_when_the_budget_is_short() {
        let mut upstream = need("extract", 500); // wants 1_800
        upstream.dependents = 2;
        let leaf = need("generate", 500); // wants 2_200
        let mut critical = need("send", 100); // wants 400 * 1.5 = 600
        critical.critical = true;
        let shares = allocated(&allocate(&rules(BudgetStrategy::Priority, 3_000, 10_000), &[leaf, upstream, critical]));
        assert_eq!(
            shares,
            vec![600, 1_800, 600],
            "critical first, then the step two others read, the leaf gets the rest"
        );
        assert_eq!(shares.iter().sum::<u32>(), 3_000);
    }

    #[test]
    fn priority_spreads_what_is_left_when_the_budget_is_ample() {
        let shares = allocated(&allocate(
            &rules(BudgetStrategy::Priority, 10_000, 100_000),
            &[need("extract", 100), need("summarize", 100)],
        ));
        // Needs 1_000 and 700, then 8_300 left shared 1_000:700.
        assert_eq!(shares, vec![1_000 + 4_882, 700 + 3_417]);
    }

    #[test]
    fn adaptive_uses_the_agents_history_only_with_enough_samples() {
        let history = |steps| Some(IntentUsage { intent: "summarize".into(), steps, avg_tokens: 300, p90_tokens: 400 });
        let mut known = need("summarize", 1_000);
        known.history = history(10);
        let mut thin = need("summarize", 1_000);
        thin.history = history(2);
        let shares = allocate(&rules(BudgetStrategy::Adaptive, 100_000, 100_000), &[known.clone(), thin.clone()]);
        assert_eq!((shares[0].basis, shares[1].basis), (Basis::History, Basis::Estimate));
        assert_eq!(known.estimate(BudgetStrategy::Adaptive).0, 460);
        // Without the adaptive strategy history is ignored.
        assert_eq!(known.estimate(BudgetStrategy::Proportional).0, 2_500);
        assert!(shares[0].allocated < shares[1].allocated);
    }

    #[test]
    fn never_more_than_the_workflow_budget_whatever_the_strategy() {
        let mut needs: Vec<Need> =
            (0..7).map(|i| need(["extract", "send", "generate"][i % 3], 37 * i as u32 + 1)).collect();
        needs[3].critical = true;
        needs[1].dependents = 4;
        for strategy in
            [BudgetStrategy::Proportional, BudgetStrategy::Equal, BudgetStrategy::Priority, BudgetStrategy::Adaptive]
        {
            for budget in [0, 1, 999, 5_000, 123_456] {
                let total: u32 = allocated(&allocate(&rules(strategy, budget, 8_000), &needs)).iter().sum();
                assert!(total <= budget, "{strategy:?} gave {total} of {budget}");
            }
        }
    }
}
