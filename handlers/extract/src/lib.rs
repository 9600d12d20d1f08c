//! `extract`: pulls structured data out of text as JSON validated against the
//! step's schema (`params.schema`, a JSON Schema subset). One repair attempt
//! is made when the model's first answer does not validate.

use handler_kit::json::{first_value, validate};
use handler_kit::model::{ask, Ask};
use handler_kit::workflowpilot::orchestration::llm::ResponseFormat;
use handler_kit::{params, HandlerError, HandlerInfo, StepRequest};
use serde_json::Value;

const MAX_OUTPUT_TOKENS: u32 = 1024;
/// Extraction wants the most likely reading, not variety.
const TEMPERATURE: f32 = 0.2;

struct Extract;

impl handler_kit::Handler for Extract {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "extract".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["extract".into()],
            description: "Extracts structured data as JSON validated against the step's schema".into(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let schema = match params.get("schema") {
            Some(schema @ Value::Object(_)) => schema.clone(),
            Some(other) => {
                return Err(HandlerError::InvalidInput(format!(
                    "params.schema must be a JSON Schema object, got {}",
                    params::kind(other)
                )))
            }
            None => return Err(HandlerError::InvalidInput("params.schema is required for extract".into())),
        };
        let system = format!(
            "You extract data for an automated workflow. Answer with one JSON object and nothing else. \
             Use null for a value the text does not give; never invent one.\nJSON Schema:\n{schema}"
        );
        let mut user = request.step.prompt.clone();
        let mut last_errors = Vec::new();
        for _attempt in 0..2 {
            let answer = ask(Ask {
                system: system.clone(),
                user: user.clone(),
                max_tokens: MAX_OUTPUT_TOKENS,
                temperature: TEMPERATURE,
                format: ResponseFormat::Json,
                request: &request,
            })?;
            let errors = match first_value(&answer) {
                Ok(value) => {
                    let errors = validate(&value, &schema);
                    if errors.is_empty() {
                        return Ok(value.to_string());
                    }
                    errors
                }
                Err(parse_error) => vec![parse_error],
            };
            user = format!(
                "{}\n\nYour previous answer was rejected: {}. Answer again with JSON that satisfies the schema.",
                request.step.prompt,
                errors.join("; ")
            );
            last_errors = errors;
        }
        Err(HandlerError::InvalidOutput(format!(
            "the model's JSON does not satisfy the schema after a repair attempt: {}",
            last_errors.join("; ")
        )))
    }
}

handler_kit::export_handler!(Extract);
