//! `agents`: what the host knows about an agent from earlier runs. Its
//! intensity scores feed AIS routing; its past token use per intent feeds
//! the adaptive budget strategy. After a routed run the orchestrator computes
//! the new scores and the host stores them as told. Only the orchestrator
//! links it: handlers never see other runs.

use crate::bindings::agents;
use crate::storage::{self, Db};
use wasmtime::component::{HasData, Linker};

/// Per-store context: the database to read from.
pub struct AgentsCtx {
    db: Db,
}

impl AgentsCtx {
    pub fn new(db: Db) -> Self {
        AgentsCtx { db }
    }
}

/// Reaches the agents context inside a store's data.
pub trait AgentsView {
    fn agents(&mut self) -> &mut AgentsCtx;
}

struct HasAgents;

impl HasData for HasAgents {
    type Data<'a> = &'a mut AgentsCtx;
}

pub fn add_to_linker<T: AgentsView + Send + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    agents::add_to_linker::<T, HasAgents>(linker, T::agents)
}

impl agents::Host for AgentsCtx {
    fn scores(&mut self, agent_id: String) -> Option<agents::AgentScores> {
        // A read error is logged and reads as "no scores": routing then uses the step alone.
        storage::agents::scores(&self.db.lock(), &agent_id)
            .inspect_err(|e| tracing::warn!(%agent_id, "agent scores read failed: {e:#}"))
            .ok()
            .flatten()
            .map(|row| agents::AgentScores {
                creation: row.scores.creation,
                execution: row.scores.execution,
                combined: row.scores.combined,
                runs: row.runs,
            })
    }

    fn record_run(&mut self, agent_id: String, scores: agents::RunScores) {
        let scores = orchestration::routing::AgentScores {
            creation: scores.creation.clamp(0.0, 10.0),
            execution: scores.execution.clamp(0.0, 10.0),
            combined: scores.combined.clamp(0.0, 10.0),
        };
        // A failed write is logged: the run itself succeeded.
        if let Err(e) = storage::agents::record_run(&self.db.lock(), &agent_id, &scores) {
            tracing::error!(%agent_id, "agent scores write failed: {e:#}");
        }
    }

    fn usage_by_intent(&mut self, agent_id: String) -> Vec<agents::IntentUsage> {
        storage::agents::usage_by_intent(&self.db.lock(), &agent_id)
            .inspect_err(|e| tracing::warn!(%agent_id, "usage history read failed: {e:#}"))
            .unwrap_or_default()
            .into_iter()
            .map(|u| agents::IntentUsage {
                intent: u.intent,
                steps: u.steps,
                avg_tokens: u.avg_tokens,
                p90_tokens: u.p90_tokens,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agents::Host;
    use orchestration::routing::AgentScores;

    #[test]
    fn reads_scores_and_answers_none_for_strangers() {
        let db = Db::temporary();
        let scores = AgentScores { creation: 2.0, execution: 6.0, combined: 4.0 };
        storage::agents::record_run(&db.lock(), "known", &scores).unwrap();
        let mut ctx = AgentsCtx::new(db);
        let got = ctx.scores("known".into()).unwrap();
        assert_eq!((got.execution, got.runs), (6.0, 1));
        assert!(ctx.scores("stranger".into()).is_none());
        assert!(ctx.usage_by_intent("stranger".into()).is_empty());
    }
}
