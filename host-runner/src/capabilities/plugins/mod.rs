//! `plugins`: the external services a step may use. A plugin's URL lives in
//! the operator's setting `plugin_<name>_url`; a step may use only the
//! plugins its workflow lists in `available_plugins`. The same answer bounds
//! the step's outbound requests: [`PluginsCtx::hosts`] is intersected with
//! the handler manifest's allow-list by `outbound_http`. A plugin's
//! credential is host configuration ([`PluginHeaders`]): attached on the way
//! out to requests to that plugin's host, it never enters guest memory.

use crate::bindings::plugins::{self, PluginError};
use crate::capabilities::outbound_http::{AllowedHosts, SecretHeader};
use crate::causes::chain;
use crate::storage::Db;
use std::collections::HashMap;
use std::sync::Arc;
use wasmtime::component::{HasData, Linker};

/// The setting that holds a plugin's URL.
pub fn url_setting(plugin: &str) -> String {
    format!("plugin_{plugin}_url")
}

/// The host's plugin credentials: per plugin, one header (`Authorization:
/// Bearer …`) from the host's environment (`PILOT_PLUGIN_<NAME>_HEADER`).
pub type PluginHeaders = Arc<HashMap<String, (String, String)>>;

/// Reads `PILOT_PLUGIN_<NAME>_HEADER=Name: value` variables; a malformed one is an error naming it.
pub fn headers_from_env() -> Result<HashMap<String, (String, String)>, String> {
    let mut headers = HashMap::new();
    for (var, value) in std::env::vars() {
        let Some(name) = var.strip_prefix("PILOT_PLUGIN_").and_then(|v| v.strip_suffix("_HEADER")) else { continue };
        let (header, secret) = value.split_once(':').ok_or_else(|| format!("{var}: expected `Header-Name: value`"))?;
        headers.insert(name.to_ascii_lowercase(), (header.trim().to_string(), secret.trim().to_string()));
    }
    Ok(headers)
}

/// App-wide state: the database holding plugin URLs, and the host's plugin credentials.
pub struct PluginsState {
    db: Db,
    headers: PluginHeaders,
}

impl PluginsState {
    pub fn new(db: Db, headers: PluginHeaders) -> Self {
        PluginsState { db, headers }
    }

    /// A store's context: the plugins its step may use (`available_plugins`).
    pub fn prepare(&self, available: Vec<String>) -> PluginsCtx {
        PluginsCtx::new(self.db.clone(), available, self.headers.clone())
    }
}

/// Per-store context: the plugins of the step being run.
pub struct PluginsCtx {
    db: Db,
    available: Vec<String>,
    headers: PluginHeaders,
}

impl PluginsCtx {
    pub fn new(db: Db, available: Vec<String>, headers: PluginHeaders) -> Self {
        PluginsCtx { db, available, headers }
    }

    /// The credentials of the step's configured plugins, each for its URL's host.
    pub fn secret_headers(&self) -> Vec<SecretHeader> {
        self.available
            .iter()
            .filter_map(|p| Some((self.headers.get(p)?, self.configured(p)?)))
            .filter_map(|((name, value), url)| {
                let host = url.trim().parse::<http::Uri>().ok()?.host()?.to_string();
                SecretHeader::new(&host, name, value).inspect_err(|e| tracing::warn!("plugin header skipped: {e}")).ok()
            })
            .collect()
    }

    /// From the settings snapshot: read for every handler store, so not a query each time.
    fn configured(&self, plugin: &str) -> Option<String> {
        self.db
            .settings()
            .inspect_err(|e| tracing::warn!(plugin, "plugin URL read failed: {}", chain(e)))
            .ok()?
            .get(&url_setting(plugin))
            .filter(|url| !url.trim().is_empty())
            .cloned()
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
        db.set_setting("plugin_slack_url", "https://hooks.slack.com/services/T0/B0").unwrap();
        db.set_setting("plugin_crm_url", "http://127.0.0.1:9300/lookup").unwrap();
        let headers: PluginHeaders = Arc::new(HashMap::from([
            ("slack".to_string(), ("Authorization".to_string(), "Bearer s3cret".to_string())),
            ("crm".to_string(), ("x-api-key".to_string(), "k".to_string())),
        ]));
        let mut ctx = PluginsCtx::new(db, vec!["slack".into(), "email".into()], headers);
        assert_eq!(ctx.secret_headers().len(), 1, "only the step's plugins' credentials");
        assert_eq!(ctx.url("slack".into()).unwrap(), "https://hooks.slack.com/services/T0/B0");
        assert!(matches!(ctx.url("crm".into()), Err(PluginError::NotAvailable(p)) if p == "crm"));
        assert!(matches!(ctx.url("email".into()), Err(PluginError::NotConfigured(k)) if k == "plugin_email_url"));
        let hosts = ctx.hosts();
        assert!(hosts.allows("https", "hooks.slack.com", 443));
        assert!(!hosts.allows("http", "127.0.0.1", 9300), "crm is configured but not the step's");
    }
}
