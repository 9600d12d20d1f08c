//! The HTTP API. `/health` is open; everything under `/v1` needs the bearer
//! token. Errors are JSON (`{"error": "..."}`) with a 4xx or 5xx status.

use super::connections::Limits;
use super::drain::Drain;
use super::worker::Worker;
use crate::error::chain;
use crate::host::Host;
use crate::runner::workflow::Workflow;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::Semaphore;

/// Workflow documents larger than this are refused (413).
pub(super) const MAX_BODY_BYTES: usize = 4 << 20;

#[derive(Clone)]
pub(super) struct AppState {
    pub host: Host,
    pub token: Arc<str>,
    runs: Arc<Semaphore>,
    pub limits: Limits,
    pub drain: Arc<Drain>,
    pub worker: Worker,
}

/// The API, with a worker that runs durable runs in the same workflow slots
/// (in the background until `drain` is over).
pub fn router(host: Host, token: String, limits: Limits, drain: Arc<Drain>) -> Router {
    let runs = Arc::new(Semaphore::new(limits.max_in_flight));
    let worker = Worker::start(host.clone(), runs.clone(), drain.clone());
    let state = AppState { host, token: token.into(), runs, limits, drain, worker };
    let v1 = Router::new()
        .route("/workflows", post(run_workflow))
        .route("/handlers", get(list_handlers))
        .route("/handlers/reload", post(reload))
        .route("/executions/{id}", get(super::executions::execution))
        .route("/executions/{id}/events", get(super::executions::events))
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .nest("/v1", v1)
        .nest("/ui", super::console::router(state.clone()))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .method_not_allowed_fallback(|| async { error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here") })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if presents_token(request.headers(), &state.token) {
        next.run(request).await
    } else {
        error(StatusCode::UNAUTHORIZED, "missing or invalid bearer token")
    }
}

/// Whether the request's `Authorization` carries `token` as a bearer credential.
pub(super) fn presents_token(headers: &header::HeaderMap, token: &str) -> bool {
    let presented = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer_token);
    presented.is_some_and(|p| same_secret(p, token))
}

/// Compares two secrets in time independent of where they differ.
pub(super) fn same_secret(a: &str, b: &str) -> bool {
    constant_time_eq(a.as_bytes(), b.as_bytes())
}

/// The token of an `Authorization: Bearer <token>` value; the scheme name is
/// case-insensitive (RFC 9110 section 11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim_start())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "handlers": state.host.handlers().handlers().len(),
        "provider": state.host.provider_name(),
    }))
}

/// Whether this replica should get traffic: not draining, and its database
/// answers. (`/health` says only that the process is up.)
async fn ready(State(state): State<AppState>) -> Response {
    if state.drain.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "draining", "in_flight": state.drain.in_flight() })),
        )
            .into_response();
    }
    let db = state.host.db().clone();
    match tokio::task::spawn_blocking(move || db.setting(orchestration::settings::ORCHESTRATION_ENABLED)).await {
        Ok(Ok(_)) => Json(json!({ "status": "ready", "in_flight": state.drain.in_flight() })).into_response(),
        Ok(Err(e)) => {
            tracing::warn!("readiness: the database does not answer: {}", chain(&e));
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "database unavailable" }))).into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("{e}")),
    }
}

/// The host's metrics, Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    let text = state.host.metrics().encode();
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}

/// A workflow request within the server's limits: its body within
/// [`Limits::body_timeout`] (408; read before a run slot is taken, so a slow
/// sender holds none), a run slot (503 with `Retry-After` when none frees up
/// in time) and the request deadline (504).
async fn run_workflow(State(state): State<AppState>, request: Request) -> Response {
    let Some(_in_flight) = state.drain.admit() else {
        let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "this replica is draining; retry on another");
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return response;
    };
    let submission = match super::submit::Asked::of(request.headers()) {
        Ok(asked) => asked,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    if let Some(asked) = submission {
        return super::submit::submit(&state, asked, request.into_body()).await;
    }
    let reading = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES);
    let Ok(body) = tokio::time::timeout(state.limits.body_timeout, reading).await else {
        let seconds = state.limits.body_timeout.as_secs_f64();
        return error(StatusCode::REQUEST_TIMEOUT, format!("request body: not received within {seconds} s"));
    };
    if super::capacity::resident_bytes().is_some_and(|rss| rss > state.limits.max_resident_bytes) {
        tracing::warn!(max = state.limits.max_resident_bytes, "workflow refused: resident memory past the limit");
        let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "this replica is short of memory; retry shortly");
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return response;
    }
    let Ok(Ok(_slot)) = tokio::time::timeout(state.limits.queue_wait, state.runs.clone().acquire_owned()).await else {
        let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "every workflow slot is busy; retry shortly");
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return response;
    };
    let deadline = state.limits.request_deadline;
    let run = run_body(&state, body);
    tokio::time::timeout(deadline, run).await.unwrap_or_else(|_| {
        tracing::warn!(deadline_s = deadline.as_secs_f64(), "workflow request past its deadline: cancelled");
        error(StatusCode::GATEWAY_TIMEOUT, format!("the request ran past its deadline of {} s", deadline.as_secs_f64()))
    })
}

/// The workflow a request body holds, and its text; or the status and message that say what is wrong with it.
pub(super) fn workflow_of(body: Result<Bytes, axum::Error>) -> Result<(Workflow, String), (StatusCode, String)> {
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            let status = if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return Err((status, format!("request body: {e}")));
        }
    };
    let Ok(text) = String::from_utf8(body.to_vec()) else {
        return Err((StatusCode::BAD_REQUEST, "request body: not UTF-8".into()));
    };
    match Workflow::parse(&text, "request body") {
        Ok(workflow) => Ok((workflow, text)),
        Err(e) => Err((StatusCode::BAD_REQUEST, e.to_string())),
    }
}

async fn run_body(state: &AppState, body: Result<Bytes, axum::Error>) -> Response {
    let workflow = match workflow_of(body) {
        Ok((workflow, _)) => workflow,
        Err((status, message)) => return error(status, message),
    };
    match state.host.run(&workflow).await {
        Ok(report) => Json(report).into_response(),
        Err(e) => {
            // The detail (paths, database text) is for the operator's log, not the client.
            let incident = uuid::Uuid::new_v4();
            tracing::error!(workflow = %workflow.id, %incident, "run failed: {}", crate::error::chain(&e));
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the host could not run the workflow (incident {incident} in the server log)"),
            )
        }
    }
}

async fn list_handlers(State(state): State<AppState>) -> Json<Value> {
    Json(handlers_json(&state.host))
}

/// Every handler with version, file, load time, state and the compiler of
/// the code it runs (`baseline` until its optimized code is swapped in);
/// rejected files too.
pub fn handlers_json(host: &Host) -> Value {
    let snapshot = host.handlers();
    let mut rows: Vec<Value> = snapshot
        .handlers()
        .iter()
        .map(|h| {
            json!({
                "name": h.info.name,
                "version": h.info.version,
                "intents": h.info.intents,
                "file": h.path.display().to_string(),
                "loaded_at": unix_seconds(h.loaded_at),
                "state": "active",
                "code": h.code.as_str(),
            })
        })
        .collect();
    rows.extend(snapshot.rejected().iter().map(|r| {
        json!({ "file": r.file.display().to_string(), "state": "rejected", "reason": r.reason, "rejected_at": unix_seconds(r.at) })
    }));
    Value::Array(rows)
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

async fn reload(State(state): State<AppState>) -> Response {
    match state.host.reload_handlers().await {
        Ok(report) => Json(report).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, chain(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer t0k", "bearer t0k", "BEARER  t0k", " Bearer t0k "] {
            assert_eq!(bearer_token(value), Some("t0k"), "{value}");
        }
        assert_eq!(bearer_token("Basic t0k"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
