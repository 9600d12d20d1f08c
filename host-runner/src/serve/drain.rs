//! Taking a replica out of the pool: on SIGTERM (or SIGINT) `/ready` turns
//! to 503 at once, so the load balancer stops sending; new workflow requests
//! are answered 503 with `Retry-After` (a retry lands on another replica);
//! the runs in flight get until the drain deadline to finish. Runs still
//! going then are cancelled and recorded `interrupted`, and every queued
//! audit and usage row is committed before the process exits.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub struct Drain {
    draining: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
    /// Set once the drain is over (its deadline passed, or nothing was left):
    /// durable runs still going are then handed back.
    over: watch::Sender<bool>,
    /// Durable-run workers, awaited before the last rows are committed.
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Default for Drain {
    fn default() -> Self {
        Drain {
            draining: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            over: watch::Sender::new(false),
            workers: Mutex::default(),
        }
    }
}

/// Held by a workflow request, or a durable run, while it runs.
pub struct InFlight(Arc<Drain>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Drain {
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Admits a workflow request or a durable run, unless the replica is draining.
    pub fn admit(self: &Arc<Self>) -> Option<InFlight> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let guard = InFlight(self.clone());
        // Checked after counting: a drain that begins now sees this run, or this run sees the drain.
        (!self.is_draining()).then_some(guard)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Stops admitting runs and waits up to `deadline` for those in flight;
    /// how many were still running.
    pub async fn drain(&self, deadline: Duration) -> usize {
        self.draining.store(true, Ordering::Release);
        let all_done = async {
            loop {
                let idle = self.idle.notified();
                if self.in_flight() == 0 {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(deadline, all_done).await;
        let left = self.in_flight();
        self.over.send_replace(true);
        left
    }

    /// Watches for the end of the drain.
    pub fn over(&self) -> watch::Receiver<bool> {
        self.over.subscribe()
    }

    /// Keeps a durable-run worker, to be awaited by [`Drain::workers_stopped`].
    pub fn adopt(&self, worker: JoinHandle<()>) {
        self.workers.lock().unwrap_or_else(|p| p.into_inner()).push(worker);
    }

    /// Waits for the workers to hand back what they still ran.
    pub async fn workers_stopped(&self) {
        let workers = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|p| p.into_inner()));
        for worker in workers {
            if let Err(e) = worker.await {
                tracing::error!("a durable-run worker panicked: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn draining_refuses_new_runs_and_waits_for_running_ones() {
        let drain = Arc::new(Drain::default());
        let running = drain.admit().expect("admitted before the drain");
        let waiter = tokio::spawn({
            let drain = drain.clone();
            async move { drain.drain(Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(drain.is_draining());
        assert!(drain.admit().is_none(), "no new run while draining");
        drop(running);
        assert_eq!(waiter.await.unwrap(), 0, "the drain ended when the last run did");
    }

    #[tokio::test]
    async fn the_deadline_bounds_the_wait() {
        let drain = Arc::new(Drain::default());
        let _stuck = drain.admit().unwrap();
        assert_eq!(drain.drain(Duration::from_millis(30)).await, 1);
    }
}
