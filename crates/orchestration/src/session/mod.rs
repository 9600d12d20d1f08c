//! One workflow execution under orchestration: the seed's `WorkflowOrchestrator`
//! (`initialize`, `executeStep`, `complete`, `isActive`, `getMetadata`).
//!
//! A step goes: route (the model and its prices), compress (the semantic
//! strategy only where the summary costs less than it saves on the routed
//! model), dispatch to the intent's handler, and on an invalid model answer
//! one more dispatch a tier up (`orchestration_max_retries`).
//!
//! One job per file: `plan` decides every step's intent and budget at
//! initialization; `step` prepares a step (assemble, route, compress),
//! `dispatch` dispatches it with its retries, `record` books how it ended,
//! and `events` builds the audit events.

mod dispatch;
mod events;
mod plan;
mod record;
mod step;

use crate::budget::Basis;
use crate::classify::Classification;
use crate::compress::MemoryCompressor;
use crate::environment::Environment;
use crate::routing::{AgentScores, Thresholds, TierModels, thresholds_from_settings, tier_models_from_settings};
use crate::settings::Settings;
use crate::types::*;
use dispatch::FailedAttempts;
pub use plan::LlmTier;
use std::collections::HashMap;
use std::time::Instant;

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Pending,
    Executed,
    FellBack,
}

/// The plan and record of one step.
#[derive(Debug, Clone)]
pub struct StepPlan {
    pub step_id: String,
    pub classification: Classification,
    pub allocated: u32,
    /// How the allocation's need was estimated.
    pub basis: Basis,
    pub critical: bool,
    pub used: u32,
    pub status: StepStatus,
    /// Why the step fell back, typed.
    pub failure: Option<DispatchError>,
    /// The tier AIS routing sent the executed step to (routing on).
    pub routed_tier: Option<crate::routing::Tier>,
}

impl StepPlan {
    pub fn remaining(&self) -> u32 {
        self.allocated.saturating_sub(self.used)
    }

    /// What the step may still spend: its allocation, or with overage allowed
    /// `allocation × threshold`, minus what it used.
    pub fn spendable(&self, overage: Option<f32>) -> u32 {
        let limit = overage.map_or(self.allocated, |t| (self.allocated as f32 * t) as u32);
        limit.saturating_sub(self.used)
    }
}

/// The seed's `getMetadata()`.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub workflow_id: String,
    pub settings: Settings,
    pub workflow_budget: u32,
    pub steps: Vec<StepPlan>,
}

/// A step between [`Session::begin_step`] and its last [`Session::record_dispatch`].
struct InFlight {
    index: usize,
    input: StepInput,
    started: Instant,
    step: step::Prepared,
    failed: dispatch::FailedAttempts,
}

/// What the caller does after a dispatch of a planned step.
#[derive(Debug, Clone)]
pub enum StepProgress {
    /// Dispatch this request (the step again, a tier up).
    Dispatch(Box<HandlerRequest>),
    /// The step ran through its handler.
    Done(StepResult),
    /// Run the step the normal way.
    FellBack,
}

/// The caller's step, as the seed passes it: the step with params and variables.
#[derive(Debug, Clone)]
pub struct StepInput {
    pub step: Step,
    pub params: String,
    pub context: String,
}

pub struct Session<E: Environment> {
    env: E,
    workflow_id: String,
    agent_id: String,
    /// The workflow's description: routing reads its domain.
    goal: Option<String>,
    settings: Settings,
    /// Per-tier models and thresholds, read at initialization (routing).
    models: TierModels,
    thresholds: Thresholds,
    /// The agent's `agent_intensity_metrics` row (routing on only).
    agent: Option<AgentScores>,
    /// How memory context is compressed (compression).
    memory: MemoryCompressor,
    plans: Vec<StepPlan>,
    metrics: WorkflowMetrics,
    /// Sum of the quality of applied compressions, for the mean.
    quality_sum: f32,
    /// Steps planned whose dispatch is not recorded yet.
    in_flight: HashMap<String, InFlight>,
    completed: bool,
}

impl<E: Environment> Session<E> {
    /// Reads the flags; when orchestration is enabled, classifies every step
    /// (free tiers, then the LLM and context tiers for unsure steps),
    /// allocates budgets and emits `ORCHESTRATION_INITIALIZED`. `goal` is the
    /// workflow's description, read by the classification tiers and routing.
    pub fn initialize(
        env: E,
        workflow_id: &str,
        agent_id: &str,
        user_id: &str,
        steps: &[Step],
        goal: Option<&str>,
    ) -> Self {
        let settings = Settings::read(&env);
        let get = |key: &str| env.setting(key);
        let (models, thresholds, memory) =
            (tier_models_from_settings(get), thresholds_from_settings(get), MemoryCompressor::from_settings(get));
        let mut session = Session {
            models,
            thresholds,
            memory,
            agent: None,
            workflow_id: workflow_id.to_string(),
            agent_id: agent_id.to_string(),
            goal: goal.map(str::to_string),
            plans: vec![],
            metrics: WorkflowMetrics {
                min_compression_quality: 1.0,
                avg_compression_quality: 1.0,
                ..Default::default()
            },
            quality_sum: 0.0,
            in_flight: HashMap::new(),
            completed: false,
            settings,
            env,
        };
        if !session.settings.orchestration_enabled {
            return session;
        }
        let started = Instant::now();
        let (classifications, llm_tier) =
            plan::classify_steps(&session.env, &session.settings, &session.models.fast.model, steps, goal);
        session.metrics.classification_time_us = started.elapsed().as_micros() as u64;
        session.spend(llm_tier.spend);
        if session.settings.ais_routing_enabled {
            session.agent = session.env.agent_scores(agent_id);
        }
        let shares = plan::allocate(&session.env, &session.settings, agent_id, steps, &classifications);
        session.plans = steps
            .iter()
            .zip(classifications)
            .zip(shares)
            .map(|((step, classification), (allocated, basis))| StepPlan {
                step_id: step.id.clone(),
                classification,
                allocated,
                basis,
                critical: step.critical,
                used: 0,
                status: StepStatus::Pending,
                failure: None,
                routed_tier: None,
            })
            .collect();
        session.env.emit(events::initialized(&session, user_id, steps.len(), &llm_tier));
        session
    }

    /// Whether orchestration runs for this execution.
    pub fn is_active(&self) -> bool {
        self.settings.orchestration_enabled && !self.completed
    }

    /// Runs a step through its handler. `None` tells the caller to run the
    /// step the normal way; the reason is in [`Session::metadata`] and audit.
    pub fn execute_step(
        &mut self,
        step_id: &str,
        input: StepInput,
        memory_context: &str,
        available_plugins: &[String],
    ) -> Option<StepResult> {
        let mut request = self.begin_step(step_id, input, memory_context, available_plugins)?;
        loop {
            let outcome = self.env.dispatch(&request);
            match self.record_dispatch(step_id, outcome) {
                StepProgress::Dispatch(next) => request = *next,
                StepProgress::Done(result) => return Some(result),
                StepProgress::FellBack => return None,
            }
        }
    }

    /// The plan phase of a step: classifies nothing (that was done at
    /// initialization) but assembles its material, routes and compresses it,
    /// and returns the request its handler is to run. The caller dispatches
    /// it, without holding the session, and hands the outcome to
    /// [`Session::record_dispatch`]; steps may be in flight together. `None`:
    /// run the step the normal way (the reason is in the metadata and audit).
    pub fn begin_step(
        &mut self,
        step_id: &str,
        input: StepInput,
        memory_context: &str,
        available_plugins: &[String],
    ) -> Option<HandlerRequest> {
        if !self.is_active() {
            return None;
        }
        let started = Instant::now();
        let Some(index) = self.plans.iter().position(|p| p.step_id == step_id) else {
            self.emit_failure(
                step_id,
                None,
                "unknown_step",
                "the step was not part of the workflow at initialization",
                0,
            );
            return None;
        };
        if self.in_flight.contains_key(step_id) {
            self.emit_failure(step_id, None, "step_in_flight", "the step is already in flight", 0);
            return None;
        }
        let step = self.prepare(index, &input, memory_context, available_plugins);
        let request = step.request.clone();
        let flight = InFlight { index, input, started, step, failed: FailedAttempts::default() };
        self.in_flight.insert(step_id.to_string(), flight);
        Some(request)
    }

    /// The record phase: books one dispatch of a step [`Session::begin_step`]
    /// planned, and says what comes next: another dispatch a tier up, the
    /// step's result, or the fall-back to the normal path.
    pub fn record_dispatch(&mut self, step_id: &str, outcome: Result<Dispatched, DispatchFailure>) -> StepProgress {
        let Some(mut flight) = self.in_flight.remove(step_id) else {
            self.emit_failure(step_id, None, "not_planned", "a dispatch was recorded for a step not in flight", 0);
            return StepProgress::FellBack;
        };
        match outcome {
            Ok(done) => {
                let InFlight { index, started, step, failed, .. } = flight;
                StepProgress::Done(self.record_success(index, step_id, started, step, done, failed))
            }
            Err(failure) => {
                let (index, input) = (flight.index, &flight.input);
                if self.retry_after(index, input, &mut flight.step, &mut flight.failed, &failure) {
                    let request = flight.step.request.clone();
                    self.in_flight.insert(step_id.to_string(), flight);
                    return StepProgress::Dispatch(Box::new(request));
                }
                let retries = flight.failed.retried.len();
                self.record_fallback(index, step_id, &flight.step.intent, failure.error, retries);
                StepProgress::FellBack
            }
        }
    }

    /// What the run says about the agent: the tiers routing chose for the
    /// steps run, and the steps that failed for a model-caused reason. The
    /// host stores the updated scores; it computes nothing.
    fn record_agent_run(&self) {
        if !self.settings.ais_routing_enabled {
            return;
        }
        let ran: Vec<&StepPlan> = self.plans.iter().filter(|p| p.routed_tier.is_some()).collect();
        if ran.is_empty() {
            return;
        }
        let failures =
            self.plans.iter().filter(|p| p.failure.as_ref().is_some_and(DispatchError::model_caused)).count();
        let run = crate::routing::RunOutcome {
            steps: (ran.len() + failures) as u32,
            failures: failures as u32,
            avg_tier_used: ran.iter().filter_map(|p| p.routed_tier).map(|t| f32::from(t.index())).sum::<f32>()
                / ran.len() as f32,
            tokens: ran.iter().map(|p| u64::from(p.used)).sum(),
        };
        if let Some(scores) = crate::routing::updated_execution_score(self.agent, &run) {
            self.env.record_run(&self.agent_id, scores);
        }
    }

    /// Counts the orchestrator's own model calls as tokens used and cost.
    fn spend(&mut self, spend: OverheadSpend) {
        let o = &mut self.metrics.overhead;
        o.calls += spend.calls;
        o.tokens += spend.tokens;
        o.cost_usd += spend.cost_usd;
        self.metrics.total_tokens_used += spend.tokens;
        self.metrics.total_cost += spend.cost_usd;
    }

    /// Ends orchestration: folds the run into the agent's execution score
    /// (routing on), emits `ORCHESTRATION_COMPLETED` and returns the metrics.
    pub fn complete(&mut self) -> Option<WorkflowMetrics> {
        if !self.is_active() {
            return None;
        }
        self.completed = true;
        self.record_agent_run();
        let allocated: u64 = self.plans.iter().map(|p| u64::from(p.allocated)).sum();
        // Steps' use of what they were allocated; the orchestrator's own calls were never allocated.
        let used: u64 = self.plans.iter().map(|p| u64::from(p.used)).sum();
        self.metrics.budget_utilization = if allocated == 0 { 0.0 } else { used as f64 / allocated as f64 };
        self.env.emit(events::completed(&self.metrics, allocated, &self.settings));
        Some(self.metrics.clone())
    }

    /// Flags, per-step intents, budgets and outcomes; `None` when orchestration is off.
    pub fn metadata(&self) -> Option<Metadata> {
        self.settings.orchestration_enabled.then(|| Metadata {
            workflow_id: self.workflow_id.clone(),
            settings: self.settings.clone(),
            workflow_budget: self.settings.max_tokens_per_workflow,
            steps: self.plans.clone(),
        })
    }

    fn emit_failure(&self, step_id: &str, intent: Option<&str>, reason: &str, message: &str, retries: usize) {
        self.env.emit(events::step_failed(step_id, intent, reason, message, retries));
    }
}

#[cfg(test)]
mod tests;
