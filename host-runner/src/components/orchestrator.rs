//! The orchestrator component driven for one workflow execution: one store
//! and one `workflow-session` resource for the whole execution, fuel refilled
//! before every call. A trap inside the orchestrator breaks the session; the
//! runner then runs the remaining steps the normal way.

use crate::bindings::handlers::{DispatchFailure, DispatchResult};
use crate::bindings::orchestrator::OrchestratorCore;
use crate::bindings::orchestrator::exports::workflowpilot::orchestration::orchestrator::{
    FinishedStep, OrchestrationMetadata, StepProgress, WorkflowMetrics,
};
use crate::bindings::types::{StepInput, StepRequest, StepResult, WorkflowStep};
use crate::capabilities::settings::RunFlags;
use crate::components::runtime::Runtime;
use crate::components::state::ComponentState;
use crate::components::worlds::orchestrator_core::{OrchestratorImports, OrchestratorState};
use crate::storage::records::Identity;
use anyhow::{Context, Result};
use std::sync::Arc;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

/// About a year of 10 ms ticks.
const ORCHESTRATOR_EPOCH_TICKS: u64 = 1 << 32;

pub struct OrchestratorSession {
    store: Store<OrchestratorState>,
    core: OrchestratorCore,
    session: ResourceAny,
    fuel: u64,
    broken: Option<String>,
}

impl OrchestratorSession {
    /// Instantiates the orchestrator and calls the session constructor (the seed's `initialize`).
    pub async fn start(
        runtime: &Arc<Runtime>,
        who: &Identity,
        flags: Arc<RunFlags>,
        steps: &[WorkflowStep],
        goal: Option<&str>,
    ) -> Result<Self> {
        let shared = &runtime.shared;
        let default_model = shared
            .db
            .settings()?
            .get(orchestration::keys::DEFAULT_MODEL)
            .cloned()
            .unwrap_or_else(|| orchestration::keys::DEFAULT_MODEL_ID.into());
        let imports = OrchestratorImports::prepare(&shared.capabilities, runtime.clone(), who, flags, default_model);
        let state = ComponentState::new(imports, shared.limits.defaults, shared.limits.inherit_stderr);
        // The orchestrator is the host's own component: fuel bounds its work
        // per call; its calls' wall time is mostly handler time, bounded by
        // each handler's own deadline, so its epoch deadline is never reached.
        let fuel = shared.limits.defaults.fuel;
        let mut store = state.into_store(runtime.orchestrator.engine(), fuel, ORCHESTRATOR_EPOCH_TICKS)?;
        let core = runtime
            .orchestrator
            .instantiate_async(&mut store)
            .await
            .map_err(anyhow::Error::from)
            .context("instantiating the orchestrator")?;
        let session = core
            .workflowpilot_orchestration_orchestrator()
            .workflow_session()
            .call_constructor(&mut store, &who.execution_id, &who.agent_id, &who.user_id, steps, goal)
            .await
            .map_err(anyhow::Error::from)
            .context("initializing the orchestration session")?;
        Ok(OrchestratorSession { store, core, session, fuel, broken: None })
    }

    /// What the orchestrator's own model calls cost, as the host metered them.
    pub fn own_spend(&self) -> orchestration::types::OverheadSpend {
        let meter = self.store.data().imports.llm.meter();
        orchestration::types::OverheadSpend {
            calls: meter.calls,
            tokens: u64::from(meter.usage().total),
            cost_usd: meter.cost_usd,
        }
    }

    /// What handler attempts that failed spent on models, as the host metered them.
    pub fn failed_attempts(&self) -> orchestration::types::OverheadSpend {
        self.store.data().imports.dispatch.failed_attempts()
    }

    /// Why the session stopped working, if it did.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    pub async fn is_active(&mut self) -> bool {
        if !self.refuel() {
            return false;
        }
        let sessions = self.core.workflowpilot_orchestration_orchestrator().workflow_session();
        let result = sessions.call_is_active(&mut self.store, self.session).await;
        self.settle(result).unwrap_or(false)
    }

    /// `Ok(None)`: the orchestrator declined the step (the caller falls back);
    /// `Err`: the orchestrator itself failed, with the reason.
    // `&String`: the bindgen call takes it, so no copy is made per step.
    #[allow(clippy::ptr_arg)]
    pub async fn execute_step(
        &mut self,
        step_id: &String,
        input: &StepInput,
        memory_context: &String,
        available_plugins: &[String],
    ) -> Result<Option<StepResult>, String> {
        if !self.refuel() {
            return Err(self.broken.clone().unwrap_or_default());
        }
        let sessions = self.core.workflowpilot_orchestration_orchestrator().workflow_session();
        let result = sessions
            .call_execute_step(&mut self.store, self.session, step_id, input, memory_context, available_plugins)
            .await;
        self.settle(result).ok_or_else(|| self.broken.clone().unwrap_or_default())
    }

    /// The plan phase of a step: `Ok(Some(request))` to dispatch, `Ok(None)`
    /// to fall back; `Err`: the orchestrator itself failed, with the reason.
    #[allow(clippy::ptr_arg)]
    pub async fn plan_step(
        &mut self,
        step_id: &String,
        input: &StepInput,
        memory_context: &String,
        available_plugins: &[String],
    ) -> Result<Option<StepRequest>, String> {
        if !self.refuel() {
            return Err(self.broken.clone().unwrap_or_default());
        }
        let sessions = self.core.workflowpilot_orchestration_orchestrator().workflow_session();
        let result = sessions
            .call_plan_step(&mut self.store, self.session, step_id, input, memory_context, available_plugins)
            .await;
        self.settle(result).ok_or_else(|| self.broken.clone().unwrap_or_default())
    }

    /// The record phase: books a dispatch the host ran for a planned step.
    /// A failed dispatch's model spend is counted with the seed path's.
    #[allow(clippy::ptr_arg)]
    pub async fn record_dispatch(
        &mut self,
        step_id: &String,
        outcome: &Result<DispatchResult, DispatchFailure>,
    ) -> Result<StepProgress, String> {
        if let Err(failure) = outcome {
            self.store.data_mut().imports.dispatch.count_failed_attempt(failure);
        }
        if !self.refuel() {
            return Err(self.broken.clone().unwrap_or_default());
        }
        let sessions = self.core.workflowpilot_orchestration_orchestrator().workflow_session();
        let result = sessions.call_record_dispatch(&mut self.store, self.session, step_id, outcome.as_ref()).await;
        self.settle(result).ok_or_else(|| self.broken.clone().unwrap_or_default())
    }

    /// Takes in a step an earlier session of this execution finished; false
    /// when the session refused it or is broken.
    #[allow(clippy::ptr_arg)]
    pub async fn restore_step(&mut self, step_id: &String, finished: &FinishedStep) -> bool {
        if !self.refuel() {
            return false;
        }
        let sessions = self.core.workflowpilot_orchestration_orchestrator().workflow_session();
        let result = sessions.call_restore_step(&mut self.store, self.session, step_id, finished).await;
        self.settle(result).unwrap_or(false)
    }

    pub async fn complete(&mut self) -> Option<WorkflowMetrics> {
        if !self.refuel() {
            return None;
        }
        let sessions = self.core.workflowpilot_orchestration_orchestrator().workflow_session();
        let result = sessions.call_complete(&mut self.store, self.session).await;
        self.settle(result).flatten()
    }

    pub async fn metadata(&mut self) -> Option<OrchestrationMetadata> {
        if !self.refuel() {
            return None;
        }
        let sessions = self.core.workflowpilot_orchestration_orchestrator().workflow_session();
        let result = sessions.call_get_metadata(&mut self.store, self.session).await;
        self.settle(result).flatten()
    }

    /// Refills the fuel before a call; false when the session is broken.
    fn refuel(&mut self) -> bool {
        if self.broken.is_none() {
            self.store.set_epoch_deadline(ORCHESTRATOR_EPOCH_TICKS);
            if let Err(e) = self.store.set_fuel(self.fuel) {
                self.broken = Some(format!("cannot refill the orchestrator's fuel: {e}"));
            }
        }
        self.broken.is_none()
    }

    /// A trap breaks the session for good: the instance may be inconsistent.
    fn settle<R>(&mut self, result: wasmtime::Result<R>) -> Option<R> {
        result
            .map_err(|e| {
                let reason = format!("orchestrator failed: {e:#}");
                tracing::error!("{reason}");
                self.broken = Some(reason);
            })
            .ok()
    }
}
