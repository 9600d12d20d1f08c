//! Durable runs: a workflow submitted asynchronously is an `executions` row
//! that keeps its workflow document. The row is the queue entry and the
//! lease at once: `queued` until a replica takes it; `running` under that
//! replica while its heartbeat is fresh; taken again by any replica once the
//! heartbeat is older than the stale limit (its replica died or hung). Each
//! step leaves a checkpoint in `run_steps`: `started` before its first model
//! call is sent, `finished` with its report, committed in one statement
//! group with its usage row, so a resumed run never runs a finished step
//! again and knows which steps it pays for a second time.

use super::executions::ExecutionStart;
use serde::Serialize;

/// A workflow accepted for a durable run.
#[derive(Debug, Clone)]
pub struct Submission {
    pub start: ExecutionStart,
    /// The workflow document as submitted (kept byte for byte: key order is part of a prompt).
    pub workflow: String,
    pub idempotency_key: Option<String>,
}

/// What a submission became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// A new run, queued.
    Queued(String),
    /// The idempotency key names a run already accepted with the same workflow.
    Existing(String),
    /// The idempotency key names a run accepted with another workflow.
    KeyReused(String),
}

/// A run this replica has just leased.
#[derive(Debug, Clone)]
pub struct Leased {
    pub id: String,
    pub workflow: String,
    /// 1 for a first lease; more when the run is resumed.
    pub leases: u32,
    /// An operator asked to cancel it (an orphaned run cancelled before it was taken over).
    pub cancel_requested: bool,
}

/// How far a step of a durable run got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Started,
    Finished,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Started => "started",
            StepState::Finished => "finished",
        }
    }

    pub fn parse(text: &str) -> Option<StepState> {
        match text {
            "started" => Some(StepState::Started),
            "finished" => Some(StepState::Finished),
            _ => None,
        }
    }
}

/// One row of `run_steps`.
#[derive(Debug, Clone, Serialize)]
pub struct Checkpoint {
    pub step_id: String,
    pub state: StepState,
    /// How many times a replica sent the step's first model call (2: it was
    /// re-run once; 0: it finished without calling a model).
    pub starts: u32,
    /// The step's report, once finished.
    pub report: Option<serde_json::Value>,
    pub updated_at: String,
}

/// What asking a run to stop did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "state")]
pub enum Cancel {
    /// It was queued: cancelled at once.
    Cancelled,
    /// It is running: it stops at its next step boundary.
    Requested,
    /// It had already ended, in this state.
    AlreadyEnded(String),
    NotFound,
}

/// What putting a run back in the queue did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "state")]
pub enum Requeue {
    /// Queued again; its finished steps are kept, its failed ones run again.
    Queued,
    /// Not resumable from this state (running under a live lease, or completed).
    NotResumable(String),
    /// Submitted synchronously: its workflow was not kept.
    NotDurable,
    NotFound,
}
