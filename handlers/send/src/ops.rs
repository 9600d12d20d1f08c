//! `send`'s logic: its params, the body each plugin gets, and the prompt
//! that drafts a missing message.

use handler_kit::{HandlerError, params};
use serde_json::{Map, Value, json};

/// Longest message the model is asked to draft.
const DRAFT_WORDS: u32 = 120;

/// What to send, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub plugin: String,
    /// The message as given; `None` when the model drafts it.
    pub message: Option<Value>,
    pub channel: Option<String>,
    pub to: Option<String>,
    pub subject: Option<String>,
}

impl Delivery {
    pub fn parse(params: &Map<String, Value>) -> Result<Delivery, HandlerError> {
        let invalid = |message: &str| HandlerError::InvalidInput(message.to_string());
        let plugin = match params::optional_str(params, "plugin")?.map(str::trim) {
            Some(plugin) if !plugin.is_empty() => plugin.to_string(),
            _ => {
                return Err(invalid(
                    "params.plugin is required for send: one of the step's available_plugins",
                ));
            }
        };
        let message = match params.get("message") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.trim().is_empty() => {
                return Err(invalid(
                    "params.message is empty; leave it out to have the model draft one",
                ));
            }
            Some(message) => Some(message.clone()),
        };
        let text = |key| params::optional_str(params, key).map(|v| v.map(str::to_string));
        let delivery = Delivery {
            plugin,
            message,
            channel: text("channel")?,
            to: text("to")?,
            subject: text("subject")?,
        };
        if delivery.plugin == "email" && delivery.to.is_none() {
            return Err(invalid("params.to is required for plugin `email`"));
        }
        Ok(delivery)
    }

    /// The JSON body for the plugin; optional fields not given are left out.
    /// Chat webhooks (`slack`, `teams`, `webhook`) take `{"text", "channel"}`,
    /// `email` takes `{"to", "subject", "text"}`, any other plugin everything
    /// under its own name: `{"plugin", "message", "channel", "to", "subject"}`.
    pub fn body(&self, message: Value) -> Value {
        let mut body = Map::new();
        match self.plugin.as_str() {
            "slack" | "teams" | "webhook" => {
                body.insert("text".into(), message);
                put(&mut body, "channel", &self.channel);
            }
            "email" => {
                put(&mut body, "to", &self.to);
                put(&mut body, "subject", &self.subject);
                body.insert("text".into(), message);
            }
            other => {
                body.insert("plugin".into(), json!(other));
                body.insert("message".into(), message);
                put(&mut body, "channel", &self.channel);
                put(&mut body, "to", &self.to);
                put(&mut body, "subject", &self.subject);
            }
        }
        Value::Object(body)
    }

    /// The system prompt and user message that draft the message from the
    /// step's prompt, with the recipient details the body will carry.
    pub fn draft_prompt(&self, step_prompt: &str) -> (String, String) {
        let system = format!(
            "You write the message an automated workflow sends through `{}`. Answer with the message text \
             only: no preamble, no quotes, no subject line. Keep it short: at most {DRAFT_WORDS} words.",
            self.plugin
        );
        let mut user = step_prompt.trim().to_string();
        for (label, value) in [("Channel", &self.channel), ("To", &self.to), ("Subject", &self.subject)] {
            if let Some(value) = value {
                user.push_str(&format!("\n{label}: {value}"));
            }
        }
        (system, user)
    }
}

fn put(body: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(value) = value {
        body.insert(key.into(), json!(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(params: Value) -> Result<Delivery, HandlerError> {
        Delivery::parse(params.as_object().unwrap())
    }

    fn invalid_input(result: Result<Delivery, HandlerError>) -> String {
        match result {
            Err(HandlerError::InvalidInput(message)) => message,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn params_are_read_and_errors_name_the_param() {
        let d = parse(json!({"plugin": " slack ", "message": {"total": 3}, "channel": "#ops"})).unwrap();
        assert_eq!(
            (d.plugin.as_str(), d.message, d.channel.as_deref()),
            ("slack", Some(json!({"total": 3})), Some("#ops"))
        );
        assert_eq!(
            parse(json!({"plugin": "webhook", "message": null})).unwrap().message,
            None
        );
        assert!(invalid_input(parse(json!({"message": "hi"}))).starts_with("params.plugin is required for send"));
        assert!(
            invalid_input(parse(json!({"plugin": "slack", "message": "  "}))).starts_with("params.message is empty")
        );
        assert_eq!(
            invalid_input(parse(json!({"plugin": "slack", "channel": 3}))),
            "params.channel must be a string, got number"
        );
        assert_eq!(
            invalid_input(parse(json!({"plugin": "email", "message": "x"}))),
            "params.to is required for plugin `email`"
        );
    }

    #[test]
    fn each_plugin_gets_its_body() {
        let d =
            |plugin: &str| parse(json!({"plugin": plugin, "channel": "#ops", "to": "a@b.c", "subject": "Hi"})).unwrap();
        assert_eq!(
            d("slack").body(json!("hello")),
            json!({"text": "hello", "channel": "#ops"})
        );
        assert_eq!(
            d("webhook").body(json!({"n": 1})),
            json!({"text": {"n": 1}, "channel": "#ops"})
        );
        assert_eq!(
            d("email").body(json!("hello")),
            json!({"to": "a@b.c", "subject": "Hi", "text": "hello"})
        );
        assert_eq!(
            d("crm").body(json!("note")),
            json!({"plugin": "crm", "message": "note", "channel": "#ops", "to": "a@b.c", "subject": "Hi"})
        );
        let bare = parse(json!({"plugin": "teams"})).unwrap();
        assert_eq!(bare.body(json!("x")), json!({"text": "x"}));
    }

    #[test]
    fn the_draft_prompt_carries_the_recipient_details() {
        let d = parse(json!({"plugin": "email", "to": "ops@x.io", "subject": "Outage"})).unwrap();
        let (system, user) = d.draft_prompt(" Tell ops the API is down. ");
        assert!(system.contains("through `email`") && system.contains("at most 120 words"));
        assert_eq!(user, "Tell ops the API is down.\nTo: ops@x.io\nSubject: Outage");
    }
}
