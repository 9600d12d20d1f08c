//! The data of every component store: WASI (no files, no environment, no
//! inherited stdio unless asked), the per-store contexts of the capabilities
//! both worlds import (llm, audit, settings), and the store's resource
//! limits. `X` holds what only one world imports.

use crate::capabilities::agents::{AgentsCtx, AgentsView};
use crate::capabilities::audit::{AuditCtx, AuditView};
use crate::capabilities::database::{DatabaseCtx, DatabaseView};
use crate::capabilities::handlers::{DispatchCtx, DispatchView};
use crate::capabilities::llm::{LlmCtx, LlmView};
use crate::capabilities::outbound_http::OutboundHttp;
use crate::capabilities::plugins::{PluginsCtx, PluginsView};
use crate::capabilities::settings::{SettingsCtx, SettingsView};
use crate::components::limits::{HandlerLimits, Limiter};
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct ComponentState<X> {
    table: ResourceTable,
    wasi: WasiCtx,
    pub llm: LlmCtx,
    audit: AuditCtx,
    settings: SettingsCtx,
    pub limiter: Limiter,
    pub extra: X,
}

/// What a handler store has beyond the shared capabilities: its own
/// database, the step's plugins and outbound HTTP to them.
pub struct HandlerExtra {
    database: DatabaseCtx,
    plugins: PluginsCtx,
    http: WasiHttpCtx,
    outbound: OutboundHttp,
}

impl HandlerExtra {
    pub fn new(database: DatabaseCtx, plugins: PluginsCtx, outbound: OutboundHttp) -> Self {
        HandlerExtra { database, plugins, http: WasiHttpCtx::new(), outbound }
    }
}

/// What the orchestrator's store has beyond the shared capabilities:
/// handler dispatch and the agents' history.
pub struct OrchestratorExtra {
    pub dispatch: DispatchCtx,
    pub agents: AgentsCtx,
}

pub type HandlerState = ComponentState<HandlerExtra>;
pub type OrchestratorState = ComponentState<OrchestratorExtra>;

impl<X> ComponentState<X> {
    pub fn new(
        llm: LlmCtx,
        audit: AuditCtx,
        settings: SettingsCtx,
        limits: HandlerLimits,
        inherit_stderr: bool,
        extra: X,
    ) -> Self {
        let mut wasi = WasiCtx::builder();
        // Sockets are linked (language runtimes import them) but reach nothing:
        // outbound traffic goes through wasi:http and the manifest's allow-list.
        wasi.socket_addr_check(|_, _| Box::pin(async { false })).allow_ip_name_lookup(false);
        if inherit_stderr {
            wasi.inherit_stderr();
        }
        ComponentState {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            llm,
            audit,
            settings,
            limiter: Limiter::new(limits),
            extra,
        }
    }
}

impl<X: Send + 'static> ComponentState<X> {
    /// The store of this state: its limiter caps memory, tables and
    /// instances; `fuel` bounds one call's work; `epoch_ticks` its wall time.
    pub fn into_store(self, engine: &Engine, fuel: u64, epoch_ticks: u64) -> wasmtime::Result<Store<Self>> {
        let mut store = Store::new(engine, self);
        store.limiter(|s| &mut s.limiter);
        store.set_fuel(fuel)?;
        store.set_epoch_deadline(epoch_ticks);
        store.epoch_deadline_trap();
        Ok(store)
    }
}

impl<X: Send> WasiView for ComponentState<X> {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HandlerState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.extra.http, table: &mut self.table, hooks: &mut self.extra.outbound }
    }
}

impl<X> LlmView for ComponentState<X> {
    fn llm(&mut self) -> &mut LlmCtx {
        &mut self.llm
    }
}

impl<X> AuditView for ComponentState<X> {
    fn audit(&mut self) -> &mut AuditCtx {
        &mut self.audit
    }
}

impl DatabaseView for HandlerState {
    fn database(&mut self) -> &mut DatabaseCtx {
        &mut self.extra.database
    }
}

impl PluginsView for HandlerState {
    fn plugins(&mut self) -> &mut PluginsCtx {
        &mut self.extra.plugins
    }
}

impl<X> SettingsView for ComponentState<X> {
    fn settings(&mut self) -> &mut SettingsCtx {
        &mut self.settings
    }
}

impl DispatchView for OrchestratorState {
    fn dispatch(&mut self) -> &mut DispatchCtx {
        &mut self.extra.dispatch
    }
}

impl AgentsView for OrchestratorState {
    fn agents(&mut self) -> &mut AgentsCtx {
        &mut self.extra.agents
    }
}
