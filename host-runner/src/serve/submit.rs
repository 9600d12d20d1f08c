//! Asynchronous submission: `POST /v1/workflows` with `Prefer: respond-async`
//! (RFC 7240) answers `202 Accepted` once the run is committed to the
//! store, with `Location: /v1/executions/{id}`. Any replica sharing the
//! store then leases and runs it. An `Idempotency-Key` header makes a retried
//! submission answer with the run the key already names; a key reused for
//! another workflow is refused (422), as the IETF draft on the header says.

use super::state::{AppState, MAX_BODY_BYTES, error};
use crate::runner::workflow::Workflow;
use crate::storage::executions::ExecutionStart;
use crate::storage::runs::{Submission, Submitted};
use axum::Json;
use axum::body::Body;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Longest idempotency key accepted.
const MAX_KEY_CHARS: usize = 255;

/// A request that asked to be answered before its run ends.
pub struct Asked {
    idempotency_key: Option<String>,
}

impl Asked {
    /// Whether the request asks for an asynchronous answer, with its key; an
    /// error says what is wrong with the headers.
    pub fn of(headers: &HeaderMap) -> Result<Option<Asked>, String> {
        let respond_async =
            headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
                |preference| preference.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("respond-async"),
            );
        let key = match headers.get("idempotency-key") {
            None => None,
            Some(value) => Some(idempotency_key(value)?),
        };
        match (respond_async, key) {
            (true, idempotency_key) => Ok(Some(Asked { idempotency_key })),
            (false, None) => Ok(None),
            (false, Some(_)) => Err("`Idempotency-Key` applies to asynchronous submissions: \
                 add `Prefer: respond-async` (a synchronous run is not deduplicated)"
                .into()),
        }
    }
}

/// The key of an `Idempotency-Key` value: a string of visible ASCII, bare or quoted.
fn idempotency_key(value: &HeaderValue) -> Result<String, String> {
    let text = value.to_str().map_err(|_| "`Idempotency-Key` must be visible ASCII".to_string())?.trim();
    let key = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!("`Idempotency-Key` must be 1 to {MAX_KEY_CHARS} visible ASCII characters, got `{text}`"));
    }
    Ok(key.to_string())
}

/// Reads the workflow, commits it as a queued run and answers 202.
pub async fn submit(state: &AppState, asked: Asked, body: Body) -> Response {
    let reading = axum::body::to_bytes(body, MAX_BODY_BYTES);
    let Ok(body) = tokio::time::timeout(state.limits.body_timeout, reading).await else {
        let seconds = state.limits.body_timeout.as_secs_f64();
        return error(StatusCode::REQUEST_TIMEOUT, format!("request body: not received within {seconds} s"));
    };
    let (workflow, text) = match workflow_of(body) {
        Ok(parsed) => parsed,
        Err((status, message)) => return error(status, message),
    };
    let db = state.host.db().clone();
    let submission = Submission {
        start: ExecutionStart {
            id: uuid::Uuid::new_v4().to_string(),
            workflow_id: workflow.id.clone(),
            agent_id: workflow.agent_id.clone(),
            user_id: workflow.user_id.clone(),
            replica: db.replica().to_string(),
        },
        workflow: text,
        idempotency_key: asked.idempotency_key,
    };
    match tokio::task::spawn_blocking(move || db.submit_run(&submission)).await {
        Ok(Ok(Submitted::Queued(id))) => {
            state.worker.queued();
            accepted(&id, false)
        }
        Ok(Ok(Submitted::Existing(id))) => accepted(&id, true),
        Ok(Ok(Submitted::KeyReused(id))) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("this `Idempotency-Key` was used for another workflow (execution {id}); use a new key"),
        ),
        Ok(Err(e)) => {
            let incident = uuid::Uuid::new_v4();
            tracing::error!(workflow = %workflow.id, %incident, "queueing a run failed: {}", crate::error::chain(&e));
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the run could not be queued (incident {incident} in the server log); retry with the same key"),
            )
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}")),
    }
}

/// `202 Accepted` for the run `id`; `replayed` when an idempotency key named it already.
fn accepted(id: &str, replayed: bool) -> Response {
    let location = format!("/v1/executions/{id}");
    let body = json!({ "execution_id": id, "state_url": location, "events_url": format!("{location}/events"), "replayed": replayed });
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert("preference-applied", HeaderValue::from_static("respond-async"));
    response
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn respond_async_is_found_among_other_preferences() {
        for prefer in ["respond-async", "Respond-Async", "wait=10, respond-async", "respond-async; foo=1"] {
            assert!(Asked::of(&headers(&[("prefer", prefer)])).unwrap().is_some(), "{prefer}");
        }
        assert!(Asked::of(&headers(&[("prefer", "return=minimal")])).unwrap().is_none());
        assert!(Asked::of(&HeaderMap::new()).unwrap().is_none());
    }

    #[test]
    fn idempotency_keys_are_bare_or_quoted_and_need_respond_async() {
        let asked = Asked::of(&headers(&[("prefer", "respond-async"), ("idempotency-key", "\"k-1\"")])).unwrap();
        assert_eq!(asked.unwrap().idempotency_key.as_deref(), Some("k-1"));
        let err = Asked::of(&headers(&[("idempotency-key", "k-1")])).err().unwrap();
        assert!(err.contains("Prefer: respond-async"), "{err}");
        let err = Asked::of(&headers(&[("prefer", "respond-async"), ("idempotency-key", "a b")])).err().unwrap();
        assert!(err.contains("visible ASCII"), "{err}");
    }
}
