//! Classification tiers, agent scores, adaptive budgets and the audit trail's
//! metadata, through the real orchestrator and handlers.

use host_runner::Workflow;
use host_runner::runner::report::Path;
use host_runner::storage::records::AuditRow;
use integration_tests::mock_anthropic::{MockAnthropic, Scripted};
use integration_tests::{Sandbox, example};
use serde_json::{Value, json};

fn workflow(value: Value) -> Workflow {
    Workflow::parse(&value.to_string(), "inline").unwrap()
}

fn events<'a>(rows: &'a [AuditRow], kind: &str) -> Vec<&'a AuditRow> {
    rows.iter().filter(|e| e.event_type == kind).collect()
}

/// A workflow whose second step the free tiers cannot place.
fn vague_workflow() -> Workflow {
    workflow(json!({
        "id": "hand-off",
        "description": "Prepare a support hand-off for the lead",
        "agent_id": "agent-support",
        "user_id": "user-1",
        "steps": [
            {
                "id": "who",
                "name": "Extract the customer",
                "prompt": "Extract the customer's name.\nCustomer: Priya Raman wrote about order ORD-99812.",
                "params": {"schema": {"type": "object", "properties": {"name": {"type": "string"}}}}
            },
            {
                "id": "brief",
                "name": "Step 2",
                "prompt": "Look over the customer's message and shorten it to two sentences for the lead.\nPriya Raman wrote about order ORD-99812, which arrived broken.",
                "depends_on": ["who"]
            }
        ]
    }))
}

#[tokio::test]
async fn an_unsure_step_is_classified_by_the_fast_model_over_the_wire() {
    let mock = MockAnthropic::start(vec![
        Scripted::message(
            r#"{"steps": [{"id": "brief", "intent": "summarize", "confidence": 0.92, "reasoning": "it shortens a message"}]}"#,
            420,
            30,
        ),
        Scripted::tool(json!({"name": "Priya Raman"}), 120, 8),
        Scripted::message("Priya Raman's order ORD-99812 arrived broken.", 90, 14),
    ])
    .await;
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    let host = sandbox.host_on(&mock).await;
    let report = host.run(&vague_workflow()).await.unwrap();

    let received = mock.received();
    assert_eq!(received.len(), 3, "one classification call, then one call per step");
    let ask = &received[0].body;
    assert_eq!(ask["model"], "claude-haiku-4-5", "the fast tier classifies");
    let system = ask["system"].as_str().unwrap();
    assert!(system.contains("intent of each AI-agent workflow step marked CLASSIFY"), "{system}");
    assert!(
        system.contains("\nIntents: extract, summarize\ntransform: reshape or convert data, no judgment\n"),
        "{system}"
    );
    let question = ask["messages"][0]["content"].as_str().unwrap();
    assert!(question.contains("Goal: Prepare a support hand-off for the lead"));
    assert!(question.contains("id=\"brief\" name=\"Step 2\" reads=[\"who\"] CLASSIFY"), "{question}");
    assert!(!question.contains("id=\"who\" name=\"Extract the customer\" CLASSIFY"), "sure steps are context only");

    let brief = report.classifications.iter().find(|c| c.step_id == "brief").unwrap();
    assert_eq!((brief.intent.as_str(), brief.method.as_str(), brief.ambiguous), ("summarize", "llm", false));
    assert_eq!(report.steps[1].handler.as_deref(), Some("summarize"));
    assert!(report.steps.iter().all(|s| s.path == Path::Orchestrated));

    // The classification call is paid for: in the metrics and in token_usage.
    let metrics = report.orchestration.as_ref().unwrap();
    assert_eq!((metrics.overhead.calls, metrics.overhead.tokens), (1, 450));
    let steps_tokens: u64 = report.steps.iter().map(|s| u64::from(s.tokens.total)).sum();
    assert_eq!(report.metrics.total_tokens, steps_tokens + 450);
    let usage = sandbox.db().usage(&report.execution_id).unwrap();
    let own = usage.iter().find(|u| u.step_id.is_none()).expect("a usage row for the orchestrator's call");
    assert_eq!((own.tokens_used, own.model_info["path"].as_str()), (450, Some("orchestrator")));
    assert!((own.cost - (420.0 * 1.0 + 30.0 * 5.0) / 1e6).abs() < 1e-12, "priced on haiku: {}", own.cost);
}

#[tokio::test]
async fn without_the_llm_tier_an_unsure_step_is_settled_for_free() {
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    sandbox.set("orchestration_llm_classification_enabled", "false");
    let report = sandbox.host().await.run(&vague_workflow()).await.unwrap();
    let brief = report.classifications.iter().find(|c| c.step_id == "brief").unwrap();
    // "shorten it to two sentences": the context tier reads the length asked for.
    assert_eq!((brief.method.as_str(), brief.intent.as_str(), brief.ambiguous), ("context", "summarize", false));
    assert_eq!(report.orchestration.as_ref().unwrap().overhead.calls, 0);
    let init = sandbox.db().audit(Some(&report.execution_id), 100).unwrap();
    let init = &events(&init, "ORCHESTRATION_INITIALIZED")[0].metadata;
    assert!(init["llm_classification"]["note"].as_str().unwrap().contains("orchestration_llm_classification_enabled"));
}

#[tokio::test]
async fn all_five_events_carry_their_metadata() {
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    sandbox.set("orchestration_compression_enabled", "true");
    sandbox.set("orchestration_ais_routing_enabled", "true");
    // The summary step's budget is too small: refused before the provider, then it falls back.
    sandbox.set("orchestration_token_budget_summarize", "40");
    let report = sandbox.host().await.run(&example("invoice-extraction.json")).await.unwrap();
    let rows = sandbox.db().audit(Some(&report.execution_id), 200).unwrap();
    let required: [(&str, &[&str]); 5] = [
        (
            "ORCHESTRATION_INITIALIZED",
            &[
                "agent_id",
                "user_id",
                "step_count",
                "feature_flags",
                "budget_strategy",
                "workflow_budget",
                "allocated",
                "intents",
                "llm_classification",
                "classification_time_us",
            ],
        ),
        (
            "ORCHESTRATION_STEP_EXECUTED",
            &[
                "intent",
                "classification",
                "handler",
                "handler_version",
                "tokens",
                "tokens_saved",
                "cost_usd",
                "baseline_cost_usd",
                "budget",
                "compression",
                "routing",
                "retries",
                "model",
                "llm_calls",
                "fuel_consumed",
                "provider_time_us",
                "execution_time_us",
            ],
        ),
        ("ORCHESTRATION_STEP_FAILED", &["intent", "reason", "message", "retries", "fallback"]),
        ("ORCHESTRATION_BUDGET_EXCEEDED", &["kind", "allocated", "used", "requested", "model"]),
        (
            "ORCHESTRATION_COMPLETED",
            &[
                "total_tokens_used",
                "total_tokens_saved",
                "total_cost",
                "budget_utilization",
                "steps_executed",
                "steps_fell_back",
                "performance",
                "cost",
                "quality",
            ],
        ),
    ];
    for (kind, keys) in required {
        let found = events(&rows, kind);
        assert!(!found.is_empty(), "no {kind} event");
        for event in found {
            for key in keys {
                assert!(event.metadata.get(key).is_some(), "{kind} lacks `{key}`: {}", event.metadata);
            }
        }
    }
    let intents = &events(&rows, "ORCHESTRATION_INITIALIZED")[0].metadata["intents"];
    for plan in intents.as_array().unwrap() {
        for key in [
            "step_id",
            "intent",
            "method",
            "confidence",
            "ambiguous",
            "alternatives",
            "reasoning",
            "budget",
            "budget_basis",
            "critical",
        ] {
            assert!(plan.get(key).is_some(), "intent plan lacks `{key}`: {plan}");
        }
    }
    let completed = &events(&rows, "ORCHESTRATION_COMPLETED")[0].metadata;
    assert_eq!(completed["quality"]["success_rate"].as_f64(), Some(2.0 / 3.0));
    assert!(completed["cost"]["baseline_cost"].as_f64().unwrap() > completed["cost"]["total_cost"].as_f64().unwrap());
}

#[tokio::test]
async fn routed_runs_update_the_agents_execution_score_which_routing_then_reads() {
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    sandbox.set("orchestration_ais_routing_enabled", "true");
    let host = sandbox.host().await;
    let agent = "agent-ap-02";
    let first = host.run(&example("invoice-extraction.json")).await.unwrap();
    let row = sandbox.db().agent(agent).unwrap().expect("a row after a routed run");
    assert_eq!(row.runs, 1);
    assert!((0.0..=10.0).contains(&row.scores.execution));
    let routing = |report: &host_runner::RunReport| {
        let rows = sandbox.db().audit(Some(&report.execution_id), 100).unwrap();
        events(&rows, "ORCHESTRATION_STEP_EXECUTED")[0].metadata["routing"].clone()
    };
    assert!(routing(&first)["agent_execution_score"].is_null(), "no row yet when the first run was routed");
    let second = host.run(&example("invoice-extraction.json")).await.unwrap();
    let read = routing(&second)["agent_execution_score"].as_f64().expect("the second run reads the score");
    assert!((read - f64::from(row.scores.execution)).abs() < 1e-4);
    assert_eq!(sandbox.db().agent(agent).unwrap().unwrap().runs, 2);
}

#[tokio::test]
async fn adaptive_budgets_come_from_the_agents_history_once_there_is_enough() {
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    sandbox.set("orchestration_budget_strategy", "adaptive");
    sandbox.set("orchestration_adaptive_budget_enabled", "true");
    let host = sandbox.host().await;
    let basis = |report: &host_runner::RunReport| {
        let rows = sandbox.db().audit(Some(&report.execution_id), 100).unwrap();
        events(&rows, "ORCHESTRATION_INITIALIZED")[0].metadata["intents"][0]["budget_basis"].clone()
    };
    for _ in 0..3 {
        let report = host.run(&example("invoice-extraction.json")).await.unwrap();
        assert_eq!(basis(&report), "estimate", "fewer than three past extract steps");
    }
    let report = host.run(&example("invoice-extraction.json")).await.unwrap();
    assert_eq!(basis(&report), "history");
    assert_eq!(report.steps[0].path, Path::Orchestrated);
    let extract = report.classifications.iter().find(|c| c.intent == "extract").unwrap();
    assert!(extract.budget >= report.steps[0].tokens.total, "the history-sized budget covers the step");
}

#[tokio::test]
async fn an_unusable_answer_is_retried_one_tier_up_and_every_paid_attempt_is_billed() {
    // Both tiers answer without the verdict the schema asks for; then the normal path answers.
    let mock = MockAnthropic::start(vec![
        Scripted::tool(json!({"verdicts": {}}), 210, 12),
        Scripted::tool(json!({"verdicts": {}}), 210, 12),
        Scripted::message("The reply is polite.", 150, 8),
    ])
    .await;
    let sandbox = Sandbox::new(&["validate"], &[]);
    sandbox.set("orchestration_enabled", "true");
    sandbox.set("orchestration_ais_routing_enabled", "true");
    let report = sandbox
        .host_on(&mock)
        .await
        .run(&workflow(json!({
            "id": "judge",
            "agent_id": "agent-judge",
            "user_id": "user-1",
            "steps": [{
                "id": "tone",
                "name": "Check the reply",
                "prompt": "Check the draft reply before it goes out.",
                "params": {
                    "data": {"reply": "We are sorry for the delay; your refund of EUR 40 is on its way."},
                    "rules": [{"field": "/reply", "check": "judgment", "value": "Is the reply polite?"}]
                }
            }]
        })))
        .await
        .unwrap();
    let step = &report.steps[0];
    assert_eq!(step.path, Path::Fallback);
    assert!(step.fallback_reason.as_deref().unwrap().contains("invalid_output"), "{:?}", step.fallback_reason);
    assert_eq!(step.fallback_kind.map(|k| k.label()), Some("invalid_output"), "typed, not parsed from the message");
    let metrics = report.orchestration.as_ref().unwrap();
    assert_eq!(metrics.retries, 1, "one more dispatch a tier up");

    let rows = sandbox.db().audit(Some(&report.execution_id), 100).unwrap();
    let failed = &events(&rows, "ORCHESTRATION_STEP_FAILED")[0].metadata;
    assert_eq!((failed["reason"].as_str(), failed["retries"].as_u64()), (Some("handler_error"), Some(1)));

    // Both attempts called a model before failing: both are in token_usage and in the run's totals.
    let usage = sandbox.db().usage(&report.execution_id).unwrap();
    let attempts: Vec<_> = usage.iter().filter(|u| u.model_info["path"] == "failed_attempt").collect();
    assert_eq!(attempts.len(), 2);
    assert_ne!(attempts[0].model_info["model"], attempts[1].model_info["model"], "the retry ran on another tier");
    assert!(attempts.iter().all(|a| a.tokens_used > 0 && a.cost > 0.0));
    // The failure is typed in the row, in words for people: never Rust's Debug text.
    for attempt in &attempts {
        let error = &attempt.model_info["error"];
        assert_eq!(error["reason"], "invalid_output", "{error}");
        let message = error["message"].as_str().unwrap();
        assert!(message.starts_with("handler error (invalid_output): "), "{message}");
        for debug in ["Handler(", "InvalidOutput(", "StepError"] {
            assert!(
                !attempt.model_info.to_string().contains(debug),
                "Debug text in token_usage: {}",
                attempt.model_info
            );
        }
    }
    // The spend comes from the failed dispatches themselves, equal to what the rows say.
    assert_eq!(
        report.metrics.failed_attempts.calls as usize,
        attempts.iter().map(|a| a.model_info["llm_calls"].as_u64().unwrap() as usize).sum::<usize>()
    );
    let attempted: u64 = attempts.iter().map(|a| a.tokens_used).sum();
    assert_eq!(report.metrics.failed_attempts.tokens, attempted);
    assert_eq!(report.metrics.total_tokens, u64::from(step.tokens.total) + attempted);
}
