//! A loopback server that answers one POST route from a script (status,
//! headers, body, served in order) and records what it received. The
//! provider mocks (`mock_anthropic`, `mock_openai`) are this with their wire
//! format's answers.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted answer.
#[derive(Clone)]
pub struct Scripted {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl Scripted {
    pub fn with_header(mut self, name: &'static str, value: &str) -> Scripted {
        self.headers.push((name, value.to_string()));
        self
    }
}

/// A request the mock received: its headers and JSON body.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Received {
    /// A header's value (names are lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Script {
    answers: VecDeque<Scripted>,
    received: Vec<Received>,
    /// How long each answer takes, as a model's would.
    latency: Duration,
}

pub struct MockApi {
    pub base_url: String,
    script: Arc<Mutex<Script>>,
}

impl MockApi {
    /// Starts the server on a free loopback port; it lives as long as the runtime.
    pub async fn start(route: &'static str, answers: Vec<Scripted>) -> MockApi {
        MockApi::start_with_latency(route, answers, Duration::ZERO).await
    }

    /// The same, each answer sent `latency` after its request arrived
    /// (requests in flight together wait together).
    pub async fn start_with_latency(route: &'static str, answers: Vec<Scripted>, latency: Duration) -> MockApi {
        let script = Arc::new(Mutex::new(Script { answers: answers.into(), received: vec![], latency }));
        let app = Router::new().route(route, post(answer)).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        MockApi { base_url, script }
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }
}

async fn answer(State(script): State<Arc<Mutex<Script>>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let headers = headers.iter().map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let (answer, latency) = {
        let mut script = script.lock().unwrap();
        script.received.push(Received { headers, body });
        (script.answers.pop_front(), script.latency)
    };
    tokio::time::sleep(latency).await;
    let Some(answer) = answer else {
        let exhausted = json!({"error": {"type": "api_error", "message": "the mock's script is exhausted"}});
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(exhausted)).into_response();
    };
    let mut response = (StatusCode::from_u16(answer.status).unwrap(), Json(answer.body)).into_response();
    for (name, value) in answer.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}
