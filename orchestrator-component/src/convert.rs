//! Conversions between the WIT types and the orchestration library's types.

use crate::exports::workflowpilot::orchestration::orchestrator as wit;
use crate::workflowpilot::orchestration::{agents, audit, handlers, llm, types};
use orchestration::budget::{Basis, IntentUsage};
use orchestration::classify::Method;
use orchestration::routing::AgentScores;
use orchestration::session::{Metadata, StepInput, StepStatus};
use orchestration::types::*;

/// The caller's step with its params and variables.
pub fn step_input(input: types::StepInput) -> StepInput {
    StepInput { step: step(input.step), params: input.params, context: input.context }
}

pub fn step(s: types::WorkflowStep) -> Step {
    Step {
        id: s.id,
        name: s.name,
        prompt: s.prompt,
        intent: s.intent,
        params: s.params,
        depends_on: s.depends_on,
        critical: s.critical,
    }
}

fn wit_step(s: &Step) -> types::WorkflowStep {
    types::WorkflowStep {
        id: s.id.clone(),
        name: s.name.clone(),
        prompt: s.prompt.clone(),
        intent: s.intent.clone(),
        params: s.params.clone(),
        depends_on: s.depends_on.clone(),
        critical: s.critical,
    }
}

pub fn completion_request(c: &ModelCall) -> llm::CompletionRequest {
    llm::CompletionRequest {
        model: Some(c.model.clone()),
        system: Some(c.system.clone()),
        messages: vec![llm::Message { role: llm::Role::User, content: c.prompt.clone() }],
        max_tokens: c.max_tokens,
        temperature: c.temperature,
        response_format: if c.json { llm::ResponseFormat::Json } else { llm::ResponseFormat::Text },
    }
}

pub fn model_answer(c: llm::Completion) -> ModelAnswer {
    ModelAnswer { text: c.text, usage: usage(c.usage), cost_usd: c.cost_usd }
}

pub fn agent_scores(s: agents::AgentScores) -> AgentScores {
    AgentScores { creation: s.creation, execution: s.execution, combined: s.combined }
}

pub fn run_scores(s: AgentScores) -> agents::RunScores {
    agents::RunScores { creation: s.creation, execution: s.execution, combined: s.combined }
}

pub fn intent_usage(u: agents::IntentUsage) -> IntentUsage {
    IntentUsage { intent: u.intent, steps: u.steps, avg_tokens: u.avg_tokens, p90_tokens: u.p90_tokens }
}

fn usage(u: types::TokenUsage) -> Usage {
    Usage { input: u.input, output: u.output, total: u.total }
}

fn wit_usage(u: Usage) -> types::TokenUsage {
    types::TokenUsage { input: u.input, output: u.output, total: u.total }
}

pub fn step_request(r: &HandlerRequest) -> types::StepRequest {
    types::StepRequest {
        workflow_id: r.workflow_id.clone(),
        step: wit_step(&r.step),
        intent: r.intent.clone(),
        params: r.params.clone(),
        context: r.context.clone(),
        memory_context: r.memory_context.clone(),
        material: r.material.iter().map(material_piece).collect(),
        available_plugins: r.available_plugins.clone(),
        routed_model: r.routed_model.clone(),
        token_budget: r.token_budget,
    }
}

fn material_piece(p: &orchestration::material::Piece) -> types::MaterialPiece {
    use orchestration::material::{Format, Source};
    types::MaterialPiece {
        name: p.name.clone(),
        source: match p.source {
            Source::Prompt => types::MaterialSource::Prompt,
            Source::Param => types::MaterialSource::Param,
            Source::Input => types::MaterialSource::Input,
            Source::StepOutput => types::MaterialSource::StepOutput,
            Source::Memory => types::MaterialSource::Memory,
        },
        format: match p.format {
            Format::Text => types::MaterialFormat::Text,
            Format::Json => types::MaterialFormat::Json,
        },
        content: p.content.clone(),
        tokens: p.tokens,
        original_tokens: p.original_tokens,
        compressed: p.compressed,
    }
}

pub fn finished_step(f: wit::FinishedStep) -> FinishedStep {
    FinishedStep {
        orchestrated: f.orchestrated,
        model: f.model,
        usage: usage(f.tokens_used),
        tokens_saved: f.tokens_saved,
        cost_usd: f.cost_usd,
    }
}

pub fn dispatched(d: handlers::DispatchResult) -> Dispatched {
    Dispatched {
        output: d.output,
        handler: d.handler,
        handler_version: d.handler_version,
        usage: usage(d.usage),
        cost_usd: d.cost_usd,
        model: d.model,
        llm_calls: d.llm_calls,
        fuel_consumed: d.fuel_consumed,
        provider_time_us: d.provider_time_us,
    }
}

pub fn dispatch_failure(f: handlers::DispatchFailure) -> DispatchFailure {
    DispatchFailure {
        error: dispatch_error(f.error),
        usage: usage(f.usage),
        cost_usd: f.cost_usd,
        provider_time_us: f.provider_time_us,
    }
}

fn dispatch_error(e: types::StepError) -> DispatchError {
    match e {
        types::StepError::NoHandler(intent) => DispatchError::NoHandler(intent),
        types::StepError::Trapped(msg) => DispatchError::Trapped(msg),
        types::StepError::FuelExhausted(limit) => DispatchError::FuelExhausted(limit),
        types::StepError::DeadlineExceeded(ms) => DispatchError::DeadlineExceeded(ms),
        types::StepError::MemoryExceeded(bytes) => DispatchError::MemoryExceeded(bytes),
        types::StepError::OutputTooLarge(bytes) => DispatchError::OutputTooLarge(bytes),
        types::StepError::Host(msg) => DispatchError::Host(msg),
        types::StepError::Handler(h) => {
            let (kind, message) = match h {
                types::HandlerError::InvalidInput(m) => (HandlerErrorKind::InvalidInput, m),
                types::HandlerError::InvalidOutput(m) => (HandlerErrorKind::InvalidOutput, m),
                types::HandlerError::NotPermitted(m) => (HandlerErrorKind::NotPermitted, m),
                types::HandlerError::Failed(m) => (HandlerErrorKind::Failed, m),
                types::HandlerError::Llm(f @ types::LlmFailure::Provider(_)) => {
                    (HandlerErrorKind::Provider, llm_failure(f))
                }
                types::HandlerError::Llm(f) => (HandlerErrorKind::Llm, llm_failure(f)),
            };
            DispatchError::Handler { kind, message }
        }
    }
}

pub fn llm_failure(f: types::LlmFailure) -> String {
    match f {
        types::LlmFailure::BudgetExceeded(b) => {
            format!("budget exceeded: allocated {}, used {}, requested {}", b.allocated, b.used, b.requested)
        }
        types::LlmFailure::Provider(p) => format!("provider error {} {}: {}", p.status, p.kind, p.message),
        types::LlmFailure::InvalidRequest(m) => format!("invalid request: {m}"),
    }
}

pub fn audit_event(e: Event) -> audit::AuditEvent {
    audit::AuditEvent {
        event_type: match e.kind {
            EventKind::Initialized => audit::EventType::OrchestrationInitialized,
            EventKind::StepExecuted => audit::EventType::OrchestrationStepExecuted,
            EventKind::StepFailed => audit::EventType::OrchestrationStepFailed,
            EventKind::BudgetExceeded => audit::EventType::OrchestrationBudgetExceeded,
            EventKind::Completed => audit::EventType::OrchestrationCompleted,
        },
        severity: match e.severity {
            Severity::Info => audit::Severity::Info,
            Severity::Warning => audit::Severity::Warning,
            Severity::Critical => audit::Severity::Critical,
        },
        // The host fills in the workflow id from the session it created.
        workflow_id: String::new(),
        step_id: e.step_id,
        metadata: e.metadata.to_string(),
    }
}

pub fn step_result(r: StepResult) -> types::StepResult {
    types::StepResult {
        output: r.output,
        intent: r.intent,
        handler: r.handler,
        tokens_used: wit_usage(r.tokens_used),
        compression_applied: r.compression_applied,
        tokens_saved: r.tokens_saved,
        routed_model: r.routed_model,
        cost_usd: r.cost_usd,
        execution_time_us: r.execution_time_us,
        provider_time_us: r.provider_time_us,
    }
}

pub fn metrics(m: WorkflowMetrics) -> wit::WorkflowMetrics {
    wit::WorkflowMetrics {
        total_tokens_used: m.total_tokens_used,
        total_tokens_saved: m.total_tokens_saved,
        total_cost: m.total_cost,
        budget_utilization: m.budget_utilization,
        steps_executed: m.steps_executed,
        steps_fell_back: m.steps_fell_back,
        baseline_cost: m.baseline_cost,
        orchestrator_calls: m.overhead.calls,
        orchestrator_tokens: m.overhead.tokens,
        orchestrator_cost: m.overhead.cost_usd,
        classification_time_us: m.classification_time_us,
        compression_time_us: m.compression_time_us,
        routing_time_us: m.routing_time_us,
        orchestration_overhead_us: m.orchestration_overhead_us,
        compressions_applied: m.compressions_applied,
        min_compression_quality: m.min_compression_quality,
        avg_compression_quality: m.avg_compression_quality,
        quality_degraded: m.quality_degraded,
        retries: m.retries,
    }
}

fn step_failure(e: &DispatchError) -> wit::StepFailure {
    use orchestration::types::FailureReason as F;
    use wit::FailureReason as R;
    let reason = match e.reason() {
        F::NoHandler => R::NoHandler,
        F::Trap => R::Trap,
        F::Fuel => R::Fuel,
        F::Deadline => R::Deadline,
        F::Memory => R::Memory,
        F::OutputTooLarge => R::OutputTooLarge,
        F::InvalidInput => R::InvalidInput,
        F::Llm => R::Llm,
        F::Provider => R::Provider,
        F::InvalidOutput => R::InvalidOutput,
        F::NotPermitted => R::NotPermitted,
        F::HandlerFailed => R::HandlerFailed,
        F::Host => R::Host,
    };
    wit::StepFailure { reason, message: e.to_string() }
}

pub fn metadata(m: Metadata) -> wit::OrchestrationMetadata {
    wit::OrchestrationMetadata {
        workflow_id: m.workflow_id,
        feature_flags: wit::FeatureFlags {
            orchestration_enabled: m.settings.orchestration_enabled,
            compression_enabled: m.settings.compression_enabled,
            ais_routing_enabled: m.settings.ais_routing_enabled,
        },
        budget_strategy: m.settings.strategy.as_str().to_string(),
        workflow_budget: m.workflow_budget,
        steps: m
            .steps
            .into_iter()
            .map(|p| wit::StepPlan {
                budget: wit::TokenBudget { allocated: p.allocated, used: p.used, remaining: p.remaining() },
                status: match p.status {
                    StepStatus::Pending => wit::StepStatus::Pending,
                    StepStatus::Executed => wit::StepStatus::Executed,
                    StepStatus::FellBack => wit::StepStatus::FellBack,
                },
                failure: p.failure.as_ref().map(step_failure),
                budget_basis: match p.basis {
                    Basis::Estimate => wit::BudgetBasis::Estimate,
                    Basis::History => wit::BudgetBasis::History,
                },
                critical: p.critical,
                classification: wit::Classification {
                    intent: p.classification.intent,
                    confidence: p.classification.confidence,
                    method: match p.classification.method {
                        Method::Explicit => wit::ClassificationMethod::Explicit,
                        Method::Params => wit::ClassificationMethod::Params,
                        Method::Pattern => wit::ClassificationMethod::Pattern,
                        Method::Llm => wit::ClassificationMethod::Llm,
                        Method::Context => wit::ClassificationMethod::Context,
                        Method::Fallback => wit::ClassificationMethod::Fallback,
                    },
                    reasoning: p.classification.reasoning,
                    alternatives: p.classification.alternatives,
                    ambiguous: p.classification.ambiguous,
                },
                step_id: p.step_id,
            })
            .collect(),
    }
}
