//! The host's embedded database (SQLite): settings, token usage, the audit
//! trail and agent intensity scores. The schema is created and migrated on open.

pub mod agents;
mod migrations;
pub mod records;
pub mod settings;
pub mod writer;

use anyhow::{Context, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use writer::RecordWriter;

/// Connection settings. With WAL, NORMAL syncs at checkpoints instead of on
/// every commit: the database stays consistent; a power loss (not a process
/// crash) may drop the last commits. Every step writes audit and usage rows,
/// and a sync per row was the tail of the per-step overhead.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")
}

/// A handle to the host database, cheap to clone and shared by every store.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    path: Arc<PathBuf>,
    /// Audit and usage rows go through it, committed in batches off the caller's thread.
    records: Arc<RecordWriter>,
    settings: Arc<settings::SnapshotCache>,
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Db> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut conn = Connection::open(path).with_context(|| format!("opening database {}", path.display()))?;
        configure(&conn).with_context(|| format!("configuring database {}", path.display()))?;
        migrations::migrate(&mut conn).with_context(|| format!("migrating database {}", path.display()))?;
        settings::seed_defaults(&conn).with_context(|| format!("seeding settings in {}", path.display()))?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            path: Arc::new(path.to_path_buf()),
            records: Arc::new(RecordWriter::start(path, configure)?),
            settings: Arc::default(),
        })
    }

    /// Every setting, read at most once per [`settings::SNAPSHOT_TTL`] and
    /// again at once after a change made through this process.
    pub fn settings(&self) -> Result<Arc<settings::Snapshot>> {
        self.settings.get(|| settings::snapshot(&self.lock()))
    }

    /// The writer of audit and usage rows.
    pub fn records(&self) -> &RecordWriter {
        &self.records
    }

    /// Audit and usage rows lost since the database was opened, and the last error.
    pub fn lost_writes(&self) -> (u64, Option<String>) {
        self.records.lost().get()
    }

    /// A fresh database in its own temporary directory, for tests.
    #[cfg(test)]
    pub fn temporary() -> Db {
        let dir = std::env::temp_dir().join(format!("pilot-test-{}", uuid::Uuid::new_v4()));
        Db::open(&dir.join("pilot.db")).expect("opening a temporary database")
    }

    /// The file the database lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for one short operation. A poisoned lock is recovered:
    /// SQLite's own transactions keep the data consistent.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod concurrent_open {
    use super::Db;

    #[test]
    fn processes_opening_a_new_database_together_all_succeed() {
        let dir = std::env::temp_dir().join(format!("pilot-open-{}", uuid::Uuid::new_v4()));
        let path = dir.join("pilot.db");
        let openers: Vec<_> = (0..12)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || Db::open(&path).map(|_| ()).map_err(|e| format!("{e:#}")))
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap();
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
