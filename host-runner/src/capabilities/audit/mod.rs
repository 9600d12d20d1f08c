//! `audit`: components' events, written to the host's `audit_log` table with
//! the execution, agent and user ids and the source the host knows (a guest
//! cannot forge them). The orchestration lifecycle events are the
//! orchestrator's alone; a handler may emit its own events, and only when its
//! manifest grants `audit`.

use crate::bindings::audit::{self, AuditError, EventType, Severity};
use crate::storage::Db;
use crate::storage::queued::{AuditRecord, Record};
use crate::storage::records::Identity;
use crate::vocabulary::events::{self, HostEvent, LIFECYCLE_NAMES};
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

    /// Queues one event for the database's record writer. A failed write is
    /// counted and logged, never propagated: auditing must not fail the step
    /// it describes.
    pub fn record(
        &self,
        event_type: &str,
        severity: &str,
        step_id: Option<&str>,
        source: &str,
        metadata: &serde_json::Value,
    ) {
        self.db.records().send(Record::Audit(AuditRecord {
            who: self.who.clone(),
            event_type: event_type.to_string(),
            severity: severity.to_string(),
            step_id: step_id.map(str::to_string),
            source: source.to_string(),
            metadata: metadata.clone(),
        }));
    }

    /// Queues one of the host's own events, with its typed payload.
    pub fn host_event(&self, event: &HostEvent, step_id: Option<&str>, source: &str) {
        self.record(event.name(), event.severity().as_str(), step_id, source, &event.payload());
    }
}

const MAX_EVENT_NAME: usize = 64;

/// Which events a store may emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditGrant {
    /// The orchestrator: its lifecycle events.
    Orchestrator,
    /// A handler whose manifest grants `audit`: its own events only.
    Handler,
    /// A handler without the grant: nothing.
    None,
}

impl AuditGrant {
    /// A handler's grant, from its manifest's `audit = true | false`.
    pub fn handler(granted: bool) -> AuditGrant {
        if granted { AuditGrant::Handler } else { AuditGrant::None }
    }
}

/// App-wide state: the database events are written to.
pub struct AuditState {
    db: Db,
}

impl AuditState {
    pub fn new(db: Db) -> Self {
        AuditState { db }
    }

    /// A store's context: events of `who`'s execution, stamped with `source`,
    /// as far as `grant` allows.
    pub fn prepare(&self, who: Identity, source: impl Into<String>, grant: AuditGrant) -> AuditCtx {
        AuditCtx::new(AuditSink::new(self.db.clone(), who), source, grant)
    }

    /// Records a host-level event (handler loading), not tied to an execution.
    pub fn host_event(&self, event: &HostEvent) {
        AuditSink::new(self.db.clone(), Identity::host()).host_event(event, None, "host");
    }
}

/// Per-store context: the sink, the component's host-side identity as the
/// event source, and what it may emit.
pub struct AuditCtx {
    sink: AuditSink,
    source: String,
    grant: AuditGrant,
    /// The run's flag decisions, added to its `ORCHESTRATION_INITIALIZED` event as `rollout`.
    rollout: Option<serde_json::Value>,
}

impl AuditCtx {
    pub fn new(sink: AuditSink, source: impl Into<String>, grant: AuditGrant) -> Self {
        AuditCtx { sink, source: source.into(), grant, rollout: None }
    }

    /// Records `rollout` (which scope decided each flag) in the run's `ORCHESTRATION_INITIALIZED` event.
    pub fn with_rollout(self, rollout: serde_json::Value) -> Self {
        AuditCtx { rollout: Some(rollout), ..self }
    }

    /// Where the store's events go; its `llm` context audits budget events there too.
    pub fn sink(&self) -> &AuditSink {
        &self.sink
    }

    /// The stored name of an event this store may emit, or why not.
    fn admit(&self, event_type: &EventType) -> Result<String, AuditError> {
        match (self.grant, event_type) {
            (AuditGrant::None, _) => Err(AuditError::NotGranted),
            (AuditGrant::Orchestrator, EventType::HandlerEvent(name)) => {
                Err(AuditError::Reserved(format!("the orchestrator emits lifecycle events, not `{name}`")))
            }
            (AuditGrant::Orchestrator, lifecycle) => Ok(event_type_name(lifecycle).to_string()),
            (AuditGrant::Handler, EventType::HandlerEvent(name)) => handler_event_name(name),
            (AuditGrant::Handler, lifecycle) => Err(AuditError::Reserved(format!(
                "{} is the orchestrator's lifecycle event",
                event_type_name(lifecycle)
            ))),
        }
    }
}

/// A handler's event name: capitals, digits and `_`, not a host or orchestrator event's family.
fn handler_event_name(name: &str) -> Result<String, AuditError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_EVENT_NAME
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(AuditError::Reserved(format!(
            "`{name}` is not an event name: capitals, digits and `_`, at most {MAX_EVENT_NAME}"
        )));
    }
    match events::reserved(name) {
        Some(family) => Err(AuditError::Reserved(format!("`{family}` events are written by the host"))),
        None => Ok(name.to_string()),
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

/// The stored name of a lifecycle event.
pub fn event_type_name(t: &EventType) -> &str {
    match t {
        EventType::OrchestrationInitialized => LIFECYCLE_NAMES[0],
        EventType::OrchestrationStepExecuted => LIFECYCLE_NAMES[1],
        EventType::OrchestrationStepFailed => LIFECYCLE_NAMES[2],
        EventType::OrchestrationBudgetExceeded => LIFECYCLE_NAMES[3],
        EventType::OrchestrationCompleted => LIFECYCLE_NAMES[4],
        EventType::HandlerEvent(name) => name,
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
    fn emit(&mut self, event: audit::AuditEvent) -> Result<(), AuditError> {
        let event_type = self.admit(&event.event_type).inspect_err(|e| {
            tracing::warn!(source = %self.source, event = ?event.event_type, "audit event refused: {e:?}");
        })?;
        // Metadata that is not JSON is kept, wrapped, rather than dropped.
        let mut metadata = serde_json::from_str(&event.metadata)
            .unwrap_or_else(|_| serde_json::json!({ "unparsed_metadata": event.metadata }));
        if let (EventType::OrchestrationInitialized, Some(rollout), Some(fields)) =
            (&event.event_type, &self.rollout, metadata.as_object_mut())
        {
            fields.insert("rollout".into(), rollout.clone());
        }
        self.sink.record(&event_type, severity_name(event.severity), event.step_id.as_deref(), &self.source, &metadata);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit::Host;

    #[test]
    fn host_ids_win_and_bad_metadata_is_kept() {
        let db = Db::temporary();
        let who = Identity { execution_id: "exec-1".into(), agent_id: "agent".into(), user_id: "user".into() };
        let mut ctx = AuditCtx::new(AuditSink::new(db.clone(), who), "orchestrator", AuditGrant::Orchestrator);
        ctx.emit(audit::AuditEvent {
            event_type: EventType::OrchestrationStepFailed,
            severity: Severity::Warning,
            workflow_id: "forged".into(),
            step_id: Some("s1".into()),
            metadata: "not json".into(),
        })
        .unwrap();
        db.records().flush_blocking();
        let rows = db.audit(Some("exec-1"), 10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].event_type, "ORCHESTRATION_STEP_FAILED");
        assert_eq!(rows[0].source, "orchestrator");
        assert_eq!(rows[0].metadata["unparsed_metadata"], "not json");
        assert!(db.audit(Some("forged"), 10).unwrap().is_empty());
    }

    #[test]
    fn handlers_emit_only_their_own_events_and_only_with_the_grant() {
        let db = Db::temporary();
        let who = Identity { execution_id: "exec-2".into(), agent_id: "a".into(), user_id: "u".into() };
        let event = |event_type| audit::AuditEvent {
            event_type,
            severity: Severity::Critical,
            workflow_id: "w".into(),
            step_id: None,
            metadata: "{}".into(),
        };
        let mut granted = AuditCtx::new(AuditSink::new(db.clone(), who.clone()), "enrich", AuditGrant::Handler);
        granted.emit(event(EventType::HandlerEvent("LOOKUP_MISSED".into()))).unwrap();
        assert!(matches!(granted.emit(event(EventType::OrchestrationCompleted)), Err(AuditError::Reserved(_))));
        // Every name the host or the orchestrator writes, and names of their families.
        let forged = HostEvent::NAMES.iter().chain(LIFECYCLE_NAMES.iter()).copied();
        for forged in forged.chain(["ORCHESTRATOR_RESTARTED", "lower", ""]) {
            assert!(
                matches!(granted.emit(event(EventType::HandlerEvent(forged.into()))), Err(AuditError::Reserved(_))),
                "{forged}"
            );
        }
        let mut ungranted = AuditCtx::new(AuditSink::new(db.clone(), who), "impostor", AuditGrant::None);
        assert!(matches!(ungranted.emit(event(EventType::HandlerEvent("HELLO".into()))), Err(AuditError::NotGranted)));
        db.records().flush_blocking();
        let rows = db.audit(Some("exec-2"), 10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].event_type.as_str(), rows[0].source.as_str()), ("LOOKUP_MISSED", "enrich"));
    }
}
