//! A step's plugins: which external services it may use, and where they are.
//!
//! The workflow names the plugins a step may use (`available_plugins`); an
//! operator configures each one's URL in the setting `plugin_<name>_url`.
//! Neither holds credentials: the host attaches them per the manifest.

use crate::HandlerError;
use crate::http::Url;
use crate::workflowpilot::orchestration::settings;

/// The URL of `plugin`, after checking that the step may use it.
pub fn url(plugin: &str, available: &[String]) -> Result<Url, HandlerError> {
    check_available(plugin, available)?;
    configured_url(plugin, settings::get(&setting_key(plugin)))
}

/// `plugin` must be one of the step's `available_plugins`.
fn check_available(plugin: &str, available: &[String]) -> Result<(), HandlerError> {
    if available.iter().any(|p| p == plugin) {
        return Ok(());
    }
    let listed = if available.is_empty() {
        "the step has none".to_string()
    } else {
        format!("available: {}", available.join(", "))
    };
    Err(HandlerError::NotPermitted(format!("plugin `{plugin}` is not available to this step ({listed})")))
}

fn setting_key(plugin: &str) -> String {
    format!("plugin_{plugin}_url")
}

/// The URL held by the plugin's setting.
fn configured_url(plugin: &str, value: Option<String>) -> Result<Url, HandlerError> {
    let key = setting_key(plugin);
    match value.as_deref().map(str::trim) {
        None | Some("") => Err(HandlerError::InvalidInput(format!("plugin `{plugin}` is not configured: set {key}"))),
        Some(text) => {
            Url::parse(text).map_err(|e| HandlerError::InvalidInput(format!("{key} is not a usable URL: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_steps_plugins_are_available() {
        let available = ["webhook".to_string(), "email".to_string()];
        assert!(check_available("email", &available).is_ok());
        assert!(matches!(check_available("slack", &available),
            Err(HandlerError::NotPermitted(m)) if m == "plugin `slack` is not available to this step (available: webhook, email)"));
        assert!(matches!(check_available("slack", &[]),
            Err(HandlerError::NotPermitted(m)) if m == "plugin `slack` is not available to this step (the step has none)"));
    }

    #[test]
    fn the_url_comes_from_the_plugins_setting() {
        assert_eq!(
            configured_url("webhook", Some(" http://127.0.0.1:9/hook ".into())).unwrap().authority(),
            "127.0.0.1:9"
        );
        for unset in [None, Some(String::new())] {
            assert!(matches!(configured_url("slack", unset),
                Err(HandlerError::InvalidInput(m)) if m == "plugin `slack` is not configured: set plugin_slack_url"));
        }
        assert!(matches!(configured_url("crm", Some("crm.internal/lookup".into())),
            Err(HandlerError::InvalidInput(m)) if m.starts_with("plugin_crm_url is not a usable URL: `crm.internal/lookup` has no scheme")));
    }
}
