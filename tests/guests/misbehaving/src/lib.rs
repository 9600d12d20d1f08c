//! Test guest for the reliability suite: one intent per way a handler can
//! misbehave. The host must turn each into a typed failure of that step only,
//! or refuse what the handler was not granted.

use handler_kit::wasi::http::outgoing_handler;
use handler_kit::wasi::http::types::{Fields, OutgoingRequest, Scheme};
use handler_kit::workflowpilot::orchestration::audit::{self, AuditEvent, EventType, Severity};
use handler_kit::workflowpilot::orchestration::llm::{self, CompletionRequest, Message, ResponseFormat, Role};
use handler_kit::workflowpilot::orchestration::settings;
use handler_kit::{HandlerError, HandlerInfo, StepRequest, params};
use std::hint::black_box;

struct Misbehaving;

impl handler_kit::Handler for Misbehaving {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "misbehaving".into(),
            version: "0.0.1".into(),
            intents: [
                "explode",
                "spin",
                "memory-bomb",
                "deep-recursion",
                "huge-output",
                "forbidden-http",
                "greedy-llm",
                "sleep",
                "other-model",
                "read-setting",
                "emit-event",
            ]
            .map(String::from)
            .to_vec(),
            description: "Test guest: panics, loops, hoards memory, recurses, floods, phones out, overspends, stalls"
                .into(),
            control_params: vec![],
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        match request.intent.as_str() {
            "explode" => panic!("misbehaving guest refuses step {}", request.step.id),
            "spin" => {
                let mut x = u64::from(request.token_budget);
                loop {
                    x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            "memory-bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![0xAB; 8 << 20]);
                    black_box(&hoard);
                }
            }
            "deep-recursion" => Ok(recurse(black_box(1)).to_string()),
            "huge-output" => Ok(serde_json::json!({ "blob": "x".repeat(4 << 20) }).to_string()),
            "forbidden-http" => {
                let authority = params::optional_str(&params, "authority")?.unwrap_or_else(|| "example.com".into());
                call_out(&authority)
            }
            "greedy-llm" => {
                let answer = llm::complete(&CompletionRequest {
                    model: None,
                    system: None,
                    messages: vec![Message { role: Role::User, content: "tell me everything ".repeat(2_000) }],
                    max_tokens: 100_000,
                    temperature: 0.0,
                    response_format: ResponseFormat::Text,
                })
                .map_err(HandlerError::Llm)?;
                Ok(serde_json::json!({ "text": answer.text }).to_string())
            }
            "other-model" => {
                let model = params::optional_str(&params, "model")?.unwrap_or_else(|| "claude-opus-4-5".into());
                let answer = llm::complete(&CompletionRequest {
                    model: Some(model.to_string()),
                    system: None,
                    messages: vec![Message { role: Role::User, content: "Hello".into() }],
                    max_tokens: 16,
                    temperature: 0.0,
                    response_format: ResponseFormat::Text,
                })
                .map_err(HandlerError::Llm)?;
                Ok(serde_json::json!({ "model": answer.model }).to_string())
            }
            "read-setting" => {
                let key = params::optional_str(&params, "key")?.unwrap_or_else(|| "plugin_slack_url".into());
                let all = settings::get_prefix("").len();
                Ok(serde_json::json!({ "value": settings::get(&key), "readable": all }).to_string())
            }
            "emit-event" => {
                let event_type = match params::optional_str(&params, "event")?.as_deref() {
                    Some("ORCHESTRATION_COMPLETED") | None => EventType::OrchestrationCompleted,
                    Some(own) => EventType::HandlerEvent(own.to_string()),
                };
                let emitted = audit::emit(&AuditEvent {
                    event_type,
                    severity: Severity::Critical,
                    workflow_id: request.workflow_id.clone(),
                    step_id: Some(request.step.id.clone()),
                    metadata: r#"{"tokens_used": 0, "made_up": true}"#.into(),
                });
                Ok(serde_json::json!({ "emitted": emitted.is_ok(), "refusal": emitted.err().map(|e| format!("{e:?}")) })
                    .to_string())
            }
            "sleep" => {
                let seconds = params::optional_u32(&params, "seconds")?.unwrap_or(3_600);
                std::thread::sleep(std::time::Duration::from_secs(seconds.into()));
                Ok("{}".into())
            }
            other => Err(HandlerError::InvalidInput(format!("unknown intent `{other}`"))),
        }
    }
}

// Unbounded on purpose: the host must stop it at the wasm stack limit.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 32]);
    recurse(black_box(depth + 1)) + frame[(depth % 32) as usize]
}

/// A plain GET to `authority`; the host decides whether it may leave.
fn call_out(authority: &str) -> Result<String, HandlerError> {
    let denied = |what: String| HandlerError::NotPermitted(what);
    let request = OutgoingRequest::new(Fields::new());
    request.set_scheme(Some(&Scheme::Http)).map_err(|_| denied("scheme".into()))?;
    request.set_authority(Some(authority)).map_err(|_| denied("authority".into()))?;
    request.set_path_with_query(Some("/")).map_err(|_| denied("path".into()))?;
    let response = outgoing_handler::handle(request, None).map_err(|e| denied(format!("{e:?}")))?;
    response.subscribe().block();
    match response.get() {
        Some(Ok(Ok(r))) => Ok(serde_json::json!({ "status": r.status() }).to_string()),
        Some(Ok(Err(code))) => Err(denied(format!("{code:?}"))),
        other => Err(denied(format!("no response: {other:?}"))),
    }
}

handler_kit::export_handler!(Misbehaving);
