//! `agents`: what the host knows about an agent from earlier runs. Its
//! intensity scores feed AIS routing; its past token use per intent feeds
//! the adaptive budget strategy. After a routed run the orchestrator computes
//! the new scores and the host stores them as told. Only the orchestrator
//! links it: handlers never see other runs.

use crate::bindings::agents;
use crate::causes::chain;
use crate::storage::Db;
use orchestration::routing::AgentScores;
use std::collections::HashMap;
use wasmtime::component::{HasData, Linker};

/// App-wide state: the database holding agents' scores and past usage.
pub struct AgentsState {
    db: Db,
}

impl AgentsState {
    pub fn new(db: Db) -> Self {
        AgentsState { db }
    }

    /// A store's context, for one run.
    pub fn prepare(&self) -> AgentsCtx {
        AgentsCtx::new(self.db.clone())
    }
}

/// Per-store context: the database, and the scores this store's run read
/// (its new scores are stored as a change from them, so racing runs of one
/// agent all count).
pub struct AgentsCtx {
    db: Db,
    read: HashMap<String, AgentScores>,
}

impl AgentsCtx {
    pub fn new(db: Db) -> Self {
        AgentsCtx { db, read: HashMap::new() }
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
        let row = self
            .db
            .agent(&agent_id)
            .inspect_err(|e| tracing::warn!(%agent_id, "agent scores read failed: {}", chain(e)))
            .ok()
            .flatten()?;
        self.read.insert(agent_id, row.scores);
        Some(agents::AgentScores {
            creation: row.scores.creation,
            execution: row.scores.execution,
            combined: row.scores.combined,
            runs: row.runs,
        })
    }

    fn record_run(&mut self, agent_id: String, scores: agents::RunScores) {
        let scores = AgentScores { creation: scores.creation, execution: scores.execution, combined: scores.combined };
        // A failed write is logged: the run itself succeeded.
        if let Err(e) = self.db.record_agent_run(&agent_id, &scores, self.read.get(&agent_id)) {
            tracing::error!(%agent_id, "agent scores write failed: {}", chain(&e));
        }
    }

    fn usage_by_intent(&mut self, agent_id: String) -> Vec<agents::IntentUsage> {
        self.db
            .usage_by_intent(&agent_id)
            .inspect_err(|e| tracing::warn!(%agent_id, "usage history read failed: {}", chain(e)))
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

    #[test]
    fn reads_scores_and_answers_none_for_strangers() {
        let db = Db::temporary();
        let scores = AgentScores { creation: 2.0, execution: 6.0, combined: 4.0 };
        db.record_agent_run("known", &scores, None).unwrap();
        let mut ctx = AgentsCtx::new(db.clone());
        let got = ctx.scores("known".into()).unwrap();
        assert_eq!((got.execution, got.runs), (6.0, 1));
        assert!(ctx.scores("stranger".into()).is_none());
        assert!(ctx.usage_by_intent("stranger".into()).is_empty());
        // Another run of the agent lands meanwhile; this run's +1.0 is added to it.
        db.record_agent_run("known", &AgentScores { execution: 8.0, ..scores }, Some(&scores)).unwrap();
        ctx.record_run("known".into(), agents::RunScores { creation: 2.0, execution: 7.0, combined: 4.5 });
        assert_eq!(db.agent("known").unwrap().unwrap().scores.execution, 9.0);
    }
}
