//! The embedded backend: one SQLite file in WAL mode. Reads share one
//! connection; the record writer has its own, so batches of audit and usage
//! rows never queue behind a read.

mod migrations;
mod runs;

use super::agents::AgentRow;
use super::cohorts::{CohortRow, CohortRows, CohortUsage, FailedStep};
use super::executions::{Execution, ExecutionFilter};
use super::queued::Record;
use super::records::{AuditRow, Identity, UsageRow, UsageTotal};
use super::runs::{Cancel, Checkpoint, Leased, Requeue, Submission, Submitted};
use super::settings::{NewSetting, SettingSeed};
use super::settings::{Setting, Snapshot};
use super::store::{Store, Tally};
use crate::vocabulary::HostEvent;
use anyhow::{Context, Result};
use orchestration::routing::{AgentScores, EXECUTION_EMA_ALPHA};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// Connection settings. With WAL, NORMAL syncs at checkpoints instead of on
/// every commit: the database stays consistent; a power loss (not a process
/// crash) may drop the last commits. Every step writes audit and usage rows,
/// and a sync per row was the tail of the per-step overhead.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")
}

pub struct SqliteStore {
    read: Mutex<Connection>,
    write: Mutex<Connection>,
    location: String,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let open = || -> Result<Connection> {
            let conn = Connection::open(path).with_context(|| format!("opening database {}", path.display()))?;
            configure(&conn).with_context(|| format!("configuring database {}", path.display()))?;
            Ok(conn)
        };
        let mut read = open()?;
        migrations::migrate(&mut read).with_context(|| format!("migrating database {}", path.display()))?;
        Ok(SqliteStore { read: Mutex::new(read), write: Mutex::new(open()?), location: path.display().to_string() })
    }

    /// The reading connection, for one short operation. A poisoned lock is
    /// recovered: SQLite's own transactions keep the data consistent.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.read.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn insert(conn: &Connection, record: &Record) -> Result<()> {
    match record {
        // Cached: every step writes several rows, and parsing each showed in profiles.
        Record::Audit(a) => {
            conn.prepare_cached(
                "INSERT INTO audit_log (event_type, severity, execution_id, agent_id, user_id, step_id, source, metadata)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                a.event_type,
                a.severity,
                a.who.execution_id,
                a.who.agent_id,
                a.who.user_id,
                a.step_id,
                a.source,
                a.metadata.to_string()
            ])?;
        }
        Record::ExecutionStarted(s) => {
            conn.prepare_cached(
                "INSERT INTO executions (id, workflow_id, agent_id, user_id, replica, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'running')",
            )?
            .execute(params![s.id, s.workflow_id, s.agent_id, s.user_id, s.replica])?;
        }
        // A second end (or one after the run was found interrupted) changes nothing.
        // A run handed back (`queued`) has not ended.
        Record::ExecutionEnded { id, finish, replica } => {
            conn.prepare_cached(&format!(
                "UPDATE executions SET state = ?2, error = ?3, heartbeat_at = {NOW},
                     ended_at = CASE WHEN ?2 = 'queued' THEN NULL ELSE {NOW} END,
                     leases = CASE WHEN ?2 = 'queued' THEN max(leases - 1, 0) ELSE leases END
                 WHERE id = ?1 AND state = 'running' AND replica = ?4"
            ))?
            .execute(params![id, finish.state.as_str(), finish.error, replica.as_ref()])?;
        }
        Record::ExecutionCohort { id, cohort } => {
            conn.prepare_cached(
                "UPDATE executions SET orchestrated = ?2, flag_scope = ?3 WHERE id = ?1 AND orchestrated IS NULL",
            )?
            .execute(params![id, cohort.orchestrated, cohort.flag_scope])?;
        }
        Record::Usage { who, row, .. } => insert_usage(conn, who, row)?,
        Record::StepStarted { execution_id, step_id, rerun } => {
            runs::step_started(conn, execution_id, step_id, *rerun)?
        }
        Record::StepFinished(finished) => runs::step_finished(conn, finished)?,
    }
    Ok(())
}

fn insert_usage(conn: &Connection, who: &Identity, row: &UsageRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO token_usage (agent_id, user_id, execution_id, step_id, tokens_used, tokens_saved, cost, model_info)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        who.agent_id,
        who.user_id,
        who.execution_id,
        row.step_id,
        row.tokens_used,
        row.tokens_saved,
        row.cost,
        row.model_info.to_string()
    ])?;
    Ok(())
}

fn agent_row(r: &rusqlite::Row) -> rusqlite::Result<AgentRow> {
    Ok(AgentRow {
        scores: AgentScores { creation: r.get(0)?, execution: r.get(1)?, combined: r.get(2)? },
        runs: r.get(3)?,
    })
}

const EXECUTION_COLUMNS: &str = "id, workflow_id, agent_id, user_id, replica, state, error, started_at, ended_at,
    heartbeat_at, workflow IS NOT NULL, idempotency_key, leases, rerun_steps, cancel_requested, orchestrated, flag_scope";

fn execution_row(r: &rusqlite::Row) -> rusqlite::Result<Execution> {
    Ok(Execution {
        id: r.get(0)?,
        workflow_id: r.get(1)?,
        agent_id: r.get(2)?,
        user_id: r.get(3)?,
        replica: r.get(4)?,
        state: r.get(5)?,
        error: r.get(6)?,
        started_at: r.get(7)?,
        ended_at: r.get(8)?,
        heartbeat_at: r.get(9)?,
        durable: r.get(10)?,
        idempotency_key: r.get(11)?,
        leases: r.get(12)?,
        rerun_steps: r.get(13)?,
        cancel_requested: r.get(14)?,
        orchestrated: r.get(15)?,
        flag_scope: r.get(16)?,
    })
}

fn json_or_text(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

impl Store for SqliteStore {
    fn location(&self) -> &str {
        &self.location
    }

    fn seed_settings(&self, seeds: &[SettingSeed]) -> Result<()> {
        let conn = self.conn();
        let mut upsert = conn.prepare(
            "INSERT INTO system_settings_config (key, value, value_type, description) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(key) DO UPDATE SET value_type = excluded.value_type, description = excluded.description",
        )?;
        for s in seeds {
            upsert.execute(params![s.key, s.default, s.value_type, s.description])?;
        }
        Ok(())
    }

    fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM system_settings_config WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn settings(&self, prefix: &str) -> Result<Vec<Setting>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT key, value, value_type, description, updated_at FROM system_settings_config
             WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key",
        )?;
        let rows = stmt.query_map([prefix], |r| {
            Ok(Setting {
                key: r.get(0)?,
                value: r.get(1)?,
                value_type: r.get(2)?,
                description: r.get(3)?,
                updated_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn settings_snapshot(&self) -> Result<Snapshot> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT key, value FROM system_settings_config")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn put_setting(&self, key: &str, value: &str, create: Option<&NewSetting>) -> Result<bool> {
        let conn = self.conn();
        if let Some(new) = create {
            conn.execute(
                "INSERT OR IGNORE INTO system_settings_config (key, value, value_type, description)
                 VALUES (?1, '', ?2, ?3)",
                params![key, new.value_type, new.description],
            )?;
        }
        let changed = conn.execute(
            &format!("UPDATE system_settings_config SET value = ?2, updated_at = {NOW} WHERE key = ?1"),
            params![key, value],
        )?;
        Ok(changed == 1)
    }

    fn delete_setting(&self, key: &str) -> Result<bool> {
        Ok(self.conn().execute("DELETE FROM system_settings_config WHERE key = ?1", [key])? == 1)
    }

    fn write_records(&self, batch: &[Record]) -> Vec<(usize, anyhow::Error)> {
        let mut conn = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let together = conn.transaction().map_err(anyhow::Error::from).and_then(|tx| {
            batch.iter().try_for_each(|record| insert(&tx, record))?;
            tx.commit().map_err(anyhow::Error::from)
        });
        if together.is_ok() {
            return vec![];
        }
        batch.iter().enumerate().filter_map(|(i, record)| insert(&conn, record).err().map(|e| (i, e))).collect()
    }

    fn audit(&self, execution_id: Option<&str>, limit: u32) -> Result<Vec<AuditRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, created_at, event_type, severity, execution_id, agent_id, user_id, step_id, source, metadata
             FROM audit_log WHERE ?1 IS NULL OR execution_id = ?1
             ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![execution_id, limit], |r| {
            Ok(AuditRow {
                id: r.get(0)?,
                created_at: r.get(1)?,
                event_type: r.get(2)?,
                severity: r.get(3)?,
                execution_id: r.get(4)?,
                agent_id: r.get(5)?,
                user_id: r.get(6)?,
                step_id: r.get(7)?,
                source: r.get(8)?,
                metadata: json_or_text(r.get(9)?),
            })
        })?;
        let mut rows: Vec<AuditRow> = rows.collect::<rusqlite::Result<_>>()?;
        rows.reverse();
        Ok(rows)
    }

    fn usage(&self, execution_id: &str) -> Result<Vec<UsageRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT step_id, tokens_used, tokens_saved, cost, model_info FROM token_usage
             WHERE execution_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([execution_id], |r| {
            Ok(UsageRow {
                step_id: r.get(0)?,
                tokens_used: r.get(1)?,
                tokens_saved: r.get(2)?,
                cost: r.get(3)?,
                model_info: json_or_text(r.get(4)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn usage_totals(&self, execution_ids: &[String]) -> Result<BTreeMap<String, UsageTotal>> {
        let conn = self.conn();
        // One JSON array parameter: no statement per list length, no limit on host parameters.
        let mut stmt = conn.prepare_cached(
            "SELECT execution_id, SUM(tokens_used), SUM(cost) FROM token_usage
             WHERE execution_id IN (SELECT value FROM json_each(?1)) GROUP BY execution_id",
        )?;
        let ids = serde_json::to_string(execution_ids)?;
        let rows = stmt.query_map([ids], |r| {
            Ok((r.get::<_, String>(0)?, UsageTotal { tokens_used: r.get(1)?, cost: r.get(2)? }))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn tally(&self) -> Result<Tally> {
        let conn = self.conn();
        let (step_usage_rows, distinct_steps) = conn.query_row(
            "SELECT COUNT(*), COUNT(DISTINCT execution_id || char(31) || step_id) FROM token_usage WHERE step_id IS NOT NULL",
            [],
            |r| Ok((r.get::<_, u64>(0)?, r.get::<_, u64>(1)?)),
        )?;
        let grouped = |sql: &str| -> Result<_> {
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        Ok(Tally {
            step_usage_rows,
            distinct_steps,
            events: grouped("SELECT event_type, COUNT(*) FROM audit_log GROUP BY event_type")?,
            executions: grouped("SELECT state, COUNT(*) FROM executions GROUP BY state")?,
        })
    }

    fn agents(&self) -> Result<Vec<(String, AgentRow)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT creation_score, execution_score, combined_score, runs, agent_id
             FROM agent_intensity_metrics ORDER BY agent_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(4)?, agent_row(r)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn agent(&self, agent_id: &str) -> Result<Option<AgentRow>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT creation_score, execution_score, combined_score, runs FROM agent_intensity_metrics
                 WHERE agent_id = ?1",
                [agent_id],
                agent_row,
            )
            .optional()?)
    }

    fn set_creation(&self, agent_id: &str, creation: f32) -> Result<()> {
        self.conn().execute(
            &format!(
                "INSERT INTO agent_intensity_metrics (agent_id, creation_score, execution_score, combined_score, runs)
                 VALUES (?1, ?2, ?2, ?2, 0)
                 ON CONFLICT (agent_id) DO UPDATE SET
                     creation_score = excluded.creation_score,
                     combined_score = (excluded.creation_score + execution_score) / 2,
                     updated_at = {NOW}"
            ),
            params![agent_id, f64::from(creation)],
        )?;
        Ok(())
    }

    fn record_agent_run(&self, agent_id: &str, scores: &AgentScores, read: Option<&AgentScores>) -> Result<()> {
        // The run moved the execution score by `change` from the row it read;
        // a first run (nothing read) that meets a row another run just wrote
        // takes one moving-average step towards its own score.
        let (change, first) = match read {
            Some(r) => (f64::from(scores.execution - r.execution), 0),
            None => (0.0, 1),
        };
        self.conn().execute(
            &format!(
                "INSERT INTO agent_intensity_metrics (agent_id, creation_score, execution_score, combined_score, runs)
                 VALUES (?1, ?2, ?3, (?2 + ?3) / 2, 1)
                 ON CONFLICT (agent_id) DO UPDATE SET
                     execution_score = min(10, max(0, CASE WHEN ?5 = 1
                         THEN execution_score + ?6 * (excluded.execution_score - execution_score)
                         ELSE execution_score + ?4 END)),
                     combined_score = (creation_score + min(10, max(0, CASE WHEN ?5 = 1
                         THEN execution_score + ?6 * (excluded.execution_score - execution_score)
                         ELSE execution_score + ?4 END))) / 2,
                     runs = runs + 1,
                     updated_at = {NOW}"
            ),
            params![
                agent_id,
                f64::from(scores.creation),
                f64::from(scores.execution),
                change,
                first,
                f64::from(EXECUTION_EMA_ALPHA)
            ],
        )?;
        Ok(())
    }

    fn orchestrated_tokens(&self, agent_id: &str) -> Result<Vec<(String, u64)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT json_extract(model_info, '$.intent'), tokens_used FROM token_usage
             WHERE agent_id = ?1 AND step_id IS NOT NULL AND json_extract(model_info, '$.path') = 'orchestrated'
               AND json_extract(model_info, '$.intent') IS NOT NULL
             ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([agent_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn heartbeat(&self, replica: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "UPDATE executions SET heartbeat_at = {NOW} WHERE replica = ?1 AND state = 'running'
             RETURNING id, cancel_requested"
        ))?;
        let rows = stmt.query_map([replica], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?;
        let rows: Vec<_> = rows.collect::<rusqlite::Result<_>>()?;
        Ok(rows.into_iter().filter(|(_, cancel)| *cancel).map(|(id, _)| id).collect())
    }

    fn submit_run(&self, submission: &Submission) -> Result<Submitted> {
        runs::submit(&self.conn(), submission)
    }

    fn lease_runs(&self, replica: &str, stale: Duration, limit: u32) -> Result<Vec<Leased>> {
        runs::lease(&self.conn(), replica, stale, limit)
    }

    fn checkpoints(&self, execution_id: &str) -> Result<Vec<Checkpoint>> {
        runs::checkpoints(&self.conn(), execution_id)
    }

    fn cancel_run(&self, execution_id: &str) -> Result<Cancel> {
        runs::cancel(&self.conn(), execution_id)
    }

    fn requeue_run(&self, execution_id: &str, stale: Duration) -> Result<Requeue> {
        runs::requeue(&self.conn(), execution_id, stale)
    }

    fn queued_runs(&self) -> Result<u64> {
        runs::queued(&self.conn())
    }

    fn interrupt_stale(&self, stale: Duration) -> Result<Vec<String>> {
        let conn = self.conn();
        let cutoff = runs::ago(stale);
        let mut stmt = conn.prepare(&format!(
            "UPDATE executions SET state = 'interrupted', ended_at = {NOW},
                 error = 'the host running it stopped (no heartbeat since ' || heartbeat_at || ')'
             WHERE state = 'running' AND workflow IS NULL
               AND heartbeat_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)
             RETURNING id"
        ))?;
        let ids = stmt.query_map([cutoff], |r| r.get(0))?;
        Ok(ids.collect::<rusqlite::Result<_>>()?)
    }

    fn execution(&self, execution_id: &str) -> Result<Option<Execution>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = ?1"),
                [execution_id],
                execution_row,
            )
            .optional()?)
    }

    fn executions(&self, filter: &ExecutionFilter) -> Result<Vec<Execution>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions e
             WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR instr(agent_id, ?2) > 0)
               AND (?3 IS NULL OR (SELECT COALESCE(SUM(cost), 0) FROM token_usage u WHERE u.execution_id = e.id) >= ?3)
               AND (?4 IS NULL OR started_at < ?4 OR (started_at = ?4 AND id > ?5))
             ORDER BY started_at DESC, id LIMIT ?6"
        ))?;
        let after = filter.after.as_ref();
        let rows = stmt.query_map(
            params![
                filter.state,
                filter.agent,
                filter.min_cost,
                after.map(|p| &p.started_at),
                after.map(|p| &p.id),
                filter.limit
            ],
            execution_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn cohort_rows(&self, since: Duration) -> Result<CohortRows> {
        let conn = self.conn();
        let window = format!("-{} seconds", since.as_secs());
        let runs = "e.orchestrated IS NOT NULL AND e.started_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)
                    AND e.state NOT IN ('queued', 'running')";
        let mut stmt = conn.prepare(&format!(
            "SELECT e.id, e.workflow_id, e.agent_id, e.state, e.orchestrated,
                    u.id IS NOT NULL, u.step_id, u.tokens_used, u.cost, u.model_info, e.flag_scope
             FROM executions e LEFT JOIN token_usage u ON u.execution_id = e.id
             WHERE {runs}
             ORDER BY e.started_at, e.id, u.id"
        ))?;
        let rows = stmt.query_map([&window], |r| {
            let usage = match r.get::<_, bool>(5)? {
                true => Some(CohortUsage {
                    step_id: r.get(6)?,
                    tokens_used: r.get(7)?,
                    cost: r.get(8)?,
                    model_info: json_or_text(r.get(9)?),
                }),
                false => None,
            };
            Ok(CohortRow {
                execution_id: r.get(0)?,
                workflow_id: r.get(1)?,
                agent_id: r.get(2)?,
                flag_scope: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
                state: r.get(3)?,
                orchestrated: r.get(4)?,
                usage,
            })
        })?;
        let rows = rows.collect::<rusqlite::Result<_>>()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT a.execution_id, a.step_id, MAX(json_extract(a.metadata, '$.intent'))
             FROM audit_log a JOIN executions e ON e.id = a.execution_id
             WHERE a.event_type = '{FAILED}' AND a.step_id IS NOT NULL AND {runs}
             GROUP BY a.execution_id, a.step_id",
            FAILED = HostEvent::STEP_FAILED
        ))?;
        let failed_steps = stmt
            .query_map([&window], |r| {
                Ok(FailedStep { execution_id: r.get(0)?, step_id: r.get(1)?, intent: r.get(2)? })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let runs_without_cohort = conn.query_row(
            "SELECT COUNT(*) FROM executions WHERE orchestrated IS NULL
              AND started_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1) AND state NOT IN ('queued', 'running')",
            [&window],
            |r| r.get(0),
        )?;
        Ok(CohortRows { rows, failed_steps, runs_without_cohort })
    }

    fn check_integrity(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?.into_iter().filter(|r| r != "ok").collect())
    }
}
