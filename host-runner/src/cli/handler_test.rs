//! `pilot handlers test`: one component, one request, its model calls
//! answered from a script. Exit 0 when the handler answered, 1 when it (or
//! its sandbox) failed the step, 2 when the test itself could not run: a bad
//! file, a rejected component, or a model call the script does not answer.

use super::Exit;
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
    if json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print(&outcome);
    }
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

fn print(outcome: &Outcome) {
    println!("handler {} as `{}`", outcome.handler, outcome.intent);
    for (n, call) in outcome.llm_calls.iter().enumerate() {
        let answered = call.answered_by.map_or("unanswered".to_string(), |i| format!("answer #{}", i + 1));
        println!(
            "  llm call {}: {} ({} in / {} out tokens, max {}), {answered}",
            n + 1,
            call.model,
            call.input_tokens,
            call.output_tokens,
            call.max_tokens
        );
    }
    for call in &outcome.imports {
        println!("  {}", serde_json::to_string(call).unwrap_or_default());
    }
    for event in &outcome.audit {
        println!("  audit {} ({}) from {}", event.event_type, event.severity, event.source);
    }
    println!("tokens: {} in / {} out", outcome.tokens[0], outcome.tokens[1]);
    match &outcome.result {
        Ok(output) => println!("{}", serde_json::to_string_pretty(output).unwrap_or_else(|_| output.to_string())),
        Err(error) => {
            let whose = if outcome.handler_error { "handler error" } else { "sandbox error" };
            println!("{whose}: {error}");
        }
    }
}
