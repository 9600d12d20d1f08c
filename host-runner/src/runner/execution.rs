//! A run's `executions` row from its start to its end.

use super::report::{Path, StepReport};
use crate::metrics::{Metrics, StateLabel};
use crate::storage::Db;
use crate::storage::executions::{ExecutionStart, Finish, State};

/// A run's `executions` row until it is closed: with the run's outcome, or,
/// when the run's future is dropped first (a request past its deadline, a
/// draining server), as `interrupted`.
pub struct OpenExecution<'a> {
    db: &'a Db,
    metrics: &'a Metrics,
    id: &'a str,
    ended: bool,
    /// Leased from the queue: dropped before its end, it goes back to the queue.
    durable: bool,
}

impl<'a> OpenExecution<'a> {
    /// Records the run as started (queued with its first rows) and counts it in flight.
    pub fn start(db: &'a Db, metrics: &'a Metrics, start: ExecutionStart, id: &'a str) -> OpenExecution<'a> {
        db.start_execution(start);
        metrics.in_flight.inc();
        OpenExecution { db, metrics, id, ended: false, durable: false }
    }

    /// A durable run this replica has leased (its row exists already).
    pub fn leased(db: &'a Db, metrics: &'a Metrics, id: &'a str) -> OpenExecution<'a> {
        metrics.in_flight.inc();
        OpenExecution { db, metrics, id, ended: false, durable: true }
    }

    /// Queues the run's end (once); the run's flush commits it with its other rows.
    pub fn end(&mut self, finish: Finish) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        self.metrics.in_flight.dec();
        if finish.state != State::Queued {
            self.metrics.workflows.get_or_create(&StateLabel { state: finish.state.as_str().into() }).inc();
        }
        self.db.finish_execution(self.id, finish);
    }
}

impl Drop for OpenExecution<'_> {
    fn drop(&mut self) {
        let finish = if self.durable {
            let replica = self.db.replica();
            Finish { state: State::Queued, error: Some(format!("handed back by replica {replica} before it ended")) }
        } else {
            Finish {
                state: State::Interrupted,
                error: Some("cancelled before it ended (request deadline, or the server stopping)".into()),
            }
        };
        self.end(finish);
    }
}

/// How a run that returned a report ended: `cancelled` when an operator
/// stopped it, `failed` with the first failed step's error, else `completed`.
pub fn finish_of(steps: &[StepReport], cancelled: bool) -> Finish {
    if cancelled {
        return Finish { state: State::Cancelled, error: Some("cancelled by an operator".into()) };
    }
    match steps.iter().find(|s| s.path == Path::Failed) {
        Some(s) => Finish {
            state: State::Failed,
            error: Some(format!("step `{}` failed: {}", s.id, s.error.as_deref().unwrap_or("unknown error"))),
        },
        None => Finish { state: State::Completed, error: None },
    }
}
