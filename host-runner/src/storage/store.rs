//! What the host keeps, as operations: one trait, two backends (SQLite, the
//! embedded default, and Postgres, shared by replicas). Callers go through
//! [`super::Db`]; the backends only run statements. Validation (setting
//! types, score ranges) happens above the trait, once for both.

use super::agents::AgentRow;
use super::cohorts::CohortRows;
use super::executions::{Execution, ExecutionFilter};
use super::queued::Record;
use super::records::{AuditRow, UsageRow, UsageTotal};
use super::runs::{Cancel, Checkpoint, Leased, Requeue, Submission, Submitted};
use super::settings::{NewSetting, Setting, SettingSeed, Snapshot};
use anyhow::Result;
use orchestration::routing::AgentScores;
use std::collections::BTreeMap;
use std::time::Duration;

/// Row counts over the whole database, for operators and exactness checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// `token_usage` rows of steps (`step_id` set).
    pub step_usage_rows: u64,
    /// Distinct `(execution_id, step_id)` pairs among them: equal to the rows
    /// when no step was counted twice.
    pub distinct_steps: u64,
    /// `audit_log` rows per event type.
    pub events: BTreeMap<String, u64>,
    /// Executions per state.
    pub executions: BTreeMap<String, u64>,
}

pub trait Store: Send + Sync {
    /// Where the data lives, for messages (a Postgres password is never shown).
    fn location(&self) -> &str;

    /// Inserts missing keys and refreshes every key's type and description;
    /// never overwrites an operator's value.
    fn seed_settings(&self, seeds: &[SettingSeed]) -> Result<()>;
    fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Settings whose key starts with `prefix`, by key.
    fn settings(&self, prefix: &str) -> Result<Vec<Setting>>;
    fn settings_snapshot(&self) -> Result<Snapshot>;
    /// Writes a value already checked against its type; a key created on
    /// first use (`plugin_*`, a scoped flag) is inserted with `create`'s type
    /// and description when missing. False when the key is unknown.
    fn put_setting(&self, key: &str, value: &str, create: Option<&NewSetting>) -> Result<bool>;
    /// Deletes a key created on first use; false when there was none.
    fn delete_setting(&self, key: &str) -> Result<bool>;

    /// Writes a batch of audit, usage and execution rows: all in one transaction, or,
    /// when that fails, each on its own; the rows that could not be written
    /// come back with their errors, by index.
    fn write_records(&self, batch: &[Record]) -> Vec<(usize, anyhow::Error)>;
    /// Audit rows, oldest first: the last `limit` of all executions, or of one.
    fn audit(&self, execution_id: Option<&str>, limit: u32) -> Result<Vec<AuditRow>>;
    fn usage(&self, execution_id: &str) -> Result<Vec<UsageRow>>;
    /// The usage totals of these executions, in one query; an execution with
    /// no rows is absent.
    fn usage_totals(&self, execution_ids: &[String]) -> Result<BTreeMap<String, UsageTotal>>;
    fn tally(&self) -> Result<Tally>;

    fn agents(&self) -> Result<Vec<(String, AgentRow)>>;
    fn agent(&self, agent_id: &str) -> Result<Option<AgentRow>>;
    /// Sets the creation score (an agent without runs starts its execution
    /// score there) and folds it into the combined score.
    fn set_creation(&self, agent_id: &str, creation: f32) -> Result<()>;
    /// Stores a run's scores and counts the run in one statement. `read` is
    /// the row the run's scores were computed from: the change from it is
    /// applied to the row as it is now, so two runs of one agent that race
    /// (on one host or two) both count.
    fn record_agent_run(&self, agent_id: &str, scores: &AgentScores, read: Option<&AgentScores>) -> Result<()>;
    /// Tokens of the agent's orchestrated steps, newest first, per intent.
    fn orchestrated_tokens(&self, agent_id: &str) -> Result<Vec<(String, u64)>>;

    /// Refreshes the heartbeat (the lease) of the replica's running
    /// executions; the ids of those an operator asked to cancel.
    fn heartbeat(&self, replica: &str) -> Result<Vec<String>>;
    /// Marks running synchronous executions whose heartbeat is older than
    /// `stale` as interrupted; their ids. (Durable runs are leased again instead.)
    fn interrupt_stale(&self, stale: Duration) -> Result<Vec<String>>;

    /// Queues a durable run, committed before it returns. A known
    /// idempotency key answers with the run it already names.
    fn submit_run(&self, submission: &Submission) -> Result<Submitted>;
    /// Leases up to `limit` durable runs to `replica`, oldest first: queued
    /// ones, and running ones whose heartbeat is older than `stale`. On
    /// Postgres replicas never take the same run (`FOR UPDATE SKIP LOCKED`).
    fn lease_runs(&self, replica: &str, stale: Duration, limit: u32) -> Result<Vec<Leased>>;
    /// The checkpoints of a run's steps, oldest first.
    fn checkpoints(&self, execution_id: &str) -> Result<Vec<Checkpoint>>;
    /// Cancels a queued run at once, or asks a running one to stop at its next step boundary.
    fn cancel_run(&self, execution_id: &str) -> Result<Cancel>;
    /// Puts a failed, cancelled or orphaned durable run back in the queue,
    /// its lease count at zero; its failed steps' checkpoints are dropped so
    /// they run again.
    fn requeue_run(&self, execution_id: &str, stale: Duration) -> Result<Requeue>;
    /// Durable runs waiting for a replica.
    fn queued_runs(&self) -> Result<u64>;
    fn execution(&self, execution_id: &str) -> Result<Option<Execution>>;
    /// The executions `filter` selects, the most recent first.
    fn executions(&self, filter: &ExecutionFilter) -> Result<Vec<Execution>>;

    /// Checks the database's own structures (SQLite's `integrity_check`,
    /// Postgres's `amcheck` over every index with its table's rows): the
    /// problems found, none when sound.
    fn check_integrity(&self) -> Result<Vec<String>>;
    /// The usage rows of the finished runs started within `since` of now, by run.
    fn cohort_rows(&self, since: Duration) -> Result<CohortRows>;
}
