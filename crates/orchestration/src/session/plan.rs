//! What `initialize` decides for every step before any runs: its intent
//! (through the classification tiers) and its token budget.

use crate::budget::BudgetStrategy;
use crate::budget::{self, Basis, Need, Rules};
use crate::classify::{self, Classification, context, llm};
use crate::environment::Environment;
use crate::intents::{self, INTENTS};
use crate::settings::Settings;
use crate::types::{ModelCall, OverheadSpend, Step};
use serde_json::{Value, json};
use std::collections::HashMap;

/// What the LLM tier did for a workflow.
#[derive(Debug, Clone, Default)]
pub struct LlmTier {
    /// Steps it was asked about.
    pub asked: usize,
    /// Steps whose answer it gave (accepted or not).
    pub answered: usize,
    pub spend: OverheadSpend,
    /// Why it did not run or its answer was unusable.
    pub note: Option<String>,
}

impl LlmTier {
    pub fn record(&self) -> Value {
        json!({
            "asked": self.asked,
            "answered": self.answered,
            "tokens": self.spend.tokens,
            "cost_usd": self.spend.cost_usd,
            "note": self.note,
        })
    }
}

/// Classifies every step: the free tiers, then for the unsure ones one LLM
/// call (when enabled) and the context tier.
pub fn classify_steps(
    env: &impl Environment,
    settings: &Settings,
    fast_model: &str,
    steps: &[Step],
    goal: Option<&str>,
) -> (Vec<Classification>, LlmTier) {
    let first: Vec<Classification> = steps
        .iter()
        .map(|s| {
            let params = serde_json::from_str(&s.params).unwrap_or(Value::Null);
            classify::classify(s.intent.as_deref(), &params, &s.name, &s.prompt)
        })
        .collect();
    let unsure: Vec<bool> = first.iter().map(|c| classify::is_unsure(c, settings.classification_threshold)).collect();
    let mut tier = LlmTier { asked: unsure.iter().filter(|u| **u).count(), ..LlmTier::default() };
    if tier.asked == 0 {
        return (first, tier);
    }
    let answers = if settings.llm_classification {
        ask_model(env, fast_model, steps, &unsure, goal, &mut tier)
    } else {
        tier.note = Some(format!("off ({} is false)", crate::keys::LLM_CLASSIFICATION_ENABLED));
        HashMap::new()
    };
    tier.answered = answers.len();
    let settled = first
        .into_iter()
        .zip(steps)
        .zip(unsure)
        .map(|((rules, step), unsure)| {
            if !unsure {
                return rules;
            }
            let step_context =
                context::StepContext { name: &step.name, prompt: &step.prompt, goal, reads: step.depends_on.len() };
            classify::settle_unsure(
                rules,
                settings.classification_threshold,
                answers.get(&step.id).cloned(),
                &step_context,
            )
        })
        .collect();
    (settled, tier)
}

/// One call to the fast-tier model about the unsure steps.
fn ask_model(
    env: &impl Environment,
    model: &str,
    steps: &[Step],
    unsure: &[bool],
    goal: Option<&str>,
    tier: &mut LlmTier,
) -> HashMap<String, Classification> {
    let mut intents = env.registered_intents();
    if intents.is_empty() {
        intents = INTENTS.iter().map(|i| i.to_string()).collect();
    }
    let candidates: Vec<llm::Candidate> = steps
        .iter()
        .zip(unsure)
        .map(|(s, unsure)| llm::Candidate {
            id: &s.id,
            name: &s.name,
            prompt: &s.prompt,
            depends_on: &s.depends_on,
            unsure: *unsure,
        })
        .collect();
    let offered: Vec<llm::Offered> = intents
        .iter()
        .map(|intent| llm::Offered {
            intent: intent.clone(),
            // Only an intent the seed does not define needs its handler's words.
            description: llm::seed_meaning(intent).is_none().then(|| env.intent_description(intent)).flatten(),
        })
        .collect();
    let (system, prompt) = llm::request(&candidates, goal, &offered);
    let asked: Vec<&str> = steps.iter().zip(unsure).filter(|(_, u)| **u).map(|(s, _)| s.id.as_str()).collect();
    let call = ModelCall {
        model: model.to_string(),
        system,
        prompt,
        max_tokens: llm::max_tokens(&asked),
        temperature: 0.0,
        json: true,
    };
    let answer = match env.complete(&call) {
        Ok(answer) => answer,
        Err(e) => {
            tier.note = Some(format!("model call failed: {e}"));
            return HashMap::new();
        }
    };
    tier.spend.add(&answer);
    match llm::parse(&answer.text, &asked, &intents) {
        Ok(found) => found,
        Err(e) => {
            tier.note = Some(e.to_string());
            HashMap::new()
        }
    }
}

/// How many steps read each step's output, directly or further down: one
/// walk of the reversed dependency graph per step, O(steps × edges).
pub fn dependents(steps: &[Step]) -> Vec<u32> {
    let index: HashMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut readers: Vec<Vec<usize>> = vec![vec![]; steps.len()];
    for (i, s) in steps.iter().enumerate() {
        for &d in s.depends_on.iter().filter_map(|d| index.get(d.as_str())) {
            if d != i {
                readers[d].push(i);
            }
        }
    }
    (0..steps.len())
        .map(|start| {
            let mut seen = vec![false; steps.len()];
            let mut stack = readers[start].clone();
            let mut count = 0;
            while let Some(i) = stack.pop() {
                if i == start || std::mem::replace(&mut seen[i], true) {
                    continue;
                }
                count += 1;
                stack.extend(&readers[i]);
            }
            count
        })
        .collect()
}

/// Each step's budget, and how its need was estimated.
pub fn allocate(
    env: &impl Environment,
    settings: &Settings,
    agent_id: &str,
    steps: &[Step],
    classifications: &[Classification],
) -> Vec<(u32, Basis)> {
    let history = if settings.strategy == BudgetStrategy::Adaptive { env.intent_usage(agent_id) } else { vec![] };
    // Only the priority strategy orders by dependents.
    let fan_out = if settings.strategy == BudgetStrategy::Priority { dependents(steps) } else { vec![0; steps.len()] };
    let needs: Vec<Need> = steps
        .iter()
        .zip(classifications)
        .zip(fan_out)
        .map(|((step, c), dependents)| Need {
            intent: c.intent.clone(),
            // Data handed over in params (records, rules) is read too.
            prompt_tokens: env.count_tokens(&step.prompt) + env.count_tokens(&step.params),
            intent_cap: env
                .setting(&intents::budget_key(&c.intent))
                .and_then(|v| v.trim().parse().ok())
                .filter(|cap: &u32| *cap > 0),
            critical: step.critical,
            dependents,
            history: history.iter().find(|h| h.intent == c.intent).cloned(),
        })
        .collect();
    let rules = Rules {
        strategy: settings.strategy,
        workflow_budget: settings.max_tokens_per_workflow,
        max_per_step: settings.max_tokens_per_step,
        critical_multiplier: settings.critical_multiplier,
    };
    budget::allocate(&rules, &needs).into_iter().map(|s| (s.allocated, s.basis)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: &str, depends_on: &[&str]) -> Step {
        Step {
            id: id.into(),
            name: id.into(),
            prompt: String::new(),
            intent: None,
            params: "{}".into(),
            depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
            critical: false,
        }
    }

    #[test]
    fn dependents_count_transitive_readers() {
        let steps = [step("a", &[]), step("b", &["a"]), step("c", &["b"]), step("d", &["a", "c"]), step("e", &[])];
        assert_eq!(dependents(&steps), vec![3, 2, 1, 0, 0]);
    }
}
