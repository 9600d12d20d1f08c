//! `handlers`: the orchestrator's dispatch to intent handlers. The host owns
//! the registry, so a handler can be replaced between two dispatches; every
//! dispatch runs in a fresh sandbox (see `components::sandbox`).

use crate::bindings::handlers::{self, DispatchFailure, DispatchResult};
use crate::bindings::types::StepRequest;
use crate::storage::records::Identity;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use wasmtime::component::{HasData, Linker};

/// What a dispatch returns.
pub type Dispatched<'a> = Pin<Box<dyn Future<Output = Result<DispatchResult, DispatchFailure>> + Send + 'a>>;

/// What the orchestrator's dispatch needs from the host: the handlers loaded
/// now, and a way to run one in a fresh sandbox.
pub trait Dispatcher: Send + Sync {
    fn registered_intents(&self) -> Vec<String>;
    fn control_params(&self, intent: &str) -> Vec<String>;
    fn intent_description(&self, intent: &str) -> Option<String>;
    fn dispatch<'a>(&'a self, who: &'a Identity, request: StepRequest) -> Dispatched<'a>;
}

/// Per-store context of the orchestrator: where to dispatch, and the
/// execution the dispatches belong to.
pub struct DispatchCtx {
    dispatcher: Arc<dyn Dispatcher>,
    who: Identity,
}

impl DispatchCtx {
    pub fn new(dispatcher: Arc<dyn Dispatcher>, who: Identity) -> Self {
        DispatchCtx { dispatcher, who }
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
        self.dispatcher.registered_intents()
    }

    fn control_params(&mut self, intent: String) -> Vec<String> {
        self.dispatcher.control_params(&intent)
    }

    fn intent_description(&mut self, intent: String) -> Option<String> {
        self.dispatcher.intent_description(&intent)
    }

    async fn dispatch(&mut self, request: StepRequest) -> Result<DispatchResult, DispatchFailure> {
        self.dispatcher.dispatch(&self.who, request).await
    }
}
