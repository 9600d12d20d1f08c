//! After each run: the agent's execution score in `agent_intensity_metrics`
//! moves toward what the run needed (see `orchestration::routing::run_intensity`).

use super::report::{Path, StepReport};
use crate::storage::{self, Db};
use anyhow::{Context, Result};
use orchestration::routing::{tier_models_from_settings, updated_execution_score, AgentScores, RunOutcome, Tier};

/// What the run's steps say about the agent: steps that ran, steps that fell
/// back, the mean tier of the models they used, and their tokens.
pub fn outcome(db: &Db, steps: &[StepReport]) -> RunOutcome {
    let conn = db.lock();
    let models = tier_models_from_settings(|key| storage::settings::get(&conn, key).ok().flatten());
    let ran: Vec<&StepReport> = steps.iter().filter(|s| s.path != Path::Skipped).collect();
    let tier_of = |model: &str| {
        Tier::ALL.into_iter().find(|t| model.starts_with(&models.get(*t).model)).unwrap_or(Tier::Balanced).index()
    };
    let tiers: u32 = ran.iter().map(|s| u32::from(tier_of(&s.model))).sum();
    RunOutcome {
        steps: ran.len() as u32,
        failures: ran.iter().filter(|s| s.path == Path::Fallback).count() as u32,
        avg_tier_used: if ran.is_empty() { 0.0 } else { tiers as f32 / ran.len() as f32 },
        tokens: ran.iter().map(|s| u64::from(s.tokens.total)).sum(),
    }
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
