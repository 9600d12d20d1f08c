//! The workflow runner (WorkflowPilot's part): steps in dependency order,
//! each through the orchestrator when it is active, otherwise, or when the
//! orchestrator declines, the normal way: one direct model call with the
//! step's full prompt and context on the default model. Both paths write
//! token usage and audit.

pub mod report;
pub mod template;
pub mod workflow;

use crate::bindings::orchestrator::exports::workflowpilot::orchestration::orchestrator::FailureReason;
use crate::bindings::types::{LlmFailure, StepInput, WorkflowStep};
use crate::capabilities::audit::AuditSink;
use crate::capabilities::llm::LlmCtx;
use crate::capabilities::llm::pricing::Pricing;
use crate::capabilities::llm::provider::{AnswerFormat, ProviderRequest};
use crate::components::orchestrator::OrchestratorSession;
use crate::host::Host;
use crate::storage::executions::{ExecutionStart, Finish, State};
use crate::storage::records::{Identity, UsageRow};
use crate::storage::writer::Record;
use anyhow::{Context, Result, anyhow};
use orchestration::settings::Settings;
use orchestration::types::OverheadSpend;
use report::{Path, RunMetrics, RunReport, StepReport, Tokens, WritesLost};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::time::Instant;
use template::Scope;
use tracing::Instrument;
use workflow::{StepSpec, Workflow};

/// A run's `executions` row until it is closed: with the run's outcome, or,
/// when the run's future is dropped first (a request past its deadline, a
/// draining server), as `interrupted`.
struct OpenExecution<'a> {
    db: &'a crate::storage::Db,
    id: &'a str,
    ended: bool,
}

impl<'a> OpenExecution<'a> {
    /// Records the run as started (queued with its first rows) and counts it in flight.
    fn start(db: &'a crate::storage::Db, start: ExecutionStart, id: &'a str) -> OpenExecution<'a> {
        db.start_execution(start);
        crate::metrics::global().in_flight.inc();
        OpenExecution { db, id, ended: false }
    }

    /// Queues the run's end (once); the run's flush commits it with its other rows.
    fn end(&mut self, finish: Finish) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let metrics = crate::metrics::global();
        metrics.in_flight.dec();
        metrics.workflows.get_or_create(&crate::metrics::StateLabel { state: finish.state.as_str().into() }).inc();
        self.db.finish_execution(self.id, finish);
    }
}

impl Drop for OpenExecution<'_> {
    fn drop(&mut self) {
        self.end(Finish {
            state: State::Interrupted,
            error: Some("cancelled before it ended (request deadline, or the server stopping)".into()),
        });
    }
}

/// How a run that returned a report ended: `failed` with the first failed step's error, else `completed`.
fn outcome(steps: &[StepReport]) -> Finish {
    match steps.iter().find(|s| s.path == Path::Failed) {
        Some(s) => Finish {
            state: State::Failed,
            error: Some(format!("step `{}` failed: {}", s.id, s.error.as_deref().unwrap_or("unknown error"))),
        },
        None => Finish { state: State::Completed, error: None },
    }
}

/// Logs a finished run's steps (inside its span) and counts them in the process's metrics.
fn observe_steps(steps: &[StepReport]) {
    use crate::metrics::{ModelLabel, PathLabel, ReasonLabel, StepLabels, reason_kind};
    let metrics = crate::metrics::global();
    for step in steps {
        let path =
            serde_json::to_value(step.path).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let intent = step.intent.clone().unwrap_or_else(|| "-".into());
        tracing::info!(step_id = %step.id, %path, %intent, tokens = step.tokens.total, model = %step.model,
            ms = step.time_ms, fallback = step.fallback_reason.as_deref(), "step ended");
        metrics.steps.get_or_create(&StepLabels { path: path.clone(), intent }).inc();
        if let Some(reason) = &step.fallback_reason {
            metrics.fallbacks.get_or_create(&ReasonLabel { reason: reason_kind(reason) }).inc();
        }
        if !step.model.is_empty() {
            let model = ModelLabel { model: step.model.clone() };
            metrics.tokens.get_or_create(&model).inc_by(u64::from(step.tokens.total));
            metrics.cost_usd.get_or_create(&model).inc_by(step.cost_usd);
        }
        metrics.step_seconds.get_or_create(&PathLabel { path }).observe(step.time_ms / 1e3);
        if step.provider_ms > 0.0 {
            metrics.provider_seconds.observe(step.provider_ms / 1e3);
        }
    }
}

/// Output tokens allowed to a step on the normal path.
const NORMAL_PATH_MAX_TOKENS: u32 = 2_048;

/// Why a step runs the normal way, and the budget it runs under.
struct NormalPath<'a> {
    fallback_reason: Option<String>,
    intent: Option<String>,
    /// `None` with orchestration off: the normal path as the seed has it.
    budget: Option<&'a WorkflowBudget>,
}

/// Tokens a workflow may still spend, on whichever path its steps run.
struct WorkflowBudget {
    limit: u64,
    used: u64,
}

impl WorkflowBudget {
    fn spend(&mut self, tokens: u32) {
        self.used = self.used.saturating_add(u64::from(tokens));
    }

    fn left(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

impl Host {
    /// Runs a validated workflow to the end and returns its report. The run
    /// is recorded in `executions` from its start, and ends `completed`, or
    /// `failed` with the first error (a failed step, or the run's own error).
    pub async fn run(&self, workflow: &Workflow) -> Result<RunReport> {
        let who = Identity {
            execution_id: uuid::Uuid::new_v4().to_string(),
            agent_id: workflow.agent_id.clone(),
            user_id: workflow.user_id.clone(),
        };
        let start = ExecutionStart {
            id: who.execution_id.clone(),
            workflow_id: workflow.id.clone(),
            agent_id: who.agent_id.clone(),
            user_id: who.user_id.clone(),
            replica: self.db().replica().to_string(),
        };
        let mut open = OpenExecution::start(self.db(), start, &who.execution_id);
        let span = tracing::info_span!("run", execution_id = %who.execution_id, workflow_id = %workflow.id);
        let result = self.run_steps(workflow, who.clone(), &mut open).instrument(span.clone()).await;
        span.in_scope(|| match &result {
            Ok(report) => {
                observe_steps(&report.steps);
                tracing::info!(steps = report.steps.len(), tokens = report.metrics.total_tokens, "run ended");
            }
            Err(e) => tracing::warn!("run failed: {e:#}"),
        });
        if let Err(e) = &result {
            open.end(Finish { state: State::Failed, error: Some(format!("{e:#}")) });
            self.db().records().flush().await;
        }
        result
    }

    async fn run_steps(&self, workflow: &Workflow, who: Identity, open: &mut OpenExecution<'_>) -> Result<RunReport> {
        let started = Instant::now();
        let (lost_before, _) = self.db().lost_writes();
        // Read as the orchestrator reads them (the catalogue's checks and defaults).
        let stored = self.db().settings()?;
        let settings = Settings::from_values(|key| stored.get(key).cloned());
        let steps: Vec<WorkflowStep> = workflow.steps.iter().map(wit_step).collect();
        let mut unavailable = None;
        let mut session =
            match OrchestratorSession::start(&self.runtime, &who, &steps, workflow.description.as_deref()).await {
                Ok(s) => Some(s),
                Err(e) => {
                    unavailable = Some(format!("{e:#}"));
                    None
                }
            };
        let mut orchestrated = match session.as_mut() {
            Some(s) => s.is_active().await,
            None => false,
        };
        if let Some(broken) = session.as_ref().and_then(|s| s.broken()) {
            unavailable = Some(broken.to_string());
        }
        if let Some(reason) = &unavailable {
            // Said in the report and the audit, not taken for "orchestration off".
            tracing::error!("orchestrator unavailable, running every step the normal way: {reason}");
            AuditSink::new(self.db().clone(), who.clone()).record(
                "ORCHESTRATOR_UNAVAILABLE",
                "critical",
                None,
                "host",
                &json!({ "message": reason, "fallback": "normal_execution" }),
            );
        }
        // With orchestration on, its workflow budget holds on every path:
        // a step the orchestrator declines runs the normal way on what is left.
        let mut budget =
            orchestrated.then(|| WorkflowBudget { limit: u64::from(settings.max_tokens_per_workflow), used: 0 });
        let memory_context = workflow.memory_context.to_string();
        let mut outputs: HashMap<String, Value> = HashMap::new();
        let mut reports = Vec::new();
        let mut skipped: HashSet<String> = HashSet::new();
        let mut failed: HashSet<String> = HashSet::new();
        for index in workflow.execution_order() {
            let spec = &workflow.steps[index];
            if let Some(failure) = spec.depends_on.iter().find(|d| failed.contains(*d)) {
                skipped.insert(spec.id.clone());
                reports.push(self.skip(&who, spec, &format!("depends on failed step `{failure}`")));
                failed.insert(spec.id.clone());
                continue;
            }
            if skipped.contains(&spec.id) || spec.depends_on.iter().any(|d| skipped.contains(d)) {
                skipped.insert(spec.id.clone());
                reports.push(self.skip(&who, spec, "branch not taken"));
                continue;
            }
            let scope = Scope { inputs: &workflow.inputs, outputs: &outputs };
            let prompt = scope.render(&spec.prompt).map_err(|e| anyhow!("step `{}` prompt: {e}", spec.id))?;
            let params = scope.render_value(&spec.params).map_err(|e| anyhow!("step `{}` params: {e}", spec.id))?;
            let context = step_context(workflow, spec, &outputs);
            let step_started = Instant::now();
            let mut fallback_reason = None;
            let mut fallback_intent = None;
            if orchestrated {
                let session = session.as_mut().expect("orchestrated implies a session");
                let input = StepInput {
                    step: WorkflowStep { prompt: prompt.clone(), params: params.to_string(), ..wit_step(spec) },
                    params: params.to_string(),
                    context: visible_context(spec, &context).to_string(),
                };
                match session.execute_step(&spec.id, &input, &memory_context, &workflow.available_plugins).await {
                    Ok(Some(result)) => {
                        let output = serde_json::from_str(&result.output).unwrap_or(Value::String(result.output));
                        let report = StepReport {
                            id: spec.id.clone(),
                            name: spec.display_name().to_string(),
                            intent: Some(result.intent),
                            handler: Some(result.handler),
                            path: Path::Orchestrated,
                            fallback_reason: None,
                            error: None,
                            model: result.routed_model,
                            provider: self.provider_name().to_string(),
                            tokens: Tokens::from(result.tokens_used),
                            tokens_saved: result.tokens_saved,
                            compression_applied: result.compression_applied,
                            cost_usd: result.cost_usd,
                            time_ms: step_started.elapsed().as_secs_f64() * 1e3,
                            provider_ms: result.provider_time_us as f64 / 1e3,
                            output: output.clone(),
                        };
                        self.record_usage(&who, &report, true);
                        if let Some(budget) = budget.as_mut() {
                            budget.spend(report.tokens.total);
                        }
                        if report.intent.as_deref() == Some("conditional") {
                            skipped.extend(branch_not_taken(&output));
                        }
                        outputs.insert(spec.id.clone(), output);
                        reports.push(report);
                        continue;
                    }
                    Ok(None) => {
                        let plan =
                            session.metadata().await.and_then(|m| m.steps.into_iter().find(|p| p.step_id == spec.id));
                        fallback_intent = plan.as_ref().map(|p| p.classification.intent.clone());
                        let failure = plan.and_then(|p| p.failure);
                        // The normal path would call the provider that just failed, and fail alike.
                        if let Some(f) = failure.as_ref().filter(|f| f.reason == FailureReason::Provider) {
                            let message = format!("the model provider failed: {}", f.message);
                            reports.push(self.fail(&who, spec, fallback_intent, message));
                            failed.insert(spec.id.clone());
                            continue;
                        }
                        fallback_reason =
                            Some(failure.map_or_else(|| "declined by the orchestrator".into(), |f| f.message));
                    }
                    Err(reason) => {
                        self.audit_orchestrator_failure(&who, &spec.id, &reason);
                        fallback_reason = Some(reason);
                        orchestrated = false;
                    }
                }
            }
            let how = NormalPath { fallback_reason, intent: fallback_intent.clone(), budget: budget.as_ref() };
            let outcome = self
                .run_normal_path(&who, spec, &prompt, &params, &context, &memory_context, &settings.default_model, how)
                .await;
            let report = match outcome {
                Ok(report) => report,
                Err(e) => {
                    reports.push(self.fail(&who, spec, fallback_intent, format!("{e:#}")));
                    failed.insert(spec.id.clone());
                    continue;
                }
            };
            if let Some(budget) = budget.as_mut() {
                budget.spend(report.tokens.total);
            }
            outputs.insert(spec.id.clone(), report.output.clone());
            reports.push(report);
        }
        let (classifications, orchestration) = match session.as_mut() {
            Some(s) if s.broken().is_none() => {
                let plans = s.metadata().await.map(|m| m.steps).unwrap_or_default();
                (plans.into_iter().map(Into::into).collect(), s.complete().await)
            }
            _ => (vec![], None),
        };
        // Read from the host's meter of the orchestrator's store: there even
        // when the session broke before `complete()`.
        let orchestrator_calls = session.as_ref().map(|s| s.own_spend()).unwrap_or_default();
        if orchestrator_calls.calls > 0 {
            self.record_orchestrator_calls(&who, &orchestrator_calls);
        }
        let orchestration: Option<report::OrchestrationMetrics> = orchestration.map(Into::into);
        // Every row of the run, its end included, is committed before its report says what it cost or lost.
        open.end(outcome(&reports));
        self.db().records().flush().await;
        Ok(RunReport {
            metrics: RunMetrics::from_steps(
                &reports,
                orchestrator_calls,
                self.failed_attempts(&who)?,
                started.elapsed(),
            ),
            execution_id: who.execution_id,
            workflow_id: workflow.id.clone(),
            provider: self.provider_name().to_string(),
            orchestration,
            orchestrator_unavailable: unavailable,
            writes_lost: {
                let (lost, last) = self.db().lost_writes();
                (lost > lost_before).then(|| WritesLost {
                    rows: lost - lost_before,
                    database: self.db().location().to_string(),
                    last_error: last.unwrap_or_default(),
                })
            },
            classifications,
            steps: reports,
        })
    }

    /// The normal path: the full prompt, params and context, one call, default model.
    #[allow(clippy::too_many_arguments)]
    async fn run_normal_path(
        &self,
        who: &Identity,
        spec: &StepSpec,
        prompt: &str,
        params: &Value,
        context: &Value,
        memory_context: &str,
        model: &str,
        how: NormalPath<'_>,
    ) -> Result<StepReport> {
        let NormalPath { fallback_reason, intent, budget } = how;
        let started = Instant::now();
        let mut content = prompt.to_string();
        let params = params_not_in(params, prompt, context);
        if !params.is_empty() {
            content.push_str(&format!("\n\nStep parameters:\n{}", serde_json::to_string_pretty(&params)?));
        }
        content.push_str(&format!("\n\nWorkflow context:\n{}", serde_json::to_string_pretty(context)?));
        if memory_context != "null" {
            content.push_str(&format!("\n\nMemory from earlier runs:\n{memory_context}"));
        }
        let audit = AuditSink::new(self.db().clone(), who.clone());
        let mut llm = LlmCtx::new(
            self.runtime.shared.provider.clone(),
            Pricing::new(self.db().clone()),
            audit.clone(),
            "runner",
            model,
        )
        .for_step(&spec.id)
        .with_transcript(self.runtime.shared.transcript.clone());
        // The host admits the call against what the workflow budget leaves,
        // as it admits a handler's against its step's allocation.
        if let Some(budget) = budget {
            llm = llm.with_step_budget(&spec.id, u32::try_from(budget.left()).unwrap_or(u32::MAX));
        }
        let request = ProviderRequest {
            model: model.to_string(),
            system: None,
            messages: vec![("user", content)],
            max_tokens: NORMAL_PATH_MAX_TOKENS,
            temperature: 0.7,
            format: AnswerFormat::Text,
        };
        let completion = llm.call(request).await.map_err(|e| match (e, budget) {
            (LlmFailure::BudgetExceeded(r), Some(budget)) => anyhow!(
                "the workflow token budget (orchestration_max_tokens_per_workflow = {}) has {} tokens left and \
                 the normal-path call asks for {} (prompt and answer): not sent",
                budget.limit,
                budget.left(),
                r.requested
            ),
            (e, _) => anyhow!("model call failed: {e:?}"),
        })?;
        let output = serde_json::from_str(completion.text.trim()).unwrap_or(Value::String(completion.text));
        let report = StepReport {
            id: spec.id.clone(),
            name: spec.display_name().to_string(),
            intent,
            handler: None,
            path: Path::Fallback,
            fallback_reason,
            error: None,
            model: completion.model,
            provider: completion.provider,
            tokens: Tokens::from(completion.usage),
            tokens_saved: 0,
            compression_applied: false,
            cost_usd: completion.cost_usd,
            time_ms: started.elapsed().as_secs_f64() * 1e3,
            provider_ms: llm.meter().provider_time.as_secs_f64() * 1e3,
            output,
        };
        self.record_usage(who, &report, false);
        audit.record(
            "WORKFLOW_STEP_EXECUTED",
            "info",
            Some(&spec.id),
            "runner",
            &json!({
                "path": "fallback",
                "reason": report.fallback_reason,
                "model": report.model,
                "provider": report.provider,
                "tokens": report.tokens,
                "cost_usd": report.cost_usd,
            }),
        );
        Ok(report)
    }

    /// A step on a branch a `conditional` step did not take, or after a failed step.
    fn skip(&self, who: &Identity, spec: &StepSpec, reason: &str) -> StepReport {
        AuditSink::new(self.db().clone(), who.clone()).record(
            "WORKFLOW_STEP_SKIPPED",
            "info",
            Some(&spec.id),
            "runner",
            &json!({ "reason": reason }),
        );
        StepReport { path: Path::Skipped, error: Some(reason.to_string()), ..self.not_run(spec, None) }
    }

    /// A step neither path could run: recorded, and the run goes on.
    fn fail(&self, who: &Identity, spec: &StepSpec, intent: Option<String>, error: String) -> StepReport {
        tracing::warn!(step = %spec.id, %error, "step failed");
        AuditSink::new(self.db().clone(), who.clone()).record(
            "WORKFLOW_STEP_FAILED",
            "critical",
            Some(&spec.id),
            "runner",
            &json!({ "error": error }),
        );
        StepReport { path: Path::Failed, error: Some(error), ..self.not_run(spec, intent) }
    }

    /// The report of a step that produced nothing.
    fn not_run(&self, spec: &StepSpec, intent: Option<String>) -> StepReport {
        StepReport {
            id: spec.id.clone(),
            name: spec.display_name().to_string(),
            intent,
            handler: None,
            path: Path::Skipped,
            fallback_reason: None,
            error: None,
            model: String::new(),
            provider: self.provider_name().to_string(),
            tokens: Tokens::default(),
            tokens_saved: 0,
            compression_applied: false,
            cost_usd: 0.0,
            time_ms: 0.0,
            provider_ms: 0.0,
            output: Value::Null,
        }
    }

    /// Queues a step's usage row; a failed write is counted (the run reports it), not fatal:
    /// the model was paid and the output exists.
    fn record_usage(&self, who: &Identity, step: &StepReport, orchestrated: bool) {
        let row = UsageRow {
            step_id: Some(step.id.clone()),
            tokens_used: u64::from(step.tokens.total),
            tokens_saved: u64::from(step.tokens_saved),
            cost: step.cost_usd,
            model_info: json!({
                "orchestration": orchestrated,
                "path": step.path,
                "model": step.model,
                "provider": step.provider,
                "intent": step.intent,
                "handler": step.handler,
                "compression_applied": step.compression_applied,
            }),
        };
        let what = format!("token_usage of step {}", step.id);
        self.db().records().send(Record::Usage { who: who.clone(), row, what });
    }

    /// What handler attempts that failed had already spent on models.
    fn failed_attempts(&self, who: &Identity) -> Result<OverheadSpend> {
        let rows = self.db().usage(&who.execution_id).context("reading token_usage")?;
        let mut spend = OverheadSpend::default();
        for row in rows.iter().filter(|r| r.model_info["path"] == "failed_attempt") {
            spend.calls += row.model_info["llm_calls"].as_u64().unwrap_or(1) as u32;
            spend.tokens += row.tokens_used;
            spend.cost_usd += row.cost;
        }
        Ok(spend)
    }

    /// The orchestrator's own model calls (LLM classification, semantic
    /// compression) as a usage row of the run, outside any step.
    fn record_orchestrator_calls(&self, who: &Identity, spend: &OverheadSpend) {
        let row = UsageRow {
            step_id: None,
            tokens_used: spend.tokens,
            tokens_saved: 0,
            cost: spend.cost_usd,
            model_info: json!({ "orchestration": true, "path": "orchestrator", "calls": spend.calls }),
        };
        let what = "token_usage of the orchestrator's own calls".to_string();
        self.db().records().send(Record::Usage { who: who.clone(), row, what });
    }

    fn audit_orchestrator_failure(&self, who: &Identity, step_id: &str, reason: &str) {
        AuditSink::new(self.db().clone(), who.clone()).record(
            "ORCHESTRATION_STEP_FAILED",
            "critical",
            Some(step_id),
            "host",
            &json!({ "reason": "orchestrator_trap", "message": reason, "fallback": "normal_execution" }),
        );
    }
}

/// The step ids a conditional handler's output says to skip (`{"skip": [...]}`).
fn branch_not_taken(output: &Value) -> Vec<String> {
    output["skip"].as_array().map_or(vec![], |ids| ids.iter().filter_map(|v| v.as_str().map(String::from)).collect())
}

fn wit_step(spec: &StepSpec) -> WorkflowStep {
    WorkflowStep {
        id: spec.id.clone(),
        name: spec.display_name().to_string(),
        prompt: spec.prompt.clone(),
        intent: spec.intent.clone(),
        params: spec.params.to_string(),
        depends_on: spec.depends_on.clone(),
        critical: spec.critical,
    }
}

/// The params whose value is not already in the prompt or the context (a
/// template copied it there), so the normal path sends each value once; by
/// the orchestrator's own rule (`orchestration::material::carrier_of`).
fn params_not_in(params: &Value, prompt: &str, context: &Value) -> Map<String, Value> {
    let mut carriers: Vec<(&str, String)> = vec![("prompt", prompt.to_string())];
    orchestration::material::collect_texts("context", context, &mut carriers);
    let Some(params) = params.as_object() else { return Map::new() };
    params
        .iter()
        .filter(|(_, value)| orchestration::material::carrier_of(value, &carriers).is_none())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The variables of the normal path: the workflow inputs and the step's
/// dependencies' outputs.
fn step_context(workflow: &Workflow, spec: &StepSpec, outputs: &HashMap<String, Value>) -> Value {
    let steps: Map<String, Value> =
        spec.depends_on.iter().filter_map(|dep| outputs.get(dep).map(|o| (dep.clone(), o.clone()))).collect();
    json!({ "inputs": workflow.inputs, "steps": steps })
}

/// What the orchestrated step reads of `context`: its dependencies' outputs,
/// and the inputs its templates name; every input when it has no template
/// at all (it has not said what it reads).
fn visible_context(spec: &StepSpec, context: &Value) -> Value {
    let Some(named) = spec.referenced_inputs() else {
        return context.clone();
    };
    let inputs: Map<String, Value> = context["inputs"]
        .as_object()
        .map(|all| all.iter().filter(|(key, _)| named.contains(*key)).map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    json!({ "inputs": inputs, "steps": context["steps"] })
}
