//! `pilot agents list|set-creation`: the intensity scores AIS routing reads.

use crate::cli::args::Cli;
use crate::cli::output::emit;
use crate::cli::{print, setup};
use anyhow::Result;
use serde_json::{Value, json};

pub fn list(cli: &Cli, json: bool) -> Result<()> {
    let rows = setup::open_db(cli)?.agents()?;
    // JSON values, not a struct: their keys print sorted and the f32 scores
    // widened to f64, as `--json` always has.
    let document: Vec<Value> =
        rows.iter().map(|(id, row)| json!({ "agent_id": id, "scores": row.scores, "runs": row.runs })).collect();
    emit(json, &document, || print::agents::scores(&rows))
}

pub fn set_creation(cli: &Cli, agent: &str, score: f32) -> Result<()> {
    setup::open_db(cli)?.set_creation(agent, score)?;
    println!("{agent}: creation score {score}");
    Ok(())
}
