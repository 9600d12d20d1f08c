//! A loopback server speaking Anthropic's Messages API wire format: scripted
//! responses (status, headers, body) served in order, requests recorded.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// One scripted answer.
#[derive(Clone)]
pub struct Scripted {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl Scripted {
    /// A successful message with the given text and usage.
    pub fn message(text: &str, input_tokens: u32, output_tokens: u32) -> Scripted {
        Scripted {
            status: 200,
            headers: vec![],
            body: json!({
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}
            }),
        }
    }

    /// A forced tool call's answer: how a schema-constrained answer arrives.
    pub fn tool(input: Value, input_tokens: u32, output_tokens: u32) -> Scripted {
        let mut scripted = Scripted::message("", input_tokens, output_tokens);
        scripted.body["content"] =
            json!([{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "answer", "input": input}]);
        scripted.body["stop_reason"] = json!("tool_use");
        scripted
    }

    /// An error in the API's envelope.
    pub fn error(status: u16, kind: &str, message: &str) -> Scripted {
        Scripted {
            status,
            headers: vec![],
            body: json!({"type": "error", "error": {"type": kind, "message": message}}),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Scripted {
        self.headers.push((name, value.to_string()));
        self
    }
}

/// A request the mock received: headers of interest and the JSON body.
#[derive(Clone, Debug)]
pub struct Received {
    pub api_key: Option<String>,
    pub version: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Script {
    answers: VecDeque<Scripted>,
    received: Vec<Received>,
}

pub struct MockAnthropic {
    pub base_url: String,
    script: Arc<Mutex<Script>>,
}

impl MockAnthropic {
    /// Starts the server on a free loopback port; it lives as long as the runtime.
    pub async fn start(answers: Vec<Scripted>) -> MockAnthropic {
        let script = Arc::new(Mutex::new(Script { answers: answers.into(), received: vec![] }));
        let app = Router::new().route("/v1/messages", post(messages)).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        MockAnthropic { base_url, script }
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }
}

async fn messages(State(script): State<Arc<Mutex<Script>>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(String::from);
    let mut script = script.lock().unwrap();
    script.received.push(Received { api_key: header("x-api-key"), version: header("anthropic-version"), body });
    let answer = script
        .answers
        .pop_front()
        .unwrap_or_else(|| Scripted::error(500, "api_error", "the mock's script is exhausted"));
    let mut response = (StatusCode::from_u16(answer.status).unwrap(), Json(answer.body)).into_response();
    for (name, value) in answer.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}
