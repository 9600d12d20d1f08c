//! One handler component on one request, outside any workflow: the test
//! harness behind `pilot handlers test` (and usable from a Rust test). The
//! component runs exactly as in a workflow: validated and loaded under its
//! manifest (grants, fuel, deadline, memory and output caps), in a fresh
//! sandbox with the step's token budget, on material assembled by the
//! orchestrator's own code. Its model calls are answered by the
//! [`ScriptedProvider`] (a test double) and recorded, with the audit events
//! it wrote and its other import calls (outbound requests, database
//! statements, settings reads), in the [`Outcome`].

use crate::bindings::types::{
    MaterialFormat, MaterialPiece, MaterialSource, StepError, StepRequest, TokenUsage, WorkflowStep,
};
use crate::capabilities::HostCapabilities;
use crate::capabilities::import_log::{ImportCall, ImportLog};
use crate::capabilities::llm::scripted::{Answer, RecordedCall, ScriptedProvider};
use crate::components::code::HandlerCompilers;
use crate::components::compiled::CompiledStore;
use crate::components::engine::{EngineOptions, new_engine};
use crate::components::loaded::LoadedHandler;
use crate::components::registry::Registry;
use crate::components::sandbox::run_handler;
use crate::components::shared::{Limits, Shared};
use crate::metrics::Metrics;
use crate::storage::records::{AuditRow, Identity};
use crate::storage::{Db, DbOptions};
use orchestration::material::{Format, Source, StepData, assemble};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a step gives the handler, as a test writes it (`--request`): the
/// orchestrator assembles the material from it as it would in a workflow.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// The intent to run as; the handler's first intent by default.
    #[serde(default)]
    pub intent: Option<String>,
    #[serde(default)]
    pub prompt: String,
    /// A JSON object.
    #[serde(default = "empty_object")]
    pub params: Value,
    /// `{"inputs": {...}, "steps": {...}}`, what the step reads of the workflow.
    #[serde(default = "empty_object")]
    pub context: Value,
    #[serde(default)]
    pub memory: Value,
    #[serde(default)]
    pub available_plugins: Vec<String>,
    #[serde(default = "default_model")]
    pub routed_model: String,
    #[serde(default = "default_budget")]
    pub token_budget: u32,
}

impl Default for TestRequest {
    fn default() -> Self {
        TestRequest {
            intent: None,
            prompt: String::new(),
            params: empty_object(),
            context: empty_object(),
            memory: Value::Null,
            available_plugins: vec![],
            routed_model: default_model(),
            token_budget: default_budget(),
        }
    }
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

fn default_model() -> String {
    orchestration::keys::DEFAULT_MODEL_ID.to_string()
}

/// Enough for any one step of the shipped handlers.
fn default_budget() -> u32 {
    8_000
}

/// What one execution did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub handler: String,
    pub intent: String,
    /// The handler's output (JSON), or its typed error.
    pub result: Result<Value, String>,
    /// Whether the error is the handler's own (`handler-error`) rather than
    /// the sandbox's (trap, fuel, deadline, output cap).
    pub handler_error: bool,
    /// Tokens the provider reported: `[input, output]`.
    pub tokens: [u32; 2],
    /// Model calls in order, with what each was sent and which script entry answered.
    pub llm_calls: Vec<RecordedCall>,
    /// Audit events the execution wrote.
    pub audit: Vec<AuditRow>,
    /// Outbound requests (allowed or denied), database statements and settings reads, in order.
    pub imports: Vec<ImportCall>,
}

impl Outcome {
    /// A model call nothing in the script answered: the test is incomplete,
    /// whatever the handler then did.
    pub fn unscripted_call(&self) -> Option<&RecordedCall> {
        self.llm_calls.iter().find(|c| c.answered_by.is_none())
    }

    /// The handler's output, or its error as an `Err`.
    pub fn output(&self) -> Result<&Value, HarnessError> {
        self.result
            .as_ref()
            .map_err(|error| HarnessError::HandlerFailed { handler: self.handler.clone(), error: error.clone() })
    }

    /// Everything the model calls were sent (system prompts and messages), one text.
    pub fn sent(&self) -> String {
        let texts = self.llm_calls.iter().flat_map(|c| c.system.iter().chain(&c.messages));
        texts.map(String::as_str).collect::<Vec<_>>().join("\n")
    }
}

/// Why a harness could not load a handler or run a request.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{}: not a component file name", .0.display())]
    NotAComponentFile(PathBuf),
    /// Laying out the scratch directory: creating it, or copying a file into it.
    #[error("{doing} {}", path.display())]
    Scratch {
        doing: &'static str,
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
    #[error(transparent)]
    Host(#[from] crate::Error),
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
    /// The component failed validation, for this reason.
    #[error("{0}")]
    Rejected(String),
    #[error("the component did not load")]
    NotLoaded,
    #[error("params must be a JSON object, got {0}")]
    ParamsNotObject(Value),
    #[error("handler `{handler}` serves {intents:?}, not `{intent}`")]
    IntentNotServed { handler: String, intents: Vec<String>, intent: String },
    #[error("the handler declares no intent")]
    NoIntent,
    /// [`Outcome::output`] of a step the handler (or its sandbox) failed.
    #[error("handler `{handler}` failed: {error}")]
    HandlerFailed { handler: String, error: String },
}

/// A loaded handler and its scripted provider, on a scratch database.
pub struct Harness {
    shared: Shared,
    handler: Arc<LoadedHandler>,
    provider: Arc<ScriptedProvider>,
    /// The handler's import calls (outbound requests, statements, settings reads).
    imports: Arc<ImportLog>,
    scratch: PathBuf,
}

impl Harness {
    /// Validates and loads `component` under `manifest` (by default the
    /// `.toml` beside it, as the host would), answering model calls from
    /// `answers`, on an engine configured by `engines`.
    pub async fn load(
        component: &Path,
        manifest: Option<&Path>,
        answers: Vec<Answer>,
        limits: Limits,
        engines: EngineOptions,
    ) -> Result<Harness, HarnessError> {
        let stem = component
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| HarnessError::NotAComponentFile(component.to_path_buf()))?;
        let scratch = std::env::temp_dir().join(format!("pilot-handler-test-{}", uuid::Uuid::new_v4()));
        let handlers = scratch.join("handlers");
        std::fs::create_dir_all(&handlers).map_err(scratch_failed("creating", &handlers))?;
        std::fs::copy(component, handlers.join(format!("{stem}.wasm")))
            .map_err(scratch_failed("reading", component))?;
        let beside = component.with_extension("toml");
        if let Some(manifest) = manifest.or(beside.is_file().then_some(beside.as_path())) {
            std::fs::copy(manifest, handlers.join(format!("{stem}.toml")))
                .map_err(scratch_failed("reading", manifest))?;
        }
        let provider = Arc::new(ScriptedProvider::new(answers));
        let metrics = Arc::new(Metrics::new());
        let options = DbOptions { metrics: metrics.clone(), ..DbOptions::default() };
        let db = Db::open_with(&scratch.join("pilot.db").display().to_string(), options)?;
        let mut capabilities =
            HostCapabilities::new(&db, provider.clone(), None, scratch.join("pilot.components"), Arc::default());
        let imports = Arc::new(ImportLog::default());
        capabilities.record_imports(imports.clone());
        let compilers = HandlerCompilers::new(new_engine(&engines)?, CompiledStore::user_default())?;
        let shared = Shared::new(compilers, db, capabilities, limits, metrics);
        let registry = Registry::default();
        let report = registry.reload(&shared, &handlers).await?;
        if let Some(rejected) = report.rejected.into_iter().next() {
            return Err(HarnessError::Rejected(rejected.reason));
        }
        let handler = registry.snapshot().handlers().first().cloned().ok_or(HarnessError::NotLoaded)?;
        Ok(Harness { shared, handler, provider, imports, scratch })
    }

    /// The loaded handler's `info()`.
    pub fn handler(&self) -> &LoadedHandler {
        &self.handler
    }

    /// Runs one request through the handler.
    pub async fn execute(&self, request: &TestRequest) -> Result<Outcome, HarnessError> {
        if !request.params.is_object() {
            return Err(HarnessError::ParamsNotObject(request.params.clone()));
        }
        let info = &self.handler.info;
        let intent = match &request.intent {
            Some(intent) if info.intents.contains(intent) => intent.clone(),
            Some(intent) => {
                return Err(HarnessError::IntentNotServed {
                    handler: info.name.clone(),
                    intents: info.intents.clone(),
                    intent: intent.clone(),
                });
            }
            None => info.intents.first().cloned().ok_or(HarnessError::NoIntent)?,
        };
        let who = Identity {
            execution_id: uuid::Uuid::new_v4().to_string(),
            agent_id: "handler-test".into(),
            user_id: "handler-test".into(),
        };
        let step_request = step_request(request, &intent, &info.control_params);
        let calls_before = self.provider.calls().len();
        self.imports.take();
        let dispatched = run_handler(&self.shared, &self.handler, &who, step_request).await;
        self.shared.db.records().flush().await;
        let audit = self.shared.db.audit(Some(&who.execution_id), 1_000)?;
        let (result, handler_error, tokens) = match dispatched {
            Ok(done) => {
                let output = serde_json::from_str(&done.output).unwrap_or(Value::String(done.output));
                (Ok(output), false, tokens(&done.usage))
            }
            Err(failure) => {
                let own = matches!(failure.error, StepError::Handler(_));
                (Err(format!("{:?}", failure.error)), own, tokens(&failure.usage))
            }
        };
        Ok(Outcome {
            handler: self.handler.id.clone(),
            intent,
            result,
            handler_error,
            tokens,
            llm_calls: self.provider.calls().split_off(calls_before),
            audit,
            imports: self.imports.take(),
        })
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// The error of a step laying out the scratch directory: `doing` `path`.
fn scratch_failed(doing: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> HarnessError {
    let path = path.to_path_buf();
    move |cause| HarnessError::Scratch { doing, path, cause }
}

fn tokens(usage: &TokenUsage) -> [u32; 2] {
    [usage.input, usage.output]
}

/// The step request a workflow would hand the handler: material assembled
/// by the orchestrator's code (uncompressed), the handler's control params
/// left out of it.
fn step_request(request: &TestRequest, intent: &str, control: &[String]) -> StepRequest {
    let params = request.params.to_string();
    let context = request.context.to_string();
    let memory = request.memory.to_string();
    let data = StepData { prompt: &request.prompt, params: &params, context: &context, memory: &memory };
    let assembly = assemble(&data, control, &|text: &str| crate::tokenizer::count(text));
    let material = assembly
        .pieces
        .into_iter()
        .map(|p| MaterialPiece {
            name: p.name,
            source: match p.source {
                Source::Prompt => MaterialSource::Prompt,
                Source::Param => MaterialSource::Param,
                Source::Input => MaterialSource::Input,
                Source::StepOutput => MaterialSource::StepOutput,
                Source::Memory => MaterialSource::Memory,
            },
            format: match p.format {
                Format::Text => MaterialFormat::Text,
                Format::Json => MaterialFormat::Json,
            },
            content: p.content,
            tokens: p.tokens,
            original_tokens: p.original_tokens,
            compressed: p.compressed,
        })
        .collect();
    StepRequest {
        workflow_id: "handler-test".into(),
        step: WorkflowStep {
            id: "step".into(),
            name: "step".into(),
            prompt: request.prompt.clone(),
            intent: Some(intent.to_string()),
            params: params.clone(),
            depends_on: vec![],
            critical: false,
        },
        intent: intent.to_string(),
        params,
        context,
        memory_context: memory,
        material,
        available_plugins: request.available_plugins.clone(),
        routed_model: request.routed_model.clone(),
        token_budget: request.token_budget,
    }
}
