//! One suite for both backends: every test here runs on a fresh SQLite file
//! and on a fresh database of a throwaway Postgres server.

use super::Db;
use super::executions::{ExecutionFilter, ExecutionStart, Finish, Position, State};
use super::queued::{AuditRecord, Record};
use super::records::{Identity, UsageRow};
use super::runs::{Cancel, Requeue, StepState, Submission, Submitted};
use super::throwaway::ThrowawayPostgres;
use orchestration::budget::IntentUsage;
use orchestration::routing::AgentScores;
use serde_json::json;
use std::time::Duration;

fn sqlite() -> Db {
    Db::temporary()
}

fn postgres() -> Db {
    let server = ThrowawayPostgres::shared().unwrap();
    Db::open(&server.create_database().unwrap()).unwrap()
}

macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[test] fn $test() { super::$test(super::sqlite()) } )*
        }
        mod on_postgres {
            $( #[test] fn $test() { super::$test(super::postgres()) } )*
        }
    };
}

on_both_backends!(
    flags_default_to_off_and_writes_are_typed,
    plugin_settings_are_created_on_first_use,
    scoped_overrides_are_created_typed_and_removed,
    reopening_keeps_operator_values,
    a_change_is_read_at_once,
    records_land_in_order_and_are_counted,
    agent_scores_round_trip_and_clamp,
    racing_runs_of_one_agent_all_count,
    usage_by_intent_counts_orchestrated_steps_only,
    executions_end_in_a_state,
    a_run_keeps_its_cohort,
    cohort_rows_are_the_finished_runs_of_the_window,
    executions_are_listed_newest_first_by_state,
    executions_are_filtered_and_paged_in_the_database,
    stale_runs_are_interrupted,
    an_idempotency_key_queues_one_run,
    a_lease_is_taken_over_only_when_stale_and_fences_the_old_holder,
    checkpoints_land_with_their_usage_and_a_resume_keeps_what_finished,
    cancelling_ends_a_queued_run_and_asks_a_running_one,
    a_run_handed_back_is_leased_again,
);

fn flags_default_to_off_and_writes_are_typed(db: Db) {
    for flag in ["orchestration_enabled", "orchestration_compression_enabled", "orchestration_ais_routing_enabled"] {
        assert_eq!(db.setting(flag).unwrap().as_deref(), Some("false"), "{flag}");
    }
    db.set_setting("orchestration_enabled", "true").unwrap();
    assert_eq!(db.setting("orchestration_enabled").unwrap().as_deref(), Some("true"));
    let err = db.set_setting("orchestration_enabled", "yes").unwrap_err().to_string();
    assert!(err.contains("`true` or `false`"), "{err}");
    let err = db.set_setting("orchestration_max_tokens_per_step", "-4").unwrap_err().to_string();
    assert!(err.contains("an integer from 1 to 100000000"), "{err}");
    let err = db.set_setting("orchestration_budget_critical_multiplier", "10").unwrap_err().to_string();
    assert_eq!(err, "setting `orchestration_budget_critical_multiplier` takes a number from 1 to 5, got `10`");
    assert_eq!(db.setting("orchestration_budget_critical_multiplier").unwrap().as_deref(), Some("1.5"));
    let err = db.set_setting("orchestration_enabeld", "true").unwrap_err().to_string();
    assert!(err.contains("unknown setting `orchestration_enabeld`"), "{err}");
    let key = "orchestration_compression_summarize_preserve_fields";
    db.set_setting(key, "account_id, ticket.id").unwrap();
    assert_eq!(db.setting(key).unwrap().as_deref(), Some("account_id, ticket.id"));
    assert!(db.set_setting(key, "a b; drop").unwrap_err().to_string().contains("comma-separated field names"));
    let listed = db.list_settings("orchestration_enabled").unwrap();
    assert_eq!((listed.len(), listed[0].value.as_str(), listed[0].value_type.as_str()), (1, "true", "bool"));
    assert!(listed[0].updated_at.ends_with('Z') && listed[0].updated_at.contains('T'), "{}", listed[0].updated_at);
}

fn plugin_settings_are_created_on_first_use(db: Db) {
    db.set_setting("plugin_slack_url", "https://hooks.slack.com/services/T0/B0/x").unwrap();
    assert_eq!(db.setting("plugin_slack_url").unwrap().as_deref(), Some("https://hooks.slack.com/services/T0/B0/x"));
    assert!(db.set_setting("plugin_bad-name", "x").is_err());
    assert!(db.set_setting("plugin_teams_url", " ").is_err(), "typed as a non-empty string");
    assert_eq!(db.setting("plugin_teams_url").unwrap(), None, "a refused value creates nothing");
}

fn scoped_overrides_are_created_typed_and_removed(db: Db) {
    db.set_setting("orchestration_enabled@agent:agent-support-01", "true").unwrap();
    db.set_setting("orchestration_enabled@percent", "12.5").unwrap();
    let rows = db.list_settings("orchestration_enabled@").unwrap();
    let typed: Vec<(&str, &str, &str)> =
        rows.iter().map(|r| (r.key.as_str(), r.value.as_str(), r.value_type.as_str())).collect();
    assert_eq!(
        typed,
        [
            ("orchestration_enabled@agent:agent-support-01", "true", "bool"),
            ("orchestration_enabled@percent", "12.5", "float")
        ]
    );
    let err = db.set_setting("orchestration_enabled@agent:a", "1").unwrap_err().to_string();
    assert!(err.contains("takes true or false, got `1`"), "{err}");
    assert_eq!(db.setting("orchestration_enabled@agent:a").unwrap(), None, "a refused value creates nothing");
    assert!(db.unset_setting("orchestration_enabled@percent").unwrap());
    assert!(!db.unset_setting("orchestration_enabled@percent").unwrap(), "already gone");
    assert_eq!(db.settings().unwrap().get("orchestration_enabled@percent"), None, "the snapshot forgets it at once");
    let err = db.unset_setting("orchestration_enabled").unwrap_err().to_string();
    assert!(err.contains("cannot be unset"), "{err}");
}

fn reopening_keeps_operator_values(db: Db) {
    db.set_setting("orchestration_enabled", "true").unwrap();
    let again = Db::open(db.location()).unwrap();
    assert_eq!(again.setting("orchestration_enabled").unwrap().as_deref(), Some("true"));
}

fn a_change_is_read_at_once(db: Db) {
    let first = db.settings().unwrap();
    assert_eq!(first.get("orchestration_compression_enabled").map(String::as_str), Some("false"));
    db.set_setting("orchestration_compression_enabled", "true").unwrap();
    let fresh = db.settings().unwrap();
    assert_eq!(fresh.get("orchestration_compression_enabled").map(String::as_str), Some("true"));
}

fn who(execution: &str, agent: &str) -> Identity {
    Identity { execution_id: execution.into(), agent_id: agent.into(), user_id: "u".into() }
}

fn usage(step: &str, tokens: u64, intent: &str, path: &str) -> UsageRow {
    UsageRow {
        step_id: Some(step.into()),
        tokens_used: tokens,
        tokens_saved: 0,
        cost: 0.25,
        model_info: json!({ "intent": intent, "path": path }),
    }
}

fn records_land_in_order_and_are_counted(db: Db) {
    for n in 0..1_200 {
        db.records().send(Record::Audit(AuditRecord {
            who: who("e1", "a"),
            event_type: "ORCHESTRATION_STEP_EXECUTED".into(),
            severity: "info".into(),
            step_id: Some(format!("s{n}")),
            source: "test".into(),
            metadata: json!({ "n": n }),
        }));
    }
    for (execution, step) in [("e1", "s1"), ("e1", "s2"), ("e2", "s1")] {
        db.records().send(Record::Usage {
            who: who(execution, "a"),
            row: usage(step, 42, "x", "orchestrated"),
            what: step.into(),
        });
    }
    db.records().flush_blocking();
    let rows = db.audit(Some("e1"), 5_000).unwrap();
    assert_eq!(rows.len(), 1_200);
    assert!(rows.iter().enumerate().all(|(n, r)| r.metadata["n"] == n), "kept in the order sent");
    assert!(rows[0].created_at.ends_with('Z'));
    assert_eq!(db.audit(None, 10).unwrap().len(), 10, "the last rows of all executions");
    let used = db.usage("e1").unwrap();
    assert_eq!((used.len(), used[0].tokens_used, used[0].model_info["path"].as_str()), (2, 42, Some("orchestrated")));
    let tally = db.tally().unwrap();
    assert_eq!((tally.step_usage_rows, tally.distinct_steps), (3, 3));
    assert_eq!(tally.events["ORCHESTRATION_STEP_EXECUTED"], 1_200);
    let totals = db.usage_totals(&["e1".into(), "e2".into(), "no-rows".into()]).unwrap();
    let cost: f64 = used.iter().map(|u| u.cost).sum();
    assert_eq!(totals.len(), 2, "an execution without rows is absent: {totals:?}");
    assert_eq!((totals["e1"].tokens_used, totals["e1"].cost), (84, cost));
    assert_eq!((totals["e2"].tokens_used, totals["e2"].cost), (42, 0.25), "sums stay within their execution");
    assert!(db.usage_totals(&[]).unwrap().is_empty());
    assert_eq!(db.lost_writes().0, 0);
}

fn agent_scores_round_trip_and_clamp(db: Db) {
    assert_eq!(db.agent("a").unwrap(), None);
    let s = AgentScores { creation: 4.0, execution: 12.0, combined: 8.0 };
    db.record_agent_run("a", &s, None).unwrap();
    db.record_agent_run("a", &AgentScores { execution: 10.0, ..s }, Some(&AgentScores { execution: 10.0, ..s }))
        .unwrap();
    let row = db.agent("a").unwrap().unwrap();
    assert_eq!((row.runs, row.scores.execution, row.scores.combined), (2, 10.0, 7.0), "clamped to 10");
    db.set_creation("new", 7.0).unwrap();
    assert_eq!(db.agent("new").unwrap().unwrap().scores, AgentScores { creation: 7.0, execution: 7.0, combined: 7.0 });
    db.set_creation("a", 2.0).unwrap();
    assert_eq!(db.agent("a").unwrap().unwrap().scores.combined, 6.0);
    assert!(db.set_creation("x", 11.0).unwrap_err().to_string().contains("between 0 and 10"));
    assert_eq!(db.agents().unwrap().iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["a", "new"]);
}

/// Runs of one agent that read the same row and finish together (on one
/// host or on two) each move the score: none is lost to the other's write.
fn racing_runs_of_one_agent_all_count(db: Db) {
    let start = AgentScores { creation: 5.0, execution: 5.0, combined: 5.0 };
    db.record_agent_run("racer", &start, None).unwrap();
    let other_host = Db::open(db.location()).unwrap();
    std::thread::scope(|scope| {
        for handle in [&db, &other_host] {
            scope.spawn(move || {
                for _ in 0..20 {
                    let read = start;
                    let after = AgentScores { execution: read.execution + 0.1, ..read };
                    handle.record_agent_run("racer", &after, Some(&read)).unwrap();
                }
            });
        }
    });
    let row = db.agent("racer").unwrap().unwrap();
    assert_eq!(row.runs, 41);
    assert!((row.scores.execution - 9.0).abs() < 1e-3, "every run's +0.1 counted: {}", row.scores.execution);
}

fn usage_by_intent_counts_orchestrated_steps_only(db: Db) {
    for tokens in 1..=10 {
        db.records().send(Record::Usage {
            who: who("e", "a"),
            row: usage("s", tokens * 100, "summarize", "orchestrated"),
            what: "u".into(),
        });
    }
    db.records().send(Record::Usage {
        who: who("e", "a"),
        row: usage("s", 99_999, "summarize", "fallback"),
        what: "u".into(),
    });
    db.records().send(Record::Usage {
        who: who("e", "a"),
        row: usage("s", 50, "extract", "orchestrated"),
        what: "u".into(),
    });
    db.records().flush_blocking();
    let by_intent = db.usage_by_intent("a").unwrap();
    assert_eq!(by_intent[0], IntentUsage { intent: "extract".into(), steps: 1, avg_tokens: 50, p90_tokens: 50 });
    assert_eq!(by_intent[1], IntentUsage { intent: "summarize".into(), steps: 10, avg_tokens: 550, p90_tokens: 900 });
    assert!(db.usage_by_intent("other").unwrap().is_empty());
}

fn start(db: &Db, id: &str) {
    db.start_execution(ExecutionStart {
        id: id.into(),
        workflow_id: "wf".into(),
        agent_id: "a".into(),
        user_id: "u".into(),
        replica: db.replica().into(),
    });
    db.records().flush_blocking();
}

fn finish(db: &Db, id: &str, state: State, error: Option<&str>) {
    db.finish_execution(id, Finish { state, error: error.map(String::from) });
    db.records().flush_blocking();
}

fn executions_end_in_a_state(db: Db) {
    start(&db, "ok");
    start(&db, "bad");
    assert_eq!(db.execution("ok").unwrap().unwrap().state, "running");
    finish(&db, "ok", State::Completed, None);
    finish(&db, "bad", State::Failed, Some("provider error 529"));
    // A late second finish changes nothing.
    finish(&db, "ok", State::Failed, Some("late"));
    let ok = db.execution("ok").unwrap().unwrap();
    assert_eq!((ok.state.as_str(), ok.error, ok.replica.as_str()), ("completed", None, db.replica()));
    assert!(ok.ended_at.is_some());
    let bad = db.execution("bad").unwrap().unwrap();
    assert_eq!((bad.state.as_str(), bad.error.as_deref()), ("failed", Some("provider error 529")));
    assert_eq!(db.execution("never").unwrap(), None);
    assert_eq!(db.tally().unwrap().executions.get("completed"), Some(&1));
    assert_eq!(db.check_integrity().unwrap(), Vec::<String>::new());
}

fn a_run_keeps_its_cohort(db: Db) {
    start(&db, "run");
    assert_eq!(db.execution("run").unwrap().unwrap().orchestrated, None, "undecided yet");
    let cohort = crate::storage::executions::Cohort { orchestrated: true, flag_scope: "agent:agent-a".into() };
    db.record_cohort("run", cohort);
    finish(&db, "run", State::Completed, None);
    let run = db.execution("run").unwrap().unwrap();
    assert_eq!((run.orchestrated, run.flag_scope.as_deref()), (Some(true), Some("agent:agent-a")));
}

fn cohort_rows_are_the_finished_runs_of_the_window(db: Db) {
    use crate::storage::executions::Cohort;
    for (id, orchestrated) in [("on", true), ("off", false), ("running", true)] {
        start(&db, id);
        db.record_cohort(id, Cohort { orchestrated, flag_scope: "global".into() });
        let row = usage("s", 100, "summarize", if orchestrated { "orchestrated" } else { "fallback" });
        db.records().send(Record::Usage { who: who(id, "a"), row, what: "u".into() });
    }
    start(&db, "before-cohorts");
    for id in ["on", "off", "before-cohorts"] {
        finish(&db, id, State::Completed, None);
    }
    start(&db, "empty");
    db.record_cohort("empty", Cohort { orchestrated: false, flag_scope: "user:u".into() });
    // Failed steps come from their audit events, once each, of finished runs only.
    for (id, step) in [("empty", "a"), ("empty", "a"), ("running", "b")] {
        db.records().send(Record::Audit(AuditRecord {
            who: who(id, "a"),
            event_type: crate::vocabulary::HostEvent::STEP_FAILED.into(),
            severity: "critical".into(),
            step_id: Some(step.into()),
            source: "runner".into(),
            metadata: json!({"error": "provider down", "kind": "provider", "intent": "extract"}),
        }));
    }
    finish(&db, "empty", State::Failed, Some("step `a` failed"));
    let found = db.cohort_rows(Duration::from_secs(3_600)).unwrap();
    let failed = crate::storage::cohorts::FailedStep {
        execution_id: "empty".into(),
        step_id: "a".into(),
        intent: Some("extract".into()),
    };
    assert_eq!(found.failed_steps, [failed]);
    let mut runs: Vec<(&str, bool, Option<u64>, &str)> = found
        .rows
        .iter()
        .map(|r| (r.execution_id.as_str(), r.orchestrated, r.usage.as_ref().map(|u| u.tokens_used), r.state.as_str()))
        .collect();
    runs.sort();
    let expected = [
        ("empty", false, None, "failed"),
        ("off", false, Some(100), "completed"),
        ("on", true, Some(100), "completed"),
    ];
    assert_eq!(runs, expected, "a running run waits");
    let off = found.rows.iter().find(|r| r.execution_id == "off").unwrap();
    assert_eq!(off.usage.as_ref().unwrap().model_info["path"], "fallback");
    assert_eq!(found.runs_without_cohort, 1);
}

fn executions_are_listed_newest_first_by_state(db: Db) {
    for id in ["first", "second", "third"] {
        start(&db, id);
        // Distinct start times (millisecond resolution on both backends).
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    finish(&db, "second", State::Failed, Some("step `a` failed"));
    let ids = |runs: Vec<crate::storage::executions::Execution>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let list = |filter: ExecutionFilter| ids(db.executions(&filter).unwrap());
    assert_eq!(list(ExecutionFilter::recent(None, 10)), ["third", "second", "first"]);
    assert_eq!(list(ExecutionFilter::recent(None, 2)), ["third", "second"]);
    assert_eq!(list(ExecutionFilter::recent(Some("failed"), 10)), ["second"]);
    assert_eq!(list(ExecutionFilter::recent(Some("running"), 10)), ["third", "first"]);
}

fn executions_are_filtered_and_paged_in_the_database(db: Db) {
    for (id, agent, cost) in
        [("a1", "agent-support-01", 0.5), ("b1", "agent-sales-02", 0.01), ("a2", "agent-support-01", 0.005)]
    {
        let who = Identity { execution_id: id.into(), agent_id: agent.into(), user_id: "u".into() };
        db.start_execution(ExecutionStart {
            id: id.into(),
            workflow_id: "wf".into(),
            agent_id: agent.into(),
            user_id: "u".into(),
            replica: db.replica().into(),
        });
        db.records().send(Record::Usage {
            who,
            row: UsageRow { cost, ..usage("s", 100, "summarize", "fallback") },
            what: "row".into(),
        });
        db.records().flush_blocking();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let all = db.executions(&ExecutionFilter::recent(None, 10)).unwrap();
    assert_eq!(ids_of(&all), ["a2", "b1", "a1"]);
    let support = ExecutionFilter { agent: Some("support".into()), ..ExecutionFilter::recent(None, 10) };
    assert_eq!(ids_of(&db.executions(&support).unwrap()), ["a2", "a1"]);
    let costly = ExecutionFilter { min_cost: Some(0.008), ..support.clone() };
    assert_eq!(ids_of(&db.executions(&costly).unwrap()), ["a1"], "a2 cost $0.005");
    let any_agent = ExecutionFilter { agent: None, ..costly };
    assert_eq!(ids_of(&db.executions(&any_agent).unwrap()), ["b1", "a1"], "b1 cost $0.01");
    let costlier = ExecutionFilter { min_cost: Some(1.0), ..support.clone() };
    assert!(db.executions(&costlier).unwrap().is_empty());
    // Page by page: each page starts after the last run of the one before.
    let mut pages = vec![];
    let mut page = ExecutionFilter::recent(None, 2);
    loop {
        let runs = db.executions(&page).unwrap();
        let Some(last) = runs.last() else { break };
        page.after = Some(Position { started_at: last.started_at.clone(), id: last.id.clone() });
        pages.push(ids_of(&runs));
    }
    assert_eq!(pages, [vec!["a2", "b1"], vec!["a1"]]);
}

fn ids_of(runs: &[crate::storage::executions::Execution]) -> Vec<String> {
    runs.iter().map(|r| r.id.clone()).collect()
}

fn stale_runs_are_interrupted(db: Db) {
    start(&db, "alive");
    start(&db, "done");
    finish(&db, "done", State::Completed, None);
    assert!(db.store().interrupt_stale(Duration::from_secs(60)).unwrap().is_empty(), "a fresh heartbeat");
    std::thread::sleep(Duration::from_millis(30));
    assert!(db.store().heartbeat(db.replica()).unwrap().is_empty(), "nothing to cancel");
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(db.store().interrupt_stale(Duration::from_millis(10)).unwrap(), ["alive"]);
    let run = db.execution("alive").unwrap().unwrap();
    assert_eq!(run.state, "interrupted");
    assert!(run.error.unwrap().contains("no heartbeat since"));
    assert_eq!(db.execution("done").unwrap().unwrap().state, "completed");
}

const WORKFLOW: &str = r#"{"id":"wf","steps":[]}"#;

fn submission(db: &Db, id: &str, key: Option<&str>, workflow: &str) -> Submission {
    Submission {
        start: ExecutionStart {
            id: id.into(),
            workflow_id: "wf".into(),
            agent_id: "a".into(),
            user_id: "u".into(),
            replica: db.replica().into(),
        },
        workflow: workflow.into(),
        idempotency_key: key.map(String::from),
    }
}

fn an_idempotency_key_queues_one_run(db: Db) {
    let submit =
        |id: &str, key: Option<&str>, workflow: &str| db.submit_run(&submission(&db, id, key, workflow)).unwrap();
    assert_eq!(submit("r1", Some("k"), WORKFLOW), Submitted::Queued("r1".into()));
    assert_eq!(submit("r2", Some("k"), WORKFLOW), Submitted::Existing("r1".into()));
    assert_eq!(submit("r3", Some("k"), r#"{"id":"other"}"#), Submitted::KeyReused("r1".into()));
    assert_eq!(submit("r4", None, WORKFLOW), Submitted::Queued("r4".into()));
    assert_eq!(submit("r5", None, WORKFLOW), Submitted::Queued("r5".into()), "no key, no deduplication");
    assert_eq!(db.execution("r2").unwrap(), None);
    assert_eq!(db.queued_runs().unwrap(), 3);
    let run = db.execution("r1").unwrap().unwrap();
    assert_eq!(
        (run.state.as_str(), run.durable, run.idempotency_key.as_deref(), run.leases),
        ("queued", true, Some("k"), 0)
    );
}

fn a_lease_is_taken_over_only_when_stale_and_fences_the_old_holder(db: Db) {
    db.submit_run(&submission(&db, "r1", None, WORKFLOW)).unwrap();
    let leased = db.lease_runs(10).unwrap();
    assert_eq!((leased.len(), leased[0].id.as_str(), leased[0].leases), (1, "r1", 1));
    assert_eq!(leased[0].workflow, WORKFLOW, "kept byte for byte");
    assert!(db.lease_runs(10).unwrap().is_empty(), "leased once");
    assert!(db.store().lease_runs("other", Duration::from_secs(60), 10).unwrap().is_empty(), "a live lease holds");
    db.step_started("r1", "a", false);
    db.records().flush_blocking();
    std::thread::sleep(Duration::from_millis(40));
    let taken = db.store().lease_runs("other", Duration::from_millis(10), 10).unwrap();
    assert_eq!((taken.len(), taken[0].leases), (1, 2), "a stale lease is taken over");
    // The first holder finishes its step late: its checkpoint and usage row are dropped.
    db.step_finished(
        &who("r1", "a"),
        "a",
        json!({ "path": "orchestrated" }),
        Some(usage("a", 10, "summarize", "orchestrated")),
    );
    db.records().flush_blocking();
    assert_eq!(db.checkpoints("r1").unwrap()[0].state, StepState::Started);
    assert!(db.usage("r1").unwrap().is_empty());
    assert_eq!(db.lost_writes().0, 0, "dropped on purpose, not lost");
    assert_eq!(db.execution("r1").unwrap().unwrap().replica, "other");
}

fn checkpoints_land_with_their_usage_and_a_resume_keeps_what_finished(db: Db) {
    db.submit_run(&submission(&db, "r1", None, WORKFLOW)).unwrap();
    db.lease_runs(1).unwrap();
    for step in ["a", "b", "c"] {
        db.step_started("r1", step, false);
    }
    db.records().flush_blocking();
    db.step_finished(
        &who("r1", "a"),
        "a",
        json!({ "path": "orchestrated", "n": 1 }),
        Some(usage("a", 120, "summarize", "orchestrated")),
    );
    db.step_finished(&who("r1", "a"), "b", json!({ "path": "failed" }), None);
    // A step that called no model finishes without a start.
    db.step_finished(
        &who("r1", "a"),
        "d",
        json!({ "path": "orchestrated" }),
        Some(usage("d", 0, "transform", "orchestrated")),
    );
    db.records().flush_blocking();
    let checkpoints = db.checkpoints("r1").unwrap();
    let state = |step: &str| checkpoints.iter().find(|c| c.step_id == step).map(|c| (c.state, c.starts));
    assert_eq!(state("a"), Some((StepState::Finished, 1)));
    assert_eq!(state("c"), Some((StepState::Started, 1)));
    assert_eq!(state("d"), Some((StepState::Finished, 0)));
    assert_eq!(checkpoints.iter().find(|c| c.step_id == "a").unwrap().report.as_ref().unwrap()["n"], 1);
    assert_eq!(db.usage("r1").unwrap().len(), 2, "one usage row with each checkpoint");
    db.finish_execution("r1", Finish { state: State::Failed, error: Some("step `b` failed".into()) });
    db.records().flush_blocking();
    assert_eq!(db.requeue_run("r1").unwrap(), Requeue::Queued);
    let steps: Vec<String> = db.checkpoints("r1").unwrap().into_iter().map(|c| c.step_id).collect();
    assert!(
        steps.contains(&"a".to_string()) && !steps.contains(&"b".to_string()),
        "the failed step runs again: {steps:?}"
    );
    assert_eq!(db.lease_runs(1).unwrap()[0].leases, 1, "a resumed run's lease count starts over");
    db.step_started("r1", "c", true);
    db.records().flush_blocking();
    let c = db.checkpoints("r1").unwrap().into_iter().find(|c| c.step_id == "c").unwrap();
    assert_eq!(c.starts, 2);
    assert_eq!(db.execution("r1").unwrap().unwrap().rerun_steps, 1);
    assert_eq!(db.requeue_run("r1").unwrap(), Requeue::NotResumable("running".into()), "a live lease is not resumed");
    start(&db, "sync");
    finish(&db, "sync", State::Failed, None);
    assert_eq!(db.requeue_run("sync").unwrap(), Requeue::NotDurable);
    assert_eq!(db.requeue_run("nope").unwrap(), Requeue::NotFound);
    assert_eq!(db.check_integrity().unwrap(), Vec::<String>::new());
}

fn cancelling_ends_a_queued_run_and_asks_a_running_one(db: Db) {
    db.submit_run(&submission(&db, "queued", None, WORKFLOW)).unwrap();
    assert_eq!(db.cancel_run("queued").unwrap(), Cancel::Cancelled);
    let run = db.execution("queued").unwrap().unwrap();
    assert_eq!(run.state, "cancelled");
    assert!(run.ended_at.is_some());
    assert_eq!(db.cancel_run("queued").unwrap(), Cancel::AlreadyEnded("cancelled".into()));
    assert!(db.lease_runs(10).unwrap().is_empty(), "a cancelled run is not leased");
    db.submit_run(&submission(&db, "running", None, WORKFLOW)).unwrap();
    db.lease_runs(10).unwrap();
    assert_eq!(db.cancel_run("running").unwrap(), Cancel::Requested);
    assert_eq!(db.store().heartbeat(db.replica()).unwrap(), ["running"]);
    assert_eq!(db.cancel_run("nope").unwrap(), Cancel::NotFound);
    db.finish_execution("running", Finish { state: State::Cancelled, error: None });
    db.records().flush_blocking();
    assert_eq!(db.requeue_run("running").unwrap(), Requeue::Queued);
    let resumed = db.lease_runs(10).unwrap();
    assert!(!resumed[0].cancel_requested, "a resumed run starts uncancelled");
    assert!(!db.cancel_requested("running"));
}

fn a_run_handed_back_is_leased_again(db: Db) {
    db.submit_run(&submission(&db, "r1", None, WORKFLOW)).unwrap();
    db.lease_runs(1).unwrap();
    db.finish_execution("r1", Finish { state: State::Queued, error: Some("handed back".into()) });
    db.records().flush_blocking();
    let run = db.execution("r1").unwrap().unwrap();
    assert_eq!((run.state.as_str(), run.ended_at, run.leases), ("queued", None, 0), "a hand-back is not counted");
    assert_eq!(db.lease_runs(1).unwrap()[0].leases, 1);
    // A stale synchronous run is interrupted; a stale durable one waits to be leased again.
    std::thread::sleep(Duration::from_millis(30));
    assert!(db.store().interrupt_stale(Duration::from_millis(10)).unwrap().is_empty());
    assert_eq!(db.execution("r1").unwrap().unwrap().state, "running");
}
