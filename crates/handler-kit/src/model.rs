//! Asking the host's `llm` import for text or JSON on the step's routed model.
//! Every call carries the step's whole material: a handler cannot leave the
//! step's data behind.

use crate::workflowpilot::orchestration::llm::{self, CompletionRequest, Message, ResponseFormat, Role};
use crate::{HandlerError, StepRequest, material};
use serde_json::Value;

/// One model call's parameters.
pub struct Ask<'a> {
    /// The system prompt: the handler's role and output shape.
    pub system: String,
    /// The handler's own words after the material (the question, the items
    /// with their indices, a repair request); empty when the material says it all.
    pub task: String,
    /// Material pieces the task renders itself (items it numbers): left out
    /// of the material so they are not sent twice.
    pub shown_in_task: Vec<String>,
    /// Upper bound on output tokens.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// Text, JSON, or JSON of a schema.
    pub format: ResponseFormat,
    /// The step being served: its material opens the user message.
    pub request: &'a StepRequest,
}

impl<'a> Ask<'a> {
    /// A deterministic call whose answer must be a value of `schema`.
    pub fn structured(request: &'a StepRequest, system: String, schema: &Value, task: String, max_tokens: u32) -> Self {
        Ask {
            system,
            task,
            shown_in_task: vec![],
            max_tokens,
            temperature: 0.0,
            format: ResponseFormat::JsonSchema(schema.to_string()),
            request,
        }
    }
}

impl<'a> Ask<'a> {
    /// A deterministic call whose answer must be one JSON value, whatever its shape.
    pub fn json(request: &'a StepRequest, system: &str, task: String, max_tokens: u32) -> Self {
        Ask {
            format: ResponseFormat::Json,
            ..Ask::structured(request, system.to_string(), &Value::Null, task, max_tokens)
        }
    }
}

/// The task that hands over data the params hold under the handler's own
/// key (a control param, so not in the material): `Data:` and its text.
pub fn data_task(data: Option<&Value>) -> String {
    match data {
        Some(Value::String(text)) => format!("Data:\n{text}"),
        Some(other) => format!("Data:\n{other}"),
        None => String::new(),
    }
}

/// Runs the call and returns the answer text. A budget refusal or provider
/// error becomes the handler's typed `llm` error.
pub fn ask(ask: Ask<'_>) -> Result<String, HandlerError> {
    let completion = llm::complete(&CompletionRequest {
        model: None,
        system: Some(ask.system),
        messages: vec![Message { role: Role::User, content: user_message(ask.request, &ask.task, &ask.shown_in_task) }],
        max_tokens: ask.max_tokens,
        temperature: ask.temperature,
        response_format: ask.format,
    })
    .map_err(HandlerError::Llm)?;
    Ok(completion.text)
}

/// Runs the call and reads the JSON object or array of its answer; an
/// answer without one is the handler's `invalid-output`.
pub fn ask_json(ask: Ask<'_>) -> Result<Value, HandlerError> {
    crate::json::first_value(&self::ask(ask)?).map_err(HandlerError::InvalidOutput)
}

/// The material, then the handler's task.
pub fn user_message(request: &StepRequest, task: &str, shown_in_task: &[String]) -> String {
    let material = material::render(request, shown_in_task);
    match (material.is_empty(), task.trim().is_empty()) {
        (_, true) => material,
        (true, false) => task.trim().to_string(),
        (false, false) => format!("{material}\n\n{}", task.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::request_with;
    use crate::workflowpilot::orchestration::types::{MaterialFormat, MaterialSource};

    #[test]
    fn the_material_opens_every_message() {
        let request = request_with(&[
            ("prompt", MaterialSource::Prompt, MaterialFormat::Text, "Is it urgent?"),
            ("ticket", MaterialSource::Param, MaterialFormat::Text, "Site down since 09:14 (INC-7731)."),
        ]);
        let message = user_message(&request, "Answer yes or no.", &[]);
        assert!(message.starts_with("Is it urgent?\n\n<params>"));
        assert!(message.contains("INC-7731"));
        assert!(message.ends_with("</params>\n\nAnswer yes or no."));
        assert_eq!(user_message(&request, " ", &[]), material::render(&request, &[]));
        assert_eq!(user_message(&request_with(&[]), "Only this.", &[]), "Only this.");
    }
}
