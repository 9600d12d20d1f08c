//! How each run ended: a row per execution, written when it starts, kept
//! alive by its replica's heartbeat and closed with its state. A run whose
//! host died (`kill -9`, a lost machine) is found by its stale heartbeat and
//! marked `interrupted` instead of looking forever in progress.

use serde::Serialize;
use std::time::Duration;

/// How often a replica refreshes the heartbeat of its running executions.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// A running execution whose heartbeat is older than this is interrupted,
/// unless the database is opened with another limit
/// ([`super::DbOptions::stale_after`]; the CLI's `PILOT_STALE_AFTER_S`).
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Accepted for a durable run, waiting for a replica to lease it.
    Queued,
    Running,
    Completed,
    Failed,
    Interrupted,
    /// Stopped by an operator at a step boundary (`pilot runs cancel`).
    Cancelled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Running => "running",
            State::Completed => "completed",
            State::Failed => "failed",
            State::Interrupted => "interrupted",
            State::Cancelled => "cancelled",
        }
    }
}

/// What is known when a run starts.
#[derive(Debug, Clone)]
pub struct ExecutionStart {
    pub id: String,
    pub workflow_id: String,
    pub agent_id: String,
    pub user_id: String,
    /// The process running it (see [`super::Db::replica`]).
    pub replica: String,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Finish {
    pub state: State,
    pub error: Option<String>,
}

/// Which cohort a run belongs to: whether it was orchestrated, and the
/// scope of `orchestration_enabled` that decided it (`global`, `percent`,
/// `outside_percent`, `agent_type:<type>`, `agent:<id>`, `user:<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cohort {
    pub orchestrated: bool,
    pub flag_scope: String,
}

/// Which executions a listing shows, the most recent first (by start, then id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFilter {
    /// One state, or all.
    pub state: Option<String>,
    /// Runs whose agent id contains this text.
    pub agent: Option<String>,
    /// Runs whose `token_usage` rows add up to at least this many dollars.
    pub min_cost: Option<f64>,
    /// Only the runs listed after this one: the next page.
    pub after: Option<Position>,
    pub limit: u32,
}

impl ExecutionFilter {
    /// The most recent `limit` runs, of one state or all.
    pub fn recent(state: Option<&str>, limit: u32) -> ExecutionFilter {
        ExecutionFilter { state: state.map(str::to_string), limit, ..ExecutionFilter::default() }
    }
}

/// A run's place in a listing: its start and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub started_at: String,
    pub id: String,
}

/// One row of `executions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Execution {
    pub id: String,
    pub workflow_id: String,
    pub agent_id: String,
    pub user_id: String,
    pub replica: String,
    /// `queued`, `running`, `completed`, `failed`, `interrupted` or `cancelled`.
    pub state: String,
    pub error: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub heartbeat_at: String,
    /// Submitted asynchronously: its workflow is kept, so any replica can
    /// lease it and resume it from its checkpoints.
    pub durable: bool,
    pub idempotency_key: Option<String>,
    /// How many times a replica leased it (more than one: it was resumed).
    pub leases: u32,
    /// Steps started again after their replica stopped mid-step: model calls paid twice.
    pub rerun_steps: u32,
    pub cancel_requested: bool,
    /// `None` until the run's flags were decided (and for runs before scoped flags).
    pub orchestrated: Option<bool>,
    pub flag_scope: Option<String>,
}

impl Execution {
    /// `yes (agent:agent-support-01)` or `no (global)`: whether the run was
    /// orchestrated and the scope that decided it; `None` before it was decided.
    pub fn cohort_label(&self) -> Option<String> {
        let (orchestrated, scope) = (self.orchestrated?, self.flag_scope.as_deref()?);
        Some(format!("{} ({scope})", if orchestrated { "yes" } else { "no" }))
    }
}
