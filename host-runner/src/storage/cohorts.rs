//! What `pilot report` compares: the `token_usage` rows of the runs whose
//! cohort is known (orchestrated or not, see [`super::executions::Cohort`]),
//! each with its run's facts.

use serde::Serialize;

/// One `token_usage` row of a finished run of a known cohort; a run without
/// rows comes once, with `usage` empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortRow {
    pub execution_id: String,
    /// The rollout's unit: a percentage buckets whole workflows, so runs of
    /// one workflow are not independent samples.
    pub workflow_id: String,
    pub agent_id: String,
    /// The scope that decided `orchestration_enabled` (see [`super::executions::Cohort`]).
    pub flag_scope: String,
    /// The run's end state (`completed`, `failed`, `interrupted`, `cancelled`).
    pub state: String,
    pub orchestrated: bool,
    pub usage: Option<CohortUsage>,
}

/// The usage part of a [`CohortRow`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortUsage {
    /// `None` for the orchestrator's own calls.
    pub step_id: Option<String>,
    pub tokens_used: u64,
    pub cost: f64,
    pub model_info: serde_json::Value,
}

/// A step of one of those runs that neither path could run, from its
/// `WORKFLOW_STEP_FAILED` audit event (a failed step has no usage row).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedStep {
    pub execution_id: String,
    pub step_id: String,
    /// `None` in events written before failed steps carried their intent.
    pub intent: Option<String>,
}

/// The rows of the runs started within the window, their failed steps, and
/// how many finished runs of it have no cohort (started before cohorts were
/// recorded, or ended before their flags were decided).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CohortRows {
    pub rows: Vec<CohortRow>,
    pub failed_steps: Vec<FailedStep>,
    pub runs_without_cohort: u64,
}

/// The scopes a percentage decides: in the rollout, or left to the global value.
const PERCENTAGE_SCOPES: [&str; 2] = ["percent", "outside_percent"];

impl CohortRows {
    /// Only the runs a percentage rollout decided, on either side: the
    /// randomised comparison, without runs an operator chose by user, agent
    /// or agent type.
    pub fn percentage_rollout_only(mut self) -> CohortRows {
        self.rows.retain(|r| PERCENTAGE_SCOPES.contains(&r.flag_scope.as_str()));
        let kept: std::collections::HashSet<&str> = self.rows.iter().map(|r| r.execution_id.as_str()).collect();
        let failed = self.failed_steps.into_iter().filter(|f| kept.contains(f.execution_id.as_str())).collect();
        CohortRows { failed_steps: failed, ..self }
    }
}
