//! `settings`: read-only access to `system_settings_config`.

use crate::bindings::settings;
use crate::storage::{self, Db};
use wasmtime::component::{HasData, Linker};

/// Per-store context: the database to read from.
pub struct SettingsCtx {
    db: Db,
}

impl SettingsCtx {
    pub fn new(db: Db) -> Self {
        SettingsCtx { db }
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
        // A read error is logged and reads as "unset": the guest then uses its default.
        storage::settings::get(&self.db.lock(), &key)
            .inspect_err(|e| tracing::warn!(%key, "settings read failed: {e:#}"))
            .ok()
            .flatten()
    }

    fn get_prefix(&mut self, prefix: String) -> Vec<(String, String)> {
        storage::settings::list(&self.db.lock(), &prefix)
            .inspect_err(|e| tracing::warn!(%prefix, "settings read failed: {e:#}"))
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.key, s.value))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use settings::Host;

    #[test]
    fn reads_values_and_prefixes() {
        let db = Db::temporary();
        storage::settings::set(&db.lock(), "orchestration_enabled", "true").unwrap();
        let mut ctx = SettingsCtx::new(db);
        assert_eq!(ctx.get("orchestration_enabled".into()).as_deref(), Some("true"));
        assert_eq!(ctx.get("no_such_key".into()), None);
        let budgets = ctx.get_prefix("orchestration_token_budget_".into());
        assert_eq!(budgets.len(), orchestration::classify::INTENTS.len());
        assert!(budgets.windows(2).all(|w| w[0].0 < w[1].0), "sorted by key");
    }
}
