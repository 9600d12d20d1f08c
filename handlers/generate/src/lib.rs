//! `generate`: writes content with the model from the step's material, with
//! a system prompt and temperature suited to what is written.
//!
//! Params (settings; every other param is data the content draws on):
//! - `type`: `email`, `report`, `code`, `creative` or `text`; when absent it is
//!   detected from the step's name and the opening of its prompt;
//! - `max_words`: an upper bound on the length (output tokens follow it).
//!
//! Output: `{"type": ..., "content": text}` (only what later steps read: the
//! output travels into their model calls).

mod ops;

use handler_kit::model::{Ask, ask};
use handler_kit::workflowpilot::orchestration::llm::ResponseFormat;
use handler_kit::{HandlerError, HandlerInfo, StepRequest, material, params};
use ops::ContentType;
use serde_json::json;

struct Generate;

impl handler_kit::Handler for Generate {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "generate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["generate".into()],
            description: "Writes emails, reports, code, creative copy or text with the model".into(),
            control_params: vec!["type".into(), "max_words".into()],
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        // A length or type it cannot read is never refused: no word limit, the type read from the step.
        let max_words = params::optional_u32(&params, "max_words").ok().flatten();
        let content_type = params::optional_text(&params, "type")
            .and_then(|name| ContentType::parse(&name))
            .unwrap_or_else(|| ContentType::detect(&request.step.name, &request.step.prompt));
        if material::is_empty(&request) {
            return Err(HandlerError::InvalidInput(
                "the step has no prompt and no data: nothing to generate from".into(),
            ));
        }
        let answer = ask(Ask {
            system: content_type.system_prompt(max_words),
            task: String::new(),
            shown_in_task: vec![],
            max_tokens: ops::max_tokens(max_words),
            temperature: content_type.temperature(),
            format: ResponseFormat::Text,
            request: &request,
        })?;
        let content = content_type.clean(&answer);
        if content.is_empty() {
            return Err(HandlerError::InvalidOutput("the model answered with no content".into()));
        }
        Ok(json!({ "type": content_type.name(), "content": content }).to_string())
    }
}

handler_kit::export_handler!(Generate);
