//! `extract`: pulls structured data out of the step's material as JSON. With
//! a schema (`params.schema`, a JSON Schema subset) the model is asked for a
//! value of that schema, which is checked, with one repair attempt; without
//! one it answers a free JSON object of what the instruction asks for.

use handler_kit::json::{first_value, validate};
use handler_kit::model::{Ask, ask};
use handler_kit::workflowpilot::orchestration::llm::ResponseFormat;
use handler_kit::{HandlerError, HandlerInfo, StepRequest, material, params};
use serde_json::Value;

const MAX_OUTPUT_TOKENS: u32 = 1024;
/// Extraction wants the most likely reading, not variety.
const TEMPERATURE: f32 = 0.2;
const SYSTEM: &str = "Extract the values the instruction asks for into one JSON object; null for a value the data \
     does not give. Invent nothing.";

struct Extract;

impl handler_kit::Handler for Extract {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "extract".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["extract".into()],
            description: "Extracts structured data as JSON, validated against the step's schema when it has one".into(),
            control_params: vec!["schema".into()],
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let schema = match params.get("schema") {
            None | Some(Value::Null) => None,
            Some(schema @ Value::Object(_)) => Some(schema.clone()),
            Some(other) => {
                return Err(HandlerError::InvalidInput(format!(
                    "params.schema must be a JSON Schema object, got {}",
                    params::kind(other)
                )));
            }
        };
        if material::is_empty(&request) {
            return Err(HandlerError::InvalidInput("the step has no prompt and no data: nothing to extract".into()));
        }
        let (system, format) = match &schema {
            Some(schema) => (SYSTEM.to_string(), ResponseFormat::JsonSchema(schema.to_string())),
            None => (format!("{SYSTEM} Name each value with a descriptive snake_case key."), ResponseFormat::Json),
        };
        let mut task = String::new();
        let mut last_errors = Vec::new();
        for _attempt in 0..2 {
            let answer = ask(Ask {
                system: system.clone(),
                task: task.clone(),
                shown_in_task: vec![],
                max_tokens: MAX_OUTPUT_TOKENS,
                temperature: TEMPERATURE,
                format: format.clone(),
                request: &request,
            })?;
            let errors = match first_value(&answer) {
                Ok(value) => {
                    let errors = schema.as_ref().map(|s| validate(&value, s)).unwrap_or_default();
                    if errors.is_empty() {
                        return Ok(value.to_string());
                    }
                    errors
                }
                Err(parse_error) => vec![parse_error],
            };
            task = format!(
                "Your previous answer was rejected: {}. Answer again with JSON that satisfies the schema.",
                errors.join("; ")
            );
            last_errors = errors;
        }
        Err(HandlerError::InvalidOutput(format!(
            "the model's JSON is unusable after a repair attempt: {}",
            last_errors.join("; ")
        )))
    }
}

handler_kit::export_handler!(Extract);
