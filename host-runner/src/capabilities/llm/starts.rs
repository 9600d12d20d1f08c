//! Step starts of durable runs: before a step of a durable run sends its
//! first model call, that it started is committed (`run_steps`), so a
//! replica that takes the run over knows the call may have been paid, and
//! counts the step's next run as a re-run. Marked at the call, not when the
//! step is scheduled: a step killed before its request left is not counted
//! as paid twice, and a step that calls no model is never a re-run.

use crate::capabilities::audit::AuditSink;
use crate::storage::Db;
use crate::storage::records::Identity;
use crate::vocabulary::HostEvent;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// The durable runs in flight on this host, and which of their steps have called a model.
pub struct StepStarts {
    db: Db,
    runs: Mutex<HashMap<String, RunStarts>>,
}

struct RunStarts {
    who: Identity,
    lease: u32,
    /// Steps an earlier lease started and did not finish.
    unfinished: HashSet<String>,
    /// Steps whose start this lease has committed.
    marked: HashSet<String>,
}

/// Follows one durable run until dropped.
pub struct Following {
    starts: Arc<StepStarts>,
    execution_id: String,
}

impl Drop for Following {
    fn drop(&mut self) {
        self.starts.runs().remove(&self.execution_id);
    }
}

impl StepStarts {
    pub fn new(db: Db) -> Self {
        StepStarts { db, runs: Mutex::default() }
    }

    fn runs(&self) -> MutexGuard<'_, HashMap<String, RunStarts>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the starts of `who`'s steps under its `lease`th lease, until the
    /// guard is dropped; `unfinished` are the steps an earlier lease started
    /// and did not finish.
    pub fn follow(self: &Arc<Self>, who: &Identity, lease: u32, unfinished: HashSet<String>) -> Following {
        let run = RunStarts { who: who.clone(), lease, unfinished, marked: HashSet::new() };
        self.runs().insert(who.execution_id.clone(), run);
        Following { starts: self.clone(), execution_id: who.execution_id.clone() }
    }

    /// Before a model call of `step_id`: in a durable run, commits the
    /// step's start once (a re-run is audited); otherwise returns at once.
    pub async fn before_call(&self, execution_id: &str, step_id: &str) {
        let first = {
            let mut runs = self.runs();
            let Some(run) = runs.get_mut(execution_id) else { return };
            if !run.marked.insert(step_id.to_string()) {
                return;
            }
            (run.unfinished.contains(step_id), run.lease, run.who.clone())
        };
        let (rerun, lease, who) = first;
        self.db.step_started(execution_id, step_id, rerun);
        if rerun {
            tracing::warn!(execution_id, step = step_id, lease, "re-running a step whose replica stopped mid-call");
            AuditSink::new(self.db.clone(), who).host_event(&HostEvent::StepRerun { lease }, Some(step_id), "host");
        }
        self.db.records().flush().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::executions::ExecutionStart;
    use crate::storage::runs::{StepState, Submission};

    #[tokio::test]
    async fn a_step_start_is_committed_once_and_a_rerun_is_counted_and_audited() {
        let db = Db::temporary();
        let who = Identity { execution_id: "e1".into(), agent_id: "a".into(), user_id: "u".into() };
        let start = ExecutionStart {
            id: "e1".into(),
            workflow_id: "wf".into(),
            agent_id: "a".into(),
            user_id: "u".into(),
            replica: db.replica().into(),
        };
        db.submit_run(&Submission { start, workflow: "{}".into(), idempotency_key: None }).unwrap();
        db.lease_runs(1).unwrap();
        let starts = Arc::new(StepStarts::new(db.clone()));
        starts.before_call("e1", "a").await;
        assert!(db.checkpoints("e1").unwrap().is_empty(), "a run nobody follows is not marked");
        let following = starts.follow(&who, 2, HashSet::from(["b".to_string()]));
        starts.before_call("e1", "a").await;
        starts.before_call("e1", "a").await;
        starts.before_call("e1", "b").await;
        let checkpoints = db.checkpoints("e1").unwrap();
        assert_eq!(checkpoints.len(), 2);
        assert!(checkpoints.iter().all(|c| c.state == StepState::Started && c.starts == 1), "{checkpoints:?}");
        assert_eq!(db.execution("e1").unwrap().unwrap().rerun_steps, 1, "b was unfinished: a re-run");
        let events = db.audit(Some("e1"), 10).unwrap();
        assert_eq!(events.iter().filter(|e| e.event_type == "WORKFLOW_STEP_RERUN").count(), 1);
        drop(following);
        starts.before_call("e1", "c").await;
        assert_eq!(db.checkpoints("e1").unwrap().len(), 2, "not followed any more");
    }
}
