//! What a run produced: per-step results and the run's metrics, printable
//! as a table or as one JSON document.

use crate::bindings::orchestrator::exports::workflowpilot::orchestration::orchestrator::{
    ClassificationMethod, StepPlan, WorkflowMetrics,
};
use crate::bindings::types::TokenUsage;
use crate::vocabulary::{FailureKind, FallbackKind};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Path {
    Orchestrated,
    Fallback,
    /// On a branch a `conditional` step did not take, or after a failed step it depends on.
    Skipped,
    /// Neither path could run it (provider failure, budget exhausted); the
    /// steps that depend on it are skipped, the others run.
    Failed,
}

impl Path {
    /// The word reports, rows and metric labels use.
    pub fn as_str(self) -> &'static str {
        match self {
            Path::Orchestrated => "orchestrated",
            Path::Fallback => "fallback",
            Path::Skipped => "skipped",
            Path::Failed => "failed",
        }
    }
}

/// Token counts, the orchestration library's type.
pub use orchestration::types::Usage as Tokens;

impl From<TokenUsage> for Tokens {
    fn from(u: TokenUsage) -> Self {
        Tokens { input: u.input, output: u.output, total: u.total }
    }
}

/// Serialized as a durable run's checkpoint, and read back when it is resumed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    pub id: String,
    pub name: String,
    pub intent: Option<String>,
    pub handler: Option<String>,
    pub path: Path,
    /// Why the step ran the normal way under orchestration, in words.
    pub fallback_reason: Option<String>,
    /// The same, typed (`no_handler`, `invalid_output`, `declined`, `orchestrator_failed`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_kind: Option<FallbackKind>,
    /// Why a step failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why a step failed, typed (`provider`, `budget`, `invalid_request`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_kind: Option<FailureKind>,
    pub model: String,
    pub provider: String,
    pub tokens: Tokens,
    pub tokens_saved: u32,
    pub compression_applied: bool,
    pub cost_usd: f64,
    pub time_ms: f64,
    /// Of `time_ms`, the time spent waiting for the model provider.
    pub provider_ms: f64,
    pub output: serde_json::Value,
}

/// Rows a run could not write (a full disk, a read-only database). Under
/// `pilot serve` a concurrent run's losses may be counted here too.
#[derive(Debug, Clone, Serialize)]
pub struct WritesLost {
    pub rows: u64,
    pub database: String,
    pub last_error: String,
}

/// Totals over every step of the run, both paths.
#[derive(Debug, Clone, Serialize)]
pub struct RunMetrics {
    pub total_tokens: u64,
    pub tokens_saved: u64,
    pub total_cost_usd: f64,
    pub steps_orchestrated: u32,
    pub steps_fallback: u32,
    pub steps_skipped: u32,
    pub steps_failed: u32,
    pub total_time_ms: f64,
    /// The orchestrator's own model calls (LLM classification, semantic compression).
    pub orchestrator_calls: OverheadSpend,
    /// Model calls of handler attempts that failed before the step fell back
    /// (included in the totals: they were paid for).
    pub failed_attempts: OverheadSpend,
}

impl RunMetrics {
    /// The steps' totals plus the orchestrator's own model calls and the
    /// calls of failed attempts.
    pub fn from_steps(
        steps: &[StepReport],
        own: OverheadSpend,
        failed_attempts: OverheadSpend,
        elapsed: Duration,
    ) -> Self {
        RunMetrics {
            total_tokens: steps.iter().map(|s| u64::from(s.tokens.total)).sum::<u64>()
                + own.tokens
                + failed_attempts.tokens,
            tokens_saved: steps.iter().map(|s| u64::from(s.tokens_saved)).sum(),
            total_cost_usd: steps.iter().map(|s| s.cost_usd).sum::<f64>() + own.cost_usd + failed_attempts.cost_usd,
            orchestrator_calls: own,
            failed_attempts,
            steps_orchestrated: steps.iter().filter(|s| s.path == Path::Orchestrated).count() as u32,
            steps_fallback: steps.iter().filter(|s| s.path == Path::Fallback).count() as u32,
            steps_skipped: steps.iter().filter(|s| s.path == Path::Skipped).count() as u32,
            steps_failed: steps.iter().filter(|s| s.path == Path::Failed).count() as u32,
            total_time_ms: elapsed.as_secs_f64() * 1e3,
        }
    }
}

use orchestration::types::OverheadSpend;
/// The orchestrator's own metrics from `complete()` (orchestrated steps only),
/// the orchestration library's type.
pub use orchestration::types::WorkflowMetrics as OrchestrationMetrics;

impl From<WorkflowMetrics> for OrchestrationMetrics {
    fn from(m: WorkflowMetrics) -> Self {
        OrchestrationMetrics {
            total_tokens_used: m.total_tokens_used,
            total_tokens_saved: m.total_tokens_saved,
            total_cost: m.total_cost,
            budget_utilization: m.budget_utilization,
            steps_executed: m.steps_executed,
            steps_fell_back: m.steps_fell_back,
            baseline_cost: m.baseline_cost,
            overhead: orchestration::types::OverheadSpend {
                calls: m.orchestrator_calls,
                tokens: m.orchestrator_tokens,
                cost_usd: m.orchestrator_cost,
            },
            classification_time_us: m.classification_time_us,
            compression_time_us: m.compression_time_us,
            routing_time_us: m.routing_time_us,
            orchestration_overhead_us: m.orchestration_overhead_us,
            min_compression_quality: m.min_compression_quality,
            avg_compression_quality: m.avg_compression_quality,
            compressions_applied: m.compressions_applied,
            quality_degraded: m.quality_degraded,
            retries: m.retries,
        }
    }
}

/// How the orchestrator classified a step.
#[derive(Debug, Clone, Serialize)]
pub struct StepClassification {
    pub step_id: String,
    pub intent: String,
    pub confidence: f32,
    pub method: String,
    pub reasoning: String,
    pub alternatives: Vec<String>,
    pub ambiguous: bool,
    pub budget: u32,
    pub critical: bool,
}

impl From<StepPlan> for StepClassification {
    fn from(p: StepPlan) -> Self {
        let c = p.classification;
        StepClassification {
            step_id: p.step_id,
            intent: c.intent,
            confidence: c.confidence,
            method: match c.method {
                ClassificationMethod::Explicit => "explicit",
                ClassificationMethod::Params => "params",
                ClassificationMethod::Pattern => "pattern",
                ClassificationMethod::Llm => "llm",
                ClassificationMethod::Context => "context",
                ClassificationMethod::Fallback => "fallback",
            }
            .into(),
            reasoning: c.reasoning,
            alternatives: c.alternatives,
            ambiguous: c.ambiguous,
            budget: p.budget.allocated,
            critical: p.critical,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub execution_id: String,
    pub workflow_id: String,
    pub provider: String,
    pub steps: Vec<StepReport>,
    pub metrics: RunMetrics,
    /// `None` when orchestration was off for the run.
    pub orchestration: Option<OrchestrationMetrics>,
    /// Why the orchestrator could not run the workflow (it trapped or ran
    /// out of fuel starting, say); every step then ran the normal way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orchestrator_unavailable: Option<String>,
    /// Audit and usage rows of the run that could not be written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writes_lost: Option<WritesLost>,
    /// Every step's classification and budget; empty when orchestration was off.
    pub classifications: Vec<StepClassification>,
}
