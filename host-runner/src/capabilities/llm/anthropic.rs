//! Anthropic's Messages API (`POST /v1/messages`), with retries on 429 and 529
//! that honor `retry-after`, usage read from the response, and one bound on
//! a call's total time, retries included (the error then says `timeout`).

use super::provider::{AnswerFormat, Completion, ModelProvider, ProviderRequest, ProviderResponse};
use crate::bindings::types::ProviderError;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
const API_VERSION: &str = "2023-06-01";
const MAX_RETRIES: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// A `retry-after` longer than this is not waited for: the call fails instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Default bound on one call's total time, retries and waits included.
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Anthropic {
    client: reqwest::Client,
    base_url: String,
    api_key: String,
    total_timeout: Duration,
}

impl Anthropic {
    /// A client for `base_url` (no trailing slash needed) with the given key.
    /// The key stays in the host: guests only ever see completions.
    pub fn new(base_url: &str, api_key: String) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).build()?;
        let base_url = base_url.trim_end_matches('/').to_string();
        Ok(Anthropic { client, base_url, api_key, total_timeout: DEFAULT_TOTAL_TIMEOUT })
    }

    /// Bounds one call's total time, retries included.
    pub fn with_total_timeout(mut self, total: Duration) -> Self {
        self.total_timeout = total;
        self
    }

    /// One call within the total timeout; past it, a `timeout` error.
    async fn send(&self, request: &ProviderRequest) -> Result<ProviderResponse, ProviderError> {
        let total = self.total_timeout;
        let answer = tokio::time::timeout(total, self.send_with_retries(request)).await.unwrap_or_else(|_| {
            Err(error(
                0,
                "timeout",
                &format!("no answer from the Messages API within {} s, retries included", total.as_secs_f64()),
            ))
        });
        // Error text goes to audit rows, logs and API answers: an upstream
        // (or proxy) that echoes the request must not leak the key there.
        answer.map_err(|e| ProviderError { message: redact(&e.message, &self.api_key), ..e })
    }

    async fn send_with_retries(&self, request: &ProviderRequest) -> Result<ProviderResponse, ProviderError> {
        let body = request_body(request);
        let url = format!("{}/v1/messages", self.base_url);
        let mut attempt = 0;
        loop {
            let sent = self
                .client
                .post(&url)
                .header("x-api-key", &self.api_key)
                .header("anthropic-version", API_VERSION)
                .json(&body)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) if attempt < MAX_RETRIES && (e.is_connect() || e.is_timeout()) => {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(error(0, "connection_error", &e.to_string())),
            };
            let status = response.status().as_u16();
            let retry_after = retry_after(response.headers());
            let text = response.text().await.map_err(|e| error(status, "read_error", &e.to_string()))?;
            if status == 200 {
                return parse_message(&text, &request.format);
            }
            if matches!(status, 429 | 529) && attempt < MAX_RETRIES {
                let wait = retry_after.unwrap_or_else(|| backoff(attempt + 1));
                if wait <= MAX_RETRY_AFTER {
                    attempt += 1;
                    tracing::warn!(status, attempt, wait_ms = wait.as_millis() as u64, "anthropic asked to retry");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Err(parse_error(status, &text));
        }
    }
}

/// The tool a schema-constrained answer is forced through: the Messages API's
/// way to get JSON that follows a schema (`tool_choice` names it).
const ANSWER_TOOL: &str = "answer";
/// A schema whose root is not an object is wrapped in one under this key
/// (tool inputs are objects) and unwrapped from the answer.
const WRAPPED_KEY: &str = "value";

fn request_body(r: &ProviderRequest) -> serde_json::Value {
    let mut system = r.system.clone().unwrap_or_default();
    if r.format == AnswerFormat::Json {
        // The Messages API has no JSON mode: ask for it in the system prompt.
        if !system.is_empty() {
            system.push_str("\n\n");
        }
        system.push_str("Respond with a single JSON value and nothing else: no prose, no code fences.");
    }
    let messages: Vec<_> = r.messages.iter().map(|(role, text)| json!({ "role": role, "content": text })).collect();
    let mut body = json!({
        "model": r.model,
        "max_tokens": r.max_tokens,
        "temperature": r.temperature,
        "messages": messages,
    });
    if !system.is_empty() {
        body["system"] = json!(system);
    }
    if let AnswerFormat::Schema(schema) = &r.format {
        let input_schema = if is_object_schema(schema) {
            schema.clone()
        } else {
            json!({ "type": "object", "properties": { WRAPPED_KEY: schema }, "required": [WRAPPED_KEY] })
        };
        body["tools"] = json!([{
            "name": ANSWER_TOOL,
            "description": "Give the answer as a value of this schema.",
            "input_schema": input_schema,
        }]);
        body["tool_choice"] = json!({ "type": "tool", "name": ANSWER_TOOL });
    }
    body
}

fn is_object_schema(schema: &serde_json::Value) -> bool {
    schema.get("type").and_then(|t| t.as_str()) == Some("object")
}

fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF * 2u32.pow(attempt.saturating_sub(1))
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    value.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
}

#[derive(Deserialize)]
struct Message {
    content: Vec<ContentBlock>,
    model: String,
    stop_reason: Option<String>,
    usage: Usage,
}

#[derive(Deserialize)]
struct ContentBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
    /// A `tool_use` block's arguments: the schema-constrained answer.
    #[serde(default)]
    input: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Usage {
    input_tokens: u32,
    output_tokens: u32,
    #[serde(default)]
    cache_creation_input_tokens: Option<u32>,
    #[serde(default)]
    cache_read_input_tokens: Option<u32>,
}

fn parse_message(body: &str, format: &AnswerFormat) -> Result<ProviderResponse, ProviderError> {
    let message: Message = serde_json::from_str(body)
        .map_err(|e| error(200, "invalid_response", &format!("unexpected Messages API response: {e}")))?;
    let text = match format {
        AnswerFormat::Schema(schema) => {
            let input =
                message.content.iter().find(|b| b.kind == "tool_use").and_then(|b| b.input.clone()).ok_or_else(
                    || error(200, "invalid_response", "a schema-constrained answer came without its tool_use block"),
                )?;
            let value = if is_object_schema(schema) { input } else { input.get(WRAPPED_KEY).cloned().unwrap_or(input) };
            value.to_string()
        }
        _ => message.content.iter().filter(|b| b.kind == "text").map(|b| b.text.as_str()).collect::<String>(),
    };
    let u = &message.usage;
    Ok(ProviderResponse {
        text,
        model: message.model,
        // Saturating: a hostile or broken upstream's counts must not wrap to small numbers.
        input_tokens: u
            .input_tokens
            .saturating_add(u.cache_creation_input_tokens.unwrap_or(0))
            .saturating_add(u.cache_read_input_tokens.unwrap_or(0)),
        output_tokens: u.output_tokens,
        stop_reason: message.stop_reason.unwrap_or_else(|| "unknown".into()),
    })
}

fn parse_error(status: u16, body: &str) -> ProviderError {
    #[derive(Deserialize)]
    struct Envelope {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        #[serde(rename = "type")]
        kind: String,
        message: String,
    }
    match serde_json::from_str::<Envelope>(body) {
        Ok(e) => error(status, &e.error.kind, &e.error.message),
        Err(_) => error(status, "http_error", body.chars().take(500).collect::<String>().as_str()),
    }
}

/// `text` with every occurrence of `secret` replaced (keys shorter than 8
/// characters are test values, and replacing them would mangle the text).
fn redact(text: &str, secret: &str) -> String {
    let secret = secret.trim();
    if secret.len() < 8 { text.to_string() } else { text.replace(secret, "[redacted]") }
}

fn error(status: u16, kind: &str, message: &str) -> ProviderError {
    ProviderError { status, kind: kind.to_string(), message: message.to_string() }
}

impl ModelProvider for Anthropic {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn complete<'a>(&'a self, request: &'a ProviderRequest) -> Completion<'a> {
        Box::pin(self.send(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_carry_the_key() {
        let key = "sk-ant-api03-SECRETSECRET";
        let echoed = format!("invalid request: header x-api-key: {key} rejected");
        assert_eq!(redact(&echoed, key), "invalid request: header x-api-key: [redacted] rejected");
        assert_eq!(redact("short key x", "x"), "short key x");
    }

    #[test]
    fn body_follows_the_messages_api() {
        let body = request_body(&ProviderRequest {
            model: "claude-haiku-4-5".into(),
            system: Some("Be brief.".into()),
            messages: vec![("user", "Hi".into())],
            max_tokens: 64,
            temperature: 0.2,
            format: AnswerFormat::Json,
        });
        assert_eq!(body["model"], "claude-haiku-4-5");
        assert_eq!(body["max_tokens"], 64);
        assert_eq!(body["messages"][0], json!({"role": "user", "content": "Hi"}));
        assert!(body["system"].as_str().unwrap().starts_with("Be brief.\n\nRespond with a single JSON value"));
    }

    #[test]
    fn parses_messages_and_errors() {
        let ok = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5",
            "content":[{"type":"text","text":"Hello"},{"type":"text","text":" there"}],
            "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":3}}"#;
        let m = parse_message(ok, &AnswerFormat::Text).unwrap();
        assert_eq!((m.text.as_str(), m.input_tokens, m.output_tokens), ("Hello there", 12, 3));
        let e = parse_error(
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}"#,
        );
        assert_eq!((e.status, e.kind.as_str()), (400, "invalid_request_error"));
        assert_eq!(parse_error(502, "<html>bad gateway</html>").kind, "http_error");
    }

    #[test]
    fn a_schema_is_asked_for_through_a_forced_tool_and_read_from_its_input() {
        let schema =
            json!({"type": "object", "properties": {"label": {"enum": ["low", "high"]}}, "required": ["label"]});
        let request = |schema: &serde_json::Value| ProviderRequest {
            model: "claude-haiku-4-5".into(),
            system: None,
            messages: vec![("user", "Rate it".into())],
            max_tokens: 64,
            temperature: 0.0,
            format: AnswerFormat::Schema(schema.clone()),
        };
        let body = request_body(&request(&schema));
        assert_eq!(body["tools"][0]["input_schema"], schema);
        assert_eq!(body["tool_choice"], json!({"type": "tool", "name": "answer"}));
        assert!(body.get("system").is_none());
        let answer = r#"{"id":"msg_2","type":"message","role":"assistant","model":"claude-haiku-4-5",
            "content":[{"type":"tool_use","id":"toolu_1","name":"answer","input":{"label":"high"}}],
            "stop_reason":"tool_use","usage":{"input_tokens":30,"output_tokens":9}}"#;
        assert_eq!(parse_message(answer, &AnswerFormat::Schema(schema.clone())).unwrap().text, r#"{"label":"high"}"#);
        assert_eq!(
            parse_message(answer.replace("tool_use", "text").as_str(), &AnswerFormat::Schema(schema)).unwrap_err().kind,
            "invalid_response"
        );
        // A non-object schema travels wrapped and comes back unwrapped.
        let list = json!({"type": "array", "items": {"type": "string"}});
        assert_eq!(request_body(&request(&list))["tools"][0]["input_schema"]["properties"]["value"], list);
        let wrapped = answer.replace(r#"{"label":"high"}"#, r#"{"value":["a","b"]}"#);
        assert_eq!(parse_message(&wrapped, &AnswerFormat::Schema(list)).unwrap().text, r#"["a","b"]"#);
    }
}
