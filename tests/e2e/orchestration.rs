//! The seed's flag behaviour through the real orchestrator and handlers.

use host_runner::runner::report::Path;
use integration_tests::{Sandbox, example};
use serde_json::json;

fn count(events: &[host_runner::storage::records::AuditRow], kind: &str) -> usize {
    events.iter().filter(|e| e.event_type == kind).count()
}

#[tokio::test]
async fn flags_off_every_step_runs_the_normal_way() {
    let sandbox = Sandbox::standard();
    let report = sandbox.host().await.run(&example("support-ticket-triage.json")).await.unwrap();
    assert!(report.steps.iter().all(|s| s.path == Path::Fallback), "{:?}", report.steps);
    assert!(report.orchestration.is_none());
    assert!(report.steps.iter().all(|s| s.tokens.total > 0 && s.cost_usd > 0.0));

    let db = sandbox.db();
    let usage = db.usage(&report.execution_id).unwrap();
    assert_eq!(usage.len(), 3);
    assert!(usage.iter().all(|u| u.model_info["orchestration"] == json!(false)));
    let events = db.audit(Some(&report.execution_id), 100).unwrap();
    assert_eq!(count(&events, "WORKFLOW_STEP_EXECUTED"), 3);
    assert!(events.iter().all(|e| !e.event_type.starts_with("ORCHESTRATION_")), "no orchestration events when off");
}

#[tokio::test]
async fn flags_on_steps_run_through_their_handlers() {
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    let report = sandbox.host().await.run(&example("invoice-extraction.json")).await.unwrap();
    let handlers: Vec<_> = report.steps.iter().map(|s| (s.path, s.handler.as_deref().unwrap())).collect();
    assert_eq!(
        handlers,
        [(Path::Orchestrated, "extract"), (Path::Orchestrated, "summarize"), (Path::Orchestrated, "transform")]
    );

    // extract: schema-valid JSON; transform: reshaped without a model call.
    let fields = &report.steps[0].output;
    assert_eq!(fields["invoice_number"], "INV-2024-0042");
    assert_eq!(fields["total"], 716.38);
    let ledger = &report.steps[2];
    assert_eq!(ledger.tokens.total, 0);
    assert_eq!(
        ledger.output,
        json!([
            {"account_sku": "FAK-330", "amount": 126.0, "memo": "replaces expired kits"},
            {"account_sku": "HAT-014", "amount": 216.0, "cost_center": "OPS-3"},
            {"account_sku": "GLV-200", "amount": 260.0}
        ])
    );
    let summary = report.steps[1].output["summary"].as_str().unwrap();
    assert!(summary.starts_with("[simulated]"), "simulated answers are labeled: {summary}");

    // Orchestrator metrics agree with the per-step figures.
    let metrics = report.orchestration.as_ref().unwrap();
    assert_eq!(metrics.steps_executed, 3);
    assert_eq!(metrics.total_tokens_used, report.metrics.total_tokens);
    assert!(metrics.budget_utilization > 0.0 && metrics.budget_utilization <= 1.0);

    let db = sandbox.db();
    let usage = db.usage(&report.execution_id).unwrap();
    assert_eq!(usage.len(), 3);
    assert_eq!(usage.iter().map(|u| u.tokens_used).sum::<u64>(), report.metrics.total_tokens);
    assert!(usage.iter().all(|u| u.model_info["orchestration"] == json!(true)));

    let events = db.audit(Some(&report.execution_id), 100).unwrap();
    assert_eq!(count(&events, "ORCHESTRATION_INITIALIZED"), 1);
    assert_eq!(count(&events, "ORCHESTRATION_STEP_EXECUTED"), 3);
    assert_eq!(count(&events, "ORCHESTRATION_COMPLETED"), 1);
    assert_eq!(events.first().unwrap().event_type, "ORCHESTRATION_INITIALIZED");
    assert_eq!(events.last().unwrap().event_type, "ORCHESTRATION_COMPLETED");
    let executed = events.iter().find(|e| e.event_type == "ORCHESTRATION_STEP_EXECUTED").unwrap();
    for key in ["intent", "handler", "tokens", "cost_usd", "budget", "compression", "routing"] {
        assert!(executed.metadata.get(key).is_some(), "STEP_EXECUTED metadata lacks `{key}`: {}", executed.metadata);
    }
    assert!(events.iter().all(|e| e.agent_id == "agent-ap-02" && e.user_id == "user-1020"));
}

#[tokio::test]
async fn a_budget_too_small_is_refused_by_the_host_on_both_paths() {
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    sandbox.set("orchestration_max_tokens_per_workflow", "120");
    let report = sandbox.host().await.run(&example("invoice-extraction.json")).await.unwrap();
    let paths: Vec<_> = report.steps.iter().map(|s| s.path).collect();
    // Refused by the handler's budget, then by what the workflow budget leaves the normal path.
    assert_eq!(paths, [Path::Failed, Path::Failed, Path::Orchestrated], "transform needs no tokens");
    let error = report.steps[0].error.as_deref().unwrap();
    assert!(error.contains("orchestration_max_tokens_per_workflow = 120"), "{error}");
    assert!(report.metrics.total_tokens <= 120, "nothing spent past the budget: {}", report.metrics.total_tokens);

    let events = sandbox.db().audit(Some(&report.execution_id), 100).unwrap();
    let refusals: Vec<_> = events.iter().filter(|e| e.event_type == "ORCHESTRATION_BUDGET_EXCEEDED").collect();
    assert_eq!(refusals.len(), 4, "two by the handlers' allocations, two by what the workflow budget left");
    for r in refusals {
        let m = &r.metadata;
        assert_eq!(m["kind"], "refused");
        assert!(m["requested"].as_u64().unwrap() > m["allocated"].as_u64().unwrap() - m["used"].as_u64().unwrap());
    }
    assert_eq!(count(&events, "ORCHESTRATION_STEP_FAILED"), 2);
}

#[tokio::test]
async fn a_step_whose_intent_has_no_handler_falls_back() {
    let sandbox = Sandbox::new(&["summarize", "transform"], &[]);
    sandbox.set("orchestration_enabled", "true");
    let report = sandbox.host().await.run(&example("invoice-extraction.json")).await.unwrap();
    assert_eq!(report.steps[0].path, Path::Fallback);
    assert_eq!(report.steps[0].intent.as_deref(), Some("extract"));
    assert!(report.steps[0].fallback_reason.as_deref().unwrap().contains("no handler serves intent `extract`"));
    assert_eq!(report.steps[1].path, Path::Orchestrated);
}

#[tokio::test]
async fn the_runner_skips_the_branch_a_conditional_step_did_not_take() {
    let sandbox = Sandbox::new(&["conditional", "transform"], &[]);
    sandbox.set("orchestration_enabled", "true");
    let workflow = host_runner::Workflow::parse(
        &json!({
            "id": "w", "agent_id": "a", "user_id": "u",
            "inputs": {"invoice": {"total": 1200.5, "vendor": "ACME"}},
            "steps": [
                {"id": "route", "name": "Route by amount", "intent": "conditional", "prompt": "If the total exceeds 1000, ask for approval",
                 "params": {"input": "{{input.invoice}}", "condition": {"field": "/total", "op": "gt", "value": 1000},
                            "then": ["approval"], "else": ["auto_pay"]}},
                {"id": "approval", "intent": "transform", "prompt": "Approval record", "depends_on": ["route"],
                 "params": {"input": "{{input.invoice}}", "mapping": {"needs_approval": true, "vendor": "/vendor"}}},
                {"id": "auto_pay", "intent": "transform", "prompt": "Payment record", "depends_on": ["route"],
                 "params": {"input": "{{input.invoice}}", "mapping": {"pay": "/total"}}},
                {"id": "receipt", "intent": "transform", "prompt": "Receipt", "depends_on": ["auto_pay"],
                 "params": {"input": "{{steps.auto_pay.output}}"}}
            ]
        })
        .to_string(),
        "inline",
    )
    .unwrap();
    let report = sandbox.host().await.run(&workflow).await.unwrap();
    let paths: Vec<_> = report.steps.iter().map(|s| (s.id.as_str(), s.path)).collect();
    assert_eq!(
        paths,
        [
            ("route", Path::Orchestrated),
            ("approval", Path::Orchestrated),
            ("auto_pay", Path::Skipped),
            ("receipt", Path::Skipped)
        ]
    );
    assert_eq!(report.steps[0].output["branch"], "then");
    assert_eq!(report.steps[1].output, json!({"needs_approval": true, "vendor": "ACME"}));
    assert_eq!(report.metrics.steps_skipped, 2);
    let usage = sandbox.db().usage(&report.execution_id).unwrap();
    assert_eq!(usage.len(), 2, "skipped steps spend nothing and write no usage");
}

/// The seed's flag matrix: orchestration on with compression and routing
/// each off and on, on a corpus workflow with memory and boilerplate.
#[tokio::test]
async fn the_seed_flag_matrix() {
    let sandbox = Sandbox::new(
        &[
            "summarize",
            "extract",
            "transform",
            "generate",
            "validate",
            "aggregate",
            "filter",
            "conditional",
            "send",
            "enrich",
        ],
        &[],
    );
    sandbox.set("orchestration_enabled", "true");
    let host = sandbox.host().await;
    let path = integration_tests::repo().join("bench/corpus/contract/01-support-billing-dispute.json");
    let workflow = host_runner::Workflow::parse(&std::fs::read_to_string(&path).unwrap(), "corpus").unwrap();
    let mut runs = Vec::new();
    for (compression, routing) in [("false", "false"), ("true", "false"), ("false", "true"), ("true", "true")] {
        sandbox.set("orchestration_compression_enabled", compression);
        sandbox.set("orchestration_ais_routing_enabled", routing);
        let report = host.run(&workflow).await.unwrap();
        let events = sandbox.db().audit(Some(&report.execution_id), 100).unwrap();
        let executed: Vec<_> = events.iter().filter(|e| e.event_type == "ORCHESTRATION_STEP_EXECUTED").collect();
        assert!(executed.len() >= 3, "{compression}/{routing}: {:?}", report.steps);
        for e in &executed {
            assert_eq!(e.metadata["compression"]["enabled"], json!(compression == "true"), "{}", e.metadata);
            assert_eq!(e.metadata["routing"]["enabled"], json!(routing == "true"), "{}", e.metadata);
            assert!(e.metadata["routing"]["reason"].as_str().is_some_and(|r| !r.is_empty()));
        }
        runs.push(report);
    }
    let saved = |r: &host_runner::RunReport| r.metrics.tokens_saved;
    let models = |r: &host_runner::RunReport| -> Vec<String> {
        r.steps
            .iter()
            .filter(|s| s.path == Path::Orchestrated && !s.model.is_empty())
            .map(|s| s.model.clone())
            .collect()
    };
    // Compression off saves nothing; on, what handlers send shrinks.
    assert_eq!((saved(&runs[0]), saved(&runs[2])), (0, 0));
    assert!(saved(&runs[1]) > 0 && saved(&runs[3]) > 0, "{} {}", saved(&runs[1]), saved(&runs[3]));
    let step = |r: &host_runner::RunReport, id: &str| r.steps.iter().find(|s| s.id == id).unwrap().clone();
    let facts = |r: &host_runner::RunReport| step(r, "facts");
    assert!(step(&runs[1], "gist").compression_applied);
    assert!(step(&runs[1], "gist").tokens.input < step(&runs[0], "gist").tokens.input, "compressed input is smaller");
    // Extraction reads its text losslessly: the same fields either way.
    assert_eq!(facts(&runs[0]).output, facts(&runs[1]).output);
    // Routing off: the default model everywhere; on: each call goes to the
    // model of the tier the router chose and recorded.
    assert!(models(&runs[0]).iter().all(|m| m == "claude-sonnet-4-5"), "{:?}", models(&runs[0]));
    let events = sandbox.db().audit(Some(&runs[2].execution_id), 100).unwrap();
    for e in events.iter().filter(|e| e.event_type == "ORCHESTRATION_STEP_EXECUTED") {
        let routing = &e.metadata["routing"];
        assert!(["fast", "balanced", "powerful"].contains(&routing["tier"].as_str().unwrap()), "{routing}");
        let used = e.metadata["model"].as_str().unwrap();
        assert!(used.is_empty() || used == routing["model"], "{}", e.metadata);
    }
    assert!(runs[3].metrics.total_cost_usd < runs[0].metrics.total_cost_usd);
}

#[tokio::test]
async fn an_orchestrator_that_cannot_start_is_reported_and_audited_not_taken_for_off() {
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    let starved = host_runner::components::limits::HandlerLimits {
        fuel: 10_000,
        ..host_runner::components::limits::HandlerLimits::default()
    };
    let host = sandbox.builder().limits(starved).build().await.unwrap();
    let report = host.run(&example("invoice-extraction.json")).await.unwrap();
    let reason = report.orchestrator_unavailable.as_deref().expect("the report says why");
    assert!(reason.contains("fuel") || reason.contains("orchestrat"), "{reason}");
    assert!(report.steps.iter().all(|s| s.path == Path::Fallback));
    let events = sandbox.db().audit(Some(&report.execution_id), 100).unwrap();
    let unavailable = events.iter().find(|e| e.event_type == "ORCHESTRATOR_UNAVAILABLE").expect("audited");
    assert_eq!(unavailable.severity, "critical");
}
