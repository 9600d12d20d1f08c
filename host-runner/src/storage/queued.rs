//! The rows a run queues for the record writer ([`super::writer`]): audit
//! events, usage rows, and the `executions` and checkpoint changes that must
//! land in the same transactions.

use super::executions::{Cohort, ExecutionStart, Finish};
use super::records::{Identity, UsageRow};
use std::sync::Arc;

/// One audit event, with the identity the host knows for it.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub who: Identity,
    pub event_type: String,
    pub severity: String,
    pub step_id: Option<String>,
    pub source: String,
    pub metadata: serde_json::Value,
}

/// A row for the writer.
#[derive(Debug, Clone)]
pub enum Record {
    Audit(AuditRecord),
    Usage {
        who: Identity,
        row: UsageRow,
        what: String,
    },
    /// A run's `executions` row: in the same batches as its other rows, so
    /// its end lands in the transaction its report waits for.
    ExecutionStarted(ExecutionStart),
    /// Ends (or, `queued`, hands back: that lease is not counted) the run
    /// `replica` holds; a run another replica holds now is left alone.
    ExecutionEnded {
        id: String,
        finish: Finish,
        replica: Arc<str>,
    },
    /// Which cohort the run belongs to, once its flags are decided.
    ExecutionCohort {
        id: String,
        cohort: Cohort,
    },
    /// A durable run's step is about to send its first model call; `rerun`
    /// when an earlier lease had sent one too.
    StepStarted {
        execution_id: String,
        step_id: String,
        rerun: bool,
    },
    /// A durable run's step finished (with or without a model call): its
    /// checkpoint and its usage row, in one statement group, written only
    /// while `replica` holds the run.
    StepFinished(Box<StepFinished>),
}

/// A finished step's checkpoint.
#[derive(Debug, Clone)]
pub struct StepFinished {
    pub who: Identity,
    pub replica: Arc<str>,
    pub step_id: String,
    pub report: serde_json::Value,
    pub usage: Option<UsageRow>,
}

impl Record {
    /// What the row is, for the log line of a row that could not be written.
    pub(super) fn describe(&self) -> String {
        match self {
            Record::Audit(a) => format!("audit {} of execution {}", a.event_type, a.who.execution_id),
            Record::Usage { what, .. } => what.clone(),
            Record::ExecutionStarted(start) => format!("start of execution {}", start.id),
            Record::ExecutionEnded { id, .. } => format!("end of execution {id}"),
            Record::ExecutionCohort { id, .. } => format!("cohort of execution {id}"),
            Record::StepStarted { execution_id, step_id, .. } => {
                format!("start of step {step_id} of execution {execution_id}")
            }
            Record::StepFinished(f) => format!("checkpoint of step {} of execution {}", f.step_id, f.who.execution_id),
        }
    }
}
