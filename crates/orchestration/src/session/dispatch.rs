//! After a failed dispatch of a prepared step: once more a tier up when a
//! stronger model may avoid the failure (`orchestration_max_retries`).

use super::step::Prepared;
use super::{Session, StepInput, events};
use crate::environment::Environment;
use crate::types::DispatchFailure;
use serde_json::Value;

/// What the failed attempts of a step left behind.
#[derive(Default)]
pub(super) struct FailedAttempts {
    /// The attempts retried a tier up, as `STEP_EXECUTED` records them.
    pub retried: Vec<Value>,
    /// Provider time of every failed attempt: not the orchestrator's overhead.
    pub provider_time_us: u64,
}

impl<E: Environment> Session<E> {
    /// Books a failed attempt and says whether to dispatch again a tier up:
    /// when the failure is one a stronger model may avoid, retries remain, a
    /// stronger tier exists and budget is left. On `true`, `step` holds the
    /// escalated routing and request.
    pub(super) fn retry_after(
        &mut self,
        index: usize,
        input: &StepInput,
        step: &mut Prepared,
        failed: &mut FailedAttempts,
        failure: &DispatchFailure,
    ) -> bool {
        // A failed attempt may have paid for model calls: charged to the step once.
        self.charge_failed_attempt(index, failure);
        failed.provider_time_us += failure.provider_time_us;
        let retryable = failure.error.retryable_on_stronger_model() && self.settings.ais_routing_enabled;
        if !retryable || failed.retried.len() as u32 >= self.settings.max_retries {
            return false;
        }
        let previous_failures = failed.retried.len() as u32 + 1;
        let escalated = self.route(index, &step.intent, input, step.material_tokens, previous_failures);
        let budget = self.plans[index].spendable(self.settings.overage);
        if escalated.model == step.routing.model || budget == 0 {
            return false; // Already on the top tier, or nothing left to retry with.
        }
        failed.retried.push(events::retried_attempt(&step.routing.model, failure));
        self.metrics.retries += 1;
        step.routing = escalated;
        step.request.routed_model = step.routing.model.clone();
        step.request.token_budget = budget;
        true
    }

    /// What a failed attempt spent: the step's budget and the totals.
    fn charge_failed_attempt(&mut self, index: usize, failure: &DispatchFailure) {
        let plan = &mut self.plans[index];
        plan.used = plan.used.saturating_add(failure.usage.total);
        self.metrics.total_tokens_used += u64::from(failure.usage.total);
        self.metrics.total_cost += failure.cost_usd;
    }
}
