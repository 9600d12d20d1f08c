//! Durable runs on Postgres, shared by replicas (see [`crate::storage::runs`]).
//! Leasing is `FOR UPDATE SKIP LOCKED` on the executions row, with the
//! heartbeat the host already keeps as the lease: the row is the queue
//! entry, so a run has one state in one place, on SQLite and Postgres alike.

use super::ts;
use crate::storage::queued::StepFinished;
use crate::storage::runs::{Cancel, Checkpoint, Leased, Requeue, StepState, Submission, Submitted};
use anyhow::{Result, anyhow};
use postgres::{Client, GenericClient};
use std::time::Duration;

pub fn submit(client: &mut Client, s: &Submission) -> Result<Submitted> {
    let start = &s.start;
    let inserted = client.execute(
        "INSERT INTO executions (id, workflow_id, agent_id, user_id, replica, state, workflow, idempotency_key)
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7)
         ON CONFLICT (idempotency_key) DO NOTHING",
        &[
            &start.id,
            &start.workflow_id,
            &start.agent_id,
            &start.user_id,
            &start.replica,
            &s.workflow,
            &s.idempotency_key,
        ],
    )?;
    if inserted == 1 {
        return Ok(Submitted::Queued(start.id.clone()));
    }
    let row =
        client.query_one("SELECT id, workflow FROM executions WHERE idempotency_key = $1", &[&s.idempotency_key])?;
    let (id, workflow): (String, Option<String>) = (row.get(0), row.get(1));
    Ok(if workflow.as_deref() == Some(s.workflow.as_str()) {
        Submitted::Existing(id)
    } else {
        Submitted::KeyReused(id)
    })
}

pub fn lease(client: &mut Client, replica: &str, stale: Duration, limit: u32) -> Result<Vec<Leased>> {
    let rows = client.query(
        "UPDATE executions e SET state = 'running', replica = $1, heartbeat_at = now(), leases = e.leases + 1,
             error = NULL
         FROM (SELECT id FROM executions
               WHERE workflow IS NOT NULL AND (state = 'queued'
                   OR (state = 'running' AND heartbeat_at < now() - make_interval(secs => $2)))
               ORDER BY started_at, id LIMIT $3
               FOR UPDATE SKIP LOCKED) free
         WHERE e.id = free.id
         RETURNING e.id, e.workflow, e.leases, e.cancel_requested",
        &[&replica, &stale.as_secs_f64(), &i64::from(limit)],
    )?;
    Ok(rows
        .iter()
        .map(|r| Leased {
            id: r.get(0),
            workflow: r.get(1),
            leases: r.get::<_, i32>(2) as u32,
            cancel_requested: r.get(3),
        })
        .collect())
}

pub fn checkpoints(client: &mut Client, execution_id: &str) -> Result<Vec<Checkpoint>> {
    let sql = format!(
        "SELECT step_id, state, starts, report, {} FROM run_steps WHERE execution_id = $1 ORDER BY updated_at, step_id",
        ts("updated_at")
    );
    client
        .query(&sql, &[&execution_id])?
        .iter()
        .map(|r| {
            let state: String = r.get(1);
            let report: Option<String> = r.get(3);
            Ok(Checkpoint {
                step_id: r.get(0),
                state: StepState::parse(&state).ok_or_else(|| anyhow!("run_steps.state `{state}`"))?,
                starts: r.get::<_, i32>(2) as u32,
                report: report.map(|text| serde_json::from_str(&text)).transpose()?,
                updated_at: r.get(4),
            })
        })
        .collect()
}

pub fn step_started(client: &mut impl GenericClient, execution_id: &str, step_id: &str, rerun: bool) -> Result<()> {
    client.execute(
        "INSERT INTO run_steps (execution_id, step_id, state) VALUES ($1, $2, 'started')
         ON CONFLICT (execution_id, step_id) DO UPDATE SET starts = run_steps.starts + 1, updated_at = now()
         WHERE run_steps.state = 'started'",
        &[&execution_id, &step_id],
    )?;
    if rerun {
        client.execute("UPDATE executions SET rerun_steps = rerun_steps + 1 WHERE id = $1", &[&execution_id])?;
    }
    Ok(())
}

/// The checkpoint and its usage row in one statement, so they land together
/// inside the writer's batch and on their own alike. The lease is read
/// `FOR SHARE`: a replica taking the run over waits for this to commit.
pub fn step_finished(client: &mut impl GenericClient, f: &StepFinished) -> Result<()> {
    const HELD: &str = "INSERT INTO run_steps (execution_id, step_id, state, starts, report)
         SELECT $1, $2, 'finished', 0, $3
         WHERE EXISTS (SELECT 1 FROM executions WHERE id = $1 AND replica = $4 AND state = 'running' FOR SHARE)
         ON CONFLICT (execution_id, step_id) DO UPDATE SET
             state = 'finished', report = excluded.report, updated_at = now()
         WHERE run_steps.state = 'started'
         RETURNING 1";
    let (id, step, report, replica) = (&f.who.execution_id, &f.step_id, f.report.to_string(), f.replica.as_ref());
    let written = match &f.usage {
        None => client.execute(HELD, &[id, step, &report, &replica])?,
        Some(row) => client.execute(
            &format!(
                "WITH held AS ({HELD})
                 INSERT INTO token_usage
                     (agent_id, user_id, execution_id, step_id, tokens_used, tokens_saved, cost, model_info)
                 SELECT $5, $6, $1, $2, $7, $8, $9, CAST($10::text AS jsonb) FROM held"
            ),
            &[
                id,
                step,
                &report,
                &replica,
                &f.who.agent_id,
                &f.who.user_id,
                &(row.tokens_used as i64),
                &(row.tokens_saved as i64),
                &row.cost,
                &row.model_info.to_string(),
            ],
        )?,
    };
    if written == 0 {
        tracing::warn!(execution = %id, step = %step, "checkpoint dropped: the run is no longer this replica's");
    }
    Ok(())
}

pub fn cancel(client: &mut Client, execution_id: &str) -> Result<Cancel> {
    let row = client.query_opt(
        "UPDATE executions SET cancel_requested = true,
             state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
             ended_at = CASE WHEN state = 'queued' THEN now() ELSE ended_at END
         WHERE id = $1 AND state IN ('queued', 'running') RETURNING state",
        &[&execution_id],
    )?;
    Ok(match row.map(|r| r.get::<_, String>(0)).as_deref() {
        Some("cancelled") => Cancel::Cancelled,
        Some(_) => Cancel::Requested,
        None => match state_of(client, execution_id)? {
            Some((state, _)) => Cancel::AlreadyEnded(state),
            None => Cancel::NotFound,
        },
    })
}

pub fn requeue(client: &mut Client, execution_id: &str, stale: Duration) -> Result<Requeue> {
    let mut tx = client.transaction()?;
    let queued = tx.execute(
        "UPDATE executions SET state = 'queued', cancel_requested = false, error = NULL, ended_at = NULL, leases = 0
         WHERE id = $1 AND workflow IS NOT NULL AND (state IN ('failed', 'cancelled', 'interrupted')
             OR (state = 'running' AND heartbeat_at < now() - make_interval(secs => $2)))",
        &[&execution_id, &stale.as_secs_f64()],
    )?;
    if queued == 0 {
        return Ok(match state_of(&mut tx, execution_id)? {
            None => Requeue::NotFound,
            Some((_, false)) => Requeue::NotDurable,
            Some((state, true)) => Requeue::NotResumable(state),
        });
    }
    tx.execute(
        "DELETE FROM run_steps WHERE execution_id = $1 AND state = 'finished'
             AND CAST(report AS jsonb) ->> 'path' = 'failed'",
        &[&execution_id],
    )?;
    tx.commit()?;
    Ok(Requeue::Queued)
}

pub fn queued(client: &mut Client) -> Result<u64> {
    Ok(client.query_one("SELECT COUNT(*) FROM executions WHERE state = 'queued'", &[])?.get::<_, i64>(0) as u64)
}

/// A run's state, and whether it is durable.
fn state_of(client: &mut impl GenericClient, execution_id: &str) -> Result<Option<(String, bool)>> {
    Ok(client
        .query_opt("SELECT state, workflow IS NOT NULL FROM executions WHERE id = $1", &[&execution_id])?
        .map(|r| (r.get(0), r.get(1))))
}
