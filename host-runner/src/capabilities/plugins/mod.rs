//! `plugins`: the external services a step may use. A plugin's URL lives in
//! the operator's setting `plugin_<name>_url`; a step may use only the
//! plugins its workflow lists in `available_plugins`. The same answer bounds
//! the step's outbound requests: [`PluginsCtx::hosts`] is intersected with
//! the handler manifest's allow-list by `outbound_http`.

use crate::bindings::plugins::{self, PluginError};
use crate::capabilities::outbound_http::AllowedHosts;
use crate::storage::{self, Db};
use wasmtime::component::{HasData, Linker};

/// The setting that holds a plugin's URL.
pub fn url_setting(plugin: &str) -> String {
    format!("plugin_{plugin}_url")
}

/// Per-store context: the plugins of the step being run.
pub struct PluginsCtx {
    db: Db,
    available: Vec<String>,
}

impl PluginsCtx {
    pub fn new(db: Db, available: Vec<String>) -> Self {
        PluginsCtx { db, available }
    }

    fn configured(&self, plugin: &str) -> Option<String> {
        storage::settings::get(&self.db.lock(), &url_setting(plugin))
            .inspect_err(|e| tracing::warn!(plugin, "plugin URL read failed: {e:#}"))
            .ok()
            .flatten()
            .filter(|url| !url.trim().is_empty())
    }

    /// The hosts (scheme, host, port) of the step's configured plugins.
    pub fn hosts(&self) -> AllowedHosts {
        let urls: Vec<String> = self.available.iter().filter_map(|p| self.configured(p)).collect();
        AllowedHosts::of_urls(&urls)
    }
}

pub trait PluginsView {
    fn plugins(&mut self) -> &mut PluginsCtx;
}

struct HasPlugins;

impl HasData for HasPlugins {
    type Data<'a> = &'a mut PluginsCtx;
}

pub fn add_to_linker<T: PluginsView + Send + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    plugins::add_to_linker::<T, HasPlugins>(linker, T::plugins)
}

impl plugins::Host for PluginsCtx {
    fn url(&mut self, name: String) -> Result<String, PluginError> {
        if !self.available.contains(&name) {
            tracing::warn!(plugin = %name, "plugin refused: not in the step's available_plugins");
            return Err(PluginError::NotAvailable(name));
        }
        self.configured(&name).ok_or_else(|| PluginError::NotConfigured(url_setting(&name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugins::Host;

    #[test]
    fn only_the_steps_configured_plugins_answer() {
        let db = Db::temporary();
        storage::settings::set(&db.lock(), "plugin_slack_url", "https://hooks.slack.com/services/T0/B0").unwrap();
        storage::settings::set(&db.lock(), "plugin_crm_url", "http://127.0.0.1:9300/lookup").unwrap();
        let mut ctx = PluginsCtx::new(db, vec!["slack".into(), "email".into()]);
        assert_eq!(ctx.url("slack".into()).unwrap(), "https://hooks.slack.com/services/T0/B0");
        assert!(matches!(ctx.url("crm".into()), Err(PluginError::NotAvailable(p)) if p == "crm"));
        assert!(matches!(ctx.url("email".into()), Err(PluginError::NotConfigured(k)) if k == "plugin_email_url"));
        let hosts = ctx.hosts();
        assert!(hosts.allows("https", "hooks.slack.com", 443));
        assert!(!hosts.allows("http", "127.0.0.1", 9300), "crm is configured but not the step's");
    }
}
