//! What every endpoint shares: the server's state and its JSON errors.

use super::connections::Limits;
use super::drain::Drain;
use super::worker::Worker;
use crate::host::Host;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Workflow documents larger than this are refused (413).
pub(super) const MAX_BODY_BYTES: usize = 4 << 20;

#[derive(Clone)]
pub(super) struct AppState {
    pub host: Host,
    pub token: Arc<str>,
    pub runs: Arc<Semaphore>,
    pub limits: Limits,
    pub drain: Arc<Drain>,
    pub worker: Worker,
}

/// An error as the API answers it: `{"error": "..."}` with `status`.
pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}
