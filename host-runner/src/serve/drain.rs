//! Taking a replica out of the pool: on SIGTERM (or SIGINT) `/ready` turns
//! to 503 at once, so the load balancer stops sending; new workflow requests
//! are answered 503 with `Retry-After` (a retry lands on another replica);
//! the runs in flight get until the drain deadline to finish. Runs still
//! going then are cancelled and recorded `interrupted`, and every queued
//! audit and usage row is committed before the process exits.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Default)]
pub struct Drain {
    draining: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
}

/// Held by a workflow request while it runs.
pub struct InFlight<'a>(&'a Drain);

impl Drop for InFlight<'_> {
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

    /// Admits a workflow request, unless the replica is draining.
    pub fn admit(&self) -> Option<InFlight<'_>> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let guard = InFlight(self);
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
        self.in_flight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

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
        let drain = Drain::default();
        let _stuck = drain.admit().unwrap();
        assert_eq!(drain.drain(Duration::from_millis(30)).await, 1);
    }
}
