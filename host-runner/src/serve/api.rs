//! The HTTP API. `/health` is open; everything under `/v1` needs the bearer
//! token. Errors are JSON (`{"error": "..."}`) with a 4xx or 5xx status.

use super::auth::presents_token;
use super::connections::Limits;
use super::drain::Drain;
use super::handler_list::handlers_json;
use super::state::{AppState, MAX_BODY_BYTES, error};
use super::submit::workflow_of;
use super::worker::Worker;
use crate::error::chain;
use crate::host::Host;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::Semaphore;

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

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if presents_token(request.headers(), &state.token) {
        next.run(request).await
    } else {
        error(StatusCode::UNAUTHORIZED, "missing or invalid bearer token")
    }
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
    match tokio::task::spawn_blocking(move || db.setting(orchestration::keys::ORCHESTRATION_ENABLED)).await {
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

async fn reload(State(state): State<AppState>) -> Response {
    match state.host.reload_handlers().await {
        Ok(report) => Json(report).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, chain(&e)),
    }
}
