//! A run's flags: each scoped flag decided once, when the run starts, from
//! the settings snapshot (`orchestration::rollout`), so the host and the
//! orchestrator read the same values for the whole run, and the run records
//! which scope decided them.

use crate::storage::settings::Snapshot;
use orchestration::catalogue::catalogue;
use orchestration::rollout::{self, Decision, SCOPED_FLAGS, Scope, Subject};
use serde_json::{Value, json};

/// The recorded scope of a run a percentage rollout left to the global value.
pub const OUTSIDE_PERCENT: &str = "outside_percent";

/// The scoped flags' values for one run, and the scopes that decided them.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFlags {
    decisions: Vec<Decision>,
    /// A resumed run's first-lease cohort scope: it keeps that lease's `orchestration_enabled`.
    first_lease_scope: Option<String>,
}

impl RunFlags {
    /// Decides every scoped flag for `subject` from `stored`.
    pub fn decide(stored: &Snapshot, subject: &Subject) -> RunFlags {
        let get = |key: &str| stored.get(key).cloned();
        let decisions = SCOPED_FLAGS
            .iter()
            .map(|flag| {
                let global = catalogue().value(flag, get).is_some_and(|v| v == "true");
                rollout::resolve(flag, subject, global, get)
            })
            .collect();
        RunFlags { decisions, first_lease_scope: None }
    }

    /// Keeps a resumed run in its first lease's cohort: orchestrated or not as
    /// that lease ran, whatever the flags say now, so its restored steps,
    /// budget and report stay on one path.
    pub fn resumed(mut self, orchestrated: bool, flag_scope: String) -> RunFlags {
        if let Some(d) = self.decisions.iter_mut().find(|d| d.flag == orchestration::keys::ORCHESTRATION_ENABLED) {
            d.value = orchestrated;
        }
        self.first_lease_scope = Some(flag_scope);
        self
    }

    /// The run's value of a scoped flag; `None` for any other key.
    pub fn answer(&self, key: &str) -> Option<String> {
        self.decisions.iter().find(|d| d.flag == key).map(|d| d.value.to_string())
    }

    /// The decision of one flag.
    pub fn decision(&self, flag: &str) -> Option<&Decision> {
        self.decisions.iter().find(|d| d.flag == flag)
    }

    /// The scope that decided `orchestration_enabled`, as the executions row keeps it:
    /// `global`, `percent`, `outside_percent` (a percentage was set and the
    /// workflow's bucket fell outside it: the global value, the rollout's
    /// comparison group), `agent_type:<type>`, `agent:<id>` or `user:<id>`.
    pub fn orchestration_scope(&self) -> String {
        if let Some(scope) = &self.first_lease_scope {
            return scope.clone();
        }
        let Some(d) = self.decision(orchestration::keys::ORCHESTRATION_ENABLED) else {
            return Scope::Global.kind().into();
        };
        match &d.scope {
            Scope::User(id) | Scope::Agent(id) | Scope::AgentType(id) => format!("{}:{id}", d.scope.kind()),
            Scope::Global if d.rollout.is_some() => OUTSIDE_PERCENT.into(),
            other => other.kind().into(),
        }
    }

    /// Every decision, for the audit.
    pub fn record(&self) -> Value {
        let mut record = json!(self.decisions);
        if let (Some(scope), Some(first)) = (&self.first_lease_scope, record.get_mut(0)) {
            first["kept_from_first_lease"] = json!(scope);
        }
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_reads_its_scoped_values_and_records_their_scopes() {
        let stored: Snapshot = [
            ("orchestration_enabled", "false"),
            ("orchestration_enabled@agent:agent-support-01", "true"),
            ("orchestration_compression_enabled@user:user-9", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let subject = Subject {
            workflow_id: "wf".into(),
            agent_id: "agent-support-01".into(),
            user_id: "user-9".into(),
            agent_type: None,
        };
        let flags = RunFlags::decide(&stored, &subject);
        assert_eq!(flags.answer("orchestration_enabled").as_deref(), Some("true"));
        assert_eq!(flags.answer("orchestration_compression_enabled").as_deref(), Some("true"));
        // Unset: the catalogue's default.
        assert_eq!(flags.answer("orchestration_ais_routing_enabled").as_deref(), Some("false"));
        assert_eq!(flags.answer("orchestration_max_retries"), None);
        assert_eq!(flags.orchestration_scope(), "agent:agent-support-01");
        let record = flags.record();
        assert_eq!(record[0]["scope"], "agent");
        assert_eq!(record[0]["id"], "agent-support-01");
        assert_eq!(record[2]["scope"], "global");

        let resumed = RunFlags::decide(&stored, &subject).resumed(false, "percent".into());
        assert_eq!(
            resumed.answer("orchestration_enabled").as_deref(),
            Some("false"),
            "the first lease's cohort stands"
        );
        assert_eq!(resumed.orchestration_scope(), "percent");
        assert_eq!(resumed.record()[0]["kept_from_first_lease"], "percent");

        let other = Subject { agent_id: "agent-sales-02".into(), user_id: "user-1".into(), ..subject };
        let flags = RunFlags::decide(&stored, &other);
        assert_eq!(
            (flags.answer("orchestration_enabled").as_deref(), flags.orchestration_scope().as_str()),
            (Some("false"), "global")
        );
    }

    #[test]
    fn a_workflow_a_percentage_leaves_out_is_recorded_as_its_comparison_group() {
        let stored: Snapshot = [("orchestration_enabled@percent", "50")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let scopes: Vec<(String, String)> = (0..40)
            .map(|i| {
                let subject = Subject { workflow_id: format!("wf-{i}"), agent_id: "a".into(), ..Subject::default() };
                let flags = RunFlags::decide(&stored, &subject);
                (flags.answer("orchestration_enabled").unwrap(), flags.orchestration_scope())
            })
            .collect();
        assert!(scopes.iter().any(|s| s == &("true".into(), "percent".into())));
        assert!(scopes.iter().any(|s| s == &("false".into(), OUTSIDE_PERCENT.into())));
        assert!(scopes.iter().all(|(_, scope)| scope == "percent" || scope == OUTSIDE_PERCENT));
    }
}
