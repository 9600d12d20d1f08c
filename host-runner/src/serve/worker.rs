//! The durable-run worker of `pilot serve`: it leases queued runs, and runs
//! whose replica stopped, from the store, and runs them in the workflow
//! slots synchronous requests use too. It leases only what it can start at
//! once, so a draining replica has nothing to hand back but the runs in
//! flight, which go back to the queue if the drain deadline cuts them off.

use super::drain::Drain;
use crate::host::Host;
use crate::storage::executions::{Finish, State};
use crate::storage::runs::Leased;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

/// How often an idle worker looks for runs (a submission to this replica wakes it at once).
const POLL_EVERY: Duration = Duration::from_millis(250);
/// At most this many runs leased in one statement.
const LEASE_BATCH: usize = 32;
/// How often the queue length gauge is read.
const COUNT_EVERY: Duration = Duration::from_secs(1);

/// What the API shares with the worker.
#[derive(Clone)]
pub struct Worker {
    host: Host,
    /// The replica's workflow slots, shared with synchronous requests.
    slots: Arc<Semaphore>,
    /// Notified when a run is queued through this replica.
    wake: Arc<Notify>,
    drain: Arc<Drain>,
    /// Runs this process is running: a lease of one of them again (its
    /// heartbeat fell behind under load) must not start a second copy.
    running: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl Worker {
    /// A worker over `slots`, running in the background until `drain` is over.
    pub fn start(host: Host, slots: Arc<Semaphore>, drain: Arc<Drain>) -> Worker {
        let worker = Worker { host, slots, wake: Arc::default(), drain: drain.clone(), running: Arc::default() };
        drain.adopt(tokio::spawn(worker.clone().run(drain.over())));
        worker
    }

    /// Says a run was just queued, so an idle worker leases it now rather than at its next poll.
    pub fn queued(&self) {
        self.wake.notify_one();
    }

    /// Leases and runs until the replica drains; then waits for the runs in
    /// flight until `deadline` says the drain is over, and hands back those
    /// still running.
    async fn run(self, mut deadline: watch::Receiver<bool>) {
        let mut running = JoinSet::new();
        let mut counted = Instant::now() - COUNT_EVERY;
        while !self.drain.is_draining() {
            while running.try_join_next().is_some() {}
            if counted.elapsed() >= COUNT_EVERY {
                self.count_queue().await;
                counted = Instant::now();
            }
            let first = tokio::select! {
                permit = self.slots.clone().acquire_owned() => permit,
                () = passed(&mut deadline) => break,
            };
            let Ok(first) = first else { break };
            if self.drain.is_draining() {
                break;
            }
            let mut permits = vec![first];
            while permits.len() < LEASE_BATCH {
                match self.slots.clone().try_acquire_owned() {
                    Ok(permit) => permits.push(permit),
                    Err(_) => break,
                }
            }
            let leased = self.lease(permits.len()).await;
            if leased.is_empty() {
                drop(permits);
                tokio::select! {
                    () = tokio::time::sleep(POLL_EVERY) => {}
                    () = self.wake.notified() => {}
                    () = passed(&mut deadline) => break,
                }
                continue;
            }
            for (run, permit) in leased.into_iter().zip(permits) {
                self.spawn_run(&mut running, run, permit);
            }
        }
        // Draining: nothing new is leased. Runs in flight go on until the deadline.
        tokio::select! {
            () = async { while running.join_next().await.is_some() {} } => {}
            () = passed(&mut deadline) => {
                let left = running.len();
                running.abort_all();
                while running.join_next().await.is_some() {}
                if left > 0 {
                    tracing::warn!(runs = left, "drain deadline: durable runs in flight handed back to the queue");
                }
            }
        }
    }

    fn spawn_run(&self, tasks: &mut JoinSet<()>, run: Leased, permit: OwnedSemaphorePermit) {
        if !self.running.lock().unwrap_or_else(|p| p.into_inner()).insert(run.id.clone()) {
            tracing::warn!(execution_id = %run.id, "leased a run this replica is still running (its heartbeat fell behind)");
            return;
        }
        let (host, drain) = (self.host.clone(), self.drain.clone());
        let here = RunningHere { ids: self.running.clone(), id: run.id.clone() };
        tasks.spawn(async move {
            // Released however the task ends (a panic included).
            let (_slot, _here) = (permit, here);
            // Counted in flight, so a drain waits for it; leased as a drain
            // began, it goes back to the queue unstarted (not counted a lease).
            match drain.admit() {
                Some(_in_flight) => {
                    if let Err(e) = host.run_leased(&run).await {
                        tracing::error!(execution_id = %run.id, "durable run failed: {}", crate::error::chain(&e));
                    }
                }
                None => {
                    let finish = Finish { state: State::Queued, error: Some("handed back unstarted: draining".into()) };
                    host.db().finish_execution(&run.id, finish);
                }
            }
        });
    }

    async fn lease(&self, limit: usize) -> Vec<Leased> {
        let db = self.host.db().clone();
        match tokio::task::spawn_blocking(move || db.lease_runs(limit as u32)).await {
            Ok(Ok(leased)) => leased,
            Ok(Err(e)) => {
                tracing::warn!("leasing queued runs failed: {}", crate::error::chain(&e));
                vec![]
            }
            Err(e) => {
                tracing::error!("leasing queued runs panicked: {e}");
                vec![]
            }
        }
    }

    async fn count_queue(&self) {
        let db = self.host.db().clone();
        if let Ok(Ok(queued)) = tokio::task::spawn_blocking(move || db.queued_runs()).await {
            self.host.metrics().runs_queued.set(queued as i64);
        }
    }
}

/// A run in this process's set of runs it runs, until dropped.
struct RunningHere {
    ids: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    id: String,
}

impl Drop for RunningHere {
    fn drop(&mut self) {
        self.ids.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
    }
}

/// Resolves once the drain is over (or nobody can say it any more).
async fn passed(deadline: &mut watch::Receiver<bool>) {
    let _ = deadline.wait_for(|passed| *passed).await;
}
