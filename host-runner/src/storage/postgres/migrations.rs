//! Postgres schema migrations: the same tables and columns as SQLite's, in
//! Postgres types (identity keys, `timestamptz`, `jsonb`), tracked in
//! `pilot_schema_version` and applied under an advisory lock, so replicas
//! starting together migrate once and the others wait.

use anyhow::{Context, Result, bail};
use postgres::Client;

/// Any number fixed for this application; replicas take the same lock.
const MIGRATION_LOCK: i64 = 0x0050_494c_4f54; // "PILOT"

/// Each entry moves the schema one version up. Never edit a released entry: add one.
const MIGRATIONS: &[&str] = &[
    // 1: the seed's tables, agent scores, and how each run ended (SQLite's 1-4).
    r#"
    CREATE TABLE system_settings_config (
        key         TEXT PRIMARY KEY,
        value       TEXT NOT NULL,
        value_type  TEXT NOT NULL CHECK (value_type IN ('bool', 'int', 'float', 'string', 'list')),
        description TEXT NOT NULL,
        updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE token_usage (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        agent_id     TEXT NOT NULL,
        user_id      TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        step_id      TEXT,
        tokens_used  BIGINT NOT NULL CHECK (tokens_used >= 0),
        tokens_saved BIGINT NOT NULL DEFAULT 0 CHECK (tokens_saved >= 0),
        cost         DOUBLE PRECISION NOT NULL CHECK (cost >= 0),
        model_info   JSONB NOT NULL
    );
    CREATE INDEX token_usage_by_execution ON token_usage (execution_id);
    CREATE INDEX token_usage_by_agent ON token_usage (agent_id, created_at);
    CREATE TABLE audit_log (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        event_type   TEXT NOT NULL,
        severity     TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        execution_id TEXT NOT NULL,
        agent_id     TEXT NOT NULL,
        user_id      TEXT NOT NULL,
        step_id      TEXT,
        source       TEXT NOT NULL,
        metadata     JSONB NOT NULL
    );
    CREATE INDEX audit_log_by_execution ON audit_log (execution_id);
    CREATE TABLE agent_intensity_metrics (
        agent_id         TEXT PRIMARY KEY,
        creation_score   REAL NOT NULL CHECK (creation_score BETWEEN 0 AND 10),
        execution_score  REAL NOT NULL CHECK (execution_score BETWEEN 0 AND 10),
        combined_score   REAL NOT NULL CHECK (combined_score BETWEEN 0 AND 10),
        runs             INTEGER NOT NULL DEFAULT 0 CHECK (runs >= 0),
        updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE executions (
        id           TEXT PRIMARY KEY,
        workflow_id  TEXT NOT NULL,
        agent_id     TEXT NOT NULL,
        user_id      TEXT NOT NULL,
        replica      TEXT NOT NULL,
        state        TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed', 'interrupted')),
        error        TEXT,
        started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        ended_at     TIMESTAMPTZ,
        heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX executions_running ON executions (state, heartbeat_at);
    "#,
    // 2: durable runs (see `storage::runs`): the executions row keeps the
    // workflow (as text: its key order is part of the prompts) and is the
    // run's queue entry and lease; `run_steps` holds each step's checkpoint.
    r#"
    ALTER TABLE executions DROP CONSTRAINT executions_state_check;
    ALTER TABLE executions ADD CONSTRAINT executions_state_check CHECK (state IN
        ('queued', 'running', 'completed', 'failed', 'interrupted', 'cancelled'));
    ALTER TABLE executions
        ADD COLUMN workflow         TEXT,
        ADD COLUMN idempotency_key  TEXT UNIQUE,
        ADD COLUMN leases           INTEGER NOT NULL DEFAULT 0 CHECK (leases >= 0),
        ADD COLUMN rerun_steps      INTEGER NOT NULL DEFAULT 0 CHECK (rerun_steps >= 0),
        ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT false;
    CREATE TABLE run_steps (
        execution_id TEXT NOT NULL,
        step_id      TEXT NOT NULL,
        state        TEXT NOT NULL CHECK (state IN ('started', 'finished')),
        starts       INTEGER NOT NULL DEFAULT 1 CHECK (starts >= 0),
        report       TEXT,
        updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (execution_id, step_id)
    );
    "#,
    // 3: gradual rollout (SQLite's 6).
    r#"
    ALTER TABLE executions ADD COLUMN orchestrated BOOLEAN, ADD COLUMN flag_scope TEXT;
    CREATE INDEX executions_started ON executions (started_at);
    "#,
];

/// Applies the pending migrations in one transaction under the advisory lock.
pub fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).context("taking the migration lock")?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS pilot_schema_version (version INTEGER NOT NULL)")?;
    let current: i32 = tx.query_opt("SELECT version FROM pilot_schema_version", &[])?.map(|r| r.get(0)).unwrap_or(0);
    let current = current as usize;
    if current > MIGRATIONS.len() {
        bail!("database schema version {current} is newer than this pilot knows ({})", MIGRATIONS.len());
    }
    if current == MIGRATIONS.len() {
        return Ok(());
    }
    for sql in &MIGRATIONS[current..] {
        tx.batch_execute(sql)?;
    }
    tx.execute("DELETE FROM pilot_schema_version", &[])?;
    tx.execute("INSERT INTO pilot_schema_version (version) VALUES ($1)", &[&(MIGRATIONS.len() as i32)])?;
    tx.commit()?;
    Ok(())
}
