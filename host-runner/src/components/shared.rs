//! What every component store is built from: the app-wide state of the
//! capabilities (database, model provider, component databases, the
//! transcript when kept), the handler compilers and the default limits.

use crate::capabilities::audit::AuditSink;
use crate::capabilities::database::ComponentDatabases;
use crate::capabilities::import_log::ImportLog;
use crate::capabilities::llm::provider::ModelProvider;
use crate::capabilities::llm::transcript::Transcript;
use crate::capabilities::plugins::PluginHeaders;
use crate::capabilities::{audit, database, llm, plugins, settings};
use crate::components::code::HandlerCompilers;
use crate::components::limits::HandlerLimits;
use crate::components::state::HandlerState;
use crate::storage::Db;
use crate::storage::records::Identity;
use anyhow::Result;
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::Engine;
use wasmtime::component::Linker;

/// Execution limits: the defaults of every component call (a handler's
/// manifest may override them for that handler) and stdio inheritance.
#[derive(Debug, Clone)]
pub struct Limits {
    pub defaults: HandlerLimits,
    pub inherit_stderr: bool,
}

/// App-wide state, shared by every store.
pub struct Shared {
    pub db: Db,
    pub provider: Arc<dyn ModelProvider>,
    pub databases: Arc<ComponentDatabases>,
    pub compilers: HandlerCompilers,
    pub limits: Limits,
    /// What models were sent per step, when the host keeps it (`pilot eval`).
    pub transcript: Option<Arc<Transcript>>,
    /// Plugin credentials, attached to requests to each plugin's host.
    pub plugin_headers: PluginHeaders,
    /// Where handler stores record their outbound requests, database
    /// statements and settings reads; `None` (the default) records nothing.
    pub import_log: Option<Arc<ImportLog>>,
}

impl Shared {
    /// The app-wide state: handlers compiled by `compilers`, their stores
    /// get `provider`, the database `db`, and their own SQLite files under `data_dir`.
    pub fn new(
        compilers: HandlerCompilers,
        db: Db,
        provider: Arc<dyn ModelProvider>,
        data_dir: PathBuf,
        limits: Limits,
        transcript: Option<Arc<Transcript>>,
        plugin_headers: PluginHeaders,
    ) -> Shared {
        Shared {
            compilers,
            db,
            provider,
            databases: Arc::new(ComponentDatabases::new(data_dir)),
            limits,
            transcript,
            plugin_headers,
            import_log: None,
        }
    }

    /// Records a host-level event (handler loading), not tied to an execution.
    pub fn host_audit(&self, event_type: &str, severity: &str, metadata: &serde_json::Value) {
        let who = Identity { execution_id: "host".into(), agent_id: "-".into(), user_id: "-".into() };
        AuditSink::new(self.db.clone(), who).record(event_type, severity, None, "host", metadata);
    }
}

/// The linker of the `intent-handler` world: WASI, outbound HTTP and the handler capabilities.
pub fn handler_linker(engine: &Engine) -> Result<Linker<HandlerState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    llm::add_to_linker(&mut linker)?;
    audit::add_to_linker(&mut linker)?;
    database::add_to_linker(&mut linker)?;
    settings::add_to_linker(&mut linker)?;
    plugins::add_to_linker(&mut linker)?;
    Ok(linker)
}
