//! Dispatching a prepared step to its handler and, after a failure a
//! stronger model may avoid, once more a tier up (`orchestration_max_retries`).

use super::step::Prepared;
use super::{Session, StepInput, events};
use crate::environment::Environment;
use crate::types::{DispatchFailure, Dispatched};
use serde_json::Value;

/// What the failed attempts of a step left behind.
pub(super) struct FailedAttempts {
    /// The attempts retried a tier up, as `STEP_EXECUTED` records them.
    pub retried: Vec<Value>,
    /// Provider time of every failed attempt: not the orchestrator's overhead.
    pub provider_time_us: u64,
}

impl<E: Environment> Session<E> {
    /// Dispatches the step, and again a tier up while the failure is one a
    /// stronger model may avoid, retries remain, a stronger tier exists and
    /// budget is left. `step` ends with the routing and request of the last attempt.
    pub(super) fn dispatch_with_retries(
        &mut self,
        index: usize,
        input: &StepInput,
        step: &mut Prepared,
    ) -> (Result<Dispatched, DispatchFailure>, FailedAttempts) {
        let mut failed = FailedAttempts { retried: vec![], provider_time_us: 0 };
        let mut outcome = self.env.dispatch(&step.request);
        while let Err(failure) = &outcome {
            // A failed attempt may have paid for model calls: charged to the step once.
            self.charge_failed_attempt(index, failure);
            failed.provider_time_us += failure.provider_time_us;
            let retryable = failure.error.retryable_on_stronger_model() && self.settings.ais_routing_enabled;
            if !retryable || failed.retried.len() as u32 >= self.settings.max_retries {
                break;
            }
            let previous_failures = failed.retried.len() as u32 + 1;
            let escalated = self.route(index, &step.intent, input, step.material_tokens, previous_failures);
            let budget = self.plans[index].spendable(self.settings.overage);
            if escalated.model == step.routing.model || budget == 0 {
                break; // Already on the top tier, or nothing left to retry with.
            }
            failed.retried.push(events::retried_attempt(&step.routing.model, failure));
            self.metrics.retries += 1;
            step.routing = escalated;
            step.request.routed_model = step.routing.model.clone();
            step.request.token_budget = budget;
            outcome = self.env.dispatch(&step.request);
        }
        (outcome, failed)
    }

    /// What a failed attempt spent: the step's budget and the totals.
    fn charge_failed_attempt(&mut self, index: usize, failure: &DispatchFailure) {
        let plan = &mut self.plans[index];
        plan.used = plan.used.saturating_add(failure.usage.total);
        self.metrics.total_tokens_used += u64::from(failure.usage.total);
        self.metrics.total_cost += failure.cost_usd;
    }
}
