//! `audit`: components' events, written to the host's `audit_log` table with
//! the execution, agent and user ids the host knows (a guest cannot forge them).

use crate::bindings::audit::{self, EventType, Severity};
use crate::storage::Db;
use crate::storage::records::{Identity, insert_audit};
use wasmtime::component::{HasData, Linker};

/// Writes events for one execution; shared by the capabilities that audit
/// (the `audit` import itself, and the `llm` budget checks).
#[derive(Clone)]
pub struct AuditSink {
    db: Db,
    who: Identity,
}

impl AuditSink {
    pub fn new(db: Db, who: Identity) -> Self {
        AuditSink { db, who }
    }

    pub fn identity(&self) -> &Identity {
        &self.who
    }

    /// Writes one event. A failed write is logged, never propagated: auditing
    /// must not fail the step it describes.
    pub fn record(
        &self,
        event_type: &str,
        severity: &str,
        step_id: Option<&str>,
        source: &str,
        metadata: &serde_json::Value,
    ) {
        if let Err(e) = insert_audit(&self.db.lock(), &self.who, event_type, severity, step_id, source, metadata) {
            tracing::error!(event_type, execution_id = %self.who.execution_id, "audit write failed: {e:#}");
        }
    }
}

/// Per-store context: the sink and the component's name as the event source.
pub struct AuditCtx {
    sink: AuditSink,
    source: String,
}

impl AuditCtx {
    pub fn new(sink: AuditSink, source: impl Into<String>) -> Self {
        AuditCtx { sink, source: source.into() }
    }
}

pub trait AuditView {
    fn audit(&mut self) -> &mut AuditCtx;
}

struct HasAudit;

impl HasData for HasAudit {
    type Data<'a> = &'a mut AuditCtx;
}

pub fn add_to_linker<T: AuditView + Send + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    audit::add_to_linker::<T, HasAudit>(linker, T::audit)
}

pub fn event_type_name(t: EventType) -> &'static str {
    match t {
        EventType::OrchestrationInitialized => "ORCHESTRATION_INITIALIZED",
        EventType::OrchestrationStepExecuted => "ORCHESTRATION_STEP_EXECUTED",
        EventType::OrchestrationStepFailed => "ORCHESTRATION_STEP_FAILED",
        EventType::OrchestrationBudgetExceeded => "ORCHESTRATION_BUDGET_EXCEEDED",
        EventType::OrchestrationCompleted => "ORCHESTRATION_COMPLETED",
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

impl audit::Host for AuditCtx {
    fn emit(&mut self, event: audit::AuditEvent) {
        // Metadata that is not JSON is kept, wrapped, rather than dropped.
        let metadata = serde_json::from_str(&event.metadata)
            .unwrap_or_else(|_| serde_json::json!({ "unparsed_metadata": event.metadata }));
        self.sink.record(
            event_type_name(event.event_type),
            severity_name(event.severity),
            event.step_id.as_deref(),
            &self.source,
            &metadata,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::records::list_audit;
    use audit::Host;

    #[test]
    fn host_ids_win_and_bad_metadata_is_kept() {
        let db = Db::temporary();
        let who = Identity { execution_id: "exec-1".into(), agent_id: "agent".into(), user_id: "user".into() };
        let mut ctx = AuditCtx::new(AuditSink::new(db.clone(), who), "orchestrator");
        ctx.emit(audit::AuditEvent {
            event_type: EventType::OrchestrationStepFailed,
            severity: Severity::Warning,
            workflow_id: "forged".into(),
            step_id: Some("s1".into()),
            metadata: "not json".into(),
        });
        let rows = list_audit(&db.lock(), Some("exec-1"), 10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].event_type, "ORCHESTRATION_STEP_FAILED");
        assert_eq!(rows[0].source, "orchestrator");
        assert_eq!(rows[0].metadata["unparsed_metadata"], "not json");
        assert!(list_audit(&db.lock(), Some("forged"), 10).unwrap().is_empty());
    }
}
