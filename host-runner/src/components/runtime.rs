//! The host's runtime: the shared state, the handler registry and the
//! linked orchestrator. Built by `host::HostBuilder`; the orchestrator's
//! store reaches it only as a `capabilities::handlers::Dispatcher`.

use crate::bindings::orchestrator::OrchestratorCorePre;
use crate::bindings::types::{StepError, StepRequest};
use crate::capabilities::handlers::{Dispatched, Dispatcher};
use crate::components::compiled::{CompiledStore, ComponentBytes};
use crate::components::registry::{Registry, ReloadReport};
use crate::components::sandbox;
use crate::components::shared::Shared;
use crate::components::worlds::orchestrator_core::{self, OrchestratorState};
use crate::error::{Cause, Error};
use crate::storage::records::Identity;
use std::path::{Path, PathBuf};
use wasmtime::Engine;

/// The host's runtime: the app-wide state the capabilities share, the
/// handler registry, the linked orchestrator, and where handlers are loaded from.
pub struct Runtime {
    pub shared: Shared,
    pub registry: Registry,
    pub orchestrator: OrchestratorCorePre<OrchestratorState>,
    pub handlers_dir: PathBuf,
}

impl Runtime {
    /// Rescans the handlers directory into the registry.
    pub async fn reload_handlers(&self) -> Result<ReloadReport, Error> {
        self.registry.reload(&self.shared, &self.handlers_dir).await
    }
}

impl Dispatcher for Runtime {
    fn registered_intents(&self) -> Vec<String> {
        self.registry.intents()
    }

    fn control_params(&self, intent: &str) -> Vec<String> {
        self.registry.control_params(intent)
    }

    fn intent_description(&self, intent: &str) -> Option<String> {
        self.registry.for_intent(intent).map(|h| h.info.description.clone()).filter(|d| !d.trim().is_empty())
    }

    fn dispatch<'a>(&'a self, who: &'a Identity, request: StepRequest) -> Dispatched<'a> {
        let handler = self.registry.for_intent(&request.intent);
        Box::pin(async move {
            match handler {
                Some(handler) => sandbox::run_handler(&self.shared, &handler, who, request).await,
                None => Err(sandbox::unspent(StepError::NoHandler(request.intent))),
            }
        })
    }
}

/// Compiles the orchestrator (or finds its code in `compiled`) and links the `orchestrator-core` world.
pub fn load_orchestrator(
    engine: &Engine,
    compiled: &CompiledStore,
    path: &Path,
) -> Result<OrchestratorCorePre<OrchestratorState>, Error> {
    let failed = |cause: Cause| Error::Orchestrator { path: path.to_path_buf(), cause };
    if !path.is_file() {
        return Err(failed("no such file (run `make components` to build it)".into()));
    }
    let bytes = ComponentBytes::new(std::fs::read(path).map_err(|e| failed(e.into()))?);
    let component = compiled.load(engine, &bytes).map_err(|e| failed(e.into()))?;
    let linker = orchestrator_core::linker(engine)
        .map_err(|e| Error::Linker { world: "orchestrator-core", cause: anyhow::Error::from(e).into() })?;
    let pre = linker.instantiate_pre(&component).map_err(|e| failed(anyhow::Error::from(e).into()))?;
    OrchestratorCorePre::new(pre)
        .map_err(|e| failed(anyhow::Error::from(e).context("does not export the `orchestrator` interface").into()))
}
