//! `handlers`: the orchestrator's dispatch to intent handlers. The host owns
//! the registry, so a handler can be replaced between two dispatches; every
//! dispatch runs in a fresh sandbox (see `components::sandbox`).

use crate::bindings::handlers::{self, DispatchFailure, DispatchResult};
use crate::bindings::types::StepRequest;
use crate::storage::records::Identity;
use orchestration::types::OverheadSpend;
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

/// Per-store context of the orchestrator: where to dispatch, the execution
/// the dispatches belong to, and what failed attempts spent.
pub struct DispatchCtx {
    dispatcher: Arc<dyn Dispatcher>,
    who: Identity,
    failed_attempts: OverheadSpend,
}

impl DispatchCtx {
    pub fn new(dispatcher: Arc<dyn Dispatcher>, who: Identity) -> Self {
        DispatchCtx { dispatcher, who, failed_attempts: OverheadSpend::default() }
    }

    /// Adds a failed dispatch's model calls, whoever ran the dispatch.
    pub fn count_failed_attempt(&mut self, failure: &DispatchFailure) {
        let spent = &mut self.failed_attempts;
        spent.calls += failure.llm_calls;
        spent.tokens += u64::from(failure.usage.total);
        spent.cost_usd += failure.cost_usd;
    }

    /// The model calls of dispatches that failed: paid for, though no step used them.
    pub fn failed_attempts(&self) -> OverheadSpend {
        self.failed_attempts
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
        let outcome = self.dispatcher.dispatch(&self.who, request).await;
        if let Err(failure) = &outcome {
            self.count_failed_attempt(failure);
        }
        outcome
    }
}
