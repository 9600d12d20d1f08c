//! The workflow runner (WorkflowPilot's part): steps in dependency order,
//! each through the orchestrator when it is active, otherwise, or when the
//! orchestrator declines, the normal way: one direct model call with the
//! step's full prompt and context on the default model. Every step ends as
//! a typed [`StepOutcome`], which [`record::Recorder`] turns into its
//! report, usage row, audit event and metrics.

mod budget;
mod context;
mod execution;
mod normal_path;
mod orchestrated;
mod record;
pub mod report;
pub mod template;
pub mod workflow;

use crate::capabilities::audit::AuditSink;
use crate::capabilities::handlers::Dispatcher;
use crate::components::orchestrator::OrchestratorSession;
use crate::host::Host;
use crate::storage::executions::{ExecutionStart, Finish, State};
use crate::storage::records::{Identity, UsageRow};
use crate::storage::writer::Record;
use crate::vocabulary::{FallbackKind, FallbackReason, HostEvent, ModelInfo, SkipReason, StepOutcome, UsagePath};
use anyhow::{Result, anyhow};
use budget::WorkflowBudget;
use context::{branch_not_taken, step_context, wit_step};
use execution::{OpenExecution, finish_of};
use normal_path::{NormalPath, RenderedStep};
use orchestrated::Attempt;
use orchestration::settings::Settings;
use orchestration::types::OverheadSpend;
use record::Recorder;
use report::{RunMetrics, RunReport, WritesLost};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Instant;
use template::Scope;
use tracing::Instrument;
use workflow::{StepSpec, Workflow};

/// What the runner knows of earlier steps while it goes through a workflow.
#[derive(Default)]
struct Progress {
    outputs: HashMap<String, Value>,
    /// Steps on a branch not taken (their dependents are skipped too).
    skipped: HashSet<String>,
    /// Steps that failed, and steps skipped because they depend on one.
    failed: HashSet<String>,
}

impl Progress {
    /// Why `spec` is not run, if it is not.
    fn skip_reason(&self, spec: &StepSpec) -> Option<SkipReason> {
        if let Some(failure) = spec.depends_on.iter().find(|d| self.failed.contains(*d)) {
            return Some(SkipReason::DependencyFailed(failure.clone()));
        }
        let not_taken = self.skipped.contains(&spec.id) || spec.depends_on.iter().any(|d| self.skipped.contains(d));
        not_taken.then_some(SkipReason::BranchNotTaken)
    }

    /// Takes in what `outcome` says about `id`.
    fn settle(&mut self, id: &str, outcome: &StepOutcome) {
        match outcome {
            StepOutcome::Orchestrated(ran) => {
                if ran.intent.as_deref() == Some("conditional") {
                    self.skipped.extend(branch_not_taken(&ran.output));
                }
                self.outputs.insert(id.to_string(), ran.output.clone());
            }
            StepOutcome::Fallback { ran, .. } => {
                self.outputs.insert(id.to_string(), ran.output.clone());
            }
            StepOutcome::Skipped(SkipReason::BranchNotTaken) => {
                self.skipped.insert(id.to_string());
            }
            StepOutcome::Skipped(SkipReason::DependencyFailed(_)) | StepOutcome::Failed { .. } => {
                self.failed.insert(id.to_string());
            }
        }
    }
}

/// What every step of one run shares.
struct RunOf<'a> {
    who: &'a Identity,
    workflow: &'a Workflow,
    memory_context: &'a String,
    settings: &'a Settings,
}

/// `spec` with its templates resolved against the inputs and earlier outputs.
fn render(workflow: &Workflow, spec: &StepSpec, outputs: &HashMap<String, Value>) -> Result<RenderedStep> {
    let scope = Scope { inputs: &workflow.inputs, outputs };
    Ok(RenderedStep {
        prompt: scope.render(&spec.prompt).map_err(|e| anyhow!("step `{}` prompt: {e}", spec.id))?,
        params: scope.render_value(&spec.params).map_err(|e| anyhow!("step `{}` params: {e}", spec.id))?,
        context: step_context(workflow, spec, outputs),
    })
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
            Ok(report) => tracing::info!(steps = report.steps.len(), tokens = report.metrics.total_tokens, "run ended"),
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
        let (mut session, unavailable) = self.start_session(workflow, &who).await;
        let mut orchestrated = match session.as_mut() {
            Some(s) => s.is_active().await,
            None => false,
        };
        let unavailable = unavailable.or_else(|| session.as_ref().and_then(|s| s.broken()).map(str::to_string));
        if let Some(message) = &unavailable {
            // Said in the report and the audit, not taken for "orchestration off".
            tracing::error!("orchestrator unavailable, running every step the normal way: {message}");
            AuditSink::new(self.db().clone(), who.clone()).host_event(
                &HostEvent::OrchestratorUnavailable { message: message.clone() },
                None,
                "host",
            );
        }
        // With orchestration on, its workflow budget holds on every path:
        // a step the orchestrator declines runs the normal way on what is left.
        let mut budget = orchestrated.then(|| WorkflowBudget::new(settings.max_tokens_per_workflow));
        let recorder = Recorder::new(self.db(), &who, self.provider_name(), self.metric_intents());
        let memory_context = workflow.memory_context.to_string();
        let mut progress = Progress::default();
        let mut reports = Vec::new();
        for index in workflow.execution_order() {
            let spec = &workflow.steps[index];
            let step_started = Instant::now();
            let outcome = match progress.skip_reason(spec) {
                Some(reason) => StepOutcome::Skipped(reason),
                None => {
                    let step = render(workflow, spec, &progress.outputs)?;
                    let run = RunOf { who: &who, workflow, memory_context: &memory_context, settings: &settings };
                    let active = if orchestrated { session.as_mut() } else { None };
                    let (outcome, orchestrator_failed) =
                        self.run_step(&run, active, budget.as_ref(), spec, &step).await;
                    orchestrated &= !orchestrator_failed;
                    outcome
                }
            };
            if let (Some(budget), Some(ran)) = (budget.as_mut(), outcome.ran()) {
                budget.spend(ran.tokens.total);
            }
            progress.settle(&spec.id, &outcome);
            reports.push(recorder.record(spec, outcome, step_started.elapsed().as_secs_f64() * 1e3));
        }
        let (classifications, orchestration) = match session.as_mut() {
            Some(s) if s.broken().is_none() => {
                let plans = s.metadata().await.map(|m| m.steps).unwrap_or_default();
                (plans.into_iter().map(Into::into).collect(), s.complete().await)
            }
            _ => (vec![], None),
        };
        // Read from the host's meters of the orchestrator's store: there even
        // when the session broke before `complete()`.
        let orchestrator_calls = session.as_ref().map(|s| s.own_spend()).unwrap_or_default();
        let failed_attempts = session.as_ref().map(|s| s.failed_attempts()).unwrap_or_default();
        if orchestrator_calls.calls > 0 {
            self.record_orchestrator_calls(&who, &orchestrator_calls);
        }
        // Every row of the run, its end included, is committed before its report says what it cost or lost.
        open.end(finish_of(&reports));
        self.db().records().flush().await;
        Ok(RunReport {
            metrics: RunMetrics::from_steps(&reports, orchestrator_calls, failed_attempts, started.elapsed()),
            execution_id: who.execution_id,
            workflow_id: workflow.id.clone(),
            provider: self.provider_name().to_string(),
            orchestration: orchestration.map(Into::into),
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

    /// Runs one step: through `session` when orchestration is active, else
    /// (or when the orchestrator falls back) the normal way on what `budget`
    /// leaves. The flag says the orchestrator itself failed.
    async fn run_step(
        &self,
        run: &RunOf<'_>,
        session: Option<&mut OrchestratorSession>,
        budget: Option<&WorkflowBudget>,
        spec: &StepSpec,
        step: &RenderedStep,
    ) -> (StepOutcome, bool) {
        let mut how = NormalPath { fallback: None, intent: None, budget };
        let mut orchestrator_failed = false;
        if let Some(session) = session {
            let plugins = &run.workflow.available_plugins;
            match orchestrated::attempt(session, spec, step, run.memory_context, plugins, self.provider_name()).await {
                Attempt::Settled(outcome) => return (outcome, false),
                Attempt::FellBack { reason, intent } => {
                    how.fallback = Some(reason);
                    how.intent = intent;
                }
                Attempt::OrchestratorFailed(message) => {
                    let event = HostEvent::OrchestratorFailed { message: message.clone() };
                    AuditSink::new(self.db().clone(), run.who.clone()).host_event(&event, Some(&spec.id), "host");
                    how.fallback = Some(FallbackReason { kind: FallbackKind::OrchestratorFailed, message });
                    orchestrator_failed = true;
                }
            }
        }
        let model = &run.settings.default_model;
        (self.run_normal_path(run.who, spec, step, run.memory_context, model, how).await, orchestrator_failed)
    }

    /// The orchestrator's session for the run, or why it could not start.
    async fn start_session(
        &self,
        workflow: &Workflow,
        who: &Identity,
    ) -> (Option<OrchestratorSession>, Option<String>) {
        let steps: Vec<_> = workflow.steps.iter().map(wit_step).collect();
        match OrchestratorSession::start(&self.runtime, who, &steps, workflow.description.as_deref()).await {
            Ok(session) => (Some(session), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        }
    }

    /// Intents a metric label may name: the seed's and those loaded handlers serve.
    fn metric_intents(&self) -> Vec<String> {
        let mut intents: Vec<String> = orchestration::classify::INTENTS.iter().map(|i| i.to_string()).collect();
        intents.extend(self.runtime.registered_intents());
        intents
    }

    /// The orchestrator's own model calls (LLM classification, semantic
    /// compression) as a usage row of the run, outside any step.
    fn record_orchestrator_calls(&self, who: &Identity, spend: &OverheadSpend) {
        let row = UsageRow {
            step_id: None,
            tokens_used: spend.tokens,
            tokens_saved: 0,
            cost: spend.cost_usd,
            model_info: ModelInfo::new(UsagePath::Orchestrator { calls: spend.calls }).to_json(),
        };
        let what = "token_usage of the orchestrator's own calls".to_string();
        self.db().records().send(Record::Usage { who: who.clone(), row, what });
    }
}
