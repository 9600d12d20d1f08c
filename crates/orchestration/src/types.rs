//! Plain data types of the orchestrator, mirroring the WIT records.

use serde::Serialize;

/// One workflow step (templates already resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub name: String,
    pub prompt: String,
    /// The intent the author declared, if any.
    pub intent: Option<String>,
    /// Step params, a JSON object as text.
    pub params: String,
    pub depends_on: Vec<String>,
    /// A critical step gets `orchestration_budget_critical_multiplier` times its share.
    pub critical: bool,
}

/// A step an earlier session of the same execution finished (a durable run
/// resumed elsewhere), as [`crate::session::Session::restore_step`] takes it in.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedStep {
    /// It ran through its handler; otherwise it ran the normal way or failed.
    pub orchestrated: bool,
    pub model: String,
    pub usage: Usage,
    pub tokens_saved: u32,
    pub cost_usd: f64,
}

/// Token counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Usage {
    pub input: u32,
    pub output: u32,
    pub total: u32,
}

/// A model call the orchestrator makes itself (LLM classification, semantic
/// compression), through the host's `llm` import.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCall {
    pub model: String,
    pub system: String,
    pub prompt: String,
    pub max_tokens: u32,
    pub temperature: f32,
    /// The answer must be one JSON value.
    pub json: bool,
}

/// The answer to a [`ModelCall`], with the usage the provider reported.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelAnswer {
    pub text: String,
    pub usage: Usage,
    pub cost_usd: f64,
}

/// What the orchestrator spent on its own model calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct OverheadSpend {
    pub calls: u32,
    pub tokens: u64,
    pub cost_usd: f64,
}

impl OverheadSpend {
    pub fn add(&mut self, answer: &ModelAnswer) {
        self.calls += 1;
        self.tokens += u64::from(answer.usage.total);
        self.cost_usd += answer.cost_usd;
    }
}

/// What the orchestrator asks a handler to do.
#[derive(Debug, Clone)]
pub struct HandlerRequest {
    pub workflow_id: String,
    pub step: Step,
    pub intent: String,
    pub params: String,
    pub context: String,
    pub memory_context: String,
    /// Everything the step's model calls must carry (see [`crate::material`]).
    pub material: Vec<crate::material::Piece>,
    pub available_plugins: Vec<String>,
    pub routed_model: String,
    pub token_budget: u32,
}

/// A handler's output with what the host measured while it ran.
#[derive(Debug, Clone)]
pub struct Dispatched {
    pub output: String,
    pub handler: String,
    pub handler_version: String,
    pub usage: Usage,
    pub cost_usd: f64,
    pub model: String,
    pub llm_calls: u32,
    pub fuel_consumed: u64,
    pub provider_time_us: u64,
}

/// A failed dispatch: why, and what the attempt spent on models before it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchFailure {
    pub error: DispatchError,
    pub usage: Usage,
    pub cost_usd: f64,
    pub provider_time_us: u64,
}

impl From<DispatchError> for DispatchFailure {
    /// A failure that spent nothing.
    fn from(error: DispatchError) -> Self {
        DispatchFailure { error, usage: Usage::default(), cost_usd: 0.0, provider_time_us: 0 }
    }
}

/// Why a dispatch failed. `kind()` is the short reason recorded in audit.
#[derive(Debug, Clone, PartialEq)]
pub enum DispatchError {
    NoHandler(String),
    Trapped(String),
    FuelExhausted(u64),
    DeadlineExceeded(u64),
    MemoryExceeded(u64),
    OutputTooLarge(u64),
    /// The handler's own error: its kind and message.
    Handler {
        kind: HandlerErrorKind,
        message: String,
    },
    Host(String),
}

/// The kinds of a handler's own typed error (the WIT `handler-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerErrorKind {
    InvalidInput,
    /// A model call the host refused (budget, malformed request).
    Llm,
    /// The model provider failed the call (error status, timeout, no connection).
    Provider,
    InvalidOutput,
    NotPermitted,
    Failed,
}

impl HandlerErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HandlerErrorKind::InvalidInput => "invalid_input",
            HandlerErrorKind::Llm => "llm",
            HandlerErrorKind::Provider => "provider",
            HandlerErrorKind::InvalidOutput => "invalid_output",
            HandlerErrorKind::NotPermitted => "not_permitted",
            HandlerErrorKind::Failed => "failed",
        }
    }
}

/// Why an orchestrated step fell back, typed (the WIT `failure-reason`):
/// the vocabulary the host's reports, rows and metric labels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    NoHandler,
    Trap,
    Fuel,
    Deadline,
    Memory,
    OutputTooLarge,
    InvalidInput,
    Llm,
    Provider,
    InvalidOutput,
    NotPermitted,
    HandlerFailed,
    Host,
}

impl FailureReason {
    /// Every reason, for tests and bounded label sets.
    pub const ALL: [FailureReason; 13] = [
        FailureReason::NoHandler,
        FailureReason::Trap,
        FailureReason::Fuel,
        FailureReason::Deadline,
        FailureReason::Memory,
        FailureReason::OutputTooLarge,
        FailureReason::InvalidInput,
        FailureReason::Llm,
        FailureReason::Provider,
        FailureReason::InvalidOutput,
        FailureReason::NotPermitted,
        FailureReason::HandlerFailed,
        FailureReason::Host,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::NoHandler => "no_handler",
            FailureReason::Trap => "trap",
            FailureReason::Fuel => "fuel",
            FailureReason::Deadline => "deadline",
            FailureReason::Memory => "memory",
            FailureReason::OutputTooLarge => "output_too_large",
            FailureReason::InvalidInput => "invalid_input",
            FailureReason::Llm => "llm",
            FailureReason::Provider => "provider",
            FailureReason::InvalidOutput => "invalid_output",
            FailureReason::NotPermitted => "not_permitted",
            FailureReason::HandlerFailed => "handler_failed",
            FailureReason::Host => "host",
        }
    }
}

impl DispatchError {
    /// A stable one-word reason: `no_handler`, `trap`, `fuel`, `deadline`, `memory`,
    /// `output_too_large`, `handler_error`, `host_error`.
    pub fn kind(&self) -> &'static str {
        match self {
            DispatchError::NoHandler(_) => "no_handler",
            DispatchError::Trapped(_) => "trap",
            DispatchError::FuelExhausted(_) => "fuel",
            DispatchError::DeadlineExceeded(_) => "deadline",
            DispatchError::MemoryExceeded(_) => "memory",
            DispatchError::OutputTooLarge(_) => "output_too_large",
            DispatchError::Handler { .. } => "handler_error",
            DispatchError::Host(_) => "host_error",
        }
    }

    /// The typed reason of this failure.
    pub fn reason(&self) -> FailureReason {
        match self {
            DispatchError::NoHandler(_) => FailureReason::NoHandler,
            DispatchError::Trapped(_) => FailureReason::Trap,
            DispatchError::FuelExhausted(_) => FailureReason::Fuel,
            DispatchError::DeadlineExceeded(_) => FailureReason::Deadline,
            DispatchError::MemoryExceeded(_) => FailureReason::Memory,
            DispatchError::OutputTooLarge(_) => FailureReason::OutputTooLarge,
            DispatchError::Host(_) => FailureReason::Host,
            DispatchError::Handler { kind, .. } => match kind {
                HandlerErrorKind::InvalidInput => FailureReason::InvalidInput,
                HandlerErrorKind::Llm => FailureReason::Llm,
                HandlerErrorKind::Provider => FailureReason::Provider,
                HandlerErrorKind::InvalidOutput => FailureReason::InvalidOutput,
                HandlerErrorKind::NotPermitted => FailureReason::NotPermitted,
                HandlerErrorKind::Failed => FailureReason::HandlerFailed,
            },
        }
    }

    /// The model's answer was unusable: a stronger model may do the step.
    /// Sandbox limits, missing handlers and bad input fail the same way on any model.
    pub fn retryable_on_stronger_model(&self) -> bool {
        matches!(self, DispatchError::Handler { kind: HandlerErrorKind::InvalidOutput, .. })
    }

    /// The model caused it (an unusable answer, a refused call): such
    /// failures say the agent needs stronger models; a missing plugin or
    /// handler, or a provider outage, says nothing about it.
    pub fn model_caused(&self) -> bool {
        matches!(self, DispatchError::Handler { kind: HandlerErrorKind::InvalidOutput | HandlerErrorKind::Llm, .. })
    }
}

impl std::fmt::Display for DispatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DispatchError::NoHandler(intent) => write!(f, "no handler serves intent `{intent}`"),
            DispatchError::Trapped(msg) => write!(f, "handler trapped: {msg}"),
            DispatchError::FuelExhausted(limit) => write!(f, "handler ran out of fuel (limit {limit})"),
            DispatchError::DeadlineExceeded(ms) => write!(f, "handler ran past its deadline of {ms} ms"),
            DispatchError::MemoryExceeded(bytes) => write!(f, "handler exceeded its memory cap of {bytes} bytes"),
            DispatchError::OutputTooLarge(bytes) => write!(f, "handler output exceeds the limit of {bytes} bytes"),
            DispatchError::Handler { kind, message } => write!(f, "handler error ({}): {message}", kind.as_str()),
            DispatchError::Host(msg) => write!(f, "host could not run the handler: {msg}"),
        }
    }
}

/// The seed's five audit events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Initialized,
    StepExecuted,
    StepFailed,
    BudgetExceeded,
    Completed,
}

/// Event severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// An audit event the orchestrator emits.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventKind,
    pub severity: Severity,
    pub step_id: Option<String>,
    pub metadata: serde_json::Value,
}

/// The result of one orchestrated step.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub output: String,
    pub intent: String,
    pub handler: String,
    pub tokens_used: Usage,
    pub compression_applied: bool,
    pub tokens_saved: u32,
    pub routed_model: String,
    pub cost_usd: f64,
    pub execution_time_us: u64,
    pub provider_time_us: u64,
}

/// The seed's workflow metrics from `complete()`. The seed's first six
/// fields, then what its three metric groups (performance, cost, quality) add.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkflowMetrics {
    pub total_tokens_used: u64,
    pub total_tokens_saved: u64,
    pub total_cost: f64,
    pub budget_utilization: f64,
    pub steps_executed: u32,
    pub steps_fell_back: u32,
    /// Cost: the same orchestrated steps on the normal path, with their full
    /// prompts on the powerful tier (estimated from their token counts).
    pub baseline_cost: f64,
    /// Cost: the orchestrator's own model calls (LLM classification, semantic
    /// compression), included in `total_cost` and `total_tokens_used`.
    pub overhead: OverheadSpend,
    /// Performance: time spent classifying, compressing, routing (µs).
    pub classification_time_us: u64,
    pub compression_time_us: u64,
    pub routing_time_us: u64,
    /// Performance: orchestrated step wall time minus provider time (µs).
    pub orchestration_overhead_us: u64,
    /// Quality: lowest and mean quality of the compressions applied (1.0 when none).
    pub min_compression_quality: f32,
    pub avg_compression_quality: f32,
    pub compressions_applied: u32,
    /// Quality: compressions refused because the quality fell below the policy's minimum.
    pub quality_degraded: u32,
    /// Quality: dispatches repeated one tier up after a failure.
    pub retries: u32,
}

impl WorkflowMetrics {
    /// Share of orchestrated steps that ran through a handler.
    pub fn success_rate(&self) -> f64 {
        let attempted = self.steps_executed + self.steps_fell_back;
        if attempted == 0 { 1.0 } else { f64::from(self.steps_executed) / f64::from(attempted) }
    }

    /// Retries per orchestrated step.
    pub fn retry_rate(&self) -> f64 {
        let attempted = self.steps_executed + self.steps_fell_back;
        if attempted == 0 { 0.0 } else { f64::from(self.retries) / f64::from(attempted) }
    }

    /// `1 - total_cost / baseline_cost`, 0 when there is no baseline.
    pub fn cost_savings(&self) -> f64 {
        if self.baseline_cost <= 0.0 { 0.0 } else { 1.0 - self.total_cost / self.baseline_cost }
    }
}
