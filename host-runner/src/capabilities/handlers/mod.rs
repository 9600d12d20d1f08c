//! `handlers`: the orchestrator's dispatch to intent handlers. The host owns
//! the registry, so a handler can be replaced between two dispatches; every
//! dispatch runs in a fresh sandbox (see `components::sandbox`).

use crate::bindings::handlers::{self, DispatchFailure, DispatchResult};
use crate::bindings::types::StepRequest;
use crate::components::sandbox;
use crate::host::Runtime;
use crate::storage::records::Identity;
use std::sync::Arc;
use wasmtime::component::{HasData, Linker};

/// Per-store context of the orchestrator: the runtime to dispatch into and
/// the execution the dispatches belong to.
pub struct DispatchCtx {
    runtime: Arc<Runtime>,
    who: Identity,
}

impl DispatchCtx {
    pub fn new(runtime: Arc<Runtime>, who: Identity) -> Self {
        DispatchCtx { runtime, who }
    }
}

pub trait DispatchView {
    fn dispatch(&mut self) -> &mut DispatchCtx;
}

struct HasDispatch;

impl HasData for HasDispatch {
    type Data<'a> = &'a mut DispatchCtx;
}

pub fn add_to_linker<T: DispatchView + Send + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    handlers::add_to_linker::<T, HasDispatch>(linker, T::dispatch)
}

impl handlers::Host for DispatchCtx {
    fn registered_intents(&mut self) -> Vec<String> {
        self.runtime.registry.intents()
    }

    fn control_params(&mut self, intent: String) -> Vec<String> {
        self.runtime.registry.control_params(&intent)
    }

    async fn dispatch(&mut self, request: StepRequest) -> Result<DispatchResult, DispatchFailure> {
        sandbox::run_handler(&self.runtime, &self.who, request).await
    }
}
