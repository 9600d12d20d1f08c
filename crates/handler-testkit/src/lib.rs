//! Test a handler component from `cargo test`, against the built `.wasm`:
//! it is validated and loaded under its manifest as a host would, runs one
//! step on material the orchestrator's own code assembles, and its model
//! calls are answered from a script (a test double, never a model). The
//! outcome holds the output or typed error and every call it made: model
//! calls with what they were sent, audit events, outbound requests,
//! database statements and settings reads. `pilot handlers test` is the
//! same harness from the command line.
//!
//! ```no_run
//! use handler_testkit::{HandlerTest, Step};
//!
//! # async fn example() -> anyhow::Result<()> {
//! let outcome = HandlerTest::new("target/components/handlers/summarize.wasm")
//!     .answer("Dana got a 50% credit on order 4411.")
//!     .run(Step::prompt("Summarize the call.").param("call_log", "Dana asked for a refund on order 4411..."))
//!     .await?;
//! assert_eq!(outcome.output()?["summary"], "Dana got a 50% credit on order 4411.");
//! assert!(outcome.sent().contains("Dana asked for a refund"), "the data reached the model");
//! # Ok(())
//! # }
//! ```

use host_runner::capabilities::llm::scripted::Answer;
use host_runner::components::engine::EngineOptions;
use host_runner::components::limits::HandlerLimits;
use host_runner::components::shared::Limits;
use host_runner::harness::{Harness, HarnessError, TestRequest};
use serde_json::Value;
use std::path::PathBuf;

pub use host_runner::capabilities::import_log::ImportCall;
pub use host_runner::capabilities::llm::scripted::RecordedCall;
pub use host_runner::harness::Outcome;

/// One component and the script its model calls are answered from.
pub struct HandlerTest {
    component: PathBuf,
    manifest: Option<PathBuf>,
    answers: Vec<Answer>,
    limits: HandlerLimits,
}

impl HandlerTest {
    /// The component at `component`, under the manifest beside it (`NAME.toml`) if any.
    pub fn new(component: impl Into<PathBuf>) -> HandlerTest {
        HandlerTest { component: component.into(), manifest: None, answers: vec![], limits: HandlerLimits::default() }
    }

    /// Another manifest than the one beside the component.
    pub fn manifest(mut self, path: impl Into<PathBuf>) -> HandlerTest {
        self.manifest = Some(path.into());
        self
    }

    /// Answers the next model call, in order: text, or a JSON value for a
    /// JSON or schema-constrained call.
    pub fn answer(mut self, answer: impl Into<Value>) -> HandlerTest {
        self.answers.push(Answer::next(answer.into()));
        self
    }

    /// Answers the first call whose prompt contains `substring`, whatever its turn.
    pub fn answer_when(mut self, substring: &str, answer: impl Into<Value>) -> HandlerTest {
        self.answers.push(Answer::when(substring, answer.into()));
        self
    }

    /// Default limits (fuel, deadline, memory, output); the manifest's own still apply.
    pub fn limits(mut self, limits: HandlerLimits) -> HandlerTest {
        self.limits = limits;
        self
    }

    /// Loads the component: its `info()`, then as many steps as a test needs
    /// (the script is shared by them).
    pub async fn load(&self) -> Result<Harness, HarnessError> {
        let limits = Limits { defaults: self.limits, inherit_stderr: false };
        let engines = EngineOptions::default();
        Harness::load(&self.component, self.manifest.as_deref(), self.answers.clone(), limits, engines).await
    }

    /// Loads the component and runs one step.
    pub async fn run(&self, step: Step) -> Result<Outcome, HarnessError> {
        self.load().await?.execute(&step.0).await
    }
}

/// A step as a workflow would hand it over: its prompt, params, and what it
/// reads of the workflow.
#[derive(Debug, Clone, Default)]
pub struct Step(pub TestRequest);

impl Step {
    /// A step with this instruction, run as the handler's first intent.
    pub fn prompt(text: &str) -> Step {
        Step(TestRequest { prompt: text.to_string(), ..TestRequest::default() })
    }

    /// Runs as `intent` (one the handler serves).
    pub fn intent(mut self, intent: &str) -> Step {
        self.0.intent = Some(intent.to_string());
        self
    }

    /// A params value: data, or a control setting the handler declares.
    pub fn param(mut self, key: &str, value: impl Into<Value>) -> Step {
        self.0.params[key] = value.into();
        self
    }

    /// A workflow input the step reads.
    pub fn input(mut self, key: &str, value: impl Into<Value>) -> Step {
        self.0.context["inputs"][key] = value.into();
        self
    }

    /// An earlier step's output the step reads.
    pub fn step_output(mut self, step_id: &str, output: impl Into<Value>) -> Step {
        self.0.context["steps"][step_id] = output.into();
        self
    }

    /// A plugin the step may use (`send`, `enrich`).
    pub fn plugin(mut self, name: &str) -> Step {
        self.0.available_plugins.push(name.to_string());
        self
    }

    /// The step's token budget (8,000 by default).
    pub fn token_budget(mut self, tokens: u32) -> Step {
        self.0.token_budget = tokens;
        self
    }
}
