//! `send`: delivers a message to an external service (a webhook) over the
//! host's `wasi:http`; the model is asked only when there is no message.
//!
//! Params (settings; every other param is data the message draws on):
//! - `plugin`: the service, one of the step's `available_plugins`; its URL is
//!   the setting `plugin_<plugin>_url`; without it, the plugin the prompt
//!   names ("post to Slack", "email", "log in Salesforce"), or the step's only one;
//! - `message`: the text, or any JSON value (sent as JSON); when absent, the
//!   model drafts a short text from the step's material in one call;
//! - `channel`, `to`, `subject`: optional strings for the service (`to` is
//!   required for `email`); without them, a `#channel` and the email
//!   addresses the prompt gives.
//!
//! The body is JSON: `{"text", "channel"}` for `slack`, `teams` and
//! `webhook`; `{"to", "subject", "text"}` for `email`; `{"plugin", "message",
//! "channel", "to", "subject"}` for any other plugin. Credentials are not the
//! handler's business: the host attaches them per its manifest
//! (`outbound_headers`), and only to the hosts the manifest allows.
//!
//! Output: `{"delivered": true, "plugin", "status", "bytes"}`, `bytes` being
//! the size of the body sent. A non-2xx answer fails the step with its
//! status and the start of its body.

mod ops;

use handler_kit::model::{Ask, ask};
use handler_kit::workflowpilot::orchestration::llm::ResponseFormat;
use handler_kit::{HandlerError, HandlerInfo, StepRequest, http, material, params, plugin};
use ops::Delivery;
use serde_json::{Value, json};

/// Webhooks answer with a short acknowledgement; only the start of an error body is quoted.
const RESPONSE_CAP: usize = 4096;
const DRAFT_MAX_TOKENS: u32 = 300;
const DRAFT_TEMPERATURE: f32 = 0.4;

struct Sender;

impl handler_kit::Handler for Sender {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "send".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["send".into()],
            description: "Delivers a message to a plugin's webhook; the model only drafts a missing message".into(),
            control_params: ops::CONTROL.map(String::from).to_vec(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let delivery = Delivery::parse(&params, &request.step.prompt, &request.available_plugins)?;
        // Checked before any drafting, so a step that cannot be delivered spends no tokens.
        let url = plugin::url(&delivery.plugin)?;
        let message = match &delivery.message {
            Some(message) => message.clone(),
            None => draft(&delivery, &request)?,
        };
        let response = http::post_json(&url, &delivery.body(message), RESPONSE_CAP)?.success(&url)?;
        Ok(json!({ "delivered": true, "plugin": delivery.plugin, "status": response.status, "bytes": response.sent })
            .to_string())
    }
}

/// Asks the model for the message, in one call over the step's material.
fn draft(delivery: &Delivery, request: &StepRequest) -> Result<Value, HandlerError> {
    if material::is_empty(request) {
        return Err(HandlerError::InvalidInput(
            "params.message is required when the step has no prompt or data to draft it from".into(),
        ));
    }
    let (system, task) = delivery.draft_request();
    let text = ask(Ask {
        system,
        task,
        shown_in_task: vec![],
        max_tokens: DRAFT_MAX_TOKENS,
        temperature: DRAFT_TEMPERATURE,
        format: ResponseFormat::Text,
        request,
    })?;
    match text.trim() {
        "" => Err(HandlerError::InvalidOutput("the model drafted an empty message".into())),
        text => Ok(json!(text)),
    }
}

handler_kit::export_handler!(Sender);
