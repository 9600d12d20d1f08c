//! Durable runs on SQLite: one host leases the runs of its file (see
//! [`crate::storage::runs`]).

use super::NOW;
use crate::storage::queued::StepFinished;
use crate::storage::runs::{Cancel, Checkpoint, Leased, Requeue, StepState, Submission, Submitted};
use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Duration;

/// `strftime`'s modifier for "`stale` ago".
pub fn ago(stale: Duration) -> String {
    format!("-{:.3} seconds", stale.as_secs_f64())
}

pub fn submit(conn: &Connection, s: &Submission) -> Result<Submitted> {
    let start = &s.start;
    let inserted = conn.execute(
        "INSERT INTO executions (id, workflow_id, agent_id, user_id, replica, state, workflow, idempotency_key)
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7)
         ON CONFLICT (idempotency_key) DO NOTHING",
        params![
            start.id,
            start.workflow_id,
            start.agent_id,
            start.user_id,
            start.replica,
            s.workflow,
            s.idempotency_key
        ],
    )?;
    if inserted == 1 {
        return Ok(Submitted::Queued(start.id.clone()));
    }
    let (id, workflow): (String, Option<String>) =
        conn.query_row("SELECT id, workflow FROM executions WHERE idempotency_key = ?1", [&s.idempotency_key], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok(if workflow.as_deref() == Some(s.workflow.as_str()) {
        Submitted::Existing(id)
    } else {
        Submitted::KeyReused(id)
    })
}

pub fn lease(conn: &Connection, replica: &str, stale: Duration, limit: u32) -> Result<Vec<Leased>> {
    let mut stmt = conn.prepare_cached(&format!(
        "UPDATE executions SET state = 'running', replica = ?1, heartbeat_at = {NOW}, leases = leases + 1, error = NULL
         WHERE id IN (
             SELECT id FROM executions
             WHERE workflow IS NOT NULL AND (state = 'queued'
                 OR (state = 'running' AND heartbeat_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2)))
             ORDER BY started_at, id LIMIT ?3)
         RETURNING id, workflow, leases, cancel_requested"
    ))?;
    let rows = stmt.query_map(params![replica, ago(stale), limit], |r| {
        Ok(Leased { id: r.get(0)?, workflow: r.get(1)?, leases: r.get(2)?, cancel_requested: r.get(3)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn checkpoints(conn: &Connection, execution_id: &str) -> Result<Vec<Checkpoint>> {
    let mut stmt = conn.prepare_cached(
        "SELECT step_id, state, starts, report, updated_at FROM run_steps WHERE execution_id = ?1
         ORDER BY updated_at, step_id",
    )?;
    let rows = stmt.query_map([execution_id], |r| {
        let state: String = r.get(1)?;
        let report: Option<String> = r.get(3)?;
        Ok((r.get(0)?, state, r.get(2)?, report, r.get(4)?))
    })?;
    rows.map(|row| {
        let (step_id, state, starts, report, updated_at) = row?;
        Ok(Checkpoint {
            step_id,
            state: StepState::parse(&state).ok_or_else(|| anyhow::anyhow!("run_steps.state `{state}`"))?,
            starts,
            report: report.map(|text| serde_json::from_str(&text)).transpose()?,
            updated_at,
        })
    })
    .collect()
}

pub fn step_started(conn: &Connection, execution_id: &str, step_id: &str, rerun: bool) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO run_steps (execution_id, step_id, state) VALUES (?1, ?2, 'started')
         ON CONFLICT (execution_id, step_id) DO UPDATE SET starts = starts + 1, updated_at = {NOW}
         WHERE state = 'started'"
    ))?
    .execute([execution_id, step_id])?;
    if rerun {
        conn.prepare_cached("UPDATE executions SET rerun_steps = rerun_steps + 1 WHERE id = ?1")?
            .execute([execution_id])?;
    }
    Ok(())
}

/// The checkpoint and its usage row under one savepoint, so they land
/// together inside the writer's batch and on their own alike.
pub fn step_finished(conn: &Connection, finished: &StepFinished) -> Result<()> {
    conn.execute_batch("SAVEPOINT step_finished")?;
    let written = write_step_finished(conn, finished);
    let end =
        if written.is_ok() { "RELEASE step_finished" } else { "ROLLBACK TO step_finished; RELEASE step_finished" };
    conn.execute_batch(end)?;
    written
}

fn write_step_finished(conn: &Connection, f: &StepFinished) -> Result<()> {
    let held = conn
        .prepare_cached(&format!(
            "INSERT INTO run_steps (execution_id, step_id, state, starts, report)
             SELECT ?1, ?2, 'finished', 0, ?3
             WHERE EXISTS (SELECT 1 FROM executions WHERE id = ?1 AND replica = ?4 AND state = 'running')
             ON CONFLICT (execution_id, step_id) DO UPDATE SET
                 state = 'finished', report = excluded.report, updated_at = {NOW}
             WHERE run_steps.state = 'started'"
        ))?
        .execute(params![f.who.execution_id, f.step_id, f.report.to_string(), f.replica.as_ref()])?;
    if held == 0 {
        tracing::warn!(execution = %f.who.execution_id, step = %f.step_id, "checkpoint dropped: the run is no longer this replica's");
        return Ok(());
    }
    if let Some(row) = &f.usage {
        super::insert_usage(conn, &f.who, row)?;
    }
    Ok(())
}

pub fn cancel(conn: &Connection, execution_id: &str) -> Result<Cancel> {
    let now_state: Option<String> = conn
        .query_row(
            &format!(
                "UPDATE executions SET cancel_requested = 1,
                     state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
                     ended_at = CASE WHEN state = 'queued' THEN {NOW} ELSE ended_at END
                 WHERE id = ?1 AND state IN ('queued', 'running') RETURNING state"
            ),
            [execution_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match now_state.as_deref() {
        Some("cancelled") => Cancel::Cancelled,
        Some(_) => Cancel::Requested,
        None => match state_of(conn, execution_id)? {
            Some((state, _)) => Cancel::AlreadyEnded(state),
            None => Cancel::NotFound,
        },
    })
}

pub fn requeue(conn: &Connection, execution_id: &str, stale: Duration) -> Result<Requeue> {
    let tx = conn.unchecked_transaction()?;
    let queued = tx.execute(
        "UPDATE executions SET state = 'queued', cancel_requested = 0, error = NULL, ended_at = NULL, leases = 0
         WHERE id = ?1 AND workflow IS NOT NULL AND (state IN ('failed', 'cancelled', 'interrupted')
             OR (state = 'running' AND heartbeat_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2)))",
        params![execution_id, ago(stale)],
    )?;
    if queued == 0 {
        return Ok(match state_of(&tx, execution_id)? {
            None => Requeue::NotFound,
            Some((_, false)) => Requeue::NotDurable,
            Some((state, true)) => Requeue::NotResumable(state),
        });
    }
    tx.execute(
        "DELETE FROM run_steps WHERE execution_id = ?1 AND state = 'finished'
             AND json_extract(report, '$.path') = 'failed'",
        [execution_id],
    )?;
    tx.commit()?;
    Ok(Requeue::Queued)
}

pub fn queued(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM executions WHERE state = 'queued'", [], |r| r.get(0))?)
}

/// A run's state, and whether it is durable.
fn state_of(conn: &Connection, execution_id: &str) -> Result<Option<(String, bool)>> {
    Ok(conn
        .query_row("SELECT state, workflow IS NOT NULL FROM executions WHERE id = ?1", [execution_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}
