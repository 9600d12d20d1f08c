//! `system_settings_config`: the feature flags and orchestration settings,
//! seeded from and validated against the orchestration library's settings
//! catalogue (`orchestration::catalogue`), so a value the host accepts is a
//! value the orchestrator uses.

use super::Error;
use anyhow::Result;
use orchestration::catalogue::catalogue;
use orchestration::rollout::{self, Scope};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A seeded setting: the catalogue's default, type and description.
pub struct SettingSeed<'a> {
    pub key: &'a str,
    pub default: &'a str,
    pub value_type: &'a str,
    pub description: String,
}

/// The type and description of a key created on first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSetting {
    pub value_type: &'static str,
    pub description: String,
}

/// The catalogue's keys with their defaults, types and descriptions, for
/// [`super::store::Store::seed_settings`].
pub fn seeds() -> Vec<SettingSeed<'static>> {
    catalogue()
        .entries()
        .iter()
        .map(|e| SettingSeed {
            key: &e.key,
            default: &e.default,
            value_type: e.kind.type_name(),
            description: format!("{} ({})", e.description, e.kind.expected()),
        })
        .collect()
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

/// The flag and scope a row of the settings table overrides.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OverrideOf {
    pub flag: String,
    #[serde(flatten)]
    pub scope: Scope,
}

/// One row of the settings table, with what it overrides when it is a flag's scoped override.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub setting: Setting,
    #[serde(rename = "override", skip_serializing_if = "Option::is_none")]
    pub overrides: Option<OverrideOf>,
}

/// The rows of the settings table: settings first (by key), then the
/// flags' overrides, each flag's most specific first (user, agent, agent
/// type, percent).
pub fn listing(rows: Vec<Setting>) -> Vec<Listed> {
    let mut listed: Vec<Listed> = rows
        .into_iter()
        .map(|setting| {
            let overrides = rollout::parse_key(&setting.key)
                .ok()
                .flatten()
                .map(|(flag, scope)| OverrideOf { flag: flag.to_string(), scope });
            Listed { setting, overrides }
        })
        .collect();
    listed.sort_by_key(|l| match &l.overrides {
        None => (0, l.setting.key.clone(), 0, String::new()),
        Some(o) => (1, o.flag.clone(), o.scope.precedence(), o.scope.to_string()),
    });
    listed
}

/// Prefix of plugin settings (`plugin_slack_url`...), which are open-ended strings.
pub const PLUGIN_PREFIX: &str = "plugin_";

/// Checks that `value` fits `key` (a catalogue key; a `plugin_*` key or a
/// flag's scoped override, created on first use) and, for a catalogue key,
/// keeps the catalogue's rules between keys, the other settings being as
/// `current` gives them; the type and description to create the key with
/// when it is missing.
pub fn check(key: &str, value: &str, current: impl Fn(&str) -> Option<String>) -> Result<Option<NewSetting>, Error> {
    let invalid = |message: String| Err(Error::InvalidSetting(message));
    if let Some((flag, scope)) = rollout::parse_key(key).map_err(|e| Error::InvalidSetting(e.to_string()))? {
        return scoped(key, flag, &scope, value).map(Some);
    }
    if let Some(name) = key.strip_prefix(PLUGIN_PREFIX) {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return invalid(format!(
                "plugin setting `{key}`: use plugin_<name>_<field> with letters, digits and underscores"
            ));
        }
        if value.trim().is_empty() {
            return invalid(format!("setting `{key}` takes a non-empty string, got `{value}`"));
        }
        return Ok(Some(NewSetting { value_type: "string", description: "Plugin configuration".into() }));
    }
    match catalogue().entry(key) {
        Some(_) => catalogue().check_write(key, value, current).map_err(|e| Error::InvalidSetting(e.to_string()))?,
        None => {
            let known: Vec<&str> = catalogue().entries().iter().map(|e| e.key.as_str()).collect();
            return invalid(format!("unknown setting `{key}`; known settings: {}", known.join(", ")));
        }
    }
    Ok(None)
}

/// Checks that `key` may be removed: a scoped override or a `plugin_*` key.
/// Catalogue keys always hold a value.
pub fn check_removable(key: &str) -> Result<(), Error> {
    if rollout::parse_key(key).map_err(|e| Error::InvalidSetting(e.to_string()))?.is_some()
        || key.starts_with(PLUGIN_PREFIX)
    {
        return Ok(());
    }
    Err(Error::InvalidSetting(match catalogue().entry(key) {
        Some(_) => format!("`{key}` always holds a value and cannot be unset; set it to its default instead"),
        None => format!("unknown setting `{key}`"),
    }))
}

/// Checks a flag's scoped override: a boolean, or a percentage for `@percent`.
fn scoped(key: &str, flag: &str, scope: &Scope, value: &str) -> Result<NewSetting, Error> {
    if *scope == Scope::Percent {
        rollout::parse_percent(key, value).map_err(|e| Error::InvalidSetting(e.to_string()))?;
        let description = format!("Share of workflows (0-100, by a stable hash) that `{flag}` is on for");
        return Ok(NewSetting { value_type: "float", description });
    }
    if !matches!(value, "true" | "false") {
        return Err(Error::InvalidSetting(format!("`{key}` takes true or false, got `{value}`")));
    }
    Ok(NewSetting { value_type: "bool", description: format!("`{flag}` for {scope}") })
}

/// Notes a change made through this process: cached snapshots are read again at once.
pub fn changed() {
    GENERATION.fetch_add(1, Ordering::Release);
}

/// Bumped by every change made through this process: a cached snapshot older than
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
