//! The one place a step's outcome becomes its report, its `token_usage`
//! row, the host's audit event and the host's metrics.

use super::report::{Path, StepReport, Tokens};
use super::workflow::StepSpec;
use crate::capabilities::audit::AuditSink;
use crate::metrics::{Metrics, ModelLabel, PathLabel, ReasonLabel, StepLabels};
use crate::storage::Db;
use crate::storage::queued::Record;
use crate::storage::records::{Identity, UsageRow};
use crate::vocabulary::usage::StepModel;
use crate::vocabulary::{HostEvent, ModelInfo, Ran, StepOutcome, UsagePath};
use serde_json::Value;

/// Records the outcomes of one run's steps.
pub struct Recorder<'a> {
    db: &'a Db,
    metrics: &'a Metrics,
    who: &'a Identity,
    audit: AuditSink,
    /// Intents a metric label may carry: the seed's and the loaded handlers'.
    known_intents: Vec<String>,
    provider: &'a str,
    /// A durable run: steps that ran leave checkpoints.
    checkpoints: bool,
}

impl<'a> Recorder<'a> {
    pub fn new(
        db: &'a Db,
        metrics: &'a Metrics,
        who: &'a Identity,
        provider: &'a str,
        known_intents: Vec<String>,
        checkpoints: bool,
    ) -> Self {
        let audit = AuditSink::new(db.clone(), who.clone());
        Recorder { db, metrics, who, audit, known_intents, provider, checkpoints }
    }

    /// Writes what `outcome` says happened to `spec` and returns its report.
    /// In a durable run, a step that `ran` (was dispatched, not settled by
    /// the scheduler) leaves its checkpoint, committed with its usage row.
    pub fn record(&self, spec: &StepSpec, outcome: StepOutcome, time_ms: f64, ran: bool) -> StepReport {
        let step_id = Some(spec.id.as_str());
        let usage = match &outcome {
            StepOutcome::Orchestrated(ran) => {
                Some(self.usage(spec, UsagePath::Orchestrated(step_model(ran, time_ms)), ran))
            }
            StepOutcome::Fallback { reason, ran } => {
                let event = HostEvent::NormalPathExecuted {
                    fallback: reason.clone(),
                    model: ran.model.clone(),
                    provider: ran.provider.clone(),
                    tokens: ran.tokens,
                    cost_usd: ran.cost_usd,
                };
                self.audit.host_event(&event, step_id, "runner");
                let mut model = step_model(ran, time_ms);
                if model.intent.is_none() {
                    model.intent = Some(free_tier_intent(spec));
                    model.intent_by = Some("free tiers");
                }
                Some(self.usage(spec, UsagePath::Fallback(model), ran))
            }
            StepOutcome::Skipped(reason) => {
                self.audit.host_event(&HostEvent::StepSkipped(reason.clone()), step_id, "runner");
                None
            }
            StepOutcome::Failed { failure, intent } => {
                tracing::warn!(step = %spec.id, kind = failure.kind.label(), error = %failure.message, "step failed");
                let intent = Some(intent.clone().unwrap_or_else(|| free_tier_intent(spec)));
                self.audit.host_event(&HostEvent::StepFailed { failure: failure.clone(), intent }, step_id, "runner");
                None
            }
        };
        let report = self.report(spec, outcome, time_ms);
        if self.checkpoints && ran {
            let checkpoint = serde_json::to_value(&report).unwrap_or_default();
            self.db.step_finished(self.who, &spec.id, checkpoint, usage);
        } else if let Some(row) = usage {
            let what = format!("token_usage of step {}", spec.id);
            self.db.records().send(Record::Usage { who: self.who.clone(), row, what });
        }
        self.observe(&report);
        report
    }

    /// A step's usage row; a failed write is counted (the run reports it),
    /// not fatal: the model was paid and the output exists.
    fn usage(&self, spec: &StepSpec, path: UsagePath, ran: &Ran) -> UsageRow {
        UsageRow {
            step_id: Some(spec.id.clone()),
            tokens_used: u64::from(ran.tokens.total),
            tokens_saved: u64::from(ran.tokens_saved),
            cost: ran.cost_usd,
            model_info: ModelInfo::new(path).to_json(),
        }
    }

    fn report(&self, spec: &StepSpec, outcome: StepOutcome, time_ms: f64) -> StepReport {
        let blank = StepReport {
            id: spec.id.clone(),
            name: spec.display_name().to_string(),
            intent: None,
            handler: None,
            path: Path::Skipped,
            fallback_reason: None,
            fallback_kind: None,
            error: None,
            failure_kind: None,
            model: String::new(),
            provider: self.provider.to_string(),
            tokens: Tokens::default(),
            tokens_saved: 0,
            compression_applied: false,
            cost_usd: 0.0,
            time_ms,
            provider_ms: 0.0,
            output: Value::Null,
        };
        let ran_report = |path, ran: Ran| StepReport {
            intent: ran.intent,
            handler: ran.handler,
            path,
            model: ran.model,
            provider: ran.provider,
            tokens: ran.tokens,
            tokens_saved: ran.tokens_saved,
            compression_applied: ran.compression_applied,
            cost_usd: ran.cost_usd,
            provider_ms: ran.provider_ms,
            output: ran.output,
            ..blank.clone()
        };
        match outcome {
            StepOutcome::Orchestrated(ran) => ran_report(Path::Orchestrated, ran),
            StepOutcome::Fallback { reason, ran } => StepReport {
                fallback_kind: reason.as_ref().map(|r| r.kind),
                fallback_reason: reason.map(|r| r.message),
                ..ran_report(Path::Fallback, ran)
            },
            StepOutcome::Skipped(reason) => StepReport { error: Some(reason.message()), ..blank },
            StepOutcome::Failed { intent, failure } => StepReport {
                intent,
                path: Path::Failed,
                error: Some(failure.message),
                failure_kind: Some(failure.kind),
                ..blank
            },
        }
    }

    /// Logs the step and counts it in the metrics, every label from an enum or a bounded set.
    fn observe(&self, step: &StepReport) {
        let metrics = self.metrics;
        let path = step.path.as_str();
        let intent = intent_label(&self.known_intents, step.intent.as_deref());
        tracing::info!(step_id = %step.id, path, intent, tokens = step.tokens.total, model = %step.model,
            ms = step.time_ms, fallback = step.fallback_kind.map(|k| k.label()), "step ended");
        metrics.steps.get_or_create(&StepLabels { path: path.into(), intent: intent.into() }).inc();
        if let Some(kind) = step.fallback_kind {
            metrics.fallbacks.get_or_create(&ReasonLabel { reason: kind.label().into() }).inc();
        }
        if !step.model.is_empty() {
            let model = ModelLabel { model: step.model.clone() };
            metrics.tokens.get_or_create(&model).inc_by(u64::from(step.tokens.total));
            metrics.cost_usd.get_or_create(&model).inc_by(step.cost_usd);
        }
        metrics.step_seconds.get_or_create(&PathLabel { path: path.into() }).observe(step.time_ms / 1e3);
        if step.provider_ms > 0.0 {
            metrics.provider_seconds.observe(step.provider_ms / 1e3);
        }
    }
}

/// A bounded `intent` label: a client may declare any intent, so one no
/// handler serves and the seed does not define is counted as `other`.
fn intent_label<'i>(known: &[String], intent: Option<&'i str>) -> &'i str {
    match intent {
        Some(intent) if known.iter().any(|k| k == intent) => intent,
        Some(_) => "other",
        None => "-",
    }
}

/// The intent the free tiers (rules and context, no model) give a step the
/// orchestrator never classified, so normal runs compare by intent too.
fn free_tier_intent(spec: &StepSpec) -> String {
    let declared = spec.intent.as_deref().filter(|i| !i.trim().is_empty());
    declared.map_or_else(|| spec.free_tier_intent(&spec.params, None), |i| i.trim().to_ascii_lowercase())
}

fn step_model(ran: &Ran, time_ms: f64) -> StepModel {
    StepModel {
        intent_by: None,
        time_ms,
        model: ran.model.clone(),
        provider: ran.provider.clone(),
        intent: ran.intent.clone(),
        handler: ran.handler.clone(),
        compression_applied: ran.compression_applied,
    }
}

#[cfg(test)]
mod tests {
    use super::intent_label;

    #[test]
    fn intent_labels_are_bounded_by_the_known_intents() {
        let known = vec!["summarize".to_string(), "triage".to_string()];
        assert_eq!(intent_label(&known, Some("summarize")), "summarize");
        assert_eq!(intent_label(&known, Some("triage")), "triage");
        for made_up in ["x-1", "x-2", "drop table"] {
            assert_eq!(intent_label(&known, Some(made_up)), "other");
        }
        assert_eq!(intent_label(&known, None), "-");
    }
}
