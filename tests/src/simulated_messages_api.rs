//! A loopback server that speaks Anthropic's Messages API and answers every
//! request with the simulated provider (the labeled, offline test double):
//! text for a text request, a `tool_use` block of the requested schema for a
//! forced tool. Unlike a scripted mock it answers any number of requests of
//! any shape, so replicas in separate processes can share one "model" whose
//! request log a test reads (how many times a prompt was paid for).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use host_runner::capabilities::llm::provider::{AnswerFormat, ModelProvider, ProviderRequest};
use host_runner::capabilities::llm::simulated::Simulated;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Shared {
    model: Simulated,
    received: Mutex<Vec<Value>>,
}

pub struct SimulatedMessagesApi {
    pub base_url: String,
    shared: Arc<Shared>,
}

impl SimulatedMessagesApi {
    /// Starts the server on a free loopback port, each answer `latency` after
    /// its request; it lives as long as the runtime.
    pub async fn start(latency: Duration) -> SimulatedMessagesApi {
        let shared = Arc::new(Shared { model: Simulated::new(latency), received: Mutex::default() });
        let app = Router::new().route("/v1/messages", post(answer)).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        SimulatedMessagesApi { base_url, shared }
    }

    /// Every request body received, in order of arrival.
    pub fn received(&self) -> Vec<Value> {
        self.shared.received.lock().unwrap().clone()
    }

    /// How many requests repeated a body that had arrived before (prompts paid
    /// for again), and the most times any one body arrived.
    pub fn repeated(&self) -> (usize, usize) {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for body in self.received() {
            *seen.entry(body.to_string()).or_default() += 1;
        }
        (seen.values().map(|&n| n - 1).sum(), seen.values().copied().max().unwrap_or(0))
    }
}

fn role(name: &str) -> &'static str {
    if name == "assistant" { "assistant" } else { "user" }
}

async fn answer(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    shared.received.lock().unwrap().push(body.clone());
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.as_array().into_iter().flatten().filter_map(|b| b["text"].as_str()).collect::<String>(),
    };
    let format = match body["tools"][0]["input_schema"].clone() {
        Value::Null => AnswerFormat::Text,
        schema => AnswerFormat::Schema(schema),
    };
    let request = ProviderRequest {
        model: body["model"].as_str().unwrap_or_default().to_string(),
        system: body.get("system").map(text),
        messages: body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| (role(m["role"].as_str().unwrap_or("user")), text(&m["content"])))
            .collect(),
        max_tokens: body["max_tokens"].as_u64().unwrap_or(1024) as u32,
        temperature: body["temperature"].as_f64().unwrap_or(0.0) as f32,
        format: format.clone(),
    };
    let response = match shared.model.complete(&request).await {
        Ok(response) => response,
        Err(e) => {
            let error = json!({"type": "error", "error": {"type": "api_error", "message": format!("{e:?}")}});
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(error)).into_response();
        }
    };
    let content = match format {
        AnswerFormat::Schema(_) => json!([{
            "type": "tool_use",
            "id": "toolu_simulated",
            "name": body["tools"][0]["name"],
            "input": serde_json::from_str::<Value>(&response.text).unwrap_or(Value::Null),
        }]),
        _ => json!([{ "type": "text", "text": response.text }]),
    };
    Json(json!({
        "id": "msg_simulated",
        "type": "message",
        "role": "assistant",
        "model": response.model,
        "content": content,
        "stop_reason": response.stop_reason,
        "stop_sequence": null,
        "usage": { "input_tokens": response.input_tokens, "output_tokens": response.output_tokens },
    }))
    .into_response()
}
