//! The audit events a session emits, built from what it recorded: one
//! function per event, and one per part of an event's metadata.

use super::plan::LlmTier;
use super::step::Prepared;
use super::{Session, StepPlan};
use crate::environment::Environment;
use crate::material::{Omitted, Piece};
use crate::settings::Settings;
use crate::types::{DispatchFailure, Dispatched, Event, EventKind, Severity, WorkflowMetrics};
use serde_json::{Value, json};

/// `ORCHESTRATION_INITIALIZED`: the flags, the budget and every step's intent and allocation.
pub(super) fn initialized<E: Environment>(
    session: &Session<E>,
    user_id: &str,
    step_count: usize,
    llm_tier: &LlmTier,
) -> Event {
    let settings = &session.settings;
    Event {
        kind: EventKind::Initialized,
        severity: Severity::Info,
        step_id: None,
        metadata: json!({
            "agent_id": session.agent_id,
            "user_id": user_id,
            "step_count": step_count,
            "feature_flags": flags(settings),
            "budget_strategy": settings.strategy.as_str(),
            "workflow_budget": settings.max_tokens_per_workflow,
            "allocated": session.plans.iter().map(|p| p.allocated).sum::<u32>(),
            "llm_classification": llm_tier.record(),
            "agent_scores": session.agent,
            "classification_time_us": session.metrics.classification_time_us,
            "intents": session.plans.iter().map(planned_step).collect::<Vec<_>>(),
        }),
    }
}

/// A step's classification and allocation, as initialization planned them.
fn planned_step(plan: &StepPlan) -> Value {
    json!({
        "step_id": plan.step_id,
        "intent": plan.classification.intent,
        "method": plan.classification.method,
        "confidence": plan.classification.confidence,
        "ambiguous": plan.classification.ambiguous,
        "alternatives": plan.classification.alternatives,
        "reasoning": plan.classification.reasoning,
        "budget": plan.allocated,
        "budget_basis": plan.basis.as_str(),
        "critical": plan.critical,
    })
}

/// What `STEP_EXECUTED` reports of a step beyond its plan.
pub(super) struct Executed<'a> {
    pub step: &'a Prepared,
    pub done: &'a Dispatched,
    pub tokens_saved: u32,
    pub baseline_cost_usd: f64,
    /// The failed attempts retried a tier up.
    pub retried: &'a [Value],
    pub execution_time_us: u64,
}

/// `STEP_EXECUTED`: what the handler did, spent and saved, and how the step was routed and compressed.
pub(super) fn step_executed(step_id: &str, plan: &StepPlan, executed: &Executed) -> Event {
    let Executed { step, done, tokens_saved, baseline_cost_usd, retried, execution_time_us } = executed;
    Event {
        kind: EventKind::StepExecuted,
        severity: Severity::Info,
        step_id: Some(step_id.to_string()),
        metadata: json!({
            "intent": step.intent,
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
            "baseline_cost_usd": baseline_cost_usd,
            "budget": { "allocated": plan.allocated, "used": plan.used, "remaining": plan.remaining(), "critical": plan.critical },
            "compression": step.compression.record,
            "material": material(&step.compression.material, &step.assembly.omitted),
            "routing": step.routing.record,
            "retries": retried,
            "model": done.model,
            "llm_calls": done.llm_calls,
            "fuel_consumed": done.fuel_consumed,
            "provider_time_us": done.provider_time_us,
            "execution_time_us": execution_time_us,
        }),
    }
}

/// The pieces sent to the handler, without their content, and what was left out.
fn material(pieces: &[Piece], omitted: &[Omitted]) -> Value {
    json!({
        "pieces": pieces.iter().map(|p| json!({
            "name": p.name,
            "source": p.source,
            "tokens": p.tokens,
            "original_tokens": p.original_tokens,
            "compressed": p.compressed,
        })).collect::<Vec<_>>(),
        "omitted": omitted,
    })
}

/// A failed attempt retried a tier up: the model that failed, why, and what it spent.
pub(super) fn retried_attempt(model: &str, failure: &DispatchFailure) -> Value {
    json!({
        "model": model,
        "reason": failure.error.kind(),
        "message": failure.error.to_string(),
        "tokens": failure.usage.total,
        "cost_usd": failure.cost_usd,
    })
}

/// `BUDGET_EXCEEDED` of kind `overage`: a step spent past its allocation, within the overage allowed.
pub(super) fn overage(step_id: &str, intent: &str, plan: &StepPlan, requested: u32, threshold: Option<f32>) -> Event {
    Event {
        kind: EventKind::BudgetExceeded,
        severity: Severity::Warning,
        step_id: Some(step_id.to_string()),
        metadata: json!({
            "kind": "overage",
            "intent": intent,
            "allocated": plan.allocated,
            "used": plan.used,
            "requested": requested,
            "overage_threshold": threshold,
        }),
    }
}

/// `STEP_FAILED`: why the step falls back to normal execution.
pub(super) fn step_failed(step_id: &str, intent: Option<&str>, reason: &str, message: &str, retries: usize) -> Event {
    Event {
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
    }
}

/// `ORCHESTRATION_COMPLETED`: the totals and the seed's three metric groups.
pub(super) fn completed(m: &WorkflowMetrics, allocated: u64, settings: &Settings) -> Event {
    Event {
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
            "feature_flags": flags(settings),
            "performance": performance(m),
            "cost": cost(m),
            "quality": quality(m),
        }),
    }
}

fn performance(m: &WorkflowMetrics) -> Value {
    json!({
        "classification_time_us": m.classification_time_us,
        "compression_time_us": m.compression_time_us,
        "routing_time_us": m.routing_time_us,
        "orchestration_overhead_us": m.orchestration_overhead_us,
        "avg_overhead_us_per_executed_step": if m.steps_executed == 0 { 0 } else { m.orchestration_overhead_us / u64::from(m.steps_executed) },
        "steps_completed": m.steps_executed,
        "steps_failed": m.steps_fell_back,
    })
}

fn cost(m: &WorkflowMetrics) -> Value {
    json!({
        "tokens_used": m.total_tokens_used,
        "tokens_saved": m.total_tokens_saved,
        "total_cost": m.total_cost,
        "baseline_cost": m.baseline_cost,
        "cost_savings": m.cost_savings(),
        "avg_cost_per_step": if m.steps_executed == 0 { 0.0 } else { m.total_cost / f64::from(m.steps_executed) },
        "orchestrator_calls": m.overhead,
        "budget_utilization": m.budget_utilization,
    })
}

fn quality(m: &WorkflowMetrics) -> Value {
    json!({
        "compressions_applied": m.compressions_applied,
        "avg_compression_quality": m.avg_compression_quality,
        "min_compression_quality": m.min_compression_quality,
        "quality_degraded": m.quality_degraded,
        "success_rate": m.success_rate(),
        "retries": m.retries,
        "retry_rate": m.retry_rate(),
    })
}

/// The three feature flags, as every session-wide event reports them.
fn flags(s: &Settings) -> Value {
    json!({
        "orchestration_enabled": s.orchestration_enabled,
        "compression_enabled": s.compression_enabled,
        "ais_routing_enabled": s.ais_routing_enabled,
    })
}
