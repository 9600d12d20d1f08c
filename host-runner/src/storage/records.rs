//! Rows of `token_usage` and `audit_log`, as both backends store them.

use serde::Serialize;

/// Who an event or usage row belongs to.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Identity {
    pub execution_id: String,
    pub agent_id: String,
    pub user_id: String,
}

impl Identity {
    /// Events of the host itself, of no run: handler loads, setting changes.
    pub fn host() -> Identity {
        Identity { execution_id: "host".into(), agent_id: "-".into(), user_id: "-".into() }
    }
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

/// What one execution's `token_usage` rows add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct UsageTotal {
    pub tokens_used: u64,
    pub cost: f64,
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
