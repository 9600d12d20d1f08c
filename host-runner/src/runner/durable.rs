//! What a leased durable run takes from its checkpoints (see
//! [`crate::storage::runs`]): the steps an earlier lease finished, settled
//! from their reports without a model call, and the steps it started and
//! did not finish, which run again (once, since this lease starts them
//! afresh) and are recorded as re-run.

use super::report::{Path, StepReport};
use crate::bindings::orchestrator::exports::workflowpilot::orchestration::orchestrator::FinishedStep;
use crate::bindings::types::TokenUsage;
use crate::storage::Db;
use crate::storage::runs::StepState;
use std::collections::{HashMap, HashSet};

/// Leases a run may take: one that keeps losing its replica (a panic, a
/// step that kills the process) ends `failed` rather than crash-loop.
pub const MAX_LEASES: u32 = 5;

/// A durable run's state at its lease.
#[derive(Default)]
pub struct Resume {
    /// Which lease this is (1: the first).
    pub lease: u32,
    /// Finished steps' reports, by step id.
    pub finished: HashMap<String, StepReport>,
    /// Steps an earlier lease started and did not finish.
    pub unfinished: HashSet<String>,
}

impl Resume {
    /// The checkpoints of execution `id`, leased for the `lease`th time.
    pub fn load(db: &Db, id: &str, lease: u32) -> Result<Resume, crate::Error> {
        let mut resume = Resume { lease, ..Resume::default() };
        for checkpoint in db.checkpoints(id)? {
            match (checkpoint.state, checkpoint.report) {
                (StepState::Finished, Some(report)) => {
                    let report: StepReport = serde_json::from_value(report).map_err(|e| crate::Error::Checkpoint {
                        execution_id: id.to_string(),
                        step_id: checkpoint.step_id.clone(),
                        message: e.to_string(),
                    })?;
                    resume.finished.insert(checkpoint.step_id, report);
                }
                _ => {
                    resume.unfinished.insert(checkpoint.step_id);
                }
            }
        }
        Ok(resume)
    }

    /// Whether an earlier lease ran anything.
    pub fn resumed(&self) -> bool {
        self.lease > 1 || !self.finished.is_empty() || !self.unfinished.is_empty()
    }

    /// The finished steps as the orchestrator's new session takes them in.
    pub fn for_session(&self) -> impl Iterator<Item = (&String, FinishedStep)> {
        self.finished.iter().map(|(id, report)| {
            let finished = FinishedStep {
                orchestrated: report.path == Path::Orchestrated,
                model: report.model.clone(),
                tokens_used: TokenUsage {
                    input: report.tokens.input,
                    output: report.tokens.output,
                    total: report.tokens.total,
                },
                tokens_saved: report.tokens_saved,
                cost_usd: report.cost_usd,
            };
            (id, finished)
        })
    }

    /// Tokens the finished steps spent: the workflow budget goes on from there.
    pub fn spent(&self) -> u64 {
        self.finished.values().map(|r| u64::from(r.tokens.total)).sum()
    }
}
