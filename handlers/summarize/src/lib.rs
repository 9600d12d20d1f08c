//! `summarize`: condenses the step's material (its data, the outputs it
//! reads) to a target length with the model.
//! Params (settings, not data): `target_length` (words, default 120),
//! `style` (`paragraph` or `bullets`). Every other param is data to summarize.

use handler_kit::model::{Ask, ask};
use handler_kit::workflowpilot::orchestration::llm::ResponseFormat;
use handler_kit::{HandlerError, HandlerInfo, StepRequest, material, params};
use serde_json::json;

const DEFAULT_TARGET_WORDS: u32 = 120;
/// Output tokens allowed per target word: English runs ~1.3 tokens a word, plus headroom.
const TOKENS_PER_WORD: u32 = 2;

struct Summarize;

impl handler_kit::Handler for Summarize {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "summarize".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["summarize".into()],
            description: "Condenses text to a target length".into(),
            control_params: vec!["target_length".into(), "style".into()],
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        // A length or style in words it cannot read is never refused: the default length, the words as the style.
        let target = params::optional_u32(&params, "target_length").ok().flatten().unwrap_or(DEFAULT_TARGET_WORDS);
        let style = match params::optional_text(&params, "style") {
            None => "one paragraph".to_string(),
            Some(style) if style.eq_ignore_ascii_case("paragraph") => "one paragraph".to_string(),
            Some(style) if style.to_ascii_lowercase().starts_with("bullet") => "short bullet points".to_string(),
            Some(style) => style,
        };
        if material::is_empty(&request) {
            return Err(HandlerError::InvalidInput("the step has no prompt and no data: nothing to summarize".into()));
        }
        let summary = ask(Ask {
            system: format!(
                "Summarize the data as the instruction asks, in at most {target} words as {style}, keeping \
                 every name, number, date and identifier that matters. No preamble."
            ),
            task: String::new(),
            shown_in_task: vec![],
            max_tokens: target * TOKENS_PER_WORD,
            temperature: 0.5,
            format: ResponseFormat::Text,
            request: &request,
        })?;
        let summary = summary.trim();
        // Only the summary: the output travels into later steps' model calls.
        Ok(json!({ "summary": summary }).to_string())
    }
}

handler_kit::export_handler!(Summarize);
