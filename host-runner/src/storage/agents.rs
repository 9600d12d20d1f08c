//! Agents' intensity scores (`agent_intensity_metrics`) and their past token
//! use per intent (from `token_usage`), as both backends give them.

use orchestration::budget::IntentUsage;
use orchestration::routing::AgentScores;
use std::collections::BTreeMap;

/// Most recent orchestrated steps per intent the adaptive strategy looks at.
pub const HISTORY_PER_INTENT: usize = 200;

/// An agent's row, with the number of runs its execution score has seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgentRow {
    pub scores: AgentScores,
    pub runs: u32,
}

/// Count, mean and 90th percentile (nearest rank) of tokens per intent over
/// the most recent [`HISTORY_PER_INTENT`] steps of each; `newest_first` is
/// `(intent, tokens)` per orchestrated step.
pub fn usage_by_intent(newest_first: Vec<(String, u64)>) -> Vec<IntentUsage> {
    let mut by_intent: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (intent, tokens) in newest_first {
        let seen = by_intent.entry(intent).or_default();
        if seen.len() < HISTORY_PER_INTENT {
            seen.push(tokens);
        }
    }
    by_intent
        .into_iter()
        .map(|(intent, mut tokens)| {
            tokens.sort_unstable();
            let steps = tokens.len();
            let avg = tokens.iter().sum::<u64>() / steps as u64;
            let p90 = tokens[(steps * 9).div_ceil(10).saturating_sub(1)];
            let cap = |v: u64| v.min(u64::from(u32::MAX)) as u32;
            IntentUsage { intent, steps: steps as u32, avg_tokens: cap(avg), p90_tokens: cap(p90) }
        })
        .collect()
}

/// Scores are kept within 0-10, the range routing reads.
pub fn clamped(scores: &AgentScores) -> AgentScores {
    AgentScores {
        creation: scores.creation.clamp(0.0, 10.0),
        execution: scores.execution.clamp(0.0, 10.0),
        combined: scores.combined.clamp(0.0, 10.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_capped_per_intent_and_summarized() {
        let mut rows: Vec<(String, u64)> = (1..=10).rev().map(|n| ("summarize".to_string(), n * 100)).collect();
        rows.push(("extract".into(), 50));
        rows.extend((0..300).map(|_| ("filter".to_string(), 7)));
        let usage = usage_by_intent(rows);
        assert_eq!(usage[0], IntentUsage { intent: "extract".into(), steps: 1, avg_tokens: 50, p90_tokens: 50 });
        assert_eq!(usage[1].steps, HISTORY_PER_INTENT as u32, "only the most recent steps count");
        assert_eq!(usage[2], IntentUsage { intent: "summarize".into(), steps: 10, avg_tokens: 550, p90_tokens: 900 });
    }
}
