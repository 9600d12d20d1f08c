//! One handler call in a fresh sandbox: a new store with the handler's
//! limits (fuel, deadline, memory, tables, instances, output size), only the
//! capabilities its manifest grants, and the step's token budget. Whatever
//! the handler does ends that call only, as a typed `step-error`.

use crate::bindings::handler::IntentHandlerPre;
use crate::bindings::handler::exports::workflowpilot::orchestration::handler::HandlerInfo;
use crate::bindings::handlers::{DispatchFailure, DispatchResult};
use crate::bindings::types::{HandlerError, StepError, StepRequest, TokenUsage};
use crate::capabilities::llm::Meter;
use crate::components::limits::{CapHit, HandlerLimits};
use crate::components::loaded::LoadedHandler;
use crate::components::manifest::Grants;
use crate::components::shared::Shared;
use crate::components::state::ComponentState;
use crate::components::worlds::intent_handler::{HandlerImports, HandlerState, Purpose};
use crate::storage::queued::Record;
use crate::storage::records::{Identity, UsageRow};
use crate::vocabulary::failures::dispatch_error;
use crate::vocabulary::usage::{AttemptError, ModelInfo, UsagePath};
use orchestration::types::DispatchError;
use std::time::Duration;
use wasmtime::{Store, Trap};

/// `info()` must answer quickly: it runs while a handler is being loaded.
const PROBE_DEADLINE_MS: u64 = 5_000;

/// A store on `pre`'s engine (baseline and optimized code live on different
/// ones), its contexts only as far as `grants` allow.
fn handler_store(
    shared: &Shared,
    pre: &IntentHandlerPre<HandlerState>,
    grants: &Grants,
    purpose: Purpose<'_>,
) -> wasmtime::Result<Store<HandlerState>> {
    let imports = HandlerImports::prepare(&shared.capabilities, grants, purpose);
    let state = ComponentState::new(imports, grants.limits, shared.limits.inherit_stderr);
    state.into_store(pre.engine(), grants.limits.fuel, grants.limits.deadline_ticks())
}

/// Instantiates a freshly compiled handler with no grants and asks for its `info()`.
pub async fn probe_info(runtime: &Shared, pre: &IntentHandlerPre<HandlerState>) -> anyhow::Result<HandlerInfo> {
    let grants = Grants::none(HandlerLimits { deadline_ms: PROBE_DEADLINE_MS, ..runtime.limits.defaults });
    let purpose =
        Purpose { handler: "(loading)", who: Identity::default(), step: None, routed_model: "", plugins: &[] };
    let mut store = handler_store(runtime, pre, &grants, purpose)?;
    let call = async {
        let instance = pre.instantiate_async(&mut store).await?;
        instance.workflowpilot_orchestration_handler().call_info(&mut store).await
    };
    match tokio::time::timeout(Duration::from_millis(PROBE_DEADLINE_MS), call).await {
        Ok(result) => Ok(result?),
        Err(_) => anyhow::bail!("info() did not answer within {PROBE_DEADLINE_MS} ms"),
    }
}

/// Runs `request` in `handler`.
pub async fn run_handler(
    runtime: &Shared,
    handler: &LoadedHandler,
    who: &Identity,
    request: StepRequest,
) -> Result<DispatchResult, DispatchFailure> {
    let name = handler.id.as_str();
    let limits = handler.grants.limits;
    let purpose = Purpose {
        handler: name,
        who: who.clone(),
        step: Some((&request.step.id, request.token_budget)),
        routed_model: &request.routed_model,
        plugins: &request.available_plugins,
    };
    let mut store = handler_store(runtime, &handler.pre, &handler.grants, purpose)
        .map_err(|e| unspent(StepError::Host(format!("{e:#}"))))?;
    let call = async {
        let instance = handler.pre.instantiate_async(&mut store).await?;
        instance.workflowpilot_orchestration_handler().call_execute(&mut store, &request).await
    };
    // The epoch deadline stops a guest that computes too long; the timeout
    // also stops one that waits too long inside a host call.
    let outcome = tokio::time::timeout(Duration::from_millis(limits.deadline_ms), call).await;
    let checked = match outcome {
        Err(_elapsed) => Err(failed(name, StepError::DeadlineExceeded(limits.deadline_ms))),
        Ok(Err(e)) => Err(failed(name, trap_reason(&e, &limits, store.data().limiter.hit))),
        Ok(Ok(Err(handler_error))) => Err(StepError::Handler(handler_error)),
        Ok(Ok(Ok(output))) => check_output(name, output, &limits),
    };
    let output = match checked {
        Ok(output) => output,
        Err(error) => {
            let meter = store.data().imports.llm.meter();
            record_failed_attempt(runtime, who, &request.step.id, name, meter, &dispatch_error(&error));
            return Err(DispatchFailure {
                error,
                usage: meter.usage(),
                cost_usd: meter.cost_usd,
                llm_calls: meter.calls,
                provider_time_us: meter.provider_time.as_micros() as u64,
            });
        }
    };
    let fuel_left = store.get_fuel().unwrap_or(0);
    let meter = store.data().imports.llm.meter();
    Ok(DispatchResult {
        output,
        handler: name.to_string(),
        handler_version: handler.info.version.clone(),
        usage: meter.usage(),
        cost_usd: meter.cost_usd,
        model: meter.model.clone().unwrap_or_default(),
        llm_calls: meter.calls,
        fuel_consumed: limits.fuel - fuel_left,
        provider_time_us: meter.provider_time.as_micros() as u64,
    })
}

/// A failure before any model call.
pub fn unspent(error: StepError) -> DispatchFailure {
    DispatchFailure {
        error,
        usage: TokenUsage { input: 0, output: 0, total: 0 },
        cost_usd: 0.0,
        llm_calls: 0,
        provider_time_us: 0,
    }
}

/// The handler's output, if it is within the size limit and JSON.
fn check_output(name: &str, output: String, limits: &HandlerLimits) -> Result<String, StepError> {
    if output.len() as u64 > limits.max_output_bytes {
        return Err(failed(name, StepError::OutputTooLarge(limits.max_output_bytes)));
    }
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&output) {
        return Err(StepError::Handler(HandlerError::InvalidOutput(format!(
            "handler `{name}` returned output that is not JSON: {e}"
        ))));
    }
    Ok(output)
}

/// A failed dispatch may already have paid for model calls: the spend goes
/// into `token_usage` (path `failed_attempt`) so that no paid token is lost.
fn record_failed_attempt(
    runtime: &Shared,
    who: &Identity,
    step_id: &str,
    handler: &str,
    meter: &Meter,
    error: &DispatchError,
) {
    if meter.calls == 0 {
        return;
    }
    let row = UsageRow {
        step_id: Some(step_id.to_string()),
        tokens_used: u64::from(meter.usage().total),
        tokens_saved: 0,
        cost: meter.cost_usd,
        model_info: ModelInfo::new(UsagePath::FailedAttempt {
            handler: handler.to_string(),
            model: meter.model.clone(),
            llm_calls: meter.calls,
            error: AttemptError { reason: error.reason(), message: error.to_string() },
        })
        .to_json(),
    };
    let what = format!("token_usage of {handler}'s failed attempt at step {step_id}");
    runtime.db.records().send(Record::Usage { who: who.clone(), row, what });
}

/// The typed reason of a failed call: which limit, or which trap.
fn trap_reason(error: &wasmtime::Error, limits: &HandlerLimits, cap: Option<CapHit>) -> StepError {
    match (error.downcast_ref::<Trap>(), cap) {
        (_, Some(CapHit::Memory)) => StepError::MemoryExceeded(limits.memory_bytes),
        (Some(Trap::OutOfFuel), _) => StepError::FuelExhausted(limits.fuel),
        (Some(Trap::Interrupt), _) => StepError::DeadlineExceeded(limits.deadline_ms),
        (Some(trap), _) => StepError::Trapped(format!("{trap}: {}", first_lines(&format!("{error:?}"), 6))),
        (None, _) => StepError::Trapped(first_lines(&format!("{error:#}"), 6)),
    }
}

fn failed(handler: &str, reason: StepError) -> StepError {
    tracing::warn!(handler, ?reason, "handler call failed");
    reason
}

fn first_lines(text: &str, n: usize) -> String {
    text.lines().take(n).collect::<Vec<_>>().join("\n")
}
