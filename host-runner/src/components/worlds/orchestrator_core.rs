//! The `orchestrator-core` world: the orchestrator store's contexts, each
//! prepared from its capability's app-wide state for one execution; and what
//! the world links.

use super::Link;
use crate::capabilities::HostCapabilities;
use crate::capabilities::agents::{self, AgentsCtx, AgentsView};
use crate::capabilities::audit::{self, AuditCtx, AuditGrant, AuditView};
use crate::capabilities::handlers::{self, DispatchCtx, DispatchView, Dispatcher};
use crate::capabilities::llm::{self, LlmCtx, LlmView};
use crate::capabilities::settings::{self, RunFlags, SettingsCtx, SettingsGrant, SettingsView};
use crate::components::state::ComponentState;
use crate::storage::records::Identity;
use std::sync::Arc;
use wasmtime::Engine;
use wasmtime::component::Linker;

pub type OrchestratorState = ComponentState<OrchestratorImports>;

/// The orchestrator's identity in audit rows and model calls.
const SOURCE: &str = "orchestrator";

/// What the world links: WASI, then the capabilities.
const LINKS: [Link<OrchestratorState>; 6] = [
    wasmtime_wasi::p2::add_to_linker_async,
    llm::add_to_linker,
    audit::add_to_linker,
    settings::add_to_linker,
    handlers::add_to_linker,
    agents::add_to_linker,
];

/// The linker of the `orchestrator-core` world on `engine`.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<OrchestratorState>> {
    super::linker(engine, &LINKS)
}

/// The orchestrator store's per-store contexts, one per import beyond WASI.
pub struct OrchestratorImports {
    pub llm: LlmCtx,
    audit: AuditCtx,
    settings: SettingsCtx,
    pub dispatch: DispatchCtx,
    agents: AgentsCtx,
}

impl OrchestratorImports {
    /// Each capability's context for `who`'s execution: the orchestrator
    /// reads every setting (the scoped flags as `flags` decided them, which
    /// its `ORCHESTRATION_INITIALIZED` event records), emits the lifecycle
    /// events, may name any model (`default_model` when it names none) and
    /// dispatches to `dispatcher`.
    pub fn prepare(
        capabilities: &HostCapabilities,
        dispatcher: Arc<dyn Dispatcher>,
        who: &Identity,
        flags: Arc<RunFlags>,
        default_model: String,
    ) -> OrchestratorImports {
        let audit =
            capabilities.audit.prepare(who.clone(), SOURCE, AuditGrant::Orchestrator).with_rollout(flags.record());
        OrchestratorImports {
            llm: capabilities.llm.prepare(audit.sink().clone(), SOURCE, default_model),
            audit,
            settings: capabilities.settings.prepare(SettingsGrant::All, Some(flags)),
            dispatch: DispatchCtx::new(dispatcher, who.clone()),
            agents: capabilities.agents.prepare(),
        }
    }
}

impl LlmView for OrchestratorState {
    fn llm(&mut self) -> &mut LlmCtx {
        &mut self.imports.llm
    }
}

impl AuditView for OrchestratorState {
    fn audit(&mut self) -> &mut AuditCtx {
        &mut self.imports.audit
    }
}

impl SettingsView for OrchestratorState {
    fn settings(&mut self) -> &mut SettingsCtx {
        &mut self.imports.settings
    }
}

impl DispatchView for OrchestratorState {
    fn dispatch(&mut self) -> &mut DispatchCtx {
        &mut self.imports.dispatch
    }
}

impl AgentsView for OrchestratorState {
    fn agents(&mut self) -> &mut AgentsCtx {
        &mut self.imports.agents
    }
}
