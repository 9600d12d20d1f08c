//! One workflow execution under orchestration: the seed's `WorkflowOrchestrator`
//! (`initialize`, `executeStep`, `complete`, `isActive`, `getMetadata`).
//!
//! A step goes: route (the model and its prices), compress (the semantic
//! strategy only where the summary costs less than it saves on the routed
//! model), dispatch to the intent's handler, and on an invalid model answer
//! one more dispatch a tier up (`orchestration_max_retries`).

mod plan;
mod step;

use crate::budget::Basis;
use crate::classify::Classification;
use crate::compress::MemoryCompressor;
use crate::environment::Environment;
use crate::routing::{AgentScores, Thresholds, TierModels, thresholds_from_settings, tier_models_from_settings};
use crate::settings::Settings;
use crate::types::*;
pub use plan::LlmTier;
use serde_json::json;
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
        session.env.emit(Event {
            kind: EventKind::Initialized,
            severity: Severity::Info,
            step_id: None,
            metadata: json!({
                "agent_id": agent_id,
                "user_id": user_id,
                "step_count": steps.len(),
                "feature_flags": flags_json(&session.settings),
                "budget_strategy": session.settings.strategy.as_str(),
                "workflow_budget": session.settings.max_tokens_per_workflow,
                "allocated": session.plans.iter().map(|p| p.allocated).sum::<u32>(),
                "llm_classification": llm_tier.record(),
                "agent_scores": session.agent,
                "classification_time_us": session.metrics.classification_time_us,
                "intents": session.plans.iter().map(|p| json!({
                    "step_id": p.step_id,
                    "intent": p.classification.intent,
                    "method": p.classification.method,
                    "confidence": p.classification.confidence,
                    "ambiguous": p.classification.ambiguous,
                    "alternatives": p.classification.alternatives,
                    "reasoning": p.classification.reasoning,
                    "budget": p.allocated,
                    "budget_basis": p.basis.as_str(),
                    "critical": p.critical,
                })).collect::<Vec<_>>(),
            }),
        });
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
        let intent = self.plans[index].classification.intent.clone();
        let assembly = self.assemble(&intent, &input, memory_context);
        let material_tokens = assembly.tokens();
        let mut routing = self.route(index, &intent, &input, material_tokens, 0);
        let compression = self.compress(&intent, &assembly, &routing);
        self.metrics.compression_time_us += compression.time_us;
        self.spend(compression.spend);
        let mut request = HandlerRequest {
            workflow_id: self.workflow_id.clone(),
            step: input.step.clone(),
            intent: intent.clone(),
            params: input.params.clone(),
            context: input.context.clone(),
            memory_context: memory_context.to_string(),
            material: compression.material.clone(),
            available_plugins: available_plugins.to_vec(),
            routed_model: routing.model.clone(),
            token_budget: self.plans[index].spendable(self.settings.overage),
        };
        let mut attempts = vec![];
        let mut failed_provider_us = 0;
        let mut outcome = self.env.dispatch(&request);
        while let Err(failure) = &outcome {
            // A failed attempt may have paid for model calls: charged to the step once.
            self.charge_failed_attempt(index, failure);
            failed_provider_us += failure.provider_time_us;
            let retryable = failure.error.retryable_on_stronger_model() && self.settings.ais_routing_enabled;
            if !retryable || attempts.len() as u32 >= self.settings.max_retries {
                break;
            }
            let escalated = self.route(index, &intent, &input, material_tokens, attempts.len() as u32 + 1);
            let budget = self.plans[index].spendable(self.settings.overage);
            if escalated.model == routing.model || budget == 0 {
                break; // Already on the top tier, or nothing left to retry with.
            }
            attempts.push(json!({
                "model": routing.model,
                "reason": failure.error.kind(),
                "message": failure.error.to_string(),
                "tokens": failure.usage.total,
                "cost_usd": failure.cost_usd,
            }));
            self.metrics.retries += 1;
            routing = escalated;
            request.routed_model = routing.model.clone();
            request.token_budget = budget;
            outcome = self.env.dispatch(&request);
        }
        match outcome {
            Ok(done) => {
                let elapsed = started.elapsed().as_micros() as u64;
                let routed_tier = self.settings.ais_routing_enabled.then(|| self.models.tier_of(&done.model)).flatten();
                let plan = &mut self.plans[index];
                plan.used = plan.used.saturating_add(done.usage.total);
                plan.status = StepStatus::Executed;
                plan.routed_tier = routed_tier;
                // Savings count only where a model call actually carried the compressed text.
                let tokens_saved = if done.llm_calls > 0 { compression.tokens_saved } else { 0 };
                let baseline = self.baseline_cost(&intent, &done, material_tokens, tokens_saved);
                let m = &mut self.metrics;
                m.total_tokens_used += u64::from(done.usage.total);
                m.total_tokens_saved += u64::from(tokens_saved);
                m.total_cost += done.cost_usd;
                m.baseline_cost += baseline;
                m.steps_executed += 1;
                m.orchestration_overhead_us += elapsed.saturating_sub(done.provider_time_us + failed_provider_us);
                if compression.applied {
                    m.compressions_applied += 1;
                    m.min_compression_quality = m.min_compression_quality.min(compression.quality);
                    self.quality_sum += compression.quality;
                    m.avg_compression_quality = self.quality_sum / m.compressions_applied as f32;
                }
                if compression.quality_degraded {
                    m.quality_degraded += 1;
                }
                let plan = &self.plans[index];
                if plan.used > plan.allocated {
                    // Within the overage the host allowed, but past the allocation: recorded.
                    self.env.emit(Event {
                        kind: EventKind::BudgetExceeded,
                        severity: Severity::Warning,
                        step_id: Some(step_id.to_string()),
                        metadata: json!({
                            "kind": "overage",
                            "intent": intent,
                            "allocated": plan.allocated,
                            "used": plan.used,
                            "requested": done.usage.total,
                            "overage_threshold": self.settings.overage,
                        }),
                    });
                }
                self.env.emit(Event {
                    kind: EventKind::StepExecuted,
                    severity: Severity::Info,
                    step_id: Some(step_id.to_string()),
                    metadata: json!({
                        "intent": intent,
                        "classification": {
                            "method": plan.classification.method,
                            "confidence": plan.classification.confidence,
                            "ambiguous": plan.classification.ambiguous,
                        },
                        "handler": done.handler,
                        "handler_version": done.handler_version,
                        "tokens": done.usage,
                        "tokens_saved": tokens_saved,
                        "cost_usd": done.cost_usd,
                        "baseline_cost_usd": baseline,
                        "budget": { "allocated": plan.allocated, "used": plan.used, "remaining": plan.remaining(), "critical": plan.critical },
                        "compression": compression.record,
                        "material": {
                            "pieces": compression.material.iter().map(|p| json!({
                                "name": p.name,
                                "source": p.source,
                                "tokens": p.tokens,
                                "original_tokens": p.original_tokens,
                                "compressed": p.compressed,
                            })).collect::<Vec<_>>(),
                            "omitted": assembly.omitted,
                        },
                        "routing": routing.record,
                        "retries": attempts,
                        "model": done.model,
                        "llm_calls": done.llm_calls,
                        "fuel_consumed": done.fuel_consumed,
                        "provider_time_us": done.provider_time_us,
                        "execution_time_us": elapsed,
                    }),
                });
                Some(StepResult {
                    output: done.output,
                    intent,
                    handler: done.handler,
                    tokens_used: done.usage,
                    compression_applied: compression.applied,
                    tokens_saved,
                    routed_model: done.model,
                    cost_usd: done.cost_usd,
                    execution_time_us: elapsed,
                    provider_time_us: done.provider_time_us,
                })
            }
            Err(failure) => {
                let error = failure.error;
                self.plans[index].status = StepStatus::FellBack;
                self.plans[index].failure = Some(error.clone());
                self.metrics.steps_fell_back += 1;
                self.emit_failure(step_id, Some(&intent), error.kind(), &error.to_string(), attempts.len());
                None
            }
        }
    }

    /// What the step would have cost on the normal path: its full material on
    /// the powerful tier. Steps that made model calls are priced from their
    /// real usage (plus what compression removed); steps whose handler needed
    /// no model are priced as the model call the normal path would make.
    fn baseline_cost(&self, intent: &str, done: &Dispatched, material_tokens: u32, tokens_saved: u32) -> f64 {
        let (input, output) = if done.llm_calls > 0 {
            (done.usage.input + tokens_saved, done.usage.output)
        } else {
            (material_tokens, crate::budget::expected_output_tokens(intent))
        };
        crate::routing::cost_usd(&self.models.powerful, input, output)
    }

    /// What a failed attempt spent: the step's budget and the totals.
    fn charge_failed_attempt(&mut self, index: usize, failure: &DispatchFailure) {
        let plan = &mut self.plans[index];
        plan.used = plan.used.saturating_add(failure.usage.total);
        self.metrics.total_tokens_used += u64::from(failure.usage.total);
        self.metrics.total_cost += failure.cost_usd;
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
        let m = &self.metrics;
        self.env.emit(Event {
            kind: EventKind::Completed,
            severity: Severity::Info,
            step_id: None,
            metadata: json!({
                "total_tokens_used": m.total_tokens_used,
                "total_tokens_saved": m.total_tokens_saved,
                "total_cost": m.total_cost,
                "budget_utilization": m.budget_utilization,
                "budget_allocated": allocated,
                "steps_executed": m.steps_executed,
                "steps_fell_back": m.steps_fell_back,
                "feature_flags": flags_json(&self.settings),
                "performance": {
                    "classification_time_us": m.classification_time_us,
                    "compression_time_us": m.compression_time_us,
                    "routing_time_us": m.routing_time_us,
                    "orchestration_overhead_us": m.orchestration_overhead_us,
                    "avg_overhead_us_per_executed_step": if m.steps_executed == 0 { 0 } else { m.orchestration_overhead_us / u64::from(m.steps_executed) },
                    "steps_completed": m.steps_executed,
                    "steps_failed": m.steps_fell_back,
                },
                "cost": {
                    "tokens_used": m.total_tokens_used,
                    "tokens_saved": m.total_tokens_saved,
                    "total_cost": m.total_cost,
                    "baseline_cost": m.baseline_cost,
                    "cost_savings": m.cost_savings(),
                    "avg_cost_per_step": if m.steps_executed == 0 { 0.0 } else { m.total_cost / f64::from(m.steps_executed) },
                    "orchestrator_calls": m.overhead,
                    "budget_utilization": m.budget_utilization,
                },
                "quality": {
                    "compressions_applied": m.compressions_applied,
                    "avg_compression_quality": m.avg_compression_quality,
                    "min_compression_quality": m.min_compression_quality,
                    "quality_degraded": m.quality_degraded,
                    "success_rate": m.success_rate(),
                    "retries": m.retries,
                    "retry_rate": m.retry_rate(),
                },
            }),
        });
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
        self.env.emit(Event {
            kind: EventKind::StepFailed,
            severity: Severity::Warning,
            step_id: Some(step_id.to_string()),
            metadata: json!({
                "intent": intent,
                "reason": reason,
                "message": message,
                "retries": retries,
                "fallback": "normal_execution",
            }),
        });
    }
}

fn flags_json(s: &Settings) -> serde_json::Value {
    json!({
        "orchestration_enabled": s.orchestration_enabled,
        "compression_enabled": s.compression_enabled,
        "ais_routing_enabled": s.ais_routing_enabled,
    })
}

#[cfg(test)]
mod tests;
