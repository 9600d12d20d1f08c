//! The audit events the host writes itself, one typed payload each, and the
//! names no handler may record: every host and orchestrator event name and
//! every name of their families (`ORCHESTRATOR_`, `ORCHESTRATION_`,
//! `WORKFLOW_`, `SETTING_`, `HANDLER_`).

use super::failures::{FallbackReason, SkipReason, StepFailure};
use orchestration::types::Usage;
use serde_json::{Value, json};

/// How much attention an event deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// The orchestrator's lifecycle events (the seed's five), as stored.
pub const LIFECYCLE_NAMES: [&str; 5] = [
    "ORCHESTRATION_INITIALIZED",
    "ORCHESTRATION_STEP_EXECUTED",
    "ORCHESTRATION_STEP_FAILED",
    "ORCHESTRATION_BUDGET_EXCEEDED",
    "ORCHESTRATION_COMPLETED",
];

/// The budget check that refused or recorded a model call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetBreach {
    /// The call was refused before it was sent.
    Refused,
    /// The provider's usage went past what was admitted.
    Overrun,
}

/// An event the host writes.
#[derive(Debug, Clone, PartialEq)]
pub enum HostEvent {
    /// The orchestrator could not start; every step runs the normal way.
    OrchestratorUnavailable { message: String },
    /// The orchestrator failed at a step; it and the rest run the normal way.
    OrchestratorFailed { message: String },
    /// A step ran the normal way.
    NormalPathExecuted {
        fallback: Option<FallbackReason>,
        model: String,
        provider: String,
        tokens: Usage,
        cost_usd: f64,
    },
    /// A step was not run.
    StepSkipped(SkipReason),
    /// Neither path could run a step; `intent` as the orchestrator or the
    /// free tiers gave it, so failures compare by intent (`pilot report`).
    StepFailed { failure: StepFailure, intent: Option<String> },
    /// The run's flags left orchestration off: which scope decided it, and
    /// every flag's decision (what `ORCHESTRATION_INITIALIZED` carries when on).
    NotOrchestrated { decided_by: String, rollout: Value },
    /// An operator set or removed a setting (`None`: absent before or after).
    SettingChanged { key: String, before: Option<String>, after: Option<String> },
    /// A handler file was refused at load.
    HandlerRejected { file: String, reason: String, previous_version_kept: bool },
    /// A model call hit its step's token budget.
    BudgetExceeded { breach: BudgetBreach, allocated: u32, used: u32, requested: u32, model: String },
    /// A durable run was leased again after its replica stopped or handed it back.
    RunResumed { lease: u32, finished_steps: usize, steps_to_rerun: usize },
    /// A step started under an earlier lease is started again: its model calls are paid twice.
    StepRerun { lease: u32 },
}

impl HostEvent {
    /// Every name [`HostEvent::name`] gives.
    pub const NAMES: [&str; 11] = [
        "ORCHESTRATOR_UNAVAILABLE",
        "ORCHESTRATION_STEP_FAILED",
        "WORKFLOW_STEP_EXECUTED",
        "WORKFLOW_STEP_SKIPPED",
        Self::STEP_FAILED,
        "WORKFLOW_NOT_ORCHESTRATED",
        "SETTING_CHANGED",
        "HANDLER_REJECTED",
        "ORCHESTRATION_BUDGET_EXCEEDED",
        "WORKFLOW_RESUMED",
        "WORKFLOW_STEP_RERUN",
    ];

    /// The type of a failed step's event, which `pilot report` counts.
    pub const STEP_FAILED: &str = "WORKFLOW_STEP_FAILED";

    /// The stored event type.
    pub fn name(&self) -> &'static str {
        match self {
            HostEvent::OrchestratorUnavailable { .. } => "ORCHESTRATOR_UNAVAILABLE",
            // The seed's own name for a step orchestration could not run.
            HostEvent::OrchestratorFailed { .. } => "ORCHESTRATION_STEP_FAILED",
            HostEvent::NormalPathExecuted { .. } => "WORKFLOW_STEP_EXECUTED",
            HostEvent::StepSkipped(_) => "WORKFLOW_STEP_SKIPPED",
            HostEvent::StepFailed { .. } => Self::STEP_FAILED,
            HostEvent::NotOrchestrated { .. } => "WORKFLOW_NOT_ORCHESTRATED",
            HostEvent::SettingChanged { .. } => "SETTING_CHANGED",
            HostEvent::HandlerRejected { .. } => "HANDLER_REJECTED",
            HostEvent::BudgetExceeded { .. } => "ORCHESTRATION_BUDGET_EXCEEDED",
            HostEvent::RunResumed { .. } => "WORKFLOW_RESUMED",
            HostEvent::StepRerun { .. } => "WORKFLOW_STEP_RERUN",
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            HostEvent::OrchestratorUnavailable { .. } | HostEvent::OrchestratorFailed { .. } => Severity::Critical,
            HostEvent::StepFailed { .. } => Severity::Critical,
            HostEvent::NormalPathExecuted { .. }
            | HostEvent::StepSkipped(_)
            | HostEvent::RunResumed { .. }
            | HostEvent::NotOrchestrated { .. }
            | HostEvent::SettingChanged { .. } => Severity::Info,
            HostEvent::HandlerRejected { .. } | HostEvent::BudgetExceeded { .. } | HostEvent::StepRerun { .. } => {
                Severity::Warning
            }
        }
    }

    /// The event's metadata, a JSON object.
    pub fn payload(&self) -> Value {
        match self {
            HostEvent::OrchestratorUnavailable { message } => {
                json!({ "message": message, "fallback": "normal_execution" })
            }
            HostEvent::OrchestratorFailed { message } => {
                json!({ "reason": "orchestrator_trap", "message": message, "fallback": "normal_execution" })
            }
            HostEvent::NormalPathExecuted { fallback, model, provider, tokens, cost_usd } => json!({
                "path": "fallback",
                "reason": fallback.as_ref().map(|f| &f.message),
                "reason_kind": fallback.as_ref().map(|f| f.kind),
                "model": model,
                "provider": provider,
                "tokens": tokens,
                "cost_usd": cost_usd,
            }),
            HostEvent::StepSkipped(reason) => json!({ "reason": reason.message(), "kind": reason.label() }),
            HostEvent::StepFailed { failure, intent } => {
                json!({ "error": failure.message, "kind": failure.kind, "intent": intent })
            }
            HostEvent::NotOrchestrated { decided_by, rollout } => {
                json!({ "decided_by": decided_by, "rollout": rollout })
            }
            HostEvent::SettingChanged { key, before, after } => {
                json!({ "key": key, "before": before, "after": after })
            }
            HostEvent::HandlerRejected { file, reason, previous_version_kept } => {
                json!({ "file": file, "reason": reason, "previous_version_kept": previous_version_kept })
            }
            HostEvent::BudgetExceeded { breach, allocated, used, requested, model } => json!({
                "kind": match breach { BudgetBreach::Refused => "refused", BudgetBreach::Overrun => "overrun" },
                "allocated": allocated,
                "used": used,
                "requested": requested,
                "model": model,
            }),
            HostEvent::RunResumed { lease, finished_steps, steps_to_rerun } => json!({
                "lease": lease,
                "finished_steps": finished_steps,
                "steps_to_rerun": steps_to_rerun,
            }),
            HostEvent::StepRerun { lease } => json!({ "lease": lease, "paid_twice": true }),
        }
    }
}

/// The family a host or orchestrator name belongs to: its first word and `_`.
fn family(name: &str) -> &str {
    name.find('_').map_or(name, |i| &name[..=i])
}

/// Why a component may not record `name`: it is, or belongs to the family
/// of, an event the host or the orchestrator writes.
pub fn reserved(name: &str) -> Option<&'static str> {
    HostEvent::NAMES.iter().chain(LIFECYCLE_NAMES.iter()).map(|n| family(n)).find(|f| name.starts_with(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::failures::{FailureKind, FallbackKind};

    fn every_event() -> Vec<HostEvent> {
        let tokens = Usage { input: 1, output: 2, total: 3 };
        vec![
            HostEvent::OrchestratorUnavailable { message: "m".into() },
            HostEvent::OrchestratorFailed { message: "m".into() },
            HostEvent::NormalPathExecuted {
                fallback: Some(FallbackReason { kind: FallbackKind::Declined, message: "m".into() }),
                model: "m".into(),
                provider: "p".into(),
                tokens,
                cost_usd: 0.1,
            },
            HostEvent::StepSkipped(SkipReason::BranchNotTaken),
            HostEvent::StepFailed {
                failure: StepFailure { kind: FailureKind::Provider, message: "m".into() },
                intent: Some("extract".into()),
            },
            HostEvent::NotOrchestrated { decided_by: "global".into(), rollout: json!([]) },
            HostEvent::SettingChanged { key: "k".into(), before: None, after: Some("v".into()) },
            HostEvent::HandlerRejected { file: "f".into(), reason: "r".into(), previous_version_kept: false },
            HostEvent::BudgetExceeded {
                breach: BudgetBreach::Refused,
                allocated: 1,
                used: 1,
                requested: 2,
                model: "m".into(),
            },
            HostEvent::RunResumed { lease: 2, finished_steps: 3, steps_to_rerun: 1 },
            HostEvent::StepRerun { lease: 2 },
        ]
    }

    #[test]
    fn every_event_is_named_in_the_reserved_list_with_an_object_payload() {
        let events = every_event();
        assert_eq!(events.len(), HostEvent::NAMES.len());
        for event in events {
            assert!(HostEvent::NAMES.contains(&event.name()), "{}", event.name());
            assert!(event.payload().is_object(), "{}", event.name());
        }
    }

    #[test]
    fn no_host_or_orchestrator_name_nor_its_family_is_free() {
        for name in HostEvent::NAMES.iter().chain(LIFECYCLE_NAMES.iter()) {
            assert!(reserved(name).is_some(), "{name}");
        }
        for name in ["ORCHESTRATOR_ANYTHING", "WORKFLOW_DONE", "HANDLER_LOADED", "ORCHESTRATION_X", "SETTING_READ"] {
            assert!(reserved(name).is_some(), "{name}");
        }
        for name in ["LOOKUP_MISSED", "ORCHESTRA", "WORKFLOWS_SYNCED"] {
            assert_eq!(reserved(name), None, "{name}");
        }
    }
}
