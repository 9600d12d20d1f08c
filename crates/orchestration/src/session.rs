//! One workflow execution under orchestration: the seed's `WorkflowOrchestrator`
//! (`initialize`, `executeStep`, `complete`, `isActive`, `getMetadata`).

use crate::budget::{self, Need};
use crate::classify::{classify, Classification};
use crate::compress::{compress_with, MemoryCompressor, Policy};
use crate::routing::{route, thresholds_from_settings, tier_models_from_settings, RouteInput, Thresholds, TierModels};
use crate::environment::Environment;
use crate::settings::{Settings, INTENT_BUDGET_PREFIX};
use crate::types::*;
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
    pub used: u32,
    pub status: StepStatus,
    pub failure: Option<String>,
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
    settings: Settings,
    /// Per-tier models and thresholds, read at initialization (routing).
    models: TierModels,
    thresholds: Thresholds,
    /// How memory context is compressed (compression).
    memory: MemoryCompressor,
    plans: Vec<StepPlan>,
    metrics: WorkflowMetrics,
    completed: bool,
}

/// What compression did to one step's inputs.
struct Compression {
    prompt: String,
    context: String,
    memory: String,
    /// Tokens removed from what the handler sends (prompt and memory).
    tokens_saved: u32,
    applied: bool,
    record: serde_json::Value,
}

/// The model a step goes to, and why.
struct Routing {
    model: String,
    record: serde_json::Value,
}

impl<E: Environment> Session<E> {
    /// Reads the flags; when orchestration is enabled, classifies every step,
    /// allocates budgets and emits `ORCHESTRATION_INITIALIZED`.
    pub fn initialize(env: E, workflow_id: &str, agent_id: &str, user_id: &str, steps: &[Step]) -> Self {
        let settings = Settings::read(&env);
        let get = |key: &str| env.setting(key);
        let (models, thresholds, memory) =
            (tier_models_from_settings(get), thresholds_from_settings(get), MemoryCompressor::from_settings(get));
        let mut session = Session {
            models,
            thresholds,
            memory,
            workflow_id: workflow_id.to_string(),
            plans: vec![],
            metrics: WorkflowMetrics::default(),
            completed: false,
            settings,
            env,
        };
        if !session.settings.orchestration_enabled {
            return session;
        }
        let classifications: Vec<Classification> =
            steps
                .iter()
                .map(|s| {
                    let params = serde_json::from_str(&s.params).unwrap_or(serde_json::Value::Null);
                    classify(s.intent.as_deref(), &params, &s.name, &s.prompt)
                })
                .collect();
        let needs: Vec<Need> = steps
            .iter()
            .zip(&classifications)
            .map(|(step, c)| Need {
                intent: c.intent.clone(),
                // Data handed over in params (records, rules) is read too.
                prompt_tokens: session.env.count_tokens(&step.prompt) + session.env.count_tokens(&step.params),
                intent_cap: session
                    .env
                    .setting(&format!("{INTENT_BUDGET_PREFIX}{}", c.intent))
                    .and_then(|v| v.trim().parse().ok())
                    .filter(|cap: &u32| *cap > 0),
            })
            .collect();
        let s = &session.settings;
        let shares = budget::allocate(s.strategy, s.max_tokens_per_workflow, s.max_tokens_per_step, &needs);
        session.plans = steps
            .iter()
            .zip(classifications)
            .zip(shares)
            .map(|((step, classification), allocated)| StepPlan {
                step_id: step.id.clone(),
                classification,
                allocated,
                used: 0,
                status: StepStatus::Pending,
                failure: None,
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
                "intents": session.plans.iter().map(|p| json!({
                    "step_id": p.step_id,
                    "intent": p.classification.intent,
                    "method": p.classification.method,
                    "confidence": p.classification.confidence,
                    "budget": p.allocated,
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
            self.emit_failure(step_id, None, "unknown_step", "the step was not part of the workflow at initialization");
            return None;
        };
        let intent = self.plans[index].classification.intent.clone();
        let compression = self.compress(&intent, &input, memory_context);
        let routing = self.route(index, &intent, &input);
        let request = HandlerRequest {
            workflow_id: self.workflow_id.clone(),
            step: Step { prompt: compression.prompt, ..input.step },
            intent: intent.clone(),
            params: input.params,
            context: compression.context,
            memory_context: compression.memory,
            available_plugins: available_plugins.to_vec(),
            routed_model: routing.model,
            token_budget: self.plans[index].spendable(self.settings.overage),
        };
        match self.env.dispatch(&request) {
            Ok(done) => {
                let elapsed = started.elapsed().as_micros() as u64;
                let plan = &mut self.plans[index];
                plan.used = plan.used.saturating_add(done.usage.total);
                plan.status = StepStatus::Executed;
                self.metrics.total_tokens_used += u64::from(done.usage.total);
                // Savings count only where a model call actually carried the compressed text.
                let tokens_saved = if done.llm_calls > 0 { compression.tokens_saved } else { 0 };
                self.metrics.total_tokens_saved += u64::from(tokens_saved);
                self.metrics.total_cost += done.cost_usd;
                self.metrics.steps_executed += 1;
                let plan = &self.plans[index];
                if plan.used > plan.allocated {
                    // Within the overage the host allowed, but past the allocation: recorded.
                    self.env.emit(Event {
                        kind: EventKind::BudgetExceeded,
                        severity: Severity::Warning,
                        step_id: Some(step_id.to_string()),
                        metadata: json!({
                            "kind": "overage",
                            "allocated": plan.allocated,
                            "used": plan.used,
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
                        "classification": { "method": plan.classification.method, "confidence": plan.classification.confidence },
                        "handler": done.handler,
                        "handler_version": done.handler_version,
                        "tokens": done.usage,
                        "tokens_saved": tokens_saved,
                        "cost_usd": done.cost_usd,
                        "budget": { "allocated": plan.allocated, "used": plan.used, "remaining": plan.remaining() },
                        "compression": compression.record,
                        "routing": routing.record,
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
            Err(error) => {
                self.plans[index].status = StepStatus::FellBack;
                self.plans[index].failure = Some(error.to_string());
                self.metrics.steps_fell_back += 1;
                self.emit_failure(step_id, Some(&intent), error.kind(), &error.to_string());
                None
            }
        }
    }

    /// Compresses the step's prompt, context and memory by its intent's policy
    /// when compression is on; the originals otherwise, or when quality would suffer.
    fn compress(&self, intent: &str, input: &StepInput, memory: &str) -> Compression {
        let original = |record| Compression {
            prompt: input.step.prompt.clone(),
            context: input.context.clone(),
            memory: memory.to_string(),
            tokens_saved: 0,
            applied: false,
            record,
        };
        if !self.settings.compression_enabled {
            return original(json!({ "enabled": false, "applied": false }));
        }
        let started = Instant::now();
        let policy = Policy::from_settings(intent, |key| self.env.setting(key));
        let counter = |text: &str| self.env.count_tokens(text);
        let outcome = compress_with(&input.step.prompt, &input.context, memory, intent, &policy, &self.memory, &counter);
        let p = &outcome.parts;
        // Handlers send the prompt and the memory; only those savings are real.
        let saved = p.prompt.tokens_before.saturating_sub(p.prompt.tokens_after)
            + p.memory.tokens_before.saturating_sub(p.memory.tokens_after);
        let record = json!({
            "enabled": true,
            "applied": outcome.applied,
            "strategy": outcome.strategy,
            "quality": outcome.quality,
            "quality_degraded": outcome.quality_degraded,
            "tokens_before": outcome.tokens_before,
            "tokens_after": outcome.tokens_after,
            "tokens_saved": if outcome.applied { saved } else { 0 },
            "parts": outcome.parts,
            "time_us": started.elapsed().as_micros() as u64,
        });
        if !outcome.applied {
            return original(record);
        }
        Compression {
            prompt: outcome.prompt,
            context: outcome.context,
            memory: outcome.memory,
            tokens_saved: saved,
            applied: true,
            record,
        }
    }

    /// The step's model: routed by AIS when routing is on, the default model otherwise.
    fn route(&self, index: usize, intent: &str, input: &StepInput) -> Routing {
        if !self.settings.ais_routing_enabled {
            let model = self.settings.default_model.clone();
            return Routing { record: json!({ "enabled": false, "model": model, "reason": "routing off: default model" }), model };
        }
        let started = Instant::now();
        let params = serde_json::from_str(&input.params).unwrap_or(serde_json::Value::Null);
        let decision = route(&RouteInput {
            intent,
            step_name: &input.step.name,
            prompt: &input.step.prompt,
            params: &params,
            prompt_tokens: self.env.count_tokens(&input.step.prompt),
            agent: None,
            budget_remaining: Some(self.plans[index].remaining()),
            previous_failures: 0,
            thresholds: self.thresholds,
            models: &self.models,
        });
        Routing {
            record: json!({
                "enabled": true,
                "tier": decision.tier,
                "model": decision.model.model,
                "score": decision.score,
                "step_complexity": decision.step_complexity,
                "reason": decision.reason,
                "expected_cost_usd": decision.expected_cost_usd,
                "time_us": started.elapsed().as_micros() as u64,
            }),
            model: decision.model.model,
        }
    }

    /// Ends orchestration: emits `ORCHESTRATION_COMPLETED` and returns the metrics.
    pub fn complete(&mut self) -> Option<WorkflowMetrics> {
        if !self.is_active() {
            return None;
        }
        self.completed = true;
        let allocated: u64 = self.plans.iter().map(|p| u64::from(p.allocated)).sum();
        self.metrics.budget_utilization =
            if allocated == 0 { 0.0 } else { self.metrics.total_tokens_used as f64 / allocated as f64 };
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

    fn emit_failure(&self, step_id: &str, intent: Option<&str>, reason: &str, message: &str) {
        self.env.emit(Event {
            kind: EventKind::StepFailed,
            severity: Severity::Warning,
            step_id: Some(step_id.to_string()),
            metadata: json!({ "intent": intent, "reason": reason, "message": message, "fallback": "normal_execution" }),
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
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// A native environment: settings from a map, a handler per intent that
    /// echoes its request or fails as told, events collected.
    #[derive(Default)]
    struct FakeEnv {
        settings: HashMap<String, String>,
        failing: HashMap<String, DispatchError>,
        events: RefCell<Vec<Event>>,
        requests: RefCell<Vec<HandlerRequest>>,
    }

    impl Environment for &FakeEnv {
        fn setting(&self, key: &str) -> Option<String> {
            self.settings.get(key).cloned()
        }
        fn count_tokens(&self, text: &str) -> u32 {
            text.split_whitespace().count() as u32
        }
        fn registered_intents(&self) -> Vec<String> {
            vec!["extract".into(), "summarize".into()]
        }
        fn dispatch(&self, request: &HandlerRequest) -> Result<Dispatched, DispatchError> {
            self.requests.borrow_mut().push(request.clone());
            if let Some(e) = self.failing.get(&request.intent) {
                return Err(e.clone());
            }
            Ok(Dispatched {
                output: format!("\"{} done\"", request.step.id),
                handler: request.intent.clone(),
                handler_version: "1.0.0".into(),
                usage: Usage { input: 30, output: 12, total: 42 },
                cost_usd: 0.001,
                model: request.routed_model.clone(),
                llm_calls: 1,
                fuel_consumed: 1_000,
                provider_time_us: 5,
            })
        }
        fn emit(&self, event: Event) {
            self.events.borrow_mut().push(event);
        }
    }

    fn step(id: &str, name: &str, intent: Option<&str>) -> Step {
        Step {
            id: id.into(),
            name: name.into(),
            prompt: format!("{name} from the text"),
            intent: intent.map(Into::into),
            params: "{}".into(),
            depends_on: vec![],
        }
    }

    fn input(s: &Step) -> StepInput {
        StepInput { step: s.clone(), params: "{}".into(), context: "{}".into() }
    }

    fn enabled() -> FakeEnv {
        let mut env = FakeEnv::default();
        env.settings.insert("orchestration_enabled".into(), "true".into());
        env
    }

    #[test]
    fn inactive_by_default_and_emits_nothing() {
        let env = FakeEnv::default();
        let steps = [step("a", "Extract fields", None)];
        let mut session = Session::initialize(&env, "wf", "agent", "user", &steps);
        assert!(!session.is_active());
        assert!(session.execute_step("a", input(&steps[0]), "null", &[]).is_none());
        assert!(session.complete().is_none());
        assert!(session.metadata().is_none());
        assert!(env.events.borrow().is_empty() && env.requests.borrow().is_empty());
    }

    #[test]
    fn runs_steps_through_handlers_and_totals_metrics() {
        let env = enabled();
        let steps = [step("a", "Extract fields", None), step("b", "Summarize it", None)];
        let mut session = Session::initialize(&env, "wf", "agent", "user", &steps);
        assert!(session.is_active());
        let a = session.execute_step("a", input(&steps[0]), "null", &["slack".into()]).unwrap();
        assert_eq!((a.intent.as_str(), a.tokens_used.total), ("extract", 42));
        session.execute_step("b", input(&steps[1]), "null", &[]).unwrap();
        let request = &env.requests.borrow()[0];
        assert_eq!(request.routed_model, "claude-sonnet-4-5");
        assert_eq!(request.available_plugins, vec!["slack".to_string()]);
        assert!(request.token_budget > 0);

        let metrics = session.complete().unwrap();
        assert_eq!(metrics.total_tokens_used, 84);
        assert_eq!(metrics.steps_executed, 2);
        assert!(metrics.budget_utilization > 0.0 && metrics.budget_utilization < 1.0);
        let kinds: Vec<EventKind> = env.events.borrow().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::Initialized, EventKind::StepExecuted, EventKind::StepExecuted, EventKind::Completed]);
        assert!(!session.is_active(), "a completed session takes no more steps");
    }

    #[test]
    fn a_failed_dispatch_falls_back_with_its_reason() {
        let mut env = enabled();
        env.failing.insert("summarize".into(), DispatchError::FuelExhausted(1_000));
        let steps = [step("a", "Summarize it", None)];
        let mut session = Session::initialize(&env, "wf", "agent", "user", &steps);
        assert!(session.execute_step("a", input(&steps[0]), "null", &[]).is_none());
        let meta = session.metadata().unwrap();
        assert_eq!(meta.steps[0].status, StepStatus::FellBack);
        assert!(meta.steps[0].failure.as_deref().unwrap().contains("fuel"));
        let reason = env.events.borrow().iter().find(|e| e.kind == EventKind::StepFailed).unwrap().metadata["reason"].clone();
        assert_eq!(reason, "fuel");
        assert_eq!(session.complete().unwrap().steps_fell_back, 1);
    }

    #[test]
    fn overage_is_allowed_up_to_the_threshold_and_recorded() {
        let mut env = enabled();
        env.settings.insert("orchestration_max_tokens_per_workflow".into(), "30".into());
        let steps = [step("a", "Extract fields", None)];
        let mut session = Session::initialize(&env, "wf", "agent", "user", &steps);
        let allocated = session.metadata().unwrap().steps[0].allocated;
        assert_eq!(allocated, 30);
        session.execute_step("a", input(&steps[0]), "null", &[]).unwrap();
        // The handler got 1.2 × its allocation to spend.
        assert_eq!(env.requests.borrow()[0].token_budget, 36);
        let events = env.events.borrow();
        let overage = events.iter().find(|e| e.kind == EventKind::BudgetExceeded).expect("an overage event");
        assert_eq!((overage.metadata["allocated"].as_u64(), overage.metadata["used"].as_u64()), (Some(30), Some(42)));
    }

    #[test]
    fn strict_budgets_give_handlers_only_their_allocation() {
        let mut env = enabled();
        env.settings.insert("orchestration_max_tokens_per_workflow".into(), "30".into());
        env.settings.insert("orchestration_budget_allow_overage".into(), "false".into());
        let steps = [step("a", "Extract fields", None)];
        let mut session = Session::initialize(&env, "wf", "agent", "user", &steps);
        session.execute_step("a", input(&steps[0]), "null", &[]);
        assert_eq!(env.requests.borrow()[0].token_budget, 30);
    }

    #[test]
    fn unknown_steps_fall_back() {
        let env = enabled();
        let steps = [step("a", "Summarize it", None)];
        let mut session = Session::initialize(&env, "wf", "agent", "user", &steps);
        let stranger = step("zz", "Summarize", None);
        assert!(session.execute_step("zz", input(&stranger), "null", &[]).is_none());
        assert_eq!(env.events.borrow().last().unwrap().metadata["reason"], "unknown_step");
    }
}
