//! OpenAI-compatible Chat Completions (`POST {base}/chat/completions`): the
//! OpenAI API itself, and what speaks its wire format (Ollama, vLLM,
//! llama.cpp's server, a LiteLLM proxy). JSON answers use `response_format`
//! (`json_object`, or `json_schema` for a schema); usage is read from the
//! response. Retries (408, 409, 429, 5xx), the bound on a call's total time and
//! key redaction come from [`http_api`](super::http_api).

use super::http_api::{
    Endpoint, HttpProvider, WireFormat, error, object_schema, system_asking_for_json, unwrap_answer,
};
use super::provider::{AnswerFormat, CachedTokens, ProviderRequest, ProviderResponse};
use crate::bindings::types::ProviderError;
use serde::Deserialize;
use serde_json::json;

/// The base URL carries the API version, as `OPENAI_BASE_URL` does
/// (`http://localhost:11434/v1` for Ollama).
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The name a schema-constrained answer is asked under.
const SCHEMA_NAME: &str = "answer";

/// The Chat Completions wire format.
pub struct ChatCompletions;

pub type OpenAi = HttpProvider<ChatCompletions>;

impl OpenAi {
    /// A client for `base_url`; `api_key` may be empty (local servers take none).
    pub fn new(base_url: &str, api_key: String) -> Result<Self, reqwest::Error> {
        let url = format!("{}/chat/completions", base_url.trim_end_matches('/'));
        let headers =
            if api_key.trim().is_empty() { vec![] } else { vec![("authorization", format!("Bearer {api_key}"))] };
        Ok(HttpProvider::from_endpoint(Endpoint::new("the Chat Completions API", url, headers, api_key)?))
    }
}

impl WireFormat for ChatCompletions {
    const PROVIDER: &'static str = "openai";

    fn body(request: &ProviderRequest) -> serde_json::Value {
        request_body(request)
    }

    fn parse(body: &str, format: &AnswerFormat) -> Result<ProviderResponse, ProviderError> {
        parse_completion(body, format)
    }
}

fn request_body(r: &ProviderRequest) -> serde_json::Value {
    // JSON mode requires the word JSON in the messages; a schema answer is told too.
    let system = match r.format {
        AnswerFormat::Text => r.system.clone().filter(|s| !s.is_empty()),
        _ => Some(system_asking_for_json(r.system.as_deref())),
    };
    let mut messages: Vec<serde_json::Value> =
        system.map(|s| json!({ "role": "system", "content": s })).into_iter().collect();
    messages.extend(r.messages.iter().map(|(role, text)| json!({ "role": role, "content": text })));
    let mut body = json!({
        "model": r.model,
        "max_tokens": r.max_tokens,
        "temperature": r.temperature,
        "messages": messages,
    });
    match &r.format {
        AnswerFormat::Text => {}
        AnswerFormat::Json => body["response_format"] = json!({ "type": "json_object" }),
        AnswerFormat::Schema(schema) => {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": { "name": SCHEMA_NAME, "schema": object_schema(schema) },
            })
        }
    }
    body
}

#[derive(Deserialize)]
struct ChatCompletion {
    model: String,
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    /// Set instead of `content` when the model declines a schema request.
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: u32,
    completion_tokens: u32,
    /// `cached_tokens`: of the prompt tokens, those served from the prompt cache.
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: u32,
}

fn parse_completion(body: &str, format: &AnswerFormat) -> Result<ProviderResponse, ProviderError> {
    let completion: ChatCompletion = serde_json::from_str(body)
        .map_err(|e| error(200, "invalid_response", &format!("unexpected Chat Completions response: {e}")))?;
    let choice = completion
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| error(200, "invalid_response", "a Chat Completions response without choices"))?;
    if let Some(refusal) = choice.message.refusal.filter(|r| !r.is_empty()) {
        return Err(error(200, "refusal", &refusal));
    }
    let content = choice.message.content.unwrap_or_default();
    let text = match format {
        // An answer that is not JSON is the model's unusable answer, not a
        // provider failure: handed on as it came, the handler refuses it as
        // invalid output, and the step is retried a tier up.
        AnswerFormat::Schema(schema) => match serde_json::from_str(content.trim()) {
            Ok(value) => unwrap_answer(schema, value).to_string(),
            Err(_) => content,
        },
        _ => content,
    };
    // Servers that do not report usage (some local ones) are billed as zero:
    // the host's own count of the prompt still admits the call against budgets.
    let usage =
        completion.usage.unwrap_or(Usage { prompt_tokens: 0, completion_tokens: 0, prompt_tokens_details: None });
    Ok(ProviderResponse {
        text,
        model: completion.model,
        input_tokens: usage.prompt_tokens,
        output_tokens: usage.completion_tokens,
        cached: CachedTokens { read: usage.prompt_tokens_details.map_or(0, |d| d.cached_tokens), written: 0 },
        stop_reason: choice.finish_reason.unwrap_or_else(|| "unknown".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(format: AnswerFormat) -> ProviderRequest {
        ProviderRequest {
            model: "llama3.1:8b".into(),
            system: Some("Be brief.".into()),
            messages: vec![("user", "Hi".into())],
            max_tokens: 64,
            temperature: 0.2,
            format,
        }
    }

    #[test]
    fn body_follows_chat_completions() {
        let body = request_body(&request(AnswerFormat::Text));
        assert_eq!(body["model"], "llama3.1:8b");
        assert_eq!(body["messages"][0], json!({"role": "system", "content": "Be brief."}));
        assert_eq!(body["messages"][1], json!({"role": "user", "content": "Hi"}));
        assert!(body.get("response_format").is_none());
        let json_mode = request_body(&request(AnswerFormat::Json));
        assert_eq!(json_mode["response_format"], json!({"type": "json_object"}));
        assert!(json_mode["messages"][0]["content"].as_str().unwrap().contains("JSON"), "JSON mode needs the word");
        let list = json!({"type": "array", "items": {"type": "string"}});
        let schema = request_body(&request(AnswerFormat::Schema(list.clone())));
        assert_eq!(schema["response_format"]["type"], "json_schema");
        assert_eq!(schema["response_format"]["json_schema"]["schema"]["properties"]["value"], list);
    }

    #[test]
    fn parses_completions_refusals_and_errors() {
        let ok = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",
            "choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#;
        let m = parse_completion(ok, &AnswerFormat::Text).unwrap();
        assert_eq!(
            (m.text.as_str(), m.input_tokens, m.output_tokens, m.stop_reason.as_str()),
            ("Hello", 12, 3, "stop")
        );
        let wrapped = ok.replace(r#""content":"Hello""#, r#""content":"{\"value\":[\"a\"]}""#);
        let list = json!({"type": "array"});
        assert_eq!(parse_completion(&wrapped, &AnswerFormat::Schema(list.clone())).unwrap().text, r#"["a"]"#);
        assert_eq!(
            parse_completion(ok, &AnswerFormat::Schema(list)).unwrap().text,
            "Hello",
            "an answer that is not JSON is the model's, handed on for the handler to refuse"
        );
        let cached =
            ok.replace(r#""total_tokens":15}"#, r#""total_tokens":15,"prompt_tokens_details":{"cached_tokens":8}}"#);
        let m = parse_completion(&cached, &AnswerFormat::Text).unwrap();
        assert_eq!(
            (m.input_tokens, m.cached.read, m.cached.written),
            (12, 8, 0),
            "cached tokens are part of the prompt's"
        );
        let refused = ok.replace(r#""content":"Hello""#, r#""content":null,"refusal":"I can't help with that""#);
        assert_eq!(parse_completion(&refused, &AnswerFormat::Json).unwrap_err().kind, "refusal");
        let e = ChatCompletions::parse_error(
            400,
            r#"{"error":{"message":"bad max_tokens","type":"invalid_request_error","code":null}}"#,
        );
        assert_eq!((e.status, e.kind.as_str(), e.message.as_str()), (400, "invalid_request_error", "bad max_tokens"));
        assert_eq!(
            ChatCompletions::parse_error(404, r#"{"error":{"message":"no model","code":"model_not_found"}}"#).kind,
            "model_not_found"
        );
        assert_eq!(ChatCompletions::parse_error(502, "<html>bad gateway</html>").kind, "http_error");
    }
}
