//! `system_settings_config`: the feature flags and orchestration settings,
//! with the seed's defaults and typed validation on every write.

use anyhow::{Context, Result, bail};
use orchestration::classify::INTENTS;
use orchestration::compress::Policy;
use orchestration::compress::memory::{DEFAULT_RECENT_RUNS, DEFAULT_TARGET_TOKENS, RECENT_RUNS_KEY, TARGET_TOKENS_KEY};
use orchestration::compress::policy::POLICY_KEY_PREFIX;
use orchestration::routing::{
    FAST_THRESHOLD_KEY, ModelConfig, POWERFUL_THRESHOLD_KEY, TIER_KEY_PREFIX, Thresholds, Tier,
};
use orchestration::settings::*;
use rusqlite::{Connection, OptionalExtension, params};

/// A settings key, its default, its type and what it does.
pub struct Default {
    pub key: &'static str,
    pub value: &'static str,
    pub value_type: &'static str,
    pub description: &'static str,
}

pub const DEFAULTS: &[Default] = &[
    Default {
        key: ORCHESTRATION_ENABLED,
        value: "false",
        value_type: "bool",
        description: "Run workflow steps through the orchestrator and intent handlers",
    },
    Default {
        key: COMPRESSION_ENABLED,
        value: "false",
        value_type: "bool",
        description: "Compress prompts and context before model calls",
    },
    Default {
        key: AIS_ROUTING_ENABLED,
        value: "false",
        value_type: "bool",
        description: "Route each step to the cheapest adequate model tier",
    },
    Default {
        key: MAX_TOKENS_PER_WORKFLOW,
        value: "50000",
        value_type: "int",
        description: "Token budget of one workflow execution",
    },
    Default {
        key: MAX_TOKENS_PER_STEP,
        value: "8000",
        value_type: "int",
        description: "Upper bound of one step's budget",
    },
    Default {
        key: BUDGET_STRATEGY,
        value: "proportional",
        value_type: "string",
        description: "How the workflow budget is split: proportional, equal, priority or adaptive",
    },
    Default {
        key: ADAPTIVE_BUDGET_ENABLED,
        value: "false",
        value_type: "bool",
        description: "Let the adaptive strategy size budgets from the agent's past token use",
    },
    Default {
        key: CRITICAL_MULTIPLIER,
        value: "1.5",
        value_type: "float",
        description: "Budget share and caps of a step marked critical, as a multiple (1.0-5.0)",
    },
    Default {
        key: CLASSIFICATION_THRESHOLD,
        value: "0.9",
        value_type: "float",
        description: "Steps the free classification tiers are less sure of go to the LLM and context tiers",
    },
    Default {
        key: LLM_CLASSIFICATION_ENABLED,
        value: "true",
        value_type: "bool",
        description: "Ask the fast-tier model about steps the free tiers are unsure of (one call per workflow)",
    },
    Default {
        key: MAX_RETRIES,
        value: "1",
        value_type: "int",
        description: "Dispatches repeated one tier up after an unusable model answer (0-2; routing on)",
    },
    Default {
        key: ALLOW_OVERAGE,
        value: "true",
        value_type: "bool",
        description: "Let a step spend past its allocation up to the overage threshold (false: strict)",
    },
    Default {
        key: OVERAGE_THRESHOLD,
        value: "1.2",
        value_type: "float",
        description: "Overage limit as a multiple of a step's allocation (1.0-3.0)",
    },
    Default {
        key: DEFAULT_MODEL,
        value: "claude-sonnet-4-5",
        value_type: "string",
        description: "Model for steps when routing is off, and for normal (fallback) execution",
    },
];

/// Every key with its default value: the flags and budgets above, and the
/// per-intent budgets, compression policies, memory, AIS thresholds and
/// per-tier models, with the defaults the orchestration library uses.
pub fn all_defaults() -> Vec<(String, String, &'static str, String)> {
    let mut rows: Vec<_> = DEFAULTS
        .iter()
        .map(|d| (d.key.to_string(), d.value.to_string(), d.value_type, d.description.to_string()))
        .collect();
    let mut add = |key: String, value: String, value_type: &'static str, description: String| {
        rows.push((key, value, value_type, description));
    };
    for intent in INTENTS {
        let policy = Policy::default_for(intent);
        let key = |field: &str| format!("{POLICY_KEY_PREFIX}{intent}_{field}");
        add(
            key("strategy"),
            policy.strategy.as_str().into(),
            "string",
            format!("Compression strategy of `{intent}` steps: none, structural, template, truncate, semantic"),
        );
        add(
            key("target_ratio"),
            policy.target_ratio.to_string(),
            "float",
            format!("Target size after compression of `{intent}` steps (0.2-0.5)"),
        );
        add(
            key("min_quality"),
            policy.min_quality.to_string(),
            "float",
            format!("Below this quality `{intent}` steps are sent uncompressed"),
        );
        add(
            key("aggressiveness"),
            policy.aggressiveness.as_str().into(),
            "string",
            format!("low, medium or high, for `{intent}` steps"),
        );
        add(
            key("preserve_fields"),
            policy.preserve_fields.join(","),
            "list",
            format!("JSON fields compression never drops or shortens in `{intent}` steps (comma-separated)"),
        );
    }
    add(
        RECENT_RUNS_KEY.into(),
        DEFAULT_RECENT_RUNS.to_string(),
        "int",
        "Recent runs of memory context kept in full".into(),
    );
    add(
        TARGET_TOKENS_KEY.into(),
        DEFAULT_TARGET_TOKENS.to_string(),
        "int",
        "Token target of compressed memory context".into(),
    );
    let thresholds = Thresholds::default();
    add(
        FAST_THRESHOLD_KEY.into(),
        thresholds.fast_below.to_string(),
        "float",
        "AIS scores below this go to the fast tier".into(),
    );
    add(
        POWERFUL_THRESHOLD_KEY.into(),
        thresholds.powerful_above.to_string(),
        "float",
        "AIS scores above this go to the powerful tier".into(),
    );
    for tier in [Tier::Fast, Tier::Balanced, Tier::Powerful] {
        let m = ModelConfig::default_for(tier);
        let key = |field: &str| format!("{TIER_KEY_PREFIX}{}_{field}", tier.as_str());
        add(key("provider"), m.provider.clone(), "string", format!("Provider of the {tier} tier"));
        add(key("model"), m.model.clone(), "string", format!("Model of the {tier} tier"));
        add(key("max_tokens"), m.max_tokens.to_string(), "int", format!("Output allowance of the {tier} tier"));
        add(key("temperature"), m.temperature.to_string(), "float", format!("Temperature of the {tier} tier"));
        add(
            key("input_price"),
            m.input_price_per_mtok.to_string(),
            "float",
            format!("US dollars per million input tokens, {tier} tier"),
        );
        add(
            key("output_price"),
            m.output_price_per_mtok.to_string(),
            "float",
            format!("US dollars per million output tokens, {tier} tier"),
        );
    }
    for intent in INTENTS {
        rows.push((
            format!("{INTENT_BUDGET_PREFIX}{intent}"),
            "0".into(),
            "int",
            format!("Token cap for `{intent}` steps (0 = only the per-step cap)"),
        ));
    }
    rows
}

/// Inserts keys that are missing; never overwrites an operator's value.
pub fn seed_defaults(conn: &Connection) -> Result<()> {
    let mut insert = conn.prepare(
        "INSERT OR IGNORE INTO system_settings_config (key, value, value_type, description) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (key, value, value_type, description) in all_defaults() {
        insert.execute(params![key, value, value_type, description])?;
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

/// The values of `keys` that are set, by primary-key lookups (cheap enough per model call).
pub fn get_many(conn: &Connection, keys: &[String]) -> Result<std::collections::HashMap<String, String>> {
    let mut stmt = conn.prepare_cached("SELECT value FROM system_settings_config WHERE key = ?1")?;
    let mut found = std::collections::HashMap::new();
    for key in keys {
        if let Some(value) = stmt.query_row([key], |r| r.get::<_, String>(0)).optional()? {
            found.insert(key.clone(), value);
        }
    }
    Ok(found)
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
    let value_type: Option<String> = conn
        .query_row("SELECT value_type FROM system_settings_config WHERE key = ?1", [key], |r| r.get(0))
        .optional()?;
    let Some(value_type) = value_type else {
        let known: Vec<String> = list(conn, "")?.into_iter().map(|s| s.key).collect();
        bail!("unknown setting `{key}`; known settings: {}", known.join(", "));
    };
    let valid = match value_type.as_str() {
        "bool" => value == "true" || value == "false",
        "int" => value.parse::<u64>().is_ok(),
        "float" => value.parse::<f64>().is_ok_and(f64::is_finite),
        // Empty is the empty list; items are field names or dotted paths.
        "list" => value
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .all(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))),
        _ => !value.trim().is_empty(),
    };
    if !valid {
        let expected = match value_type.as_str() {
            "bool" => "`true` or `false`",
            "int" => "a non-negative integer",
            "float" => "a number",
            "list" => "comma-separated field names (letters, digits, `_`, `.`, `-`)",
            _ => "a non-empty string",
        };
        bail!("setting `{key}` takes {expected}, got `{value}`");
    }
    conn.execute(
        "UPDATE system_settings_config SET value = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE key = ?1",
        params![key, value],
    )
    .with_context(|| format!("writing setting `{key}`"))?;
    Ok(())
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
        assert!(err.contains("non-negative integer"), "{err}");
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
