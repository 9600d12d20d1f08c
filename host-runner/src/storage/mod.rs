//! What the host keeps: settings, token usage, the audit trail, agent
//! intensity scores and how each run ended. [`Db`] is the one handle the
//! host uses; behind it a [`store::Store`] backend: SQLite (a file, the
//! embedded default) or Postgres (`postgres://...`, shared by replicas). The
//! schema is created and migrated on open.

pub mod agents;
pub mod cohorts;
mod error;
pub mod executions;
mod postgres;
pub mod queued;
pub mod records;
pub mod runs;
pub mod settings;
mod sqlite;
pub mod store;
#[cfg(test)]
mod tests;
pub mod writer;

pub use error::Error;
pub use postgres::throwaway;

use crate::metrics::Metrics;
use anyhow::Context;
use executions::{Execution, ExecutionFilter, ExecutionStart, Finish};
use orchestration::budget::IntentUsage;
use orchestration::routing::AgentScores;
use records::{AuditRow, Identity, UsageRow, UsageTotal};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use store::{Store, Tally};
use writer::RecordWriter;

/// Whether `location` names a Postgres database rather than a SQLite file.
pub fn is_postgres(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// A handle to the host database, cheap to clone and shared by every store.
#[derive(Clone)]
pub struct Db {
    store: Arc<dyn Store>,
    /// Audit and usage rows go through it, committed in batches off the caller's thread.
    records: Arc<RecordWriter>,
    settings: Arc<settings::SnapshotCache>,
    /// This process among the replicas sharing the database.
    replica: Arc<str>,
    heartbeat: Arc<OnceLock<()>>,
    stale_after: Duration,
    /// This replica's runs an operator asked to cancel, as its heartbeat last read them.
    cancellations: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

/// How a [`Db`] is opened.
#[derive(Clone)]
pub struct DbOptions {
    /// A running execution whose heartbeat is older than this is marked
    /// `interrupted` (its host stopped): at open, and by this replica's heartbeat.
    pub stale_after: Duration,
    /// Where the record writer counts the rows it commits: its host's metrics.
    pub metrics: Arc<Metrics>,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions { stale_after: executions::DEFAULT_STALE_AFTER, metrics: Arc::default() }
    }
}

impl Db {
    /// Opens (creating if needed) and migrates the database, with the default [`DbOptions`].
    pub fn open(location: &str) -> Result<Db, Error> {
        Db::open_with(location, DbOptions::default())
    }

    /// Opens (creating if needed) and migrates the database: a `postgres://`
    /// URL, or else the path of a SQLite file. Runs left `running` by a host
    /// that stopped are marked `interrupted`.
    pub fn open_with(location: &str, options: DbOptions) -> Result<Db, Error> {
        let opened = || -> anyhow::Result<Db> {
            let store: Arc<dyn Store> = if is_postgres(location) {
                Arc::new(postgres::PgStore::open(location)?)
            } else {
                Arc::new(sqlite::SqliteStore::open(std::path::Path::new(location))?)
            };
            store
                .seed_settings(&settings::seeds())
                .with_context(|| format!("seeding settings in {}", store.location()))?;
            let interrupted = store.interrupt_stale(options.stale_after)?;
            if !interrupted.is_empty() {
                tracing::warn!(runs = ?interrupted, "marked runs whose host stopped as interrupted");
            }
            let replica = format!("{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
            let writer =
                RecordWriter::start(store.clone(), options.metrics).context("starting the record writer thread")?;
            Ok(Db {
                records: Arc::new(writer),
                store,
                settings: Arc::default(),
                replica: replica.into(),
                heartbeat: Arc::default(),
                stale_after: options.stale_after,
                cancellations: Arc::default(),
            })
        };
        opened().map_err(|cause| Error::Open(cause.into()))
    }

    /// `result`, its error saying which `operation` failed, and where.
    fn failed<T>(&self, operation: impl FnOnce() -> String, result: anyhow::Result<T>) -> Result<T, Error> {
        result.map_err(|cause| Error::Failed {
            operation: operation(),
            location: self.location().to_string(),
            cause: cause.into(),
        })
    }

    /// A fresh SQLite database in its own temporary directory, for tests.
    #[cfg(test)]
    pub fn temporary() -> Db {
        Db::temporary_with(DbOptions::default())
    }

    #[cfg(test)]
    pub fn temporary_with(options: DbOptions) -> Db {
        let dir = std::env::temp_dir().join(format!("pilot-test-{}", uuid::Uuid::new_v4()));
        Db::open_with(&dir.join("pilot.db").display().to_string(), options).expect("opening a temporary database")
    }

    /// Where the data lives: the SQLite file, or the Postgres URL without its password.
    pub fn location(&self) -> &str {
        self.store.location()
    }

    /// This process's name in `executions.replica`.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Every setting, read at most once per [`settings::SNAPSHOT_TTL`] and
    /// again at once after a change made through this process.
    pub fn settings(&self) -> Result<Arc<settings::Snapshot>, Error> {
        self.failed(|| "reading settings".into(), self.settings.get(|| self.store.settings_snapshot()))
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, Error> {
        self.failed(|| format!("reading setting `{key}`"), self.store.setting(key))
    }

    /// Settings whose key starts with `prefix`, by key.
    pub fn list_settings(&self, prefix: &str) -> Result<Vec<settings::Setting>, Error> {
        self.failed(|| "reading settings".into(), self.store.settings(prefix))
    }

    /// Sets a known key (or a `plugin_*` key, created on first use) to a value of its type.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), Error> {
        let current = self.settings()?;
        let create = settings::check(key, value, |other| current.get(other).cloned())?;
        if !self.failed(|| format!("writing setting `{key}`"), self.store.put_setting(key, value, create.as_ref()))? {
            return Err(Error::MissingSetting { key: key.to_string(), location: self.location().to_string() });
        }
        settings::changed();
        Ok(())
    }

    /// The usage rows of the finished runs of known cohort started within `since` of now.
    pub fn cohort_rows(&self, since: Duration) -> Result<cohorts::CohortRows, Error> {
        self.failed(|| "reading runs by cohort".into(), self.store.cohort_rows(since))
    }

    /// Removes a flag's scoped override (or a `plugin_*` key); false when it was not set.
    /// Catalogue keys always hold a value and cannot be removed.
    pub fn unset_setting(&self, key: &str) -> Result<bool, Error> {
        settings::check_removable(key)?;
        let removed = self.failed(|| format!("removing setting `{key}`"), self.store.delete_setting(key))?;
        settings::changed();
        Ok(removed)
    }

    /// The writer of audit and usage rows.
    pub fn records(&self) -> &RecordWriter {
        &self.records
    }

    /// Audit and usage rows lost since the database was opened, and the last error.
    pub fn lost_writes(&self) -> (u64, Option<String>) {
        self.records.lost().get()
    }

    /// Audit rows, oldest first: the last `limit` of all executions, or of one.
    pub fn audit(&self, execution_id: Option<&str>, limit: u32) -> Result<Vec<AuditRow>, Error> {
        self.failed(|| "reading audit rows".into(), self.store.audit(execution_id, limit))
    }

    pub fn usage(&self, execution_id: &str) -> Result<Vec<UsageRow>, Error> {
        self.failed(|| format!("reading token_usage of execution {execution_id}"), self.store.usage(execution_id))
    }

    /// The usage totals of these executions, in one query; an execution with no rows is absent.
    pub fn usage_totals(&self, execution_ids: &[String]) -> Result<BTreeMap<String, UsageTotal>, Error> {
        self.failed(
            || format!("reading token_usage totals of {} executions", execution_ids.len()),
            self.store.usage_totals(execution_ids),
        )
    }

    /// Row counts over the whole database.
    pub fn tally(&self) -> Result<Tally, Error> {
        self.failed(|| "counting rows".into(), self.store.tally())
    }

    pub fn agents(&self) -> Result<Vec<(String, agents::AgentRow)>, Error> {
        self.failed(|| "reading agents' scores".into(), self.store.agents())
    }

    pub fn agent(&self, agent_id: &str) -> Result<Option<agents::AgentRow>, Error> {
        self.failed(|| format!("reading the scores of agent `{agent_id}`"), self.store.agent(agent_id))
    }

    /// Sets an agent's creation score (how demanding its definition is, 0-10);
    /// an agent without runs starts its execution score there too.
    pub fn set_creation(&self, agent_id: &str, creation: f32) -> Result<(), Error> {
        if !(0.0..=10.0).contains(&creation) {
            return Err(Error::ScoreOutOfRange { agent_id: agent_id.to_string(), score: creation });
        }
        self.failed(
            || format!("writing the creation score of `{agent_id}`"),
            self.store.set_creation(agent_id, creation),
        )
    }

    /// Stores a run's scores (clamped to 0-10) and counts the run; `read` is
    /// the row they were computed from.
    pub fn record_agent_run(
        &self,
        agent_id: &str,
        scores: &AgentScores,
        read: Option<&AgentScores>,
    ) -> Result<(), Error> {
        let written = self.store.record_agent_run(agent_id, &agents::clamped(scores), read);
        self.failed(|| format!("writing the scores of agent `{agent_id}`"), written)
    }

    /// The agent's orchestrated steps per intent: count, mean and 90th
    /// percentile of tokens over the most recent steps of each intent.
    pub fn usage_by_intent(&self, agent_id: &str) -> Result<Vec<IntentUsage>, Error> {
        let tokens = self.store.orchestrated_tokens(agent_id);
        Ok(agents::usage_by_intent(self.failed(|| format!("reading the past usage of agent `{agent_id}`"), tokens)?))
    }

    /// Records a run as `running` under this replica, whose heartbeat keeps
    /// it so. Queued like audit rows: it lands with the run's first batch.
    pub fn start_execution(&self, start: ExecutionStart) {
        self.records.send(queued::Record::ExecutionStarted(start));
        self.keep_leases();
    }

    /// Starts the heartbeat that keeps this replica's runs (at most once).
    fn keep_leases(&self) {
        self.heartbeat.get_or_init(|| {
            let beat = Heartbeat {
                store: Arc::downgrade(&self.store),
                replica: self.replica.clone(),
                stale: self.stale_after,
                cancellations: self.cancellations.clone(),
            };
            beat.start()
        });
    }

    /// Records which cohort a run belongs to, with its other rows; the
    /// first record stands (a resumed run keeps its first lease's cohort).
    pub fn record_cohort(&self, execution_id: &str, cohort: executions::Cohort) {
        self.records.send(queued::Record::ExecutionCohort { id: execution_id.to_string(), cohort });
    }

    /// Records how a run ended (or, `queued`, hands it back); committed by
    /// the run's flush (or within the writer's linger).
    pub fn finish_execution(&self, execution_id: &str, finish: Finish) {
        let replica = self.replica.clone();
        self.records.send(queued::Record::ExecutionEnded { id: execution_id.to_string(), finish, replica });
    }

    /// How long a heartbeat may be silent before its runs are taken over.
    pub fn stale_after(&self) -> Duration {
        self.stale_after
    }

    /// Queues a durable run, committed when this returns.
    pub fn submit_run(&self, submission: &runs::Submission) -> Result<runs::Submitted, Error> {
        self.failed(|| format!("queueing execution {}", submission.start.id), self.store.submit_run(submission))
    }

    /// Leases up to `limit` queued or orphaned durable runs to this replica.
    pub fn lease_runs(&self, limit: u32) -> Result<Vec<runs::Leased>, Error> {
        let leased = self.store.lease_runs(&self.replica, self.stale_after, limit);
        let leased = self.failed(|| "leasing queued runs".into(), leased)?;
        if !leased.is_empty() {
            // A run resumed after a cancel is not cancelled again by the heartbeat's last look.
            let mut cancellations = self.cancellations.lock().unwrap_or_else(|p| p.into_inner());
            for run in &leased {
                if run.cancel_requested {
                    cancellations.insert(run.id.clone());
                } else {
                    cancellations.remove(&run.id);
                }
            }
            drop(cancellations);
            self.keep_leases();
        }
        Ok(leased)
    }

    pub fn checkpoints(&self, execution_id: &str) -> Result<Vec<runs::Checkpoint>, Error> {
        self.failed(
            || format!("reading the checkpoints of execution {execution_id}"),
            self.store.checkpoints(execution_id),
        )
    }

    /// Records that a durable run's step is about to run; committed by the caller's flush.
    pub fn step_started(&self, execution_id: &str, step_id: &str, rerun: bool) {
        let (execution_id, step_id) = (execution_id.to_string(), step_id.to_string());
        self.records.send(queued::Record::StepStarted { execution_id, step_id, rerun });
    }

    /// Queues a finished step's checkpoint with its usage row.
    pub fn step_finished(&self, who: &Identity, step_id: &str, report: serde_json::Value, usage: Option<UsageRow>) {
        let finished = queued::StepFinished {
            who: who.clone(),
            replica: self.replica.clone(),
            step_id: step_id.to_string(),
            report,
            usage,
        };
        self.records.send(queued::Record::StepFinished(Box::new(finished)));
    }

    /// Cancels a queued run, or asks a running one to stop at its next step boundary.
    pub fn cancel_run(&self, execution_id: &str) -> Result<runs::Cancel, Error> {
        self.failed(|| format!("cancelling execution {execution_id}"), self.store.cancel_run(execution_id))
    }

    /// Whether an operator asked to cancel this replica's run (as of the last heartbeat).
    pub fn cancel_requested(&self, execution_id: &str) -> bool {
        self.cancellations.lock().unwrap_or_else(|p| p.into_inner()).contains(execution_id)
    }

    /// Puts a durable run back in the queue (see [`store::Store::requeue_run`]).
    pub fn requeue_run(&self, execution_id: &str) -> Result<runs::Requeue, Error> {
        let requeued = self.store.requeue_run(execution_id, self.stale_after);
        self.failed(|| format!("resuming execution {execution_id}"), requeued)
    }

    pub fn queued_runs(&self) -> Result<u64, Error> {
        self.failed(|| "counting queued runs".into(), self.store.queued_runs())
    }

    pub fn execution(&self, execution_id: &str) -> Result<Option<Execution>, Error> {
        self.failed(|| format!("reading execution {execution_id}"), self.store.execution(execution_id))
    }

    /// The executions `filter` selects, the most recent first.
    pub fn executions(&self, filter: &ExecutionFilter) -> Result<Vec<Execution>, Error> {
        self.failed(|| "listing executions".into(), self.store.executions(filter))
    }

    /// Problems in the database's own structures; none when sound.
    pub fn check_integrity(&self) -> Result<Vec<String>, Error> {
        self.failed(|| "checking integrity".into(), self.store.check_integrity())
    }

    /// The backend, for the storage conformance suite.
    #[cfg(test)]
    fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }
}

/// What keeps this replica's runs: it refreshes their heartbeat (their
/// lease), reads which an operator asked to cancel, and marks other hosts'
/// synchronous runs stale for longer than `stale` interrupted, until the
/// store is dropped.
struct Heartbeat {
    store: Weak<dyn Store>,
    replica: Arc<str>,
    stale: Duration,
    cancellations: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl Heartbeat {
    /// Beats at least four times per stale limit, so a live lease is never taken over.
    fn every(&self) -> Duration {
        executions::HEARTBEAT_EVERY.min(self.stale / 4)
    }

    fn start(self) {
        let spawned = std::thread::Builder::new().name("pilot-heartbeat".into()).spawn(move || {
            loop {
                std::thread::sleep(self.every());
                let Some(store) = self.store.upgrade() else { return };
                match store.heartbeat(&self.replica) {
                    Ok(cancel) => {
                        *self.cancellations.lock().unwrap_or_else(|p| p.into_inner()) = cancel.into_iter().collect()
                    }
                    Err(e) => tracing::warn!("execution heartbeat failed: {e:#}"),
                }
                match store.interrupt_stale(self.stale) {
                    Ok(ids) if !ids.is_empty() => {
                        tracing::warn!(runs = ?ids, "marked runs whose host stopped as interrupted")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("looking for interrupted runs failed: {e:#}"),
                }
            }
        });
        if let Err(e) = spawned {
            tracing::error!("starting the execution heartbeat failed: {e}");
        }
    }
}
