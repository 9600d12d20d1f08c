//! `pilot handlers test`: one component, one request, its model calls
//! answered from a script. Exit 0 when the handler answered, 1 when it (or
//! its sandbox) failed the step, 2 when the test itself could not run: a bad
//! file, a rejected component, or a model call the script does not answer.

use super::Exit;
use super::output::emit;
use super::print;
use anyhow::{Context, Result};
use host_runner::capabilities::llm::scripted::Answer;
use host_runner::components::engine::EngineOptions;
use host_runner::components::shared::Limits;
use host_runner::harness::{Harness, Outcome, TestRequest};
use std::path::Path;

/// Exit code of a step the handler or its sandbox failed.
const STEP_FAILED: u8 = 1;
/// Exit code of a test that could not run as written.
const HARNESS_FAILED: u8 = 2;

pub struct Files<'a> {
    pub component: &'a Path,
    pub request: &'a Path,
    pub answers: Option<&'a Path>,
    pub manifest: Option<&'a Path>,
}

pub async fn run(files: Files<'_>, limits: Limits, engines: EngineOptions, json: bool) -> Result<()> {
    let outcome = match load_and_execute(&files, limits, engines).await {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Err(Exit(HARNESS_FAILED).into());
        }
    };
    emit(json, &outcome, || print::handlers::test_outcome(&outcome))?;
    if let Some(call) = outcome.unscripted_call() {
        eprintln!(
            "error: a model call has no scripted answer; the request was:\n{}",
            serde_json::to_string_pretty(call)?
        );
        return Err(Exit(HARNESS_FAILED).into());
    }
    match outcome.result {
        Ok(_) => Ok(()),
        Err(_) => Err(Exit(STEP_FAILED).into()),
    }
}

async fn load_and_execute(files: &Files<'_>, limits: Limits, engines: EngineOptions) -> Result<Outcome> {
    let request: TestRequest = read_json(files.request, "request")?;
    let answers: Vec<Answer> = match files.answers {
        Some(path) => read_json(path, "answers")?,
        None => vec![],
    };
    let harness = Harness::load(files.component, files.manifest, answers, limits, engines)
        .await
        .with_context(|| format!("loading {}", files.component.display()))?;
    Ok(harness.execute(&request).await?)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {what} file {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{what} file {}", path.display()))
}
