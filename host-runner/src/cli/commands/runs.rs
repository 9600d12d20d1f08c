//! `pilot runs`: workflow runs as `executions` records them.

use crate::cli::args::Cli;
use crate::cli::output::emit;
use crate::cli::{print, setup};
use anyhow::{Context, Result};

pub fn list(cli: &Cli, state: Option<&str>, limit: u32, json: bool) -> Result<()> {
    let runs = setup::open_db(cli)?.executions(state, limit)?;
    emit(json, &runs, || print::runs::list(&runs))
}

pub fn show(cli: &Cli, id: &str, json: bool) -> Result<()> {
    let db = setup::open_db(cli)?;
    let run = db.execution(id)?.with_context(|| format!("no execution `{id}` in {}", db.location()))?;
    let usage = db.usage(id)?;
    emit(json, &serde_json::json!({ "execution": run, "usage": usage }), || {
        print::audit::execution(&run);
        print::runs::usage(&usage);
    })
}
