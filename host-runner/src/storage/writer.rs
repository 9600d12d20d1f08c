//! The record writer: audit events and token usage rows go to one thread
//! that commits them in batches, one transaction per batch, through the
//! store's own writing connection. Steps never wait on the database (nor
//! block an async worker) to say
//! what they did: a row is pushed onto a queue, without waking the thread. A
//! run waits once, at its end, with [`RecordWriter::flush`], so its report
//! and everything read after it see every row: one wake-up and one
//! transaction per run, not per row. Rows nobody flushes are committed
//! within [`LINGER`]. Dropping the writer (the last handle of the database)
//! commits what is queued first.

use super::queued::Record;
use super::store::Store;
use crate::metrics::{EventLabel, Metrics};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// A queue this long wakes the writer without waiting for a flush.
const MAX_BATCH: usize = 512;
/// Rows no flush asks for are committed at least this often.
const LINGER: Duration = Duration::from_millis(100);

/// What the writer thread has to do, under one lock.
#[derive(Default)]
struct Pending {
    records: Vec<Record>,
    /// Each answered once every record queued before it is committed (or counted lost).
    flushes: Vec<tokio::sync::oneshot::Sender<()>>,
    closed: bool,
}

#[derive(Default)]
struct Queue {
    pending: Mutex<Pending>,
    wake: Condvar,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Rows that could not be written (a full disk, a database made read-only):
/// counted so a run can say so instead of passing silently.
#[derive(Default)]
pub struct LostWrites {
    count: AtomicU64,
    last: Mutex<Option<String>>,
}

impl LostWrites {
    fn note(&self, database: &str, what: &str, error: &anyhow::Error) {
        tracing::error!(database, "{what} write failed: {error:#}");
        self.count.fetch_add(1, Ordering::Relaxed);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{what}: {error:#}"));
    }

    /// Rows lost so far, and the last error.
    pub fn get(&self) -> (u64, Option<String>) {
        (self.count.load(Ordering::Relaxed), self.last.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

/// The handle the host keeps: the queue, and the thread that empties it.
pub struct RecordWriter {
    queue: Arc<Queue>,
    thread: Option<JoinHandle<()>>,
    lost: Arc<LostWrites>,
    location: String,
}

impl RecordWriter {
    /// Starts the writer thread over `store` (already migrated), counting committed rows in `metrics`.
    pub fn start(store: Arc<dyn Store>, metrics: Arc<Metrics>) -> std::io::Result<RecordWriter> {
        let queue = Arc::new(Queue::default());
        let lost = Arc::new(LostWrites::default());
        let location = store.location().to_string();
        let thread = std::thread::Builder::new().name("pilot-record-writer".into()).spawn({
            let (queue, lost) = (queue.clone(), lost.clone());
            move || write_loop(store.as_ref(), &queue, &lost, &metrics)
        })?;
        Ok(RecordWriter { queue, thread: Some(thread), lost, location })
    }

    /// Queues a row; never waits on the database.
    pub fn send(&self, record: Record) {
        let mut pending = self.queue.lock();
        if pending.closed {
            drop(pending);
            self.lost.note(&self.location, &record.describe(), &anyhow::anyhow!("the record writer has stopped"));
            return;
        }
        pending.records.push(record);
        if pending.records.len() >= MAX_BATCH {
            self.queue.wake.notify_one();
        }
    }

    /// Waits until every row queued before the call is committed (or counted lost).
    pub async fn flush(&self) {
        // An error means the thread is gone, and with it nothing left to wait for.
        let _ = self.request_flush().await;
    }

    /// [`RecordWriter::flush`] for synchronous tests (panics inside an async runtime).
    #[cfg(test)]
    pub fn flush_blocking(&self) {
        let _ = self.request_flush().blocking_recv();
    }

    fn request_flush(&self) -> tokio::sync::oneshot::Receiver<()> {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.queue.lock().flushes.push(done);
        self.queue.wake.notify_one();
        wait
    }

    pub fn lost(&self) -> &LostWrites {
        &self.lost
    }
}

impl Drop for RecordWriter {
    /// Closes the queue and waits for the thread to commit what is in it.
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_loop(store: &dyn Store, queue: &Queue, lost: &LostWrites, metrics: &Metrics) {
    loop {
        let mut pending = queue.lock();
        if pending.records.is_empty() && pending.flushes.is_empty() && !pending.closed {
            pending = queue.wake.wait_timeout(pending, LINGER).unwrap_or_else(|p| p.into_inner()).0;
        }
        let records = std::mem::take(&mut pending.records);
        let flushes = std::mem::take(&mut pending.flushes);
        let closed = pending.closed;
        drop(pending);
        if !records.is_empty() {
            let failed = store.write_records(&records);
            for (index, error) in &failed {
                lost.note(store.location(), &records[*index].describe(), error);
            }
            count_committed(metrics, &records, &failed);
        }
        for done in flushes {
            let _ = done.send(());
        }
        if closed && queue.lock().records.is_empty() {
            return;
        }
    }
}

/// Counts the rows that landed, so `/metrics` agrees with the database.
fn count_committed(metrics: &Metrics, records: &[Record], failed: &[(usize, anyhow::Error)]) {
    metrics.lost_writes.inc_by(failed.len() as u64);
    for (index, record) in records.iter().enumerate() {
        if failed.iter().any(|(i, _)| *i == index) {
            continue;
        }
        match record {
            Record::Audit(a) => {
                let label = EventLabel { event_type: a.event_type.clone() };
                metrics.audit_events.get_or_create(&label).inc();
            }
            Record::Usage { .. } => {
                metrics.usage_rows.inc();
            }
            Record::StepFinished(f) if f.usage.is_some() => {
                metrics.usage_rows.inc();
            }
            Record::StepStarted { rerun: true, .. } => {
                metrics.steps_rerun.inc();
            }
            Record::ExecutionStarted(_)
            | Record::ExecutionEnded { .. }
            | Record::ExecutionCohort { .. }
            | Record::StepStarted { .. }
            | Record::StepFinished(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Db;
    use crate::storage::queued::AuditRecord;
    use crate::storage::records::{Identity, UsageRow};

    fn audit(execution: &str, n: usize) -> Record {
        Record::Audit(AuditRecord {
            who: Identity { execution_id: execution.into(), agent_id: "a".into(), user_id: "u".into() },
            event_type: "ORCHESTRATION_STEP_EXECUTED".into(),
            severity: "info".into(),
            step_id: Some(format!("s{n}")),
            source: "test".into(),
            metadata: serde_json::json!({ "n": n }),
        })
    }

    #[tokio::test]
    async fn rows_are_readable_in_order_after_a_flush() {
        let db = Db::temporary();
        for n in 0..1_200 {
            db.records().send(audit("e1", n));
        }
        db.records().send(Record::Usage {
            who: Identity { execution_id: "e1".into(), ..Identity::default() },
            row: UsageRow {
                step_id: Some("s1".into()),
                tokens_used: 42,
                tokens_saved: 0,
                cost: 0.1,
                model_info: serde_json::json!({}),
            },
            what: "usage".into(),
        });
        db.records().flush().await;
        let rows = db.audit(Some("e1"), 5_000).unwrap();
        assert_eq!(rows.len(), 1_200);
        assert!(rows.iter().enumerate().all(|(n, r)| r.metadata["n"] == n), "kept in the order sent");
        assert_eq!(db.usage("e1").unwrap()[0].tokens_used, 42);
        assert_eq!(db.lost_writes().0, 0);
    }

    #[tokio::test]
    async fn two_databases_count_their_rows_in_their_own_metrics() {
        let (one, two) = (Arc::new(Metrics::new()), Arc::new(Metrics::new()));
        let open = |metrics: &Arc<Metrics>| {
            Db::temporary_with(crate::storage::DbOptions { metrics: metrics.clone(), ..Default::default() })
        };
        let (first, second) = (open(&one), open(&two));
        for n in 0..3 {
            first.records().send(audit("e4", n));
        }
        second.records().send(audit("e5", 0));
        first.records().flush().await;
        second.records().flush().await;
        let label = EventLabel { event_type: "ORCHESTRATION_STEP_EXECUTED".into() };
        let counted = |m: &Metrics| m.audit_events.get_or_create(&label).get();
        assert_eq!((counted(&one), counted(&two)), (3, 1));
    }

    #[test]
    fn dropping_the_last_handle_commits_what_is_queued() {
        let db = Db::temporary();
        let location = db.location().to_string();
        for n in 0..300 {
            db.records().send(audit("e2", n));
        }
        drop(db);
        let reopened = Db::open(&location).unwrap();
        assert_eq!(reopened.audit(Some("e2"), 1_000).unwrap().len(), 300);
    }

    #[tokio::test]
    async fn a_row_that_cannot_be_written_is_counted_and_the_rest_of_its_batch_lands() {
        let db = Db::temporary();
        rusqlite::Connection::open(db.location())
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER refuse_s3 BEFORE INSERT ON audit_log WHEN NEW.step_id = 's3'
                 BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
            )
            .unwrap();
        for n in 0..6 {
            db.records().send(audit("e3", n));
        }
        db.records().flush().await;
        assert_eq!(db.audit(Some("e3"), 100).unwrap().len(), 5);
        let (lost, last) = db.lost_writes();
        assert_eq!(lost, 1);
        assert!(last.unwrap().contains("disk full"));
    }
}
