//! A step's plugins: the external services it may use. The host answers
//! which plugins the step may use and where they are (`plugins` import);
//! neither the URL setting nor any credential passes through the handler's
//! settings, and its outbound requests reach only those plugins' hosts.

use crate::HandlerError;
use crate::http::Url;
use crate::workflowpilot::orchestration::plugins::{self, PluginError};

/// The URL of `plugin`, when the current step may use it.
pub fn url(plugin: &str) -> Result<Url, HandlerError> {
    parse(plugin, plugins::url(plugin))
}

fn parse(plugin: &str, answer: Result<String, PluginError>) -> Result<Url, HandlerError> {
    match answer {
        Ok(text) => Url::parse(text.trim())
            .map_err(|e| HandlerError::InvalidInput(format!("plugin `{plugin}`'s URL is not usable: {e}"))),
        Err(PluginError::NotAvailable(name)) => {
            Err(HandlerError::NotPermitted(format!("plugin `{name}` is not available to this step")))
        }
        Err(PluginError::NotConfigured(key)) => {
            Err(HandlerError::InvalidInput(format!("plugin `{plugin}` is not configured: set {key}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_answer_becomes_a_url_or_a_typed_error() {
        assert_eq!(parse("webhook", Ok(" http://127.0.0.1:9/hook ".into())).unwrap().authority(), "127.0.0.1:9");
        assert!(matches!(parse("slack", Err(PluginError::NotAvailable("slack".into()))),
            Err(HandlerError::NotPermitted(m)) if m == "plugin `slack` is not available to this step"));
        assert!(matches!(parse("slack", Err(PluginError::NotConfigured("plugin_slack_url".into()))),
            Err(HandlerError::InvalidInput(m)) if m == "plugin `slack` is not configured: set plugin_slack_url"));
        assert!(matches!(parse("crm", Ok("crm.internal/lookup".into())),
            Err(HandlerError::InvalidInput(m)) if m.starts_with("plugin `crm`'s URL is not usable: `crm.internal/lookup` has no scheme")));
    }
}
