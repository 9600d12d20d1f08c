//! Scoped feature flags: the guide's gradual rollout ("enable for specific
//! users, enable for specific agent types").
//!
//! Each of the three orchestration flags holds a global value in
//! `system_settings_config` plus overrides stored beside it under scoped keys:
//!
//! | scope | key | value |
//! |---|---|---|
//! | user | `orchestration_enabled@user:user-2750` | `true` / `false` |
//! | agent | `orchestration_enabled@agent:agent-support-01` | `true` / `false` |
//! | agent type | `orchestration_enabled@agent_type:support` | `true` / `false` |
//! | percent | `orchestration_enabled@percent` | `0`-`100`: the share of workflows it is on for |
//! | global | `orchestration_enabled` | `true` / `false` |
//!
//! The most specific scope that holds a value decides: user, then agent, then
//! agent type, then percent, then global. A percentage turns the flag on for
//! the workflows whose bucket falls below it and leaves the rest to the global
//! value. The bucket is a stable hash of the workflow and agent ids, the same
//! for every flag: a workflow always lands on the same side, and a 10%
//! compression rollout falls inside a 20% orchestration rollout.

use crate::keys::{AIS_ROUTING_ENABLED, COMPRESSION_ENABLED, ORCHESTRATION_ENABLED};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

/// The flags that take scoped overrides.
pub const SCOPED_FLAGS: [&str; 3] = [ORCHESTRATION_ENABLED, COMPRESSION_ENABLED, AIS_ROUTING_ENABLED];

/// Buckets a workflow can land in; a percentage covers `percent × BUCKETS / 100` of them.
pub const BUCKETS: u32 = 10_000;

/// Where a scoped key's scope starts.
const SEPARATOR: char = '@';

/// A scope of a flag's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "scope", content = "id", rename_all = "snake_case")]
pub enum Scope {
    User(String),
    Agent(String),
    AgentType(String),
    Percent,
    Global,
}

impl Scope {
    /// The scope's name as `pilot flags` and the audit say it.
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::User(_) => "user",
            Scope::Agent(_) => "agent",
            Scope::AgentType(_) => "agent_type",
            Scope::Percent => "percent",
            Scope::Global => "global",
        }
    }

    /// Where the scope stands in the order of precedence: 0 wins.
    pub fn precedence(&self) -> u8 {
        match self {
            Scope::User(_) => 0,
            Scope::Agent(_) => 1,
            Scope::AgentType(_) => 2,
            Scope::Percent => 3,
            Scope::Global => 4,
        }
    }

    /// The key that holds `flag`'s value in this scope.
    pub fn key(&self, flag: &str) -> String {
        match self {
            Scope::User(id) | Scope::Agent(id) | Scope::AgentType(id) => {
                format!("{flag}{SEPARATOR}{}:{id}", self.kind())
            }
            Scope::Percent => format!("{flag}{SEPARATOR}percent"),
            Scope::Global => flag.to_string(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::User(id) | Scope::Agent(id) | Scope::AgentType(id) => write!(f, "{} {id}", self.kind()),
            _ => f.write_str(self.kind()),
        }
    }
}

/// Why a scoped key or value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("`{0}` takes no scoped overrides; only {flags} do", flags = SCOPED_FLAGS.join(", "))]
    NotScopable(String),
    #[error("unknown scope `{0}` in `{1}`; use @user:<id>, @agent:<id>, @agent_type:<type> or @percent")]
    UnknownScope(String, String),
    #[error("the {0} id in `{1}` must be 1-128 characters without spaces or control characters, got `{2}`")]
    BadId(&'static str, String, String),
    #[error("`{0}` takes a percentage from 0 to 100, got `{1}`")]
    BadPercent(String, String),
}

/// A scoped key split into its flag and scope; `Ok(None)` for a key without a scope.
pub fn parse_key(key: &str) -> Result<Option<(&str, Scope)>, ScopeError> {
    let Some((flag, scope)) = key.split_once(SEPARATOR) else { return Ok(None) };
    if !SCOPED_FLAGS.contains(&flag) {
        return Err(ScopeError::NotScopable(flag.to_string()));
    }
    let scope = match scope.split_once(':') {
        None if scope == "percent" => Scope::Percent,
        Some((kind, id)) => {
            let make: fn(String) -> Scope = match kind {
                "user" => Scope::User,
                "agent" => Scope::Agent,
                "agent_type" => Scope::AgentType,
                _ => return Err(ScopeError::UnknownScope(kind.to_string(), key.to_string())),
            };
            let scope = make(id.to_string());
            check_id(&scope, key, id)?;
            scope
        }
        None => return Err(ScopeError::UnknownScope(scope.to_string(), key.to_string())),
    };
    Ok(Some((flag, scope)))
}

fn check_id(scope: &Scope, key: &str, id: &str) -> Result<(), ScopeError> {
    let fits = (1..=128).contains(&id.chars().count()) && !id.chars().any(|c| c.is_whitespace() || c.is_control());
    if fits { Ok(()) } else { Err(ScopeError::BadId(scope.kind(), key.to_string(), id.to_string())) }
}

/// The percentage a `@percent` key holds, checked.
pub fn parse_percent(key: &str, value: &str) -> Result<f64, ScopeError> {
    match value.trim().parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(ScopeError::BadPercent(key.to_string(), value.to_string())),
    }
}

/// Who a run is, as the scopes see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    pub workflow_id: String,
    pub agent_id: String,
    pub user_id: String,
    pub agent_type: Option<String>,
}

/// The workflow's bucket (`0..BUCKETS`): SHA-256 of the workflow and agent
/// ids, so that it is the same on every replica, platform and release.
pub fn bucket(workflow_id: &str, agent_id: &str) -> u32 {
    let digest = Sha256::new().chain_update(workflow_id).chain_update([0]).chain_update(agent_id).finalize();
    let head = u64::from_be_bytes(digest[..8].try_into().expect("a SHA-256 digest has 32 bytes"));
    (head % u64::from(BUCKETS)) as u32
}

/// A flag's value for one run and the scope that decided it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub flag: &'static str,
    pub value: bool,
    #[serde(flatten)]
    pub scope: Scope,
    /// The percentage and the workflow's bucket (`0..BUCKETS`), when a percentage was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
}

/// A percentage rollout as one run met it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rollout {
    pub percent: f64,
    pub bucket: u32,
}

/// `flag`'s value for `subject`: the most specific scope that holds a valid
/// value. `get` answers a stored key; `global` is the flag's value as the
/// catalogue reads it (its default when unset or invalid).
pub fn resolve(flag: &'static str, subject: &Subject, global: bool, get: impl Fn(&str) -> Option<String>) -> Decision {
    let boolean = |scope: &Scope| match get(&scope.key(flag))?.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let mut specific = vec![Scope::User(subject.user_id.clone()), Scope::Agent(subject.agent_id.clone())];
    specific.extend(subject.agent_type.clone().map(Scope::AgentType));
    if let Some((scope, value)) = specific.into_iter().find_map(|s| boolean(&s).map(|v| (s, v))) {
        return Decision { flag, value, scope, rollout: None };
    }
    let key = Scope::Percent.key(flag);
    let percent = get(&key).and_then(|v| parse_percent(&key, &v).ok());
    let rollout = percent.map(|percent| Rollout { percent, bucket: bucket(&subject.workflow_id, &subject.agent_id) });
    match rollout {
        Some(r) if f64::from(r.bucket) < r.percent * f64::from(BUCKETS) / 100.0 => {
            Decision { flag, value: true, scope: Scope::Percent, rollout }
        }
        _ => Decision { flag, value: global, scope: Scope::Global, rollout },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn subject() -> Subject {
        Subject {
            workflow_id: "wf-1".into(),
            agent_id: "agent-a".into(),
            user_id: "user-u".into(),
            agent_type: Some("support".into()),
        }
    }

    /// The scopes in precedence order.
    fn scopes() -> Vec<Scope> {
        vec![
            Scope::User("user-u".into()),
            Scope::Agent("agent-a".into()),
            Scope::AgentType("support".into()),
            Scope::Percent,
        ]
    }

    /// What `scope` stores to mean `on`: a boolean, or 100% / 0% for a percentage.
    fn stored_value(scope: &Scope, on: bool) -> String {
        match (scope, on) {
            (Scope::Percent, true) => "100".into(),
            (Scope::Percent, false) => "0".into(),
            (_, on) => on.to_string(),
        }
    }

    #[test]
    fn every_pair_of_scopes_is_won_by_the_more_specific_whichever_way_they_point() {
        let all = scopes();
        for (i, high) in all.iter().enumerate() {
            for low in &all[i + 1..] {
                for on in [true, false] {
                    // The two scopes and the global value disagree: the more specific decides.
                    let stored: HashMap<String, String> = [
                        (high.key(ORCHESTRATION_ENABLED), stored_value(high, on)),
                        (low.key(ORCHESTRATION_ENABLED), stored_value(low, !on)),
                    ]
                    .into();
                    let d = resolve(ORCHESTRATION_ENABLED, &subject(), !on, |k| stored.get(k).cloned());
                    assert_eq!((&d.scope, d.value), (high, on), "{high} = {on} over {low} = {}", !on);
                }
            }
            // And each scope over the global value, both ways.
            for on in [true, false] {
                let stored: HashMap<String, String> =
                    [(high.key(ORCHESTRATION_ENABLED), stored_value(high, on))].into();
                let d = resolve(ORCHESTRATION_ENABLED, &subject(), !on, |k| stored.get(k).cloned());
                match (high, on) {
                    // A percentage only turns a flag on: at 0% the global value decides.
                    (Scope::Percent, false) => {
                        assert_eq!((d.scope, d.value), (Scope::Global, true));
                        assert_eq!(d.rollout.map(|r| r.percent), Some(0.0), "the rollout read is recorded");
                    }
                    _ => assert_eq!((&d.scope, d.value), (high, on), "{high} = {on} over global = {}", !on),
                }
            }
        }
        for global in [true, false] {
            let d = resolve(ORCHESTRATION_ENABLED, &subject(), global, |_| None);
            assert_eq!((d.scope, d.value, d.rollout), (Scope::Global, global, None));
        }
    }

    #[test]
    fn overrides_of_other_subjects_and_other_flags_do_not_apply() {
        let stored: HashMap<String, String> = [
            ("orchestration_enabled@user:someone-else".to_string(), "true".to_string()),
            ("orchestration_enabled@agent_type:sales".to_string(), "true".to_string()),
            ("orchestration_compression_enabled@agent:agent-a".to_string(), "true".to_string()),
        ]
        .into();
        let d = resolve(ORCHESTRATION_ENABLED, &subject(), false, |k| stored.get(k).cloned());
        assert_eq!((d.scope, d.value), (Scope::Global, false));
        let no_type = Subject { agent_type: None, ..subject() };
        let d = resolve(COMPRESSION_ENABLED, &no_type, false, |k| stored.get(k).cloned());
        assert_eq!((d.scope, d.value), (Scope::Agent("agent-a".into()), true));
    }

    #[test]
    fn an_invalid_stored_override_is_passed_over() {
        let stored: HashMap<String, String> = [
            ("orchestration_enabled@user:user-u".to_string(), "yes".to_string()),
            ("orchestration_enabled@percent".to_string(), "250".to_string()),
        ]
        .into();
        let d = resolve(ORCHESTRATION_ENABLED, &subject(), true, |k| stored.get(k).cloned());
        assert_eq!((d.scope, d.value, d.rollout), (Scope::Global, true, None));
    }

    #[test]
    fn a_thirty_percent_rollout_lands_near_thirty_percent_and_stays_put() {
        let stored: HashMap<String, String> = [("orchestration_enabled@percent".to_string(), "30".to_string())].into();
        let side = |i: usize| {
            let s = Subject { workflow_id: format!("workflow-{i}"), agent_id: "agent-support-01".into(), ..subject() };
            let s = Subject { user_id: format!("user-{i}"), agent_type: None, ..s };
            resolve(ORCHESTRATION_ENABLED, &s, false, |k| stored.get(k).cloned()).value
        };
        let first: Vec<bool> = (0..1_000).map(side).collect();
        let on = first.iter().filter(|v| **v).count();
        assert!((250..=350).contains(&on), "{on} of 1000 on at 30%");
        let second: Vec<bool> = (0..1_000).map(side).collect();
        assert_eq!(first, second, "the same workflows land on the same side");
        // The bucket is fixed by value, not by process: it never changes with a release.
        // As Python computes it: int.from_bytes(sha256(b"wf\0a").digest()[:8], "big") % 10000.
        assert_eq!(bucket("wf", "a"), 942, "bucketing changed: every rollout would reshuffle");
    }

    #[test]
    fn percentages_nest_across_flags() {
        let stored: HashMap<String, String> = [
            ("orchestration_enabled@percent".to_string(), "20".to_string()),
            ("orchestration_compression_enabled@percent".to_string(), "10".to_string()),
        ]
        .into();
        for i in 0..500 {
            let s = Subject { workflow_id: format!("w{i}"), ..subject() };
            let s = Subject { user_id: "nobody".into(), agent_type: None, agent_id: format!("a{}", i % 7), ..s };
            let compression = resolve(COMPRESSION_ENABLED, &s, false, |k| stored.get(k).cloned()).value;
            let orchestration = resolve(ORCHESTRATION_ENABLED, &s, false, |k| stored.get(k).cloned()).value;
            assert!(!compression || orchestration, "{s:?}");
        }
    }

    #[test]
    fn keys_parse_and_print_round_trip() {
        for (scope, key) in [
            (Scope::User("user-1".into()), "orchestration_enabled@user:user-1"),
            (Scope::Agent("agent-support-01".into()), "orchestration_enabled@agent:agent-support-01"),
            (Scope::AgentType("support".into()), "orchestration_enabled@agent_type:support"),
            (Scope::Percent, "orchestration_enabled@percent"),
        ] {
            assert_eq!(scope.key(ORCHESTRATION_ENABLED), key);
            assert_eq!(parse_key(key).unwrap(), Some((ORCHESTRATION_ENABLED, scope)));
        }
        assert_eq!(parse_key("orchestration_enabled").unwrap(), None);
        assert!(matches!(parse_key("orchestration_max_retries@agent:a"), Err(ScopeError::NotScopable(_))));
        assert!(matches!(parse_key("orchestration_enabled@team:a"), Err(ScopeError::UnknownScope(..))));
        assert!(matches!(parse_key("orchestration_enabled@agent:"), Err(ScopeError::BadId(..))));
        assert!(matches!(parse_key("orchestration_enabled@user:a b"), Err(ScopeError::BadId(..))));
        assert!(parse_percent("k", "12.5").is_ok() && parse_percent("k", "-1").is_err());
        assert!(parse_percent("k", "NaN").is_err() && parse_percent("k", "101").is_err());
    }
}
