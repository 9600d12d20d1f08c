//! `pilot run`: one workflow file, its report, and a failing exit when any
//! step failed or any of its rows could not be written.

use crate::cli::args::Cli;
use crate::cli::output::emit;
use crate::cli::{print, setup};
use anyhow::{Context, Result};
use host_runner::Workflow;
use host_runner::runner::report::Path;
use std::path::Path as FsPath;

pub async fn run(cli: &Cli, file: &FsPath, json: bool) -> Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading workflow {}", file.display()))?;
    let workflow = Workflow::parse(&text, &file.display().to_string())?;
    let host = setup::build_host(cli).await?;
    print::provider_note(&host);
    let report = host.run(&workflow).await?;
    emit(json, &report, || print::run::report(&report))?;
    if let Some(lost) = &report.writes_lost {
        anyhow::bail!(
            "{} audit/usage row(s) of execution {} could not be written to {} (last: {})",
            lost.rows,
            report.execution_id,
            lost.database,
            lost.last_error
        );
    }
    let failed: Vec<_> = report.steps.iter().filter(|s| s.path == Path::Failed).collect();
    if !failed.is_empty() {
        for step in &failed {
            eprintln!("step `{}` failed: {}", step.id, step.error.as_deref().unwrap_or("-"));
        }
        anyhow::bail!(
            "{} of {} steps failed (execution {}; `pilot audit --execution {}`)",
            failed.len(),
            report.steps.len(),
            report.execution_id,
            report.execution_id
        );
    }
    Ok(())
}
