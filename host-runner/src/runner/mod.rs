//! The workflow runner (WorkflowPilot's part): steps in dependency order,
//! each through the orchestrator when it is active, otherwise, or when the
//! orchestrator declines, the normal way: one direct model call with the
//! step's full prompt and context on the default model. Every step ends as
//! a typed [`StepOutcome`], which [`record::Recorder`] turns into its
//! report, usage row, audit event and metrics.

mod budget;
mod context;
mod durable;
mod execution;
mod normal_path;
mod orchestrated;
mod record;
pub mod report;
mod schedule;
pub mod template;
pub mod workflow;

use crate::capabilities::audit::AuditSink;
use crate::capabilities::handlers::Dispatcher;
use crate::capabilities::settings::RunFlags;
use crate::components::orchestrator::OrchestratorSession;
use crate::host::Host;
use crate::storage::executions::{Cohort, ExecutionStart, Finish, State};
use crate::storage::queued::Record;
use crate::storage::records::{Identity, UsageRow};
use crate::storage::runs::Leased;
use crate::vocabulary::{
    FailureKind, FallbackKind, FallbackReason, HostEvent, ModelInfo, SkipReason, StepFailure, StepOutcome, UsagePath,
};
use budget::WorkflowBudget;
use context::{branch_not_taken, step_context, wit_step};
use durable::Resume;
use execution::{OpenExecution, finish_of};
use futures::stream::{FuturesUnordered, StreamExt};
use normal_path::{NormalPath, RenderedStep};
use orchestrated::{Attempt, Orchestrated};
use orchestration::settings::Settings;
use orchestration::types::OverheadSpend;
use record::Recorder;
use report::{Path, RunMetrics, RunReport, StepReport, WritesLost};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use template::Scope;
use tokio::sync::Mutex;
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
            StepOutcome::Orchestrated(ran) => self.produced(id, ran.intent.as_deref(), &ran.output),
            StepOutcome::Fallback { ran, .. } => self.produced(id, None, &ran.output),
            StepOutcome::Skipped(SkipReason::BranchNotTaken) => {
                self.skipped.insert(id.to_string());
            }
            StepOutcome::Skipped(SkipReason::DependencyFailed(_) | SkipReason::Cancelled)
            | StepOutcome::Failed { .. } => {
                self.failed.insert(id.to_string());
            }
        }
    }

    /// Takes in a step an earlier lease of the run finished, from its checkpoint.
    fn restore(&mut self, report: &StepReport) {
        match report.path {
            Path::Orchestrated => self.produced(&report.id, report.intent.as_deref(), &report.output),
            Path::Fallback => self.produced(&report.id, None, &report.output),
            Path::Failed | Path::Skipped => {
                self.failed.insert(report.id.clone());
            }
        }
    }

    /// `id` produced `output`; a `conditional` step's output also says which branch is not taken.
    fn produced(&mut self, id: &str, orchestrated_intent: Option<&str>, output: &Value) {
        if orchestrated_intent == Some("conditional") {
            self.skipped.extend(branch_not_taken(output));
        }
        self.outputs.insert(id.to_string(), output.clone());
    }
}

/// What every step of one run shares, steps in flight together included.
struct RunOf<'a> {
    who: &'a Identity,
    workflow: &'a Workflow,
    memory_context: String,
    settings: &'a Settings,
    /// Held by a step only while the orchestrator plans or records it, never across a model wait.
    session: Option<Mutex<OrchestratorSession>>,
    /// Orchestration is active and the orchestrator has not failed.
    orchestrated: AtomicBool,
    /// With orchestration on: the workflow budget every path reserves from.
    budget: Option<WorkflowBudget>,
    /// A durable run: what earlier leases finished, and steps leave checkpoints.
    durable: Option<Resume>,
    /// An operator cancelled the run; steps not started are skipped.
    cancelled: AtomicBool,
}

/// `spec` with its templates resolved against the inputs and earlier outputs;
/// a reference that misses fails the step, not the run.
fn render(workflow: &Workflow, spec: &StepSpec, outputs: &HashMap<String, Value>) -> Result<RenderedStep, StepFailure> {
    let scope = Scope { inputs: &workflow.inputs, outputs };
    let missed = |field: &str, e: &dyn std::fmt::Display| StepFailure {
        kind: FailureKind::Template,
        message: format!("step `{}` {field}: {e}", spec.id),
    };
    Ok(RenderedStep {
        prompt: scope.render(&spec.prompt).map_err(|e| missed("prompt", &e))?,
        params: scope.render_value(&spec.params).map_err(|e| missed("params", &e))?,
        context: step_context(workflow, spec, outputs),
    })
}

impl Host {
    /// Runs a validated workflow to the end and returns its report. The run
    /// is recorded in `executions` from its start, and ends `completed`, or
    /// `failed` with the first error (a failed step, or the run's own error).
    pub async fn run(&self, workflow: &Workflow) -> Result<RunReport, crate::Error> {
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
        let open = OpenExecution::start(self.db(), self.metrics(), start, &who.execution_id);
        self.run_opened(workflow, who.clone(), open, None).await
    }

    /// Runs a durable run this replica has leased, from its checkpoints:
    /// finished steps are not run again, the budget goes on from what they
    /// spent, and steps an earlier lease left unfinished run again, recorded
    /// as re-run. Dropped before it ends (a drain past its deadline), the
    /// run is handed back to the queue.
    pub async fn run_leased(&self, leased: &Leased) -> Result<RunReport, crate::Error> {
        let open = OpenExecution::leased(self.db(), self.metrics(), &leased.id);
        let prepared = if leased.leases > durable::MAX_LEASES {
            Err(crate::Error::LeasedTooOften { execution_id: leased.id.clone(), leases: leased.leases - 1 })
        } else {
            Workflow::parse(&leased.workflow, "stored workflow")
                .map_err(|e| crate::Error::StoredWorkflow { execution_id: leased.id.clone(), message: e.to_string() })
                .and_then(|workflow| Ok((Resume::load(self.db(), &leased.id, leased.leases)?, workflow)))
        };
        let (resume, workflow) = match prepared {
            Ok(prepared) => prepared,
            Err(e) => {
                let mut open = open;
                open.end(Finish { state: State::Failed, error: Some(crate::error::chain(&e)) });
                self.db().records().flush().await;
                return Err(e);
            }
        };
        let who = Identity {
            execution_id: leased.id.clone(),
            agent_id: workflow.agent_id.clone(),
            user_id: workflow.user_id.clone(),
        };
        self.metrics().runs_leased.inc();
        if resume.resumed() {
            self.metrics().runs_resumed.inc();
            let event = HostEvent::RunResumed {
                lease: resume.lease,
                finished_steps: resume.finished.len(),
                steps_to_rerun: resume.unfinished.len(),
            };
            AuditSink::new(self.db().clone(), who.clone()).host_event(&event, None, "host");
            tracing::info!(execution_id = %who.execution_id, lease = resume.lease, finished = resume.finished.len(), "resuming a run from its checkpoints");
        }
        self.run_opened(&workflow, who, open, Some(resume)).await
    }

    async fn run_opened(
        &self,
        workflow: &Workflow,
        who: Identity,
        mut open: OpenExecution<'_>,
        durable: Option<Resume>,
    ) -> Result<RunReport, crate::Error> {
        let span = tracing::info_span!("run", execution_id = %who.execution_id, workflow_id = %workflow.id);
        let result = self.run_steps(workflow, who, &mut open, durable).instrument(span.clone()).await;
        span.in_scope(|| match &result {
            Ok(report) => tracing::info!(steps = report.steps.len(), tokens = report.metrics.total_tokens, "run ended"),
            Err(e) => tracing::warn!("run failed: {}", crate::error::chain(e)),
        });
        if let Err(e) = &result {
            open.end(Finish { state: State::Failed, error: Some(crate::error::chain(e)) });
            self.db().records().flush().await;
        }
        result
    }

    async fn run_steps(
        &self,
        workflow: &Workflow,
        who: Identity,
        open: &mut OpenExecution<'_>,
        durable: Option<Resume>,
    ) -> Result<RunReport, crate::Error> {
        let started = Instant::now();
        let (lost_before, _) = self.db().lost_writes();
        // Read as the orchestrator reads them (the catalogue's checks and
        // defaults), the scoped flags decided once for this run.
        let stored = self.db().settings()?;
        let mut flags = RunFlags::decide(&stored, &workflow.subject());
        if durable.is_some()
            && let Some(first) = self.db().execution(&who.execution_id)?
            && let (Some(orchestrated), Some(scope)) = (first.orchestrated, first.flag_scope)
        {
            flags = flags.resumed(orchestrated, scope);
        }
        let flags = Arc::new(flags);
        let settings = Settings::from_values(|key| flags.answer(key).or_else(|| stored.get(key).cloned()));
        let (mut session, unavailable) = self.start_session(workflow, &who, flags.clone()).await;
        let orchestrated = match session.as_mut() {
            Some(s) => s.is_active().await,
            None => false,
        };
        self.db().record_cohort(&who.execution_id, Cohort { orchestrated, flag_scope: flags.orchestration_scope() });
        let unavailable = unavailable.or_else(|| session.as_ref().and_then(|s| s.broken()).map(str::to_string));
        let audit = AuditSink::new(self.db().clone(), who.clone());
        if let Some(message) = &unavailable {
            // Said in the report and the audit, not taken for "orchestration off".
            tracing::error!("orchestrator unavailable, running every step the normal way: {message}");
            audit.host_event(&HostEvent::OrchestratorUnavailable { message: message.clone() }, None, "host");
        } else if !orchestrated && durable.as_ref().is_none_or(|resume| resume.lease <= 1) {
            // An orchestrated run's decisions are in its ORCHESTRATION_INITIALIZED;
            // a resumed run keeps its first lease's, said once.
            let event = HostEvent::NotOrchestrated { decided_by: flags.orchestration_scope(), rollout: flags.record() };
            audit.host_event(&event, None, "host");
        }
        // With orchestration on, its workflow budget holds on every path:
        // a step the orchestrator declines runs the normal way on what is left.
        // A resumed run's orchestrator takes in what earlier leases finished:
        // its budget, metrics and the agent's scores cover the whole run.
        if let (Some(session), Some(resume), true) = (session.as_mut(), durable.as_ref(), orchestrated) {
            for (step_id, finished) in resume.for_session() {
                if !session.restore_step(step_id, &finished).await {
                    tracing::warn!(step = %step_id, "the orchestrator did not take in a finished step");
                }
            }
        }
        let spent = durable.as_ref().map_or(0, Resume::spent);
        // Its steps' starts are committed before their first model calls.
        let _following = durable.as_ref().map(|resume| {
            self.runtime.shared.capabilities.llm.starts().follow(&who, resume.lease, resume.unfinished.clone())
        });
        let budget = orchestrated.then(|| WorkflowBudget::new(settings.max_tokens_per_workflow, spent));
        let run = RunOf {
            who: &who,
            workflow,
            memory_context: workflow.memory_context.to_string(),
            settings: &settings,
            session: session.map(Mutex::new),
            orchestrated: AtomicBool::new(orchestrated),
            budget,
            durable,
            cancelled: AtomicBool::new(false),
        };
        let reports = self.run_graph(&run).await;
        let mut session = run.session.map(Mutex::into_inner);
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
        open.end(finish_of(&reports, run.cancelled.load(Ordering::Relaxed)));
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

    /// Runs the workflow's steps, each as soon as the steps it waits for
    /// have settled, at most `workflow_max_parallel_steps` at once; returns
    /// their reports in execution order.
    async fn run_graph(&self, run: &RunOf<'_>) -> Vec<StepReport> {
        let workflow = run.workflow;
        let checkpoints = run.durable.is_some();
        let recorder =
            Recorder::new(self.db(), self.metrics(), run.who, self.provider_name(), self.metric_intents(), checkpoints);
        let order = workflow.execution_order();
        let waits = schedule::waits(workflow);
        let limit = run.settings.max_parallel_steps.max(1) as usize;
        let mut progress = Progress::default();
        let mut started = vec![false; workflow.steps.len()];
        let mut settled = vec![false; workflow.steps.len()];
        let mut reports: Vec<Option<StepReport>> = vec![None; workflow.steps.len()];
        let mut running = FuturesUnordered::new();
        loop {
            // Start every step that is ready, in execution order; a step
            // settled here (skipped, or a template miss) may ready others.
            let mut changed = true;
            while changed && running.len() < limit {
                changed = false;
                for &index in &order {
                    if started[index] || !waits[index].iter().all(|&w| settled[w]) || running.len() >= limit {
                        continue;
                    }
                    started[index] = true;
                    let spec = &workflow.steps[index];
                    let step_started = Instant::now();
                    if let Some(report) = run.durable.as_ref().and_then(|d| d.finished.get(&spec.id)) {
                        progress.restore(report);
                        reports[index] = Some(report.clone());
                        settled[index] = true;
                        changed = true;
                        continue;
                    }
                    let ready = match progress.skip_reason(spec) {
                        Some(reason) => Err(StepOutcome::Skipped(reason)),
                        None if self.cancel_requested(run) => Err(StepOutcome::Skipped(SkipReason::Cancelled)),
                        None => render(workflow, spec, &progress.outputs)
                            .map_err(|failure| StepOutcome::Failed { intent: None, failure }),
                    };
                    match ready {
                        Ok(step) => running.push(async move {
                            let outcome = self.run_step(run, spec, &step).await;
                            (index, step_started, outcome)
                        }),
                        Err(outcome) => {
                            progress.settle(&spec.id, &outcome);
                            reports[index] = Some(recorder.record(spec, outcome, 0.0, false));
                            settled[index] = true;
                            changed = true;
                        }
                    }
                }
            }
            let Some((index, step_started, outcome)) = running.next().await else { break };
            let spec = &workflow.steps[index];
            progress.settle(&spec.id, &outcome);
            let time_ms = step_started.elapsed().as_secs_f64() * 1e3;
            reports[index] = Some(recorder.record(spec, outcome, time_ms, true));
            settled[index] = true;
        }
        order.into_iter().filter_map(|index| reports[index].take()).collect()
    }

    /// Whether an operator cancelled the run (read from the heartbeat's last look); once seen, it stays.
    fn cancel_requested(&self, run: &RunOf<'_>) -> bool {
        if !run.cancelled.load(Ordering::Relaxed) && self.db().cancel_requested(&run.who.execution_id) {
            tracing::info!(execution_id = %run.who.execution_id, "cancelled by an operator: no further step starts");
            run.cancelled.store(true, Ordering::Relaxed);
        }
        run.cancelled.load(Ordering::Relaxed)
    }

    /// Runs one step: through the orchestrator when it is active, else (or
    /// when the orchestrator falls back) the normal way on what the workflow
    /// budget leaves.
    async fn run_step(&self, run: &RunOf<'_>, spec: &StepSpec, step: &RenderedStep) -> StepOutcome {
        let mut how = NormalPath { fallback: None, intent: None, budget: run.budget.as_ref() };
        if let Some(session) = run.session.as_ref().filter(|_| run.orchestrated.load(Ordering::Relaxed)) {
            let orchestrated = Orchestrated {
                runtime: &self.runtime,
                session,
                who: run.who,
                budget: run.budget.as_ref(),
                memory_context: &run.memory_context,
                available_plugins: &run.workflow.available_plugins,
                provider: self.provider_name(),
            };
            match orchestrated.attempt(spec, step).await {
                Attempt::Settled(outcome) => return outcome,
                Attempt::FellBack { reason, intent } => {
                    how.fallback = Some(reason);
                    how.intent = intent;
                }
                Attempt::OrchestratorFailed(message) => {
                    // Steps started from now on run the normal way without asking it.
                    run.orchestrated.store(false, Ordering::Relaxed);
                    let event = HostEvent::OrchestratorFailed { message: message.clone() };
                    AuditSink::new(self.db().clone(), run.who.clone()).host_event(&event, Some(&spec.id), "host");
                    how.fallback = Some(FallbackReason { kind: FallbackKind::OrchestratorFailed, message });
                }
            }
        }
        let model = &run.settings.default_model;
        self.run_normal_path(run.who, spec, step, &run.memory_context, model, how).await
    }

    /// The orchestrator's session for the run, or why it could not start.
    async fn start_session(
        &self,
        workflow: &Workflow,
        who: &Identity,
        flags: Arc<RunFlags>,
    ) -> (Option<OrchestratorSession>, Option<String>) {
        let steps: Vec<_> = workflow.steps.iter().map(wit_step).collect();
        match OrchestratorSession::start(&self.runtime, who, flags, &steps, workflow.description.as_deref()).await {
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
