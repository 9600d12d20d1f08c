//! A run as clients follow it: `GET /v1/executions/{id}` (its state, each
//! finished step's result, its audit events) and
//! `GET /v1/executions/{id}/events`, a Server-Sent Events stream of
//! `step_started`, `step_finished` and, last, `run_finished`. Both read the
//! store, so they answer for a run whichever replica runs it.

use super::state::{AppState, error};
use crate::storage::Db;
use crate::storage::executions::Execution;
use crate::storage::runs::{Checkpoint, StepState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

/// How often an events stream looks at the store for progress.
const LOOK_EVERY: Duration = Duration::from_millis(200);

/// The run, its finished steps in the order they finished, the steps in flight, and its audit events.
pub async fn execution(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let db = state.host.db().clone();
    let found = tokio::task::spawn_blocking(move || -> Result<_, crate::storage::Error> {
        Ok(match db.execution(&id)? {
            Some(run) => Some((run, db.checkpoints(&id)?, db.audit(Some(&id), 10_000)?)),
            None => None,
        })
    })
    .await;
    let (run, checkpoints, events) = match found_or_answer(found) {
        Ok(found) => found,
        Err((status, message)) => return error(status, message),
    };
    let finished: Vec<&Value> = checkpoints.iter().filter_map(|c| c.report.as_ref()).collect();
    let in_flight: Vec<&str> = checkpoints
        .iter()
        .filter(|c| c.state == StepState::Started && !terminal(&run.state))
        .map(|c| c.step_id.as_str())
        .collect();
    Json(json!({ "execution": run, "steps": finished, "steps_in_flight": in_flight, "events": events })).into_response()
}

/// What a read of an execution found, or the status and message when it
/// found nothing (404) or failed (500, the detail in the server log).
fn found_or_answer<T>(
    read: Result<Result<Option<T>, crate::storage::Error>, tokio::task::JoinError>,
) -> Result<T, (StatusCode, String)> {
    match read {
        Ok(Ok(Some(found))) => Ok(found),
        Ok(Ok(None)) => Err((StatusCode::NOT_FOUND, "no such execution".into())),
        Ok(Err(e)) => {
            tracing::error!("reading an execution failed: {}", crate::error::chain(&e));
            Err((StatusCode::INTERNAL_SERVER_ERROR, "the execution could not be read (see the server log)".into()))
        }
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

/// The run's progress as Server-Sent Events, from its first step; the
/// stream ends after `run_finished`.
pub async fn events(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let db = state.host.db().clone();
    let exists = {
        let (db, id) = (db.clone(), id.clone());
        tokio::task::spawn_blocking(move || db.execution(&id)).await
    };
    if let Err((status, message)) = found_or_answer(exists) {
        return error(status, message);
    }
    let progress = Progress {
        db,
        id,
        starts: HashMap::new(),
        finished: Default::default(),
        pending: VecDeque::new(),
        ended: false,
        sent: 0,
    };
    let stream = futures::stream::unfold(progress, |mut progress| async move {
        progress.next().await.map(|event| (Ok::<_, Infallible>(event), progress))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

fn terminal(state: &str) -> bool {
    matches!(state, "completed" | "failed" | "interrupted" | "cancelled")
}

/// What one events stream has told its client.
struct Progress {
    db: Db,
    id: String,
    /// Times each step was seen started (0: it finished without a model call).
    starts: HashMap<String, u32>,
    finished: std::collections::HashSet<String>,
    pending: VecDeque<Event>,
    ended: bool,
    sent: u64,
}

impl Progress {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.sent += 1;
                return Some(event.id(self.sent.to_string()));
            }
            if self.ended {
                return None;
            }
            self.look().await;
            if self.pending.is_empty() {
                tokio::time::sleep(LOOK_EVERY).await;
            }
        }
    }

    /// Reads the run and queues an event for each change since the last look.
    async fn look(&mut self) {
        let (db, id) = (self.db.clone(), self.id.clone());
        // The run first: once it reads ended, every checkpoint read after it is there.
        let read = tokio::task::spawn_blocking(move || -> Result<(Option<Execution>, Vec<Checkpoint>), String> {
            let run = db.execution(&id).map_err(|e| crate::error::chain(&e))?;
            let checkpoints = db.checkpoints(&id).map_err(|e| crate::error::chain(&e))?;
            Ok((run, checkpoints))
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        let (run, checkpoints) = match read {
            Ok((Some(run), checkpoints)) => (run, checkpoints),
            Ok((None, _)) => return self.end("error", json!({ "error": "the execution is gone" })),
            Err(e) => {
                tracing::warn!(execution_id = %self.id, "events stream: {e}");
                return self.end("error", json!({ "error": "the execution could not be read (see the server log)" }));
            }
        };
        for checkpoint in checkpoints {
            // A step that called no model is seen first finished: it started too.
            let first_look = !self.starts.contains_key(&checkpoint.step_id);
            let seen = self.starts.entry(checkpoint.step_id.clone()).or_default();
            if checkpoint.starts > *seen || (first_look && checkpoint.starts == 0) {
                let rerun = *seen > 0 || checkpoint.starts > 1;
                *seen = checkpoint.starts;
                self.queue("step_started", json!({ "step_id": checkpoint.step_id, "rerun": rerun }));
            }
            if checkpoint.state == StepState::Finished && self.finished.insert(checkpoint.step_id.clone()) {
                self.queue("step_finished", json!({ "step_id": checkpoint.step_id, "report": checkpoint.report }));
            }
        }
        if terminal(&run.state) {
            self.end("run_finished", json!({ "state": run.state, "error": run.error, "rerun_steps": run.rerun_steps }));
        }
    }

    fn queue(&mut self, name: &str, data: Value) {
        self.pending.push_back(Event::default().event(name).data(data.to_string()));
    }

    fn end(&mut self, name: &str, data: Value) {
        self.queue(name, data);
        self.ended = true;
    }
}
