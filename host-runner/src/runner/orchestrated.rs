//! A step through the orchestrator: its handler runs it, or the
//! orchestrator says why not, typed.

use super::context::{visible_context, wit_step};
use super::normal_path::RenderedStep;
use super::workflow::StepSpec;
use crate::bindings::orchestrator::exports::workflowpilot::orchestration::orchestrator::FailureReason as WitReason;
use crate::bindings::types::{StepInput, WorkflowStep};
use crate::components::orchestrator::OrchestratorSession;
use crate::vocabulary::failures::from_wit;
use crate::vocabulary::{FailureKind, FallbackKind, FallbackReason, Ran, StepFailure, StepOutcome};
use serde_json::Value;

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

/// Runs `spec` through `session`.
pub async fn attempt(
    session: &mut OrchestratorSession,
    spec: &StepSpec,
    step: &RenderedStep,
    memory_context: &String,
    available_plugins: &[String],
    provider: &str,
) -> Attempt {
    let input = StepInput {
        step: WorkflowStep { prompt: step.prompt.clone(), params: step.params.to_string(), ..wit_step(spec) },
        params: step.params.to_string(),
        context: visible_context(spec, &step.context).to_string(),
    };
    match session.execute_step(&spec.id, &input, memory_context, available_plugins).await {
        Ok(Some(result)) => {
            let output = serde_json::from_str(&result.output).unwrap_or(Value::String(result.output));
            Attempt::Settled(StepOutcome::Orchestrated(Ran {
                intent: Some(result.intent),
                handler: Some(result.handler),
                model: result.routed_model,
                provider: provider.to_string(),
                tokens: result.tokens_used.into(),
                tokens_saved: result.tokens_saved,
                compression_applied: result.compression_applied,
                cost_usd: result.cost_usd,
                provider_ms: result.provider_time_us as f64 / 1e3,
                output,
            }))
        }
        Ok(None) => {
            let plan = session.metadata().await.and_then(|m| m.steps.into_iter().find(|p| p.step_id == spec.id));
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
        Err(message) => Attempt::OrchestratorFailed(message),
    }
}
