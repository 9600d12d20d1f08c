//! The `intent-handler` world: a handler store's contexts, each prepared
//! from its capability's app-wide state, the handler's manifest grants and
//! its step; and what the world links.

use super::Link;
use crate::capabilities::HostCapabilities;
use crate::capabilities::audit::{self, AuditCtx, AuditView};
use crate::capabilities::database::{self, DatabaseCtx, DatabaseView};
use crate::capabilities::llm::{self, LlmCtx, LlmView};
use crate::capabilities::outbound_http::OutboundHttp;
use crate::capabilities::plugins::{self, PluginsCtx, PluginsView};
use crate::capabilities::settings::{self, SettingsCtx, SettingsView};
use crate::components::manifest::Grants;
use crate::components::state::ComponentState;
use crate::storage::records::Identity;
use wasmtime::Engine;
use wasmtime::component::Linker;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub type HandlerState = ComponentState<HandlerImports>;

/// What the world links: WASI, outbound `wasi:http`, then the capabilities.
const LINKS: [Link<HandlerState>; 7] = [
    wasmtime_wasi::p2::add_to_linker_async,
    wasmtime_wasi_http::p2::add_only_http_to_linker_async,
    llm::add_to_linker,
    audit::add_to_linker,
    database::add_to_linker,
    settings::add_to_linker,
    plugins::add_to_linker,
];

/// The linker of the `intent-handler` world on `engine`.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<HandlerState>> {
    super::linker(engine, &LINKS)
}

/// A handler store's per-store contexts, one per import beyond WASI.
pub struct HandlerImports {
    pub llm: LlmCtx,
    audit: AuditCtx,
    settings: SettingsCtx,
    database: DatabaseCtx,
    plugins: PluginsCtx,
    http: WasiHttpCtx,
    /// Outbound requests: the grant's allow-list and secret headers.
    outbound: OutboundHttp,
}

/// What a handler store is created for.
pub struct Purpose<'a> {
    /// The handler's host-side identity: its file's stem.
    pub handler: &'a str,
    pub who: Identity,
    /// The step and its token budget; `None` while probing `info()`.
    pub step: Option<(&'a str, u32)>,
    pub routed_model: &'a str,
    /// The plugins the step may use.
    pub plugins: &'a [String],
}

impl HandlerImports {
    /// Each capability's context, only as far as `grants` allow.
    pub fn prepare(capabilities: &HostCapabilities, grants: &Grants, purpose: Purpose<'_>) -> HandlerImports {
        let handler = purpose.handler;
        // Requests of one step of one execution: the same keys when it runs again.
        let step_key = purpose.step.map(|(step, _)| format!("{}:{step}", purpose.who.execution_id));
        let audit = capabilities.audit.prepare(purpose.who, handler, grants.audit);
        let mut llm = capabilities
            .llm
            .prepare(audit.sink().clone(), handler, purpose.routed_model)
            .only_models(&grants.llm.allowed_models);
        if let Some((step, budget)) = purpose.step {
            llm = llm.with_step_budget(step, budget);
        }
        let plugins = capabilities.plugins.prepare(purpose.plugins.to_vec());
        let outbound = capabilities
            .outbound_http
            .prepare(handler, &grants.outbound_http, plugins.hosts(), plugins.secret_headers())
            .with_idempotency_keys(step_key);
        HandlerImports {
            llm,
            audit,
            settings: capabilities.settings.prepare(grants.settings.clone(), None),
            database: capabilities.database.prepare(handler, grants.database),
            plugins,
            http: WasiHttpCtx::new(),
            outbound,
        }
    }
}

impl WasiHttpView for HandlerState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        let imports = &mut self.imports;
        WasiHttpCtxView { ctx: &mut imports.http, table: &mut self.table, hooks: &mut imports.outbound }
    }
}

impl LlmView for HandlerState {
    fn llm(&mut self) -> &mut LlmCtx {
        &mut self.imports.llm
    }
}

impl AuditView for HandlerState {
    fn audit(&mut self) -> &mut AuditCtx {
        &mut self.imports.audit
    }
}

impl SettingsView for HandlerState {
    fn settings(&mut self) -> &mut SettingsCtx {
        &mut self.imports.settings
    }
}

impl DatabaseView for HandlerState {
    fn database(&mut self) -> &mut DatabaseCtx {
        &mut self.imports.database
    }
}

impl PluginsView for HandlerState {
    fn plugins(&mut self) -> &mut PluginsCtx {
        &mut self.imports.plugins
    }
}
