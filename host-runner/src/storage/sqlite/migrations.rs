//! SQLite schema migrations, applied in order and tracked by `PRAGMA user_version`.

use rusqlite::Connection;

/// Each entry moves the schema one version up. Never edit a released entry: add one.
const MIGRATIONS: &[&str] = &[
    // 1: the seed's tables.
    r#"
    CREATE TABLE system_settings_config (
        key         TEXT PRIMARY KEY,
        value       TEXT NOT NULL,
        value_type  TEXT NOT NULL CHECK (value_type IN ('bool', 'int', 'float', 'string')),
        description TEXT NOT NULL,
        updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE token_usage (
        id           INTEGER PRIMARY KEY,
        created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        agent_id     TEXT NOT NULL,
        user_id      TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        step_id      TEXT,
        tokens_used  INTEGER NOT NULL CHECK (tokens_used >= 0),
        tokens_saved INTEGER NOT NULL DEFAULT 0 CHECK (tokens_saved >= 0),
        cost         REAL NOT NULL CHECK (cost >= 0),
        model_info   TEXT NOT NULL CHECK (json_valid(model_info))
    );
    CREATE INDEX token_usage_by_execution ON token_usage (execution_id);
    CREATE INDEX token_usage_by_agent ON token_usage (agent_id, created_at);
    CREATE TABLE audit_log (
        id           INTEGER PRIMARY KEY,
        created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        event_type   TEXT NOT NULL,
        severity     TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        execution_id TEXT NOT NULL,
        agent_id     TEXT NOT NULL,
        user_id      TEXT NOT NULL,
        step_id      TEXT,
        source       TEXT NOT NULL,
        metadata     TEXT NOT NULL CHECK (json_valid(metadata))
    );
    CREATE INDEX audit_log_by_execution ON audit_log (execution_id);
    "#,
    // 2: the seed's agent_intensity_metrics (AIS routing), updated after every run.
    r#"
    CREATE TABLE agent_intensity_metrics (
        agent_id         TEXT PRIMARY KEY,
        creation_score   REAL NOT NULL CHECK (creation_score BETWEEN 0 AND 10),
        execution_score  REAL NOT NULL CHECK (execution_score BETWEEN 0 AND 10),
        combined_score   REAL NOT NULL CHECK (combined_score BETWEEN 0 AND 10),
        runs             INTEGER NOT NULL DEFAULT 0 CHECK (runs >= 0),
        updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    "#,
    // 3: settings may hold comma-separated lists (compression preserve_fields).
    // SQLite cannot change a CHECK constraint in place: the table is rebuilt.
    r#"
    CREATE TABLE system_settings_config_v3 (
        key         TEXT PRIMARY KEY,
        value       TEXT NOT NULL,
        value_type  TEXT NOT NULL CHECK (value_type IN ('bool', 'int', 'float', 'string', 'list')),
        description TEXT NOT NULL,
        updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    INSERT INTO system_settings_config_v3 SELECT key, value, value_type, description, updated_at FROM system_settings_config;
    DROP TABLE system_settings_config;
    ALTER TABLE system_settings_config_v3 RENAME TO system_settings_config;
    "#,
    // 4: how each run ended (see `storage::executions`).
    r#"
    CREATE TABLE executions (
        id           TEXT PRIMARY KEY,
        workflow_id  TEXT NOT NULL,
        agent_id     TEXT NOT NULL,
        user_id      TEXT NOT NULL,
        replica      TEXT NOT NULL,
        state        TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed', 'interrupted')),
        error        TEXT,
        started_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        ended_at     TEXT,
        heartbeat_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX executions_running ON executions (state, heartbeat_at);
    "#,
    // 5: durable runs (see `storage::runs`): the executions row keeps the
    // workflow and is the run's queue entry and lease; `run_steps` holds
    // each step's checkpoint. The state CHECK grows, so the table is rebuilt.
    r#"
    CREATE TABLE executions_v5 (
        id               TEXT PRIMARY KEY,
        workflow_id      TEXT NOT NULL,
        agent_id         TEXT NOT NULL,
        user_id          TEXT NOT NULL,
        replica          TEXT NOT NULL,
        state            TEXT NOT NULL CHECK (state IN
                             ('queued', 'running', 'completed', 'failed', 'interrupted', 'cancelled')),
        error            TEXT,
        started_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        ended_at         TEXT,
        heartbeat_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        workflow         TEXT,
        idempotency_key  TEXT UNIQUE,
        leases           INTEGER NOT NULL DEFAULT 0 CHECK (leases >= 0),
        rerun_steps      INTEGER NOT NULL DEFAULT 0 CHECK (rerun_steps >= 0),
        cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1))
    );
    INSERT INTO executions_v5 (id, workflow_id, agent_id, user_id, replica, state, error, started_at, ended_at, heartbeat_at)
        SELECT id, workflow_id, agent_id, user_id, replica, state, error, started_at, ended_at, heartbeat_at FROM executions;
    DROP TABLE executions;
    ALTER TABLE executions_v5 RENAME TO executions;
    CREATE INDEX executions_running ON executions (state, heartbeat_at);
    CREATE TABLE run_steps (
        execution_id TEXT NOT NULL,
        step_id      TEXT NOT NULL,
        state        TEXT NOT NULL CHECK (state IN ('started', 'finished')),
        starts       INTEGER NOT NULL DEFAULT 1 CHECK (starts >= 0),
        report       TEXT CHECK (report IS NULL OR json_valid(report)),
        updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (execution_id, step_id)
    );
    "#,
    // 6: gradual rollout (see `orchestration::rollout`): whether each run
    // was orchestrated and the flag scope that decided it, for `pilot report`.
    r#"
    ALTER TABLE executions ADD COLUMN orchestrated INTEGER CHECK (orchestrated IN (0, 1));
    ALTER TABLE executions ADD COLUMN flag_scope TEXT;
    CREATE INDEX executions_started ON executions (started_at);
    "#,
];

/// Applies the pending migrations under one write lock (`BEGIN IMMEDIATE`):
/// processes that open a new database together wait for each other instead
/// of each creating the tables (`table ... already exists`).
pub fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > MIGRATIONS.len() {
        anyhow::bail!("database schema version {current} is newer than this pilot knows ({})", MIGRATIONS.len());
    }
    if current == MIGRATIONS.len() {
        return Ok(());
    }
    for sql in &MIGRATIONS[current..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        let err = migrate(&mut conn).unwrap_err().to_string();
        assert!(err.contains("newer than this pilot knows"), "{err}");
    }
}
