//! The data of every component store: WASI (no files, no environment, no
//! inherited stdio unless asked), the store's resource limits, and `I`, the
//! per-store contexts of the world's other imports (see `worlds`).

use crate::components::limits::{HandlerLimits, Limiter};
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub struct ComponentState<I> {
    /// Shared by WASI and the world's resource-owning imports (`wasi:http`).
    pub(crate) table: ResourceTable,
    wasi: WasiCtx,
    pub limiter: Limiter,
    pub imports: I,
}

impl<I> ComponentState<I> {
    pub fn new(imports: I, limits: HandlerLimits, inherit_stderr: bool) -> Self {
        let mut wasi = WasiCtx::builder();
        // Sockets are linked (language runtimes import them) but reach nothing:
        // outbound traffic goes through wasi:http and the manifest's allow-list.
        wasi.socket_addr_check(|_, _| Box::pin(async { false })).allow_ip_name_lookup(false);
        if inherit_stderr {
            wasi.inherit_stderr();
        }
        ComponentState { table: ResourceTable::new(), wasi: wasi.build(), limiter: Limiter::new(limits), imports }
    }
}

impl<I: Send + 'static> ComponentState<I> {
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

impl<I: Send> WasiView for ComponentState<I> {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}
