//! Recording how a step ended: an executed step's plan, metrics, events and
//! result, or a fall-back to normal execution.

use super::dispatch::FailedAttempts;
use super::events::{self, Executed};
use super::step::{Compression, Prepared};
use super::{Session, StepStatus};
use crate::environment::Environment;
use crate::types::{DispatchError, Dispatched, FinishedStep, StepResult};
use std::time::Instant;

impl<E: Environment> Session<E> {
    /// Books an executed step into its plan and the metrics, emits the
    /// overage event (when it spent past its allocation) and
    /// `STEP_EXECUTED`, and returns its result. `started` is when the step began.
    pub(super) fn record_success(
        &mut self,
        index: usize,
        step_id: &str,
        started: Instant,
        step: Prepared,
        done: Dispatched,
        failed: FailedAttempts,
    ) -> StepResult {
        let elapsed = started.elapsed().as_micros() as u64;
        let routed_tier = self.settings.ais_routing_enabled.then(|| self.models.tier_of(&done.model)).flatten();
        let plan = &mut self.plans[index];
        plan.used = plan.used.saturating_add(done.usage.total);
        plan.status = StepStatus::Executed;
        plan.routed_tier = routed_tier;
        // Savings count only where a model call actually carried the compressed text.
        let tokens_saved = if done.llm_calls > 0 { step.compression.tokens_saved } else { 0 };
        let baseline = self.baseline_cost(&step.intent, &done, step.material_tokens, tokens_saved);
        let m = &mut self.metrics;
        m.total_tokens_used += u64::from(done.usage.total);
        m.total_tokens_saved += u64::from(tokens_saved);
        m.total_cost += done.cost_usd;
        m.baseline_cost += baseline;
        m.steps_executed += 1;
        m.orchestration_overhead_us += elapsed.saturating_sub(done.provider_time_us + failed.provider_time_us);
        self.count_compression(&step.compression);
        let plan = &self.plans[index];
        if plan.used > plan.allocated {
            // Within the overage the host allowed, but past the allocation: recorded.
            self.env.emit(events::overage(step_id, &step.intent, plan, done.usage.total, self.settings.overage));
        }
        let executed = Executed {
            step: &step,
            done: &done,
            tokens_saved,
            baseline_cost_usd: baseline,
            retried: &failed.retried,
            execution_time_us: elapsed,
        };
        self.env.emit(events::step_executed(step_id, plan, &executed));
        StepResult {
            output: done.output,
            intent: step.intent,
            handler: done.handler,
            tokens_used: done.usage,
            compression_applied: step.compression.applied,
            tokens_saved,
            routed_model: done.model,
            cost_usd: done.cost_usd,
            execution_time_us: elapsed,
            provider_time_us: done.provider_time_us,
        }
    }

    /// Takes in a step an earlier session of this execution finished (see
    /// [`FinishedStep`]); false when the step is unknown or already planned here.
    pub fn restore_step(&mut self, step_id: &str, finished: &FinishedStep) -> bool {
        let Some(index) = self.plans.iter().position(|p| p.step_id == step_id) else { return false };
        if self.plans[index].status != StepStatus::Pending || self.in_flight.contains_key(step_id) {
            return false;
        }
        let plan = &mut self.plans[index];
        if !finished.orchestrated {
            plan.status = StepStatus::FellBack;
            self.metrics.steps_fell_back += 1;
            return true;
        }
        plan.used = plan.used.saturating_add(finished.usage.total);
        plan.status = StepStatus::Executed;
        plan.routed_tier = self.settings.ais_routing_enabled.then(|| self.models.tier_of(&finished.model)).flatten();
        let m = &mut self.metrics;
        m.total_tokens_used += u64::from(finished.usage.total);
        m.total_tokens_saved += u64::from(finished.tokens_saved);
        m.total_cost += finished.cost_usd;
        // Its baseline was not kept: counted at what it cost, claiming no saving.
        m.baseline_cost += finished.cost_usd;
        m.steps_executed += 1;
        true
    }

    /// Marks the step fallen back with its typed error and emits `STEP_FAILED`.
    pub(super) fn record_fallback(
        &mut self,
        index: usize,
        step_id: &str,
        intent: &str,
        error: DispatchError,
        retries: usize,
    ) {
        let plan = &mut self.plans[index];
        plan.status = StepStatus::FellBack;
        plan.failure = Some(error.clone());
        self.metrics.steps_fell_back += 1;
        self.emit_failure(step_id, Some(intent), error.kind(), &error.to_string(), retries);
    }

    /// Counts an applied compression's quality, or a refused one's degradation.
    fn count_compression(&mut self, compression: &Compression) {
        let m = &mut self.metrics;
        if compression.applied {
            m.compressions_applied += 1;
            m.min_compression_quality = m.min_compression_quality.min(compression.quality);
            self.quality_sum += compression.quality;
            m.avg_compression_quality = self.quality_sum / m.compressions_applied as f32;
        }
        if compression.quality_degraded {
            m.quality_degraded += 1;
        }
    }

    /// What the step would have cost on the normal path: its full material on
    /// the powerful tier. Steps that made model calls are priced from their
    /// real usage (plus what compression removed); steps whose handler needed
    /// no model are priced as the model call the normal path would make.
    fn baseline_cost(&self, intent: &str, done: &Dispatched, material_tokens: u32, tokens_saved: u32) -> f64 {
        let (input, output) = if done.llm_calls > 0 {
            (done.usage.input + tokens_saved, done.usage.output)
        } else {
            (material_tokens, crate::budget::expected_output_tokens(intent))
        };
        crate::routing::cost_usd(&self.models.powerful, input, output)
    }
}
