//! `system_settings_config`: the feature flags and orchestration settings,
//! seeded from and validated against the orchestration library's settings
//! catalogue (`orchestration::catalogue`), so a value the host accepts is a
//! value the orchestrator uses.

use anyhow::{Context, Result, bail};
use orchestration::catalogue::catalogue;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Inserts the catalogue's keys that are missing and refreshes every key's
/// type and description; never overwrites an operator's value.
pub fn seed_defaults(conn: &Connection) -> Result<()> {
    let mut upsert = conn.prepare(
        "INSERT INTO system_settings_config (key, value, value_type, description) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(key) DO UPDATE SET value_type = excluded.value_type, description = excluded.description",
    )?;
    for e in catalogue().entries() {
        let description = format!("{} ({})", e.description, e.kind.expected());
        upsert.execute(params![e.key, e.default, e.kind.type_name(), description])?;
    }
    Ok(())
}

/// One row of the settings table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Setting {
    pub key: String,
    pub value: String,
    pub value_type: String,
    pub description: String,
    pub updated_at: String,
}

pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM system_settings_config WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub fn list(conn: &Connection, prefix: &str) -> Result<Vec<Setting>> {
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

/// Prefix of plugin settings (`plugin_slack_url`...), which are open-ended strings.
pub const PLUGIN_PREFIX: &str = "plugin_";

/// Sets a known key (or a `plugin_*` key, created on first use) to a value of its type.
pub fn set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    if let Some(name) = key.strip_prefix(PLUGIN_PREFIX) {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("plugin setting `{key}`: use plugin_<name>_<field> with letters, digits and underscores");
        }
        if value.trim().is_empty() {
            bail!("setting `{key}` takes a non-empty string, got `{value}`");
        }
        conn.execute(
            "INSERT OR IGNORE INTO system_settings_config (key, value, value_type, description) VALUES (?1, '', 'string', 'Plugin configuration')",
            [key],
        )?;
    }
    match catalogue().entry(key) {
        Some(entry) => entry.check(value).map_err(anyhow::Error::msg)?,
        None if key.starts_with(PLUGIN_PREFIX) => {}
        None => {
            let known: Vec<&str> = catalogue().entries().iter().map(|e| e.key.as_str()).collect();
            bail!("unknown setting `{key}`; known settings: {}", known.join(", "));
        }
    }
    conn.execute(
        "UPDATE system_settings_config SET value = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE key = ?1",
        params![key, value],
    )
    .with_context(|| format!("writing setting `{key}`"))?;
    GENERATION.fetch_add(1, Ordering::Release);
    Ok(())
}

/// Bumped by every [`set`] in this process: a cached snapshot older than
/// the last change is read again at once.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// How long a snapshot serves before the table is read again, so changes
/// made by another process (`pilot flags set` beside `pilot serve`) show
/// within this time.
pub const SNAPSHOT_TTL: Duration = Duration::from_secs(1);

/// Every setting, by key: what components and pricing read per call.
pub type Snapshot = HashMap<String, String>;

/// A snapshot and when, at which generation, it was read.
#[derive(Default)]
pub struct SnapshotCache {
    current: Mutex<Option<(Instant, u64, Arc<Snapshot>)>>,
}

impl SnapshotCache {
    /// The cached snapshot, or a fresh one when it is stale.
    pub fn get(&self, conn: impl FnOnce() -> Result<Snapshot>) -> Result<Arc<Snapshot>> {
        let generation = GENERATION.load(Ordering::Acquire);
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((read_at, read_generation, snapshot)) = current.as_ref()
            && *read_generation == generation
            && read_at.elapsed() < SNAPSHOT_TTL
        {
            return Ok(snapshot.clone());
        }
        let snapshot = Arc::new(conn()?);
        *current = Some((Instant::now(), generation, snapshot.clone()));
        Ok(snapshot)
    }
}

/// Reads every setting.
pub fn snapshot(conn: &Connection) -> Result<Snapshot> {
    let mut stmt = conn.prepare_cached("SELECT key, value FROM system_settings_config")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations::migrate(&mut conn).unwrap();
        seed_defaults(&conn).unwrap();
        conn
    }

    #[test]
    fn flags_default_to_off() {
        let conn = db();
        for flag in ["orchestration_enabled", "orchestration_compression_enabled", "orchestration_ais_routing_enabled"]
        {
            assert_eq!(get(&conn, flag).unwrap().as_deref(), Some("false"), "{flag}");
        }
    }

    #[test]
    fn writes_are_typed_and_keys_must_exist() {
        let conn = db();
        set(&conn, "orchestration_enabled", "true").unwrap();
        assert_eq!(get(&conn, "orchestration_enabled").unwrap().as_deref(), Some("true"));
        let err = set(&conn, "orchestration_enabled", "yes").unwrap_err().to_string();
        assert!(err.contains("`true` or `false`"), "{err}");
        let err = set(&conn, "orchestration_max_tokens_per_step", "-4").unwrap_err().to_string();
        assert!(err.contains("an integer from 1 to 100000000"), "{err}");
        let err = set(&conn, "orchestration_budget_critical_multiplier", "10").unwrap_err().to_string();
        assert_eq!(err, "setting `orchestration_budget_critical_multiplier` takes a number from 1 to 5, got `10`");
        assert_eq!(get(&conn, "orchestration_budget_critical_multiplier").unwrap().as_deref(), Some("1.5"));
        assert!(set(&conn, "orchestration_budget_strategy", "random").unwrap_err().to_string().contains("one of"));
        let err = set(&conn, "orchestration_enabeld", "true").unwrap_err().to_string();
        assert!(err.contains("unknown setting `orchestration_enabeld`"), "{err}");
    }

    #[test]
    fn preserve_fields_are_lists() {
        let conn = db();
        let key = "orchestration_compression_summarize_preserve_fields";
        set(&conn, key, "account_id, ticket.id").unwrap();
        assert_eq!(get(&conn, key).unwrap().as_deref(), Some("account_id, ticket.id"));
        set(&conn, key, "").unwrap();
        let err = set(&conn, key, "a b; drop").unwrap_err().to_string();
        assert!(err.contains("comma-separated field names"), "{err}");
    }

    #[test]
    fn plugin_settings_are_created_on_first_use() {
        let conn = db();
        set(&conn, "plugin_slack_url", "https://hooks.slack.com/services/T0/B0/x").unwrap();
        assert_eq!(
            get(&conn, "plugin_slack_url").unwrap().as_deref(),
            Some("https://hooks.slack.com/services/T0/B0/x")
        );
        assert!(set(&conn, "plugin_bad-name", "x").is_err());
        assert!(set(&conn, "plugin_teams_url", " ").is_err(), "typed as a non-empty string");
        assert_eq!(get(&conn, "plugin_teams_url").unwrap(), None, "a refused value creates nothing");
    }

    #[test]
    fn seeding_keeps_operator_values() {
        let conn = db();
        set(&conn, "orchestration_enabled", "true").unwrap();
        seed_defaults(&conn).unwrap();
        assert_eq!(get(&conn, "orchestration_enabled").unwrap().as_deref(), Some("true"));
    }
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;

    #[test]
    fn a_change_made_through_set_is_read_at_once() {
        let db = crate::storage::Db::temporary();
        let first = db.settings().unwrap();
        assert_eq!(first.get("orchestration_enabled").map(String::as_str), Some("false"));
        // A change through `set` is read at once (another process's within SNAPSHOT_TTL).
        set(&db.lock(), "orchestration_compression_enabled", "true").unwrap();
        let fresh = db.settings().unwrap();
        assert_eq!(fresh.get("orchestration_compression_enabled").map(String::as_str), Some("true"));
        assert!(!Arc::ptr_eq(&first, &fresh));
    }
}
