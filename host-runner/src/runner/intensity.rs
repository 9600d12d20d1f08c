//! After each routed run: the agent's execution score in
//! `agent_intensity_metrics` moves toward what the run needed (see
//! `orchestration::routing::run_intensity`). Only steps the orchestrator ran
//! or tried count, and only when AIS routing chose their models: a model the
//! default setting picked says nothing about the agent.

use super::report::{Path, StepReport};
use crate::storage::{self, Db};
use anyhow::{Context, Result};
use orchestration::routing::{AgentScores, RunOutcome, Tier, tier_models_from_settings, updated_execution_score};

/// What the run's orchestrated steps say about the agent: steps run or
/// tried, those that fell back, the mean tier of the models routing chose,
/// and their tokens. `None` when routing is off or nothing was orchestrated.
pub fn outcome(db: &Db, steps: &[StepReport]) -> Option<RunOutcome> {
    let conn = db.lock();
    let setting = |key: &str| storage::settings::get(&conn, key).ok().flatten();
    if setting(orchestration::settings::AIS_ROUTING_ENABLED).as_deref() != Some("true") {
        return None;
    }
    let models = tier_models_from_settings(setting);
    let ran: Vec<&StepReport> = steps.iter().filter(|s| s.path == Path::Orchestrated).collect();
    if ran.is_empty() {
        return None;
    }
    let tier_of = |model: &str| models.tier_of(model).unwrap_or(Tier::Balanced).index();
    let tiers: u32 = ran.iter().map(|s| u32::from(tier_of(&s.model))).sum();
    // Only failures a stronger model might have avoided say the agent needs
    // more: a missing plugin or handler says nothing about it.
    let failures = steps
        .iter()
        .filter(|s| s.path == Path::Fallback && s.intent.is_some())
        .filter(|s| s.fallback_reason.as_deref().is_some_and(|r| r.contains("(invalid_output)") || r.contains("(llm)")))
        .count() as u32;
    Some(RunOutcome {
        steps: ran.len() as u32 + failures,
        failures,
        avg_tier_used: tiers as f32 / ran.len() as f32,
        tokens: ran.iter().map(|s| u64::from(s.tokens.total)).sum(),
    })
}

/// Folds the run into the agent's scores; returns the new scores, `None` for a run without steps.
pub fn record(db: &Db, agent_id: &str, run: &RunOutcome) -> Result<Option<AgentScores>> {
    let conn = db.lock();
    let previous = storage::agents::scores(&conn, agent_id)?.map(|row| row.scores);
    let Some(updated) = updated_execution_score(previous, run) else {
        return Ok(None);
    };
    storage::agents::record_run(&conn, agent_id, &updated).context("writing agent_intensity_metrics")?;
    Ok(Some(updated))
}
