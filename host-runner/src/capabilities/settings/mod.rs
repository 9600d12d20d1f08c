//! `settings`: read-only access to `system_settings_config`. The
//! orchestrator reads every key; a handler only the keys its manifest grants
//! (exact keys, or prefixes ending in `*`): others read as unset. Plugin URLs
//! are not settings a handler reads: the `plugins` capability answers them.
//! A store bound to a run reads the scoped flags as decided for that run
//! ([`RunFlags`]); the overrides' own keys are never shown to components.

mod changes;
mod run_flags;

pub use changes::{Operator, change};
pub use run_flags::{OUTSIDE_PERCENT, RunFlags};

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

    /// A store's context, reading what `grant` allows, with the scoped flags
    /// of `run` when the store serves one run.
    pub fn prepare(&self, grant: SettingsGrant, run: Option<Arc<RunFlags>>) -> SettingsCtx {
        SettingsCtx { log: self.log.clone(), run, ..SettingsCtx::new(self.db.clone(), grant) }
    }
}

/// Per-store context: the database to read from, what may be read and the run's flags.
pub struct SettingsCtx {
    db: Db,
    grant: SettingsGrant,
    log: Option<Arc<ImportLog>>,
    run: Option<Arc<RunFlags>>,
}

impl SettingsCtx {
    pub fn new(db: Db, grant: SettingsGrant) -> Self {
        SettingsCtx { db, grant, log: None, run: None }
    }

    /// A key's value for this store: the run's decision for a scoped flag, the stored value otherwise.
    fn value(&self, key: &str, stored: &crate::storage::settings::Snapshot) -> Option<String> {
        self.run.as_ref().and_then(|run| run.answer(key)).or_else(|| stored.get(key).cloned())
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
        let granted = self.may_read(&key) && !is_override(&key);
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
            .and_then(|all| self.value(&key, &all))
    }

    fn get_prefix(&mut self, prefix: String) -> Vec<(String, String)> {
        // Granted as far as the grant reaches: the keys it covers.
        ImportLog::record(&self.log, || ImportCall::Setting { key: format!("{prefix}*"), granted: true });
        let all = self.db.settings().inspect_err(|e| tracing::warn!(%prefix, "settings read failed: {}", chain(e)));
        let mut found: Vec<(String, String)> = all
            .map(|all| {
                all.keys()
                    .filter(|k| k.starts_with(&prefix) && !is_override(k) && self.may_read(k))
                    .filter_map(|k| Some((k.clone(), self.value(k, &all)?)))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }
}

/// A flag's scoped override: read through [`RunFlags`], never by its own key.
fn is_override(key: &str) -> bool {
    key.contains('@')
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
    fn a_run_bound_store_reads_its_run_flags_and_never_an_override() {
        let db = Db::temporary();
        db.set_setting("orchestration_enabled@agent:agent-a", "true").unwrap();
        db.set_setting("orchestration_enabled@percent", "5").unwrap();
        let subject = orchestration::rollout::Subject {
            workflow_id: "wf".into(),
            agent_id: "agent-a".into(),
            user_id: "u".into(),
            agent_type: None,
        };
        let flags = Arc::new(RunFlags::decide(&db.settings().unwrap(), &subject));
        let state = SettingsState::new(db.clone());
        let mut ctx = state.prepare(SettingsGrant::All, Some(flags));
        assert_eq!(ctx.get("orchestration_enabled".into()).as_deref(), Some("true"));
        assert_eq!(ctx.get("orchestration_enabled@agent:agent-a".into()), None);
        let all = ctx.get_prefix("orchestration_enabled".into());
        assert_eq!(all, vec![("orchestration_enabled".to_string(), "true".to_string())]);
        // A store serving no run reads the global value.
        let mut plain = state.prepare(SettingsGrant::All, None);
        assert_eq!(plain.get("orchestration_enabled".into()).as_deref(), Some("false"));
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
