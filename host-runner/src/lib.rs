//! The wasmtime host of WorkflowPilot's orchestration components.
//!
//! - [`host`]: the [`Host`] and its builder (engine, database, provider, components);
//! - [`capabilities`]: what components may import (`llm`, `audit`, `database`,
//!   `settings`, `handlers`, outbound `wasi:http`), one folder each;
//! - [`components`]: the engine, per-store state, the handler registry,
//!   handler sandboxes and the orchestrator session;
//! - [`harness`]: one handler component on one request, its model calls scripted;
//! - [`runner`]: workflow files, templates and the step-by-step runner;
//! - [`storage`]: the host database (settings, token usage, audit), SQLite or Postgres;
//! - [`vocabulary`]: what happens to a step (outcomes, usage paths, host events), typed;
//! - [`error`]: what the API's errors say ([`Error`], and `storage::Error`).

pub mod bindings;
pub mod capabilities;
pub mod causes;
pub mod cohort_report;
pub mod components;
pub mod error;
pub mod harness;
pub mod host;
pub mod metrics;
pub mod runner;
pub mod serve;
pub mod storage;
pub mod tokenizer;
pub mod vocabulary;

pub use error::Error;
pub use host::{Host, HostBuilder, ProviderChoice};
pub use runner::report::RunReport;
pub use runner::workflow::Workflow;
