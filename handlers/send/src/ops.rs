//! `send`'s logic: its params (or what the prompt says of them), the body
//! each plugin gets, and the request that drafts a missing message.

use handler_kit::{HandlerError, params};
use serde_json::{Map, Value, json};

/// Params that are settings; every other param is data.
pub const CONTROL: [&str; 5] = ["plugin", "message", "channel", "to", "subject"];

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
    /// The delivery from params; what they leave out is read from the step's
    /// prompt: the plugin it names among `available` (or the only one), a
    /// `#channel`, and email addresses as recipients.
    pub fn parse(params: &Map<String, Value>, prompt: &str, available: &[String]) -> Result<Delivery, HandlerError> {
        let invalid = |message: String| HandlerError::InvalidInput(message);
        let plugin = match params::optional_text(params, "plugin") {
            Some(plugin) => plugin,
            None => named_plugin(prompt, available).ok_or_else(|| {
                invalid(format!(
                    "params.plugin is required for send: got none, and the prompt names none of the step's \
                     available plugins ({}); fix: add \"plugin\": \"slack\" (or email, webhook) to the step's \
                     params and list it in the workflow's available_plugins",
                    if available.is_empty() { "none".to_string() } else { available.join(", ") }
                ))
            })?,
        };
        let message = match params.get("message") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.trim().is_empty() => {
                return Err(invalid("params.message is empty; leave it out to have the model draft one".into()));
            }
            Some(message) => Some(message.clone()),
        };
        // Recipients: `to` in any shape, else addresses in the prompt, else in the step's data.
        let data: String = params
            .iter()
            .filter(|(key, _)| !CONTROL.contains(&key.as_str()))
            .map(|(_, value)| params::text_of(value))
            .collect::<Vec<_>>()
            .join(" ");
        let delivery = Delivery {
            channel: params::optional_text(params, "channel").or_else(|| channel_in(prompt)),
            to: params.get("to").and_then(recipients).or_else(|| addresses_in(prompt)).or_else(|| addresses_in(&data)),
            subject: params::optional_text(params, "subject"),
            plugin,
            message,
        };
        if delivery.plugin == "email" && delivery.to.is_none() {
            return Err(invalid(
                "params.to is required for plugin `email`: got no address in params.to, the prompt or the step's \
                 data; fix: add \"to\": \"name@example.com\" (or a list of addresses) to the step's params"
                    .into(),
            ));
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

    /// The system prompt and task that draft the message from the step's
    /// material, with the recipient details the body will carry.
    pub fn draft_request(&self) -> (String, String) {
        let system = format!(
            "Write the message to send through `{}` as the instruction asks, from the data: the text \
             only (no preamble, quotes or subject line), at most {DRAFT_WORDS} words, with every figure, \
             id and name it needs.",
            self.plugin
        );
        let details: Vec<String> = [("Channel", &self.channel), ("To", &self.to), ("Subject", &self.subject)]
            .into_iter()
            .filter_map(|(label, value)| value.as_ref().map(|v| format!("{label}: {v}")))
            .collect();
        (system, details.join("\n"))
    }
}

/// Words that name a plugin in a prompt, besides its own name.
fn aliases(plugin: &str) -> &'static [&'static str] {
    match plugin {
        "email" => &["e-mail", "mail", "email"],
        "crm" => &["salesforce", "hubspot"],
        "slack" => &["channel"],
        _ => &[],
    }
}

/// The available plugin the prompt names first (by name, then by alias),
/// or the only one the step has.
fn named_plugin(prompt: &str, available: &[String]) -> Option<String> {
    let words: Vec<String> = prompt
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let first_at = |names: &[&str]| words.iter().position(|w| names.contains(&w.as_str()));
    let by = |names: fn(&String) -> Vec<&str>| {
        available.iter().filter_map(|p| first_at(&names(p)).map(|at| (at, p))).min().map(|(_, p)| p.clone())
    };
    by(|p| vec![p.as_str()])
        .or_else(|| by(|p| aliases(p).to_vec()))
        .or_else(|| available.iter().find(|p| *p == "email").filter(|_| addresses_in(prompt).is_some()).cloned())
        .or_else(|| (available.len() == 1).then(|| available[0].clone()))
}

/// The first `#channel` of the prompt.
fn channel_in(prompt: &str) -> Option<String> {
    prompt
        .split_whitespace()
        .map(|w| w.trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_')))
        .find(|w| {
            w.len() > 1 && w.starts_with('#') && w[1..].chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_string)
}

/// The email addresses of the prompt, comma-separated.
/// Recipients as people give them: one address, a list (of addresses, or of
/// people with an `email`/`address` field), joined with `, `.
fn recipients(to: &Value) -> Option<String> {
    let one = |v: &Value| match v {
        Value::Object(person) => ["email", "address", "to"]
            .iter()
            .find_map(|k| person.get(*k))
            .map(params::text_of)
            .or_else(|| Some(params::text_of(v))),
        other => Some(params::text_of(other)),
    };
    let all: Vec<String> = match to {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        single => one(single).into_iter().collect(),
    };
    let all: Vec<String> = all.into_iter().map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect();
    (!all.is_empty()).then(|| all.join(", "))
}

fn addresses_in(prompt: &str) -> Option<String> {
    let addresses: Vec<&str> = prompt
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '<' | '>'))
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| {
            w.split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.starts_with('.'))
        })
        .collect();
    (!addresses.is_empty()).then(|| addresses.join(", "))
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
        Delivery::parse(params.as_object().unwrap(), "", &[])
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
        assert_eq!(parse(json!({"plugin": "webhook", "message": null})).unwrap().message, None);
        assert!(invalid_input(parse(json!({"message": "hi"}))).starts_with("params.plugin is required for send"));
        assert!(
            invalid_input(parse(json!({"plugin": "slack", "message": "  "}))).starts_with("params.message is empty")
        );
        assert_eq!(parse(json!({"plugin": "slack", "channel": 3})).unwrap().channel.as_deref(), Some("3"));
        assert!(
            invalid_input(parse(json!({"plugin": "email", "message": "x"})))
                .starts_with("params.to is required for plugin `email`: got no address")
        );
    }

    #[test]
    fn recipients_come_in_the_shapes_people_write_or_from_the_data() {
        let to = |to: Value| parse(json!({"plugin": "email", "to": to})).unwrap().to.unwrap();
        assert_eq!(to(json!("ana@example.com")), "ana@example.com");
        assert_eq!(to(json!(["ana@example.com", "bo@example.com"])), "ana@example.com, bo@example.com");
        assert_eq!(to(json!([{"name": "Ana", "email": "ana@example.com"}])), "ana@example.com");
        let from_data = parse(json!({"plugin": "email", "owner": {"name": "Ana", "contact": "ana@example.com"}}));
        assert_eq!(from_data.unwrap().to.as_deref(), Some("ana@example.com"), "an address only in the data");
    }

    #[test]
    fn each_plugin_gets_its_body() {
        let d =
            |plugin: &str| parse(json!({"plugin": plugin, "channel": "#ops", "to": "a@b.c", "subject": "Hi"})).unwrap();
        assert_eq!(d("slack").body(json!("hello")), json!({"text": "hello", "channel": "#ops"}));
        assert_eq!(d("webhook").body(json!({"n": 1})), json!({"text": {"n": 1}, "channel": "#ops"}));
        assert_eq!(d("email").body(json!("hello")), json!({"to": "a@b.c", "subject": "Hi", "text": "hello"}));
        assert_eq!(
            d("crm").body(json!("note")),
            json!({"plugin": "crm", "message": "note", "channel": "#ops", "to": "a@b.c", "subject": "Hi"})
        );
        let bare = parse(json!({"plugin": "teams"})).unwrap();
        assert_eq!(bare.body(json!("x")), json!({"text": "x"}));
    }

    #[test]
    fn the_draft_request_carries_the_recipient_details() {
        let d = parse(json!({"plugin": "email", "to": "ops@x.io", "subject": "Outage"})).unwrap();
        let (system, task) = d.draft_request();
        assert!(system.contains("through `email`") && system.contains("at most 120 words"));
        assert_eq!(task, "To: ops@x.io\nSubject: Outage");
    }

    #[test]
    fn what_params_leave_out_is_read_from_the_prompt() {
        let all: Vec<String> = ["slack", "email", "crm", "webhook"].map(String::from).to_vec();
        let from = |prompt: &str, available: &[String]| Delivery::parse(&Map::new(), prompt, available);
        let d = from("Post the summary to Slack #cs-escalations.", &all).unwrap();
        assert_eq!((d.plugin.as_str(), d.channel.as_deref()), ("slack", Some("#cs-escalations")));
        let d = from("Email the recap to dana@northwind.example and li@northwind.example.", &all).unwrap();
        assert_eq!(
            (d.plugin.as_str(), d.to.as_deref()),
            ("email", Some("dana@northwind.example, li@northwind.example"))
        );
        assert_eq!(from("Log the call notes in Salesforce.", &all).unwrap().plugin, "crm");
        assert_eq!(from("Send it to the webhook, then mail the team.", &all).unwrap().plugin, "webhook", "named first");
        assert_eq!(from("Notify the team.", &["slack".to_string()]).unwrap().plugin, "slack", "the only one");
        assert!(
            invalid_input(from("Notify the team.", &all))
                .contains("names none of the step's available plugins (slack, email, crm, webhook)")
        );
        assert!(invalid_input(from("Email the team.", &all)).starts_with("params.to is required for plugin `email`"));
    }
}
