//! An operator's change to `system_settings_config` (`pilot flags set|unset`,
//! the console's rollout form): checked as every write is, and audited as
//! `SETTING_CHANGED` with the value before and after and who asked. A
//! plugin's setting (its URL may carry a credential) is audited as changed,
//! never with its value.

use crate::capabilities::audit::AuditSink;
use crate::storage::records::Identity;
use crate::storage::settings::PLUGIN_PREFIX;
use crate::storage::{Db, Error};
use crate::vocabulary::HostEvent;

/// What the audit shows for a plugin setting's value.
const REDACTED: &str = "(redacted)";

/// Who changed a setting: the audit event's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Cli,
    Console,
}

impl Operator {
    fn source(self) -> &'static str {
        match self {
            Operator::Cli => "pilot flags",
            Operator::Console => "console",
        }
    }
}

/// Sets `key` to `value`, or removes it (`None`: a scoped override or a
/// `plugin_*` key); false when there was nothing to remove. A change that
/// is refused writes nothing, the audit event included.
pub fn change(db: &Db, key: &str, value: Option<&str>, by: Operator) -> Result<bool, Error> {
    let before = db.setting(key)?;
    match value {
        Some(value) => db.set_setting(key, value)?,
        None if !db.unset_setting(key)? => return Ok(false),
        None => {}
    }
    let shown = |v: Option<String>| match key.starts_with(PLUGIN_PREFIX) {
        true => v.map(|_| REDACTED.to_string()),
        false => v,
    };
    let event = HostEvent::SettingChanged {
        key: key.to_string(),
        before: shown(before),
        after: shown(value.map(str::to_string)),
    };
    tracing::info!(key, source = by.source(), "setting changed");
    AuditSink::new(db.clone(), Identity::host()).host_event(&event, None, by.source());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_audited_with_before_and_after_and_a_refusal_writes_nothing() {
        let db = Db::temporary();
        let key = "orchestration_enabled@agent:agent-a";
        assert!(change(&db, key, Some("true"), Operator::Cli).unwrap());
        assert!(change(&db, key, Some("false"), Operator::Console).unwrap());
        assert!(change(&db, key, Some("maybe"), Operator::Cli).is_err());
        assert!(change(&db, key, None, Operator::Cli).unwrap());
        assert!(!change(&db, key, None, Operator::Cli).unwrap(), "nothing left to remove");
        db.records().flush_blocking();
        let events: Vec<_> =
            db.audit(None, 100).unwrap().into_iter().filter(|e| e.event_type == "SETTING_CHANGED").collect();
        let seen: Vec<(serde_json::Value, serde_json::Value, &str)> = events
            .iter()
            .map(|e| (e.metadata["before"].clone(), e.metadata["after"].clone(), e.source.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (serde_json::Value::Null, "true".into(), "pilot flags"),
                ("true".into(), "false".into(), "console"),
                ("false".into(), serde_json::Value::Null, "pilot flags"),
            ]
        );
        assert!(events.iter().all(|e| e.metadata["key"] == key && e.execution_id == "host"));
    }

    #[test]
    fn a_plugin_setting_is_audited_without_its_value() {
        let db = Db::temporary();
        let url = "https://hooks.slack.com/services/T0/B0/secret-part";
        assert!(change(&db, "plugin_slack_url", Some(url), Operator::Cli).unwrap());
        db.records().flush_blocking();
        let events = db.audit(None, 100).unwrap();
        let event = events.iter().find(|e| e.event_type == "SETTING_CHANGED").unwrap();
        assert_eq!((&event.metadata["before"], &event.metadata["after"]), (&serde_json::Value::Null, &REDACTED.into()));
        assert!(!event.metadata.to_string().contains("secret-part"));
    }
}
