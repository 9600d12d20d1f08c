//! What every HTTP model API call shares, whatever its wire format: retries
//! on the same transient statuses for every provider (408, 409, 429 and
//! every 5xx, Anthropic's 529 included, as Anthropic's and OpenAI's own
//! clients retry them), with exponential backoff and jitter, honoring
//! `retry-after`; one
//! bound on a call's total time (retries and waits included; the error then
//! says `timeout`), and the API key redacted from every error text, which
//! goes to audit rows, logs and HTTP answers.

use super::provider::{AnswerFormat, Completion, ModelProvider, ProviderRequest, ProviderResponse};
use crate::bindings::types::ProviderError;
use serde::Deserialize;
use std::marker::PhantomData;
use std::time::Duration;

const MAX_RETRIES: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// A `retry-after` longer than this is not waited for: the call fails instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Default bound on one call's total time, retries and waits included.
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(120);

/// One JSON API endpoint of a provider.
pub struct Endpoint {
    client: reqwest::Client,
    /// The API's name in error texts ("the Messages API").
    api: &'static str,
    url: String,
    headers: Vec<(&'static str, String)>,
    secret: String,
    total_timeout: Duration,
}

impl Endpoint {
    /// `secret` is redacted from every error; `headers` go with every request.
    pub fn new(
        api: &'static str,
        url: String,
        headers: Vec<(&'static str, String)>,
        secret: String,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).build()?;
        Ok(Endpoint { client, api, url, headers, secret, total_timeout: DEFAULT_TOTAL_TIMEOUT })
    }

    /// Bounds one call's total time, retries included.
    pub fn with_total_timeout(mut self, total: Duration) -> Self {
        self.total_timeout = total;
        self
    }

    /// POSTs `body` and hands a 200's body to `parse`; any other answer to
    /// `parse_error` (status, body), after the retries.
    pub async fn post<T>(
        &self,
        body: &serde_json::Value,
        parse: impl Fn(&str) -> Result<T, ProviderError>,
        parse_error: impl Fn(u16, &str) -> ProviderError,
    ) -> Result<T, ProviderError> {
        let total = self.total_timeout;
        let answer = tokio::time::timeout(total, self.post_with_retries(body, parse, parse_error)).await;
        let answer = answer.unwrap_or_else(|_| {
            Err(error(
                0,
                "timeout",
                &format!("no answer from {} within {} s, retries included", self.api, total.as_secs_f64()),
            ))
        });
        // An upstream (or proxy) that echoes the request must not leak the key.
        answer.map_err(|e| ProviderError { message: redact(&e.message, &self.secret), ..e })
    }

    async fn post_with_retries<T>(
        &self,
        body: &serde_json::Value,
        parse: impl Fn(&str) -> Result<T, ProviderError>,
        parse_error: impl Fn(u16, &str) -> ProviderError,
    ) -> Result<T, ProviderError> {
        let mut attempt = 0;
        loop {
            let mut request = self.client.post(&self.url).json(body);
            for (name, value) in &self.headers {
                request = request.header(*name, value);
            }
            let response = match request.send().await {
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
                return parse(&text);
            }
            if transient(status) && attempt < MAX_RETRIES {
                let wait = retry_after.unwrap_or_else(|| backoff(attempt + 1));
                if wait <= MAX_RETRY_AFTER {
                    attempt += 1;
                    tracing::warn!(api = self.api, status, attempt, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Err(parse_error(status, &text));
        }
    }
}

/// One provider's wire format: how a request is written and an answer read.
pub trait WireFormat: Send + Sync + 'static {
    /// The provider's name in reports and usage rows.
    const PROVIDER: &'static str;
    fn body(request: &ProviderRequest) -> serde_json::Value;
    /// A 200's body.
    fn parse(body: &str, format: &AnswerFormat) -> Result<ProviderResponse, ProviderError>;
    /// Any other answer's body: the error envelope both APIs share, by default.
    fn parse_error(status: u16, body: &str) -> ProviderError {
        parse_error_envelope(status, body)
    }
}

/// A model provider over HTTP: an endpoint speaking wire format `W`.
pub struct HttpProvider<W> {
    endpoint: Endpoint,
    wire: PhantomData<W>,
}

impl<W: WireFormat> HttpProvider<W> {
    pub fn from_endpoint(endpoint: Endpoint) -> Self {
        HttpProvider { endpoint, wire: PhantomData }
    }

    /// Bounds one call's total time, retries included.
    pub fn with_total_timeout(self, total: Duration) -> Self {
        HttpProvider::from_endpoint(self.endpoint.with_total_timeout(total))
    }
}

impl<W: WireFormat> ModelProvider for HttpProvider<W> {
    fn name(&self) -> &'static str {
        W::PROVIDER
    }

    fn complete<'a>(&'a self, request: &'a ProviderRequest) -> Completion<'a> {
        Box::pin(async move {
            let body = W::body(request);
            self.endpoint.post(&body, |text| W::parse(text, &request.format), W::parse_error).await
        })
    }
}

/// An error answer: the `{"error": {"type", "message"}}` envelope both the
/// Messages API and Chat Completions use (Chat Completions may give a `code`
/// instead of a `type`); any other body (a proxy's HTML page) is quoted from
/// its start.
pub fn parse_error_envelope(status: u16, body: &str) -> ProviderError {
    #[derive(Deserialize)]
    struct Envelope {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        message: String,
        #[serde(rename = "type", default)]
        kind: Option<String>,
        #[serde(default)]
        code: Option<serde_json::Value>,
    }
    match serde_json::from_str::<Envelope>(body) {
        Ok(e) => {
            let code = e.error.code.as_ref().and_then(|c| c.as_str().map(str::to_string));
            let kind = e.error.kind.filter(|k| !k.is_empty()).or(code).unwrap_or_else(|| "api_error".into());
            error(status, &kind, &e.error.message)
        }
        Err(_) => error(status, "http_error", &body.chars().take(500).collect::<String>()),
    }
}

/// Statuses worth another attempt, for every provider: a request timeout,
/// a conflict, rate limiting, and any server error (529: overloaded).
fn transient(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || (500..600).contains(&status)
}

/// The wait before attempt `attempt + 1`: doubling from [`FIRST_BACKOFF`],
/// with jitter (between half and all of it) so clients that failed together
/// do not retry together.
fn backoff(attempt: u32) -> Duration {
    let full = FIRST_BACKOFF * 2u32.pow(attempt.saturating_sub(1));
    full.mul_f64(0.5 + fastrand::f64() / 2.0)
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    value.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
}

/// `text` with every occurrence of `secret` replaced (keys shorter than 8
/// characters are test values, and replacing them would mangle the text).
fn redact(text: &str, secret: &str) -> String {
    let secret = secret.trim();
    if secret.len() < 8 { text.to_string() } else { text.replace(secret, "[redacted]") }
}

pub fn error(status: u16, kind: &str, message: &str) -> ProviderError {
    ProviderError { status, kind: kind.to_string(), message: message.to_string() }
}

/// The system prompt with the instruction a JSON answer needs where the API
/// has no way (or no reliable way) to force one.
pub fn system_asking_for_json(system: Option<&str>) -> String {
    let mut system = system.unwrap_or_default().to_string();
    if !system.is_empty() {
        system.push_str("\n\n");
    }
    system.push_str("Respond with a single JSON value and nothing else: no prose, no code fences.");
    system
}

/// A schema whose root is not an object travels wrapped in one under this
/// key (tool inputs and strict JSON schemas are objects) and is unwrapped
/// from the answer.
pub const WRAPPED_KEY: &str = "value";

pub fn is_object_schema(schema: &serde_json::Value) -> bool {
    schema.get("type").and_then(|t| t.as_str()) == Some("object")
}

/// The schema as sent: objects as they are, anything else wrapped.
pub fn object_schema(schema: &serde_json::Value) -> serde_json::Value {
    if is_object_schema(schema) {
        schema.clone()
    } else {
        serde_json::json!({ "type": "object", "properties": { WRAPPED_KEY: schema }, "required": [WRAPPED_KEY] })
    }
}

/// The answer to a schema request, unwrapped when the schema was wrapped.
pub fn unwrap_answer(schema: &serde_json::Value, answer: serde_json::Value) -> serde_json::Value {
    if is_object_schema(schema) { answer } else { answer.get(WRAPPED_KEY).cloned().unwrap_or(answer) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_transient_set_for_every_provider() {
        for status in [408, 409, 429, 500, 502, 503, 504, 529] {
            assert!(super::transient(status), "{status}");
        }
        for status in [400, 401, 403, 404, 413, 422] {
            assert!(!super::transient(status), "{status}");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_below_it() {
        for attempt in 1..=3 {
            let full = super::FIRST_BACKOFF * 2u32.pow(attempt - 1);
            let wait = super::backoff(attempt);
            assert!(wait >= full / 2 && wait <= full, "{attempt}: {wait:?}");
        }
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn errors_never_carry_the_key() {
        let key = "sk-ant-api03-SECRETSECRET";
        let echoed = format!("invalid request: header x-api-key: {key} rejected");
        assert_eq!(redact(&echoed, key), "invalid request: header x-api-key: [redacted] rejected");
        assert_eq!(redact("short key x", "x"), "short key x");
    }

    #[test]
    fn non_object_schemas_travel_wrapped() {
        let list = json!({"type": "array", "items": {"type": "string"}});
        assert_eq!(object_schema(&list)["properties"]["value"], list);
        assert_eq!(unwrap_answer(&list, json!({"value": ["a"]})), json!(["a"]));
        let object = json!({"type": "object"});
        assert_eq!(object_schema(&object), object);
        assert_eq!(unwrap_answer(&object, json!({"value": 1})), json!({"value": 1}));
    }
}
