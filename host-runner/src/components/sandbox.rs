//! One handler call in a fresh sandbox: a new store with the handler's fuel
//! limit, memory cap, granted capabilities and the step's token budget. A
//! trap or fuel exhaustion ends that call only, as a typed `step-error`.

use crate::bindings::handler::exports::workflowpilot::orchestration::handler::HandlerInfo;
use crate::bindings::handler::IntentHandlerPre;
use crate::bindings::handlers::DispatchResult;
use crate::bindings::types::{StepError, StepRequest};
use crate::capabilities::audit::{AuditCtx, AuditSink};
use crate::capabilities::database::{Access, DatabaseCtx};
use crate::capabilities::llm::LlmCtx;
use crate::capabilities::outbound_http::{AllowedHosts, OutboundHttp};
use crate::capabilities::settings::SettingsCtx;
use crate::components::state::{ComponentState, HandlerExtra, HandlerState};
use crate::host::Runtime;
use crate::storage::records::Identity;
use std::sync::Arc;
use wasmtime::{Store, Trap};

/// What a handler store is created for.
struct Purpose<'a> {
    handler: &'a str,
    who: Identity,
    step_id: Option<&'a str>,
    routed_model: &'a str,
    token_budget: u32,
}

fn handler_store(runtime: &Runtime, purpose: Purpose<'_>) -> wasmtime::Result<Store<HandlerState>> {
    let audit = AuditSink::new(runtime.db.clone(), purpose.who);
    let mut llm = LlmCtx::new(runtime.provider.clone(), audit.clone(), purpose.handler, purpose.routed_model);
    if let Some(step) = purpose.step_id {
        llm = llm.with_step_budget(step, purpose.token_budget);
    }
    let state = ComponentState::new(
        llm,
        AuditCtx::new(audit, purpose.handler),
        DatabaseCtx::new(runtime.databases.clone(), purpose.handler, Access::None),
        SettingsCtx::new(runtime.db.clone()),
        runtime.limits.store,
        runtime.limits.inherit_stderr,
        HandlerExtra::new(OutboundHttp::new(purpose.handler, Arc::new(AllowedHosts::default()))),
    );
    let mut store = Store::new(&runtime.engine, state);
    store.limiter(|s| &mut s.limits);
    store.set_fuel(runtime.limits.fuel_for(purpose.handler))?;
    Ok(store)
}

/// Instantiates a freshly compiled handler and asks for its `info()`.
pub async fn probe_info(runtime: &Runtime, pre: &IntentHandlerPre<HandlerState>) -> anyhow::Result<HandlerInfo> {
    let purpose = Purpose { handler: "(loading)", who: Identity::default(), step_id: None, routed_model: "", token_budget: 0 };
    let mut store = handler_store(runtime, purpose)?;
    let instance = pre.instantiate_async(&mut store).await?;
    Ok(instance.workflowpilot_orchestration_handler().call_info(&mut store).await?)
}

/// Runs `request` in the handler registered for its intent.
pub async fn run_handler(runtime: &Arc<Runtime>, who: &Identity, request: StepRequest) -> Result<DispatchResult, StepError> {
    let Some(handler) = runtime.registry.for_intent(&request.intent) else {
        return Err(StepError::NoHandler(request.intent));
    };
    let name = handler.info.name.as_str();
    let fuel = runtime.limits.fuel_for(name);
    let purpose = Purpose {
        handler: name,
        who: who.clone(),
        step_id: Some(&request.step.id),
        routed_model: &request.routed_model,
        token_budget: request.token_budget,
    };
    let mut store = handler_store(runtime, purpose).map_err(|e| StepError::Host(format!("{e:#}")))?;
    let outcome = async {
        let instance = handler.pre.instantiate_async(&mut store).await?;
        instance.workflowpilot_orchestration_handler().call_execute(&mut store, &request).await
    }
    .await;
    let output = match outcome {
        Ok(Ok(output)) => output,
        Ok(Err(handler_error)) => return Err(StepError::Handler(handler_error)),
        Err(e) => return Err(trap_reason(e, fuel, name)),
    };
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&output) {
        return Err(StepError::Handler(crate::bindings::types::HandlerError::InvalidOutput(format!(
            "handler `{name}` returned output that is not JSON: {e}"
        ))));
    }
    let fuel_left = store.get_fuel().unwrap_or(0);
    let meter = store.data().llm.meter();
    Ok(DispatchResult {
        output,
        handler: name.to_string(),
        handler_version: handler.info.version.clone(),
        usage: meter.usage(),
        cost_usd: meter.cost_usd,
        model: meter.model.clone().unwrap_or_default(),
        llm_calls: meter.calls,
        fuel_consumed: fuel - fuel_left,
        provider_time_us: meter.provider_time.as_micros() as u64,
    })
}

/// Turns a wasmtime error from a handler call into the step's typed reason.
fn trap_reason(error: wasmtime::Error, fuel: u64, handler: &str) -> StepError {
    let reason = match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => StepError::FuelExhausted(fuel),
        Some(trap) => StepError::Trapped(format!("{trap}: {}", first_lines(&format!("{error:?}"), 6))),
        None => StepError::Trapped(first_lines(&format!("{error:#}"), 6)),
    };
    tracing::warn!(handler, ?reason, "handler call failed");
    reason
}

fn first_lines(text: &str, n: usize) -> String {
    text.lines().take(n).collect::<Vec<_>>().join("\n")
}
