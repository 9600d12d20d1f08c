//! `settings`: read-only access to `system_settings_config`. The
//! orchestrator reads every key; a handler only the keys its manifest grants
//! (exact keys, or prefixes ending in `*`): others read as unset. Plugin URLs
//! are not settings a handler reads: the `plugins` capability answers them.

use crate::bindings::settings;
use crate::capabilities::import_log::{ImportCall, ImportLog};
use crate::causes::chain;
use crate::storage::Db;
use std::sync::Arc;
use wasmtime::component::{HasData, Linker};

/// What a store may read.
#[derive(Debug, Clone)]
pub enum SettingsGrant {
    /// Every key: the orchestrator.
    All,
    /// The keys a handler's manifest grants (`settings`): exact keys, or
    /// prefixes ending in `*`; none without a manifest.
    Keys(Vec<String>),
}

impl Default for SettingsGrant {
    fn default() -> Self {
        SettingsGrant::Keys(vec![])
    }
}

/// App-wide state: the database read from, and where reads are recorded when asked.
pub struct SettingsState {
    db: Db,
    log: Option<Arc<ImportLog>>,
}

impl SettingsState {
    pub fn new(db: Db) -> Self {
        SettingsState { db, log: None }
    }

    /// Records every store's reads from now on (see [`ImportLog`]).
    pub fn record_into(&mut self, log: Arc<ImportLog>) {
        self.log = Some(log);
    }

    /// A store's context, reading what `grant` allows.
    pub fn prepare(&self, grant: SettingsGrant) -> SettingsCtx {
        SettingsCtx { log: self.log.clone(), ..SettingsCtx::new(self.db.clone(), grant) }
    }
}

/// Per-store context: the database to read from and what may be read.
pub struct SettingsCtx {
    db: Db,
    grant: SettingsGrant,
    log: Option<Arc<ImportLog>>,
}

impl SettingsCtx {
    pub fn new(db: Db, grant: SettingsGrant) -> Self {
        SettingsCtx { db, grant, log: None }
    }

    fn may_read(&self, key: &str) -> bool {
        match &self.grant {
            SettingsGrant::All => true,
            SettingsGrant::Keys(granted) => granted.iter().any(|g| match g.strip_suffix('*') {
                Some(prefix) => key.starts_with(prefix),
                None => g == key,
            }),
        }
    }
}

/// Reaches the settings context inside a store's data.
pub trait SettingsView {
    fn settings(&mut self) -> &mut SettingsCtx;
}

struct HasSettings;

impl HasData for HasSettings {
    type Data<'a> = &'a mut SettingsCtx;
}

pub fn add_to_linker<T: SettingsView + Send + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    settings::add_to_linker::<T, HasSettings>(linker, T::settings)
}

impl settings::Host for SettingsCtx {
    fn get(&mut self, key: String) -> Option<String> {
        let granted = self.may_read(&key);
        ImportLog::record(&self.log, || ImportCall::Setting { key: key.clone(), granted });
        if !granted {
            tracing::debug!(%key, "settings read refused: not granted");
            return None;
        }
        // A read error is logged and reads as "unset": the guest then uses its default.
        self.db
            .settings()
            .inspect_err(|e| tracing::warn!(%key, "settings read failed: {}", chain(e)))
            .ok()
            .and_then(|all| all.get(&key).cloned())
    }

    fn get_prefix(&mut self, prefix: String) -> Vec<(String, String)> {
        // Granted as far as the grant reaches: the keys it covers.
        ImportLog::record(&self.log, || ImportCall::Setting { key: format!("{prefix}*"), granted: true });
        let all = self.db.settings().inspect_err(|e| tracing::warn!(%prefix, "settings read failed: {}", chain(e)));
        let mut found: Vec<(String, String)> = all
            .map(|all| {
                all.iter()
                    .filter(|(k, _)| k.starts_with(&prefix) && self.may_read(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use settings::Host;

    #[test]
    fn reads_values_and_prefixes() {
        let db = Db::temporary();
        db.set_setting("orchestration_enabled", "true").unwrap();
        let mut ctx = SettingsCtx::new(db, SettingsGrant::All);
        assert_eq!(ctx.get("orchestration_enabled".into()).as_deref(), Some("true"));
        assert_eq!(ctx.get("no_such_key".into()), None);
        let budgets = ctx.get_prefix("orchestration_token_budget_".into());
        assert_eq!(budgets.len(), orchestration::classify::INTENTS.len());
        assert!(budgets.windows(2).all(|w| w[0].0 < w[1].0), "sorted by key");
    }

    #[test]
    fn a_handler_reads_only_what_it_was_granted() {
        let db = Db::temporary();
        db.set_setting("plugin_slack_url", "https://hooks.slack.com/services/T/B/secret").unwrap();
        let grant = SettingsGrant::Keys(vec!["orchestration_enabled".into(), "orchestration_token_budget_*".into()]);
        let mut ctx = SettingsCtx::new(db, grant);
        assert_eq!(ctx.get("plugin_slack_url".into()), None, "a webhook URL is a credential");
        assert_eq!(ctx.get("orchestration_enabled".into()).as_deref(), Some("false"));
        assert!(ctx.get_prefix("plugin_".into()).is_empty());
        assert_eq!(ctx.get_prefix("orchestration_".into()).len(), 1 + orchestration::classify::INTENTS.len());
        let mut none = SettingsCtx::new(Db::temporary(), SettingsGrant::default());
        assert!(none.get_prefix(String::new()).is_empty());
    }
}
