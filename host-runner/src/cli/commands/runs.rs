//! `pilot runs`: workflow runs as `executions` records them.

use crate::cli::args::Cli;
use crate::cli::output::emit;
use crate::cli::{Exit, print, setup};
use anyhow::{Context, Result};
use host_runner::storage::executions::ExecutionFilter;
use host_runner::storage::runs::{Cancel, Requeue};

pub fn list(cli: &Cli, state: Option<&str>, limit: u32, json: bool) -> Result<()> {
    let runs = setup::open_db(cli)?.executions(&ExecutionFilter::recent(state, limit))?;
    emit(json, &runs, || print::runs::list(&runs))
}

pub fn show(cli: &Cli, id: &str, json: bool) -> Result<()> {
    let db = setup::open_db(cli)?;
    let run = db.execution(id)?.with_context(|| format!("no execution `{id}` in {}", db.location()))?;
    let usage = db.usage(id)?;
    let checkpoints = db.checkpoints(id)?;
    emit(json, &serde_json::json!({ "execution": run, "checkpoints": checkpoints, "usage": usage }), || {
        print::audit::execution(&run);
        print::runs::checkpoints(&checkpoints);
        print::runs::usage(&usage);
    })
}

/// Exits 1 unless the run went back to the queue.
pub fn resume(cli: &Cli, id: &str, json: bool) -> Result<()> {
    let db = setup::open_db(cli)?;
    let outcome = db.requeue_run(id)?;
    emit(json, &serde_json::json!({ "execution_id": id, "resume": outcome }), || print::runs::requeued(id, &outcome))?;
    match outcome {
        Requeue::Queued => Ok(()),
        _ => Err(Exit(1).into()),
    }
}

/// Exits 1 when there was nothing to cancel.
pub fn cancel(cli: &Cli, id: &str, json: bool) -> Result<()> {
    let db = setup::open_db(cli)?;
    let outcome = db.cancel_run(id)?;
    emit(json, &serde_json::json!({ "execution_id": id, "cancel": outcome }), || print::runs::cancelled(id, &outcome))?;
    match outcome {
        Cancel::Cancelled | Cancel::Requested => Ok(()),
        _ => Err(Exit(1).into()),
    }
}
