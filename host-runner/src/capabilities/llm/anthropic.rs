//! Anthropic's Messages API (`POST /v1/messages`): its wire format, usage
//! read from the response; retries (408, 409, 429, 5xx), the bound on a call's
//! total time and key redaction come from [`http_api`](super::http_api).

use super::http_api::{
    Endpoint, HttpProvider, WireFormat, error, object_schema, system_asking_for_json, unwrap_answer,
};
use super::provider::{AnswerFormat, CachedTokens, ProviderRequest, ProviderResponse};
use crate::bindings::types::ProviderError;
use serde::Deserialize;
use serde_json::json;

pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
const API_VERSION: &str = "2023-06-01";

/// The Messages API's wire format.
pub struct MessagesApi;

pub type Anthropic = HttpProvider<MessagesApi>;

impl Anthropic {
    /// A client for `base_url` (no trailing slash needed) with the given key.
    /// The key stays in the host: guests only ever see completions.
    pub fn new(base_url: &str, api_key: String) -> Result<Self, reqwest::Error> {
        let url = format!("{}/v1/messages", base_url.trim_end_matches('/'));
        let headers = vec![("x-api-key", api_key.clone()), ("anthropic-version", API_VERSION.to_string())];
        Ok(HttpProvider::from_endpoint(Endpoint::new("the Messages API", url, headers, api_key)?))
    }
}

impl WireFormat for MessagesApi {
    const PROVIDER: &'static str = "anthropic";

    fn body(request: &ProviderRequest) -> serde_json::Value {
        request_body(request)
    }

    fn parse(body: &str, format: &AnswerFormat) -> Result<ProviderResponse, ProviderError> {
        parse_message(body, format)
    }
}

/// The tool a schema-constrained answer is forced through: the Messages API's
/// way to get JSON that follows a schema (`tool_choice` names it).
const ANSWER_TOOL: &str = "answer";

fn request_body(r: &ProviderRequest) -> serde_json::Value {
    // The Messages API has no JSON mode: JSON is asked for in the system prompt.
    let system = match r.format {
        AnswerFormat::Json => Some(system_asking_for_json(r.system.as_deref())),
        _ => r.system.clone().filter(|s| !s.is_empty()),
    };
    let messages: Vec<_> = r.messages.iter().map(|(role, text)| json!({ "role": role, "content": text })).collect();
    let mut body = json!({
        "model": r.model,
        "max_tokens": r.max_tokens,
        "temperature": r.temperature,
        "messages": messages,
    });
    if let Some(system) = system {
        body["system"] = json!(system);
    }
    if let AnswerFormat::Schema(schema) = &r.format {
        body["tools"] = json!([{
            "name": ANSWER_TOOL,
            "description": "Give the answer as a value of this schema.",
            "input_schema": object_schema(schema),
        }]);
        body["tool_choice"] = json!({ "type": "tool", "name": ANSWER_TOOL });
    }
    body
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
    let prose = || message.content.iter().filter(|b| b.kind == "text").map(|b| b.text.as_str()).collect::<String>();
    let text = match format {
        // A model that answered in prose instead of through the tool gave an
        // unusable answer, not a provider failure: handed on as it came, the
        // handler refuses it as invalid output, and the step is retried a tier up.
        AnswerFormat::Schema(schema) => match message.content.iter().find(|b| b.kind == "tool_use") {
            Some(ContentBlock { input: Some(input), .. }) => unwrap_answer(schema, input.clone()).to_string(),
            _ => prose(),
        },
        _ => prose(),
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
        cached: CachedTokens {
            read: u.cache_read_input_tokens.unwrap_or(0),
            written: u.cache_creation_input_tokens.unwrap_or(0),
        },
        stop_reason: message.stop_reason.unwrap_or_else(|| "unknown".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let e = MessagesApi::parse_error(
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}"#,
        );
        assert_eq!((e.status, e.kind.as_str()), (400, "invalid_request_error"));
        assert_eq!(MessagesApi::parse_error(502, "<html>bad gateway</html>").kind, "http_error");
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
        let prose = answer.replace(
            r#"{"type":"tool_use","id":"toolu_1","name":"answer","input":{"label":"high"}}"#,
            r#"{"type":"text","text":"I would say high."}"#,
        );
        assert_eq!(
            parse_message(&prose, &AnswerFormat::Schema(schema)).unwrap().text,
            "I would say high.",
            "prose instead of the tool is the model's unusable answer, handed on for the handler to refuse"
        );
        // A non-object schema travels wrapped and comes back unwrapped.
        let list = json!({"type": "array", "items": {"type": "string"}});
        assert_eq!(request_body(&request(&list))["tools"][0]["input_schema"]["properties"]["value"], list);
        let wrapped = answer.replace(r#"{"label":"high"}"#, r#"{"value":["a","b"]}"#);
        assert_eq!(parse_message(&wrapped, &AnswerFormat::Schema(list)).unwrap().text, r#"["a","b"]"#);
    }
}
