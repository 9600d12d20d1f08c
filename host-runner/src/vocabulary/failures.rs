//! Why a step did not run through its handler: fell back, skipped or failed,
//! each as a typed kind (for labels and queries) with a message for people.

use crate::bindings::orchestrator::exports::workflowpilot::orchestration::orchestrator::FailureReason as WitReason;
use crate::bindings::types::{HandlerError, LlmFailure, StepError};
use orchestration::types::{DispatchError, FailureReason, HandlerErrorKind};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an orchestrated step ran the normal way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FallbackKind {
    /// Its handler failed, for this typed reason.
    Handler(FailureReason),
    /// The orchestrator declined it without a recorded failure.
    Declined,
    /// The orchestrator component itself failed (a trap, fuel).
    OrchestratorFailed,
}

impl FallbackKind {
    /// A bounded label: the failure reason, `declined` or `orchestrator_failed`.
    pub fn label(self) -> &'static str {
        match self {
            FallbackKind::Handler(reason) => reason.as_str(),
            FallbackKind::Declined => "declined",
            FallbackKind::OrchestratorFailed => "orchestrator_failed",
        }
    }
}

impl Serialize for FallbackKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

/// Read back from a checkpointed report: the label [`FallbackKind::label`] wrote.
impl<'de> Deserialize<'de> for FallbackKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let label = String::deserialize(d)?;
        Ok(match label.as_str() {
            "declined" => FallbackKind::Declined,
            "orchestrator_failed" => FallbackKind::OrchestratorFailed,
            _ => FallbackKind::Handler(
                serde_json::from_value(serde_json::Value::String(label)).map_err(serde::de::Error::custom)?,
            ),
        })
    }
}

/// A fallback's typed kind and its message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FallbackReason {
    pub kind: FallbackKind,
    pub message: String,
}

impl FallbackReason {
    pub fn declined() -> Self {
        FallbackReason { kind: FallbackKind::Declined, message: "declined by the orchestrator".into() }
    }
}

/// Why a step was not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// On a branch a `conditional` step did not take.
    BranchNotTaken,
    /// It depends on this step, which failed.
    DependencyFailed(String),
    /// An operator cancelled the run before the step started.
    Cancelled,
}

impl SkipReason {
    pub fn label(&self) -> &'static str {
        match self {
            SkipReason::BranchNotTaken => "branch_not_taken",
            SkipReason::DependencyFailed(_) => "dependency_failed",
            SkipReason::Cancelled => "cancelled",
        }
    }

    pub fn message(&self) -> String {
        match self {
            SkipReason::BranchNotTaken => "branch not taken".into(),
            SkipReason::DependencyFailed(step) => format!("depends on failed step `{step}`"),
            SkipReason::Cancelled => "the run was cancelled before this step started".into(),
        }
    }
}

/// Why neither path could run a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The model provider failed (an error status, a timeout, no connection).
    Provider,
    /// The workflow token budget has too little left for the call.
    Budget,
    /// The host refused the model call as malformed.
    InvalidRequest,
    /// A template reference missed at run time (an earlier step's output lacks the field).
    Template,
}

impl FailureKind {
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Provider => "provider",
            FailureKind::Budget => "budget",
            FailureKind::InvalidRequest => "invalid_request",
            FailureKind::Template => "template",
        }
    }
}

/// A failed step's typed kind and its message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepFailure {
    pub kind: FailureKind,
    pub message: String,
}

/// The typed reason the orchestrator reports, as the host's vocabulary.
pub fn from_wit(reason: WitReason) -> FailureReason {
    match reason {
        WitReason::NoHandler => FailureReason::NoHandler,
        WitReason::Trap => FailureReason::Trap,
        WitReason::Fuel => FailureReason::Fuel,
        WitReason::Deadline => FailureReason::Deadline,
        WitReason::Memory => FailureReason::Memory,
        WitReason::OutputTooLarge => FailureReason::OutputTooLarge,
        WitReason::InvalidInput => FailureReason::InvalidInput,
        WitReason::Llm => FailureReason::Llm,
        WitReason::Provider => FailureReason::Provider,
        WitReason::InvalidOutput => FailureReason::InvalidOutput,
        WitReason::NotPermitted => FailureReason::NotPermitted,
        WitReason::HandlerFailed => FailureReason::HandlerFailed,
        WitReason::Host => FailureReason::Host,
    }
}

/// A sandbox's typed error as the orchestration library's, for its reason and wording.
pub fn dispatch_error(error: &StepError) -> DispatchError {
    match error {
        StepError::NoHandler(intent) => DispatchError::NoHandler(intent.clone()),
        StepError::Trapped(msg) => DispatchError::Trapped(msg.clone()),
        StepError::FuelExhausted(limit) => DispatchError::FuelExhausted(*limit),
        StepError::DeadlineExceeded(ms) => DispatchError::DeadlineExceeded(*ms),
        StepError::MemoryExceeded(bytes) => DispatchError::MemoryExceeded(*bytes),
        StepError::OutputTooLarge(bytes) => DispatchError::OutputTooLarge(*bytes),
        StepError::Host(msg) => DispatchError::Host(msg.clone()),
        StepError::Handler(h) => {
            let (kind, message) = match h {
                HandlerError::InvalidInput(m) => (HandlerErrorKind::InvalidInput, m.clone()),
                HandlerError::InvalidOutput(m) => (HandlerErrorKind::InvalidOutput, m.clone()),
                HandlerError::NotPermitted(m) => (HandlerErrorKind::NotPermitted, m.clone()),
                HandlerError::Failed(m) => (HandlerErrorKind::Failed, m.clone()),
                HandlerError::Llm(f @ LlmFailure::Provider(_)) => (HandlerErrorKind::Provider, describe_llm_failure(f)),
                HandlerError::Llm(f) => (HandlerErrorKind::Llm, describe_llm_failure(f)),
            };
            DispatchError::Handler { kind, message }
        }
    }
}

/// A failed model call, in words.
pub fn describe_llm_failure(failure: &LlmFailure) -> String {
    match failure {
        LlmFailure::BudgetExceeded(b) => {
            format!("budget exceeded: allocated {}, used {}, requested {}", b.allocated, b.used, b.requested)
        }
        LlmFailure::Provider(p) => format!("provider error {} {}: {}", p.status, p.kind, p.message),
        LlmFailure::InvalidRequest(m) => format!("invalid request: {m}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::types::ProviderError;

    #[test]
    fn labels_are_bounded_and_distinct() {
        let mut labels: Vec<&str> = FailureReason::ALL.iter().map(|r| FallbackKind::Handler(*r).label()).collect();
        labels.extend([FallbackKind::Declined.label(), FallbackKind::OrchestratorFailed.label()]);
        let count = labels.len();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), count, "{labels:?}");
        assert!(labels.iter().all(|l| l.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }

    #[test]
    fn sandbox_errors_keep_their_reason_and_read_as_words() {
        let provider = StepError::Handler(HandlerError::Llm(LlmFailure::Provider(ProviderError {
            status: 529,
            kind: "overloaded_error".into(),
            message: "Overloaded".into(),
        })));
        let error = dispatch_error(&provider);
        assert_eq!(error.reason(), FailureReason::Provider);
        assert_eq!(error.to_string(), "handler error (provider): provider error 529 overloaded_error: Overloaded");
        assert_eq!(dispatch_error(&StepError::FuelExhausted(7)).reason(), FailureReason::Fuel);
        assert!(!describe_llm_failure(&LlmFailure::InvalidRequest("empty".into())).contains("InvalidRequest"));
    }
}
