//! A step through the orchestrator, in two phases so steps overlap: the
//! orchestrator plans the step (material, route, compression) and records
//! each dispatch, while the host runs the handler without holding it. The
//! handler's model calls are admitted against what the step holds of the
//! workflow budget.

use super::budget::WorkflowBudget;
use super::context::{visible_context, wit_step};
use super::normal_path::RenderedStep;
use super::workflow::StepSpec;
use crate::bindings::orchestrator::exports::workflowpilot::orchestration::orchestrator::{
    FailureReason as WitReason, StepProgress,
};
use crate::bindings::types::{StepInput, StepResult, WorkflowStep};
use crate::capabilities::handlers::Dispatcher;
use crate::components::orchestrator::OrchestratorSession;
use crate::components::runtime::Runtime;
use crate::storage::records::Identity;
use crate::vocabulary::failures::from_wit;
use crate::vocabulary::{FailureKind, FallbackKind, FallbackReason, Ran, StepFailure, StepOutcome};
use serde_json::Value;
use tokio::sync::Mutex;

/// What the orchestrator did with a step.
pub enum Attempt {
    /// The step is settled: its handler ran it, or it failed in a way the
    /// normal path would repeat.
    Settled(StepOutcome),
    /// The orchestrator fell back: the step runs the normal way.
    FellBack { reason: FallbackReason, intent: Option<String> },
    /// The orchestrator itself failed: this and every later step run the normal way.
    OrchestratorFailed(String),
}

/// What one orchestrated step needs of its run.
pub struct Orchestrated<'a> {
    pub runtime: &'a Runtime,
    pub session: &'a Mutex<OrchestratorSession>,
    pub who: &'a Identity,
    pub budget: Option<&'a WorkflowBudget>,
    pub memory_context: &'a String,
    pub available_plugins: &'a [String],
    pub provider: &'a str,
}

impl Orchestrated<'_> {
    /// Runs `spec` through the orchestrator.
    pub async fn attempt(&self, spec: &StepSpec, step: &RenderedStep) -> Attempt {
        let input = StepInput {
            step: WorkflowStep { prompt: step.prompt.clone(), params: step.params.to_string(), ..wit_step(spec) },
            params: step.params.to_string(),
            context: visible_context(spec, &step.context).to_string(),
        };
        let planned =
            self.session.lock().await.plan_step(&spec.id, &input, self.memory_context, self.available_plugins).await;
        let mut request = match planned {
            Ok(Some(request)) => request,
            Ok(None) => return self.fell_back(&spec.id).await,
            Err(message) => return Attempt::OrchestratorFailed(message),
        };
        loop {
            let reservation = self.budget.map(|budget| budget.reserve(request.token_budget));
            if let Some(held) = &reservation {
                request.token_budget = held.tokens;
            }
            let outcome = self.runtime.dispatch(self.who, request).await;
            if let (Some(budget), Some(reservation)) = (self.budget, reservation) {
                let used = match &outcome {
                    Ok(done) => done.usage.total,
                    Err(failure) => failure.usage.total,
                };
                budget.settle(reservation, used);
            }
            let progress = self.session.lock().await.record_dispatch(&spec.id, &outcome).await;
            match progress {
                Ok(StepProgress::Dispatch(next)) => request = next,
                Ok(StepProgress::Done(result)) => return Attempt::Settled(self.ran(result)),
                Ok(StepProgress::FellBack) => return self.fell_back(&spec.id).await,
                Err(message) => return Attempt::OrchestratorFailed(message),
            }
        }
    }

    fn ran(&self, result: StepResult) -> StepOutcome {
        let output = serde_json::from_str(&result.output).unwrap_or(Value::String(result.output));
        StepOutcome::Orchestrated(Ran {
            intent: Some(result.intent),
            handler: Some(result.handler),
            model: result.routed_model,
            provider: self.provider.to_string(),
            tokens: result.tokens_used.into(),
            tokens_saved: result.tokens_saved,
            compression_applied: result.compression_applied,
            cost_usd: result.cost_usd,
            provider_ms: result.provider_time_us as f64 / 1e3,
            output,
        })
    }

    /// Why the orchestrator fell back on `step_id`, from its metadata.
    async fn fell_back(&self, step_id: &str) -> Attempt {
        let metadata = self.session.lock().await.metadata().await;
        let plan = metadata.and_then(|m| m.steps.into_iter().find(|p| p.step_id == step_id));
        let intent = plan.as_ref().map(|p| p.classification.intent.clone());
        match plan.and_then(|p| p.failure) {
            // The normal path would call the provider that just failed, and fail alike.
            Some(f) if f.reason == WitReason::Provider => Attempt::Settled(StepOutcome::Failed {
                intent,
                failure: StepFailure {
                    kind: FailureKind::Provider,
                    message: format!("the model provider failed: {}", f.message),
                },
            }),
            Some(f) => Attempt::FellBack {
                reason: FallbackReason { kind: FallbackKind::Handler(from_wit(f.reason)), message: f.message },
                intent,
            },
            None => Attempt::FellBack { reason: FallbackReason::declined(), intent },
        }
    }
}
