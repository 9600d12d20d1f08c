//! Asking the host's `llm` import for text or JSON on the step's routed model.

use crate::workflowpilot::orchestration::llm::{self, CompletionRequest, Message, ResponseFormat, Role};
use crate::{HandlerError, StepRequest};

/// One model call's parameters.
pub struct Ask<'a> {
    /// The system prompt.
    pub system: String,
    /// The user message.
    pub user: String,
    /// Upper bound on output tokens.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// Text or JSON.
    pub format: ResponseFormat,
    /// The step being served (its memory context is appended when present).
    pub request: &'a StepRequest,
}

/// Runs the call and returns the answer text. A budget refusal or provider
/// error becomes the handler's typed `llm` error.
pub fn ask(ask: Ask<'_>) -> Result<String, HandlerError> {
    let user = with_memory(&ask.user, &ask.request.memory_context);
    let completion = llm::complete(&CompletionRequest {
        model: None,
        system: Some(ask.system),
        messages: vec![Message { role: Role::User, content: user }],
        max_tokens: ask.max_tokens,
        temperature: ask.temperature,
        response_format: ask.format,
    })
    .map_err(HandlerError::Llm)?;
    Ok(completion.text)
}

/// Appends the agent's memory context to a prompt, unless it is empty.
fn with_memory(prompt: &str, memory_json: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(memory_json) {
        Ok(serde_json::Value::Null) | Err(_) => prompt.to_string(),
        Ok(serde_json::Value::Object(m)) if m.is_empty() => prompt.to_string(),
        Ok(serde_json::Value::Array(a)) if a.is_empty() => prompt.to_string(),
        Ok(memory) => format!("{prompt}\n\nMemory from earlier runs:\n{memory}"),
    }
}
