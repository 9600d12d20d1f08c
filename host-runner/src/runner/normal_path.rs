//! The normal path: the step's full prompt, params and context in one call
//! to the default model, as WorkflowPilot runs a step without orchestration.

use super::budget::WorkflowBudget;
use super::context::params_not_in;
use super::workflow::StepSpec;
use crate::bindings::types::LlmFailure;
use crate::capabilities::audit::AuditSink;
use crate::capabilities::llm::provider::{AnswerFormat, ProviderRequest};
use crate::host::Host;
use crate::storage::records::Identity;
use crate::tokenizer;
use crate::vocabulary::failures::describe_llm_failure;
use crate::vocabulary::{FailureKind, FallbackReason, Ran, StepFailure, StepOutcome};
use serde_json::Value;

/// Output tokens allowed to a step on the normal path.
const NORMAL_PATH_MAX_TOKENS: u32 = 2_048;

/// A step with its templates resolved: what either path sends.
pub struct RenderedStep {
    pub prompt: String,
    pub params: Value,
    /// The workflow inputs and the dependencies' outputs.
    pub context: Value,
}

/// Why a step runs the normal way, and the budget it runs under.
pub struct NormalPath<'a> {
    /// `None` with orchestration off: the normal path as the seed has it.
    pub fallback: Option<FallbackReason>,
    /// The intent the orchestrator classified the step as, if it did.
    pub intent: Option<String>,
    /// `None` with orchestration off.
    pub budget: Option<&'a WorkflowBudget>,
}

impl Host {
    /// Runs `spec` the normal way; its usage and audit are the recorder's.
    pub(super) async fn run_normal_path(
        &self,
        who: &Identity,
        spec: &StepSpec,
        step: &RenderedStep,
        memory_context: &str,
        model: &str,
        how: NormalPath<'_>,
    ) -> StepOutcome {
        let NormalPath { fallback, intent, budget } = how;
        let content = normal_prompt(step, memory_context);
        let audit = AuditSink::new(self.db().clone(), who.clone());
        let mut llm = self.runtime.shared.capabilities.llm.prepare(audit, "runner", model).for_step(&spec.id);
        // The host admits the call against what it holds of the workflow
        // budget, as it admits a handler's against its step's allocation.
        let reservation = budget.map(|budget| {
            let need = tokenizer::count(&content).saturating_add(NORMAL_PATH_MAX_TOKENS);
            budget.reserve(need)
        });
        if let Some(held) = &reservation {
            llm = llm.with_step_budget(&spec.id, held.tokens);
        }
        let request = ProviderRequest {
            model: model.to_string(),
            system: None,
            messages: vec![("user", content)],
            max_tokens: NORMAL_PATH_MAX_TOKENS,
            temperature: 0.7,
            format: AnswerFormat::Text,
        };
        let answer = llm.call(request).await;
        let held = reservation.as_ref().map_or(0, |held| held.tokens);
        if let (Some(budget), Some(reservation)) = (budget, reservation) {
            budget.settle(reservation, answer.as_ref().map_or(0, |c| c.usage.total));
        }
        let completion = match answer {
            Ok(completion) => completion,
            Err(error) => return StepOutcome::Failed { intent, failure: failure_of(&error, budget, held) },
        };
        let output = serde_json::from_str(completion.text.trim()).unwrap_or(Value::String(completion.text));
        let ran = Ran {
            intent,
            handler: None,
            model: completion.model,
            provider: completion.provider,
            tokens: completion.usage.into(),
            tokens_saved: 0,
            compression_applied: false,
            cost_usd: completion.cost_usd,
            provider_ms: llm.meter().provider_time.as_secs_f64() * 1e3,
            output,
        };
        StepOutcome::Fallback { reason: fallback, ran }
    }
}

/// The one message of the normal path: the prompt, the params no template
/// already copied, the context and the memory.
fn normal_prompt(step: &RenderedStep, memory_context: &str) -> String {
    let mut content = step.prompt.clone();
    let params = params_not_in(&step.params, &step.prompt, &step.context);
    if !params.is_empty() {
        content.push_str(&format!("\n\nStep parameters:\n{:#}", Value::Object(params)));
    }
    content.push_str(&format!("\n\nWorkflow context:\n{:#}", step.context));
    if memory_context != "null" {
        content.push_str(&format!("\n\nMemory from earlier runs:\n{memory_context}"));
    }
    content
}

/// A refused or failed normal-path call, typed and in words.
fn failure_of(error: &LlmFailure, budget: Option<&WorkflowBudget>, held: u32) -> StepFailure {
    let kind = match error {
        LlmFailure::BudgetExceeded(_) => FailureKind::Budget,
        LlmFailure::Provider(_) => FailureKind::Provider,
        LlmFailure::InvalidRequest(_) => FailureKind::InvalidRequest,
    };
    let message = match (error, budget) {
        (LlmFailure::BudgetExceeded(refusal), Some(budget)) => format!(
            "the workflow token budget (orchestration_max_tokens_per_workflow = {}) has {} tokens left and \
             the normal-path call asks for {} (prompt and answer): not sent",
            budget.limit(),
            held,
            refusal.requested
        ),
        _ => format!("model call failed: {}", describe_llm_failure(error)),
    };
    StepFailure { kind, message }
}
