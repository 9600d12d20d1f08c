//! `pilot audit`: the audit trail, and with `--execution` how that run ended.

use crate::cli::args::Cli;
use crate::cli::output::emit;
use crate::cli::{print, setup};
use anyhow::{Context, Result};

pub fn audit(cli: &Cli, execution: Option<&str>, limit: u32, json: bool) -> Result<()> {
    let db = setup::open_db(cli)?;
    let rows = db.audit(execution, limit)?;
    let Some(id) = execution else {
        return emit(json, &rows, || print::audit::events(&rows));
    };
    // How the run ended comes first: it may have left no events at all.
    let run = db.execution(id)?.with_context(|| format!("no execution `{id}` in {}", db.location()))?;
    emit(json, &serde_json::json!({ "execution": run, "events": rows }), || {
        print::audit::execution(&run);
        print::audit::events(&rows);
    })
}
