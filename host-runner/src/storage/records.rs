//! Rows of `token_usage` and `audit_log`.

use anyhow::Result;
use rusqlite::{Connection, params};
use serde::Serialize;

/// The seed's five orchestration events plus the normal-path step record.
pub const EVENT_TYPES: [&str; 6] = [
    "ORCHESTRATION_INITIALIZED",
    "ORCHESTRATION_STEP_EXECUTED",
    "ORCHESTRATION_STEP_FAILED",
    "ORCHESTRATION_BUDGET_EXCEEDED",
    "ORCHESTRATION_COMPLETED",
    "WORKFLOW_STEP_EXECUTED",
];

/// Who an event or usage row belongs to.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Identity {
    pub execution_id: String,
    pub agent_id: String,
    pub user_id: String,
}

/// One audit event, as stored.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub created_at: String,
    pub event_type: String,
    pub severity: String,
    pub execution_id: String,
    pub agent_id: String,
    pub user_id: String,
    pub step_id: Option<String>,
    pub source: String,
    pub metadata: serde_json::Value,
}

pub fn insert_audit(
    conn: &Connection,
    who: &Identity,
    event_type: &str,
    severity: &str,
    step_id: Option<&str>,
    source: &str,
    metadata: &serde_json::Value,
) -> Result<()> {
    // Cached: every step writes several rows, and parsing the statement each time showed in profiles.
    conn.prepare_cached(
        "INSERT INTO audit_log (event_type, severity, execution_id, agent_id, user_id, step_id, source, metadata)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        event_type,
        severity,
        who.execution_id,
        who.agent_id,
        who.user_id,
        step_id,
        source,
        metadata.to_string()
    ])?;
    Ok(())
}

/// Audit rows, oldest first; all executions, or one.
pub fn list_audit(conn: &Connection, execution_id: Option<&str>, limit: u32) -> Result<Vec<AuditRow>> {
    let mut stmt = conn.prepare(
        "SELECT id, created_at, event_type, severity, execution_id, agent_id, user_id, step_id, source, metadata
         FROM audit_log WHERE ?1 IS NULL OR execution_id = ?1
         ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![execution_id, limit], |r| {
        let metadata: String = r.get(9)?;
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
            metadata: serde_json::from_str(&metadata).unwrap_or(serde_json::Value::String(metadata)),
        })
    })?;
    let mut rows: Vec<AuditRow> = rows.collect::<rusqlite::Result<_>>()?;
    rows.reverse();
    Ok(rows)
}

/// One step's token usage, as stored.
#[derive(Debug, Clone, Serialize)]
pub struct UsageRow {
    pub step_id: Option<String>,
    pub tokens_used: u64,
    pub tokens_saved: u64,
    pub cost: f64,
    pub model_info: serde_json::Value,
}

pub fn insert_usage(conn: &Connection, who: &Identity, row: &UsageRow) -> Result<()> {
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
        ],
    )?;
    Ok(())
}

pub fn list_usage(conn: &Connection, execution_id: &str) -> Result<Vec<UsageRow>> {
    let mut stmt = conn.prepare(
        "SELECT step_id, tokens_used, tokens_saved, cost, model_info FROM token_usage WHERE execution_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([execution_id], |r| {
        let info: String = r.get(4)?;
        Ok(UsageRow {
            step_id: r.get(0)?,
            tokens_used: r.get(1)?,
            tokens_saved: r.get(2)?,
            cost: r.get(3)?,
            model_info: serde_json::from_str(&info).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
