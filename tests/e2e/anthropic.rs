//! The Anthropic provider against a loopback server speaking the Messages API.

use host_runner::capabilities::llm::anthropic::Anthropic;
use host_runner::capabilities::llm::provider::{AnswerFormat, ModelProvider, ProviderRequest};
use host_runner::runner::report::Path;
use integration_tests::mock_anthropic::{MockAnthropic, Scripted};
use integration_tests::{Sandbox, example};
use serde_json::json;

fn request() -> ProviderRequest {
    ProviderRequest {
        model: "claude-haiku-4-5".into(),
        system: Some("Answer briefly.".into()),
        messages: vec![("user", "What is 2+2?".into())],
        max_tokens: 32,
        temperature: 0.0,
        format: AnswerFormat::Text,
    }
}

#[tokio::test]
async fn retries_after_429_and_reads_usage() {
    let mock = MockAnthropic::start(vec![
        Scripted::error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit")
            .with_header("retry-after", "0"),
        Scripted::message("4", 14, 1),
    ])
    .await;
    let client = Anthropic::new(&mock.base_url, "sk-ant-test".into()).unwrap();
    let answer = client.complete(&request()).await.unwrap();
    assert_eq!((answer.text.as_str(), answer.input_tokens, answer.output_tokens), ("4", 14, 1));
    assert_eq!(answer.stop_reason, "end_turn");

    let received = mock.received();
    assert_eq!(received.len(), 2, "one retry after the 429");
    let first = &received[0];
    assert_eq!(first.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(first.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(first.body["model"], "claude-haiku-4-5");
    assert_eq!(first.body["max_tokens"], 32);
    assert_eq!(first.body["system"], "Answer briefly.");
    assert_eq!(first.body["messages"][0]["content"], "What is 2+2?");
}

#[tokio::test]
async fn a_400_is_a_typed_error_without_retry() {
    let mock =
        MockAnthropic::start(vec![Scripted::error(400, "invalid_request_error", "max_tokens: must be positive")]).await;
    let client = Anthropic::new(&mock.base_url, "sk-ant-test".into()).unwrap();
    let err = client.complete(&request()).await.unwrap_err();
    assert_eq!((err.status, err.kind.as_str()), (400, "invalid_request_error"));
    assert_eq!(err.message, "max_tokens: must be positive");
    assert_eq!(mock.received().len(), 1);
}

#[tokio::test]
async fn a_529_overload_is_retried_then_reported() {
    let overloaded = || Scripted::error(529, "overloaded_error", "Overloaded").with_header("retry-after", "0");
    let mock = MockAnthropic::start(vec![overloaded(), overloaded(), overloaded(), overloaded()]).await;
    let client = Anthropic::new(&mock.base_url, "k".into()).unwrap();
    let err = client.complete(&request()).await.unwrap_err();
    assert_eq!((err.status, err.kind.as_str()), (529, "overloaded_error"));
    assert_eq!(mock.received().len(), 4, "three retries, then the error");
}

#[tokio::test]
async fn a_5xx_from_a_proxy_is_retried_like_any_transient_status() {
    // What a LiteLLM proxy answered when its upstream failed: a 500, then the answer.
    let mock = MockAnthropic::start(vec![
        Scripted::error(500, "api_error", "upstream failed").with_header("retry-after", "0"),
        Scripted::error(408, "timeout_error", "request timed out").with_header("retry-after", "0"),
        Scripted::message("4", 12, 1),
    ])
    .await;
    let client = Anthropic::new(&mock.base_url, "k".into()).unwrap();
    let answer = client.complete(&request()).await.unwrap();
    assert_eq!(answer.text, "4");
    assert_eq!(mock.received().len(), 3, "a 500 and a 408 retried, then answered");
}

/// Input tokens the prompt cache served or stored are billed at the cache
/// rates (settings beside each tier's prices), never as fresh input.
#[tokio::test]
async fn cached_input_tokens_are_billed_at_the_cache_rates() {
    let mut cached = Scripted::message("Revenue rose 12%, costs were flat.", 100, 50);
    cached.body["usage"]["cache_read_input_tokens"] = json!(2_000);
    cached.body["usage"]["cache_creation_input_tokens"] = json!(500);
    let mock = MockAnthropic::start(vec![cached]).await;
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    sandbox.set("orchestration_tier_balanced_cache_read_price", "0.25");
    let host = sandbox.host_on(&mock).await;
    let workflow = host_runner::Workflow::parse(
        &json!({
            "id": "cached", "agent_id": "agent-fin", "user_id": "user-fin",
            "steps": [{"id": "gist", "prompt": "Summarize: revenue rose 12 percent in Q3 while costs stayed flat."}]
        })
        .to_string(),
        "inline",
    )
    .unwrap();
    let report = host.run(&workflow).await.unwrap();
    let step = &report.steps[0];
    assert_eq!(step.path, Path::Orchestrated, "{step:?}");
    assert_eq!(step.tokens.input, 100 + 2_000 + 500, "every input token counts against budgets");
    let billed = (100.0 * 3.0 + 2_000.0 * 0.25 + 500.0 * 3.75 + 50.0 * 15.0) / 1e6;
    assert!((step.cost_usd - billed).abs() < 1e-12, "{} billed, {billed} expected", step.cost_usd);
}

#[tokio::test]
async fn orchestrated_steps_are_billed_on_the_usage_the_provider_returned() {
    let mock = MockAnthropic::start(vec![
        Scripted::tool(
            json!({"invoice_number":"INV-2024-0042","invoice_date":"2024-06-14","due_date":"2024-07-14","currency":"EUR","total":716.38}),
            300,
            40,
        ),
        Scripted::message("ACME billed 716.38 EUR for safety supplies, due 2024-07-14.", 250, 20),
    ])
    .await;
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    let host = sandbox.host_on(&mock).await;
    let report = host.run(&example("invoice-extraction.json")).await.unwrap();
    assert!(report.steps.iter().all(|s| s.path == Path::Orchestrated));
    let extract = &report.steps[0];
    assert_eq!((extract.tokens.input, extract.tokens.output), (300, 40));
    assert!((extract.cost_usd - (300.0 * 3.0 + 40.0 * 15.0) / 1e6).abs() < 1e-12, "{}", extract.cost_usd);
    assert_eq!(extract.output["total"], 716.38);
    assert_eq!(report.steps[1].output["summary"], "ACME billed 716.38 EUR for safety supplies, due 2024-07-14.");
    let received = mock.received();
    assert_eq!(received.len(), 2, "transform makes no model call");
    // The schema travels as a forced tool, the Messages API's schema-constrained output.
    assert_eq!(received[0].body["tool_choice"]["name"], "answer");
    assert!(received[0].body["tools"][0]["input_schema"]["properties"]["total"].is_object());
    assert!(received.iter().all(|r| r.header("x-api-key") == Some("sk-ant-test")));
}

#[tokio::test]
async fn a_hung_provider_is_a_timeout_within_the_bound() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    let client = Anthropic::new(&base_url, "k".into()).unwrap().with_total_timeout(std::time::Duration::from_secs(1));
    let started = std::time::Instant::now();
    let err = client.complete(&request()).await.unwrap_err();
    assert_eq!((err.status, err.kind.as_str()), (0, "timeout"), "{err:?}");
    assert!(err.message.contains("within 1 s"), "{}", err.message);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}

/// Two independent steps and one that depends on the first, all explicit (no classification call).
fn three_steps() -> host_runner::Workflow {
    let text = r#"{"id": "w", "agent_id": "a", "user_id": "u", "steps": [
        {"id": "first", "intent": "summarize", "prompt": "Summarize: the pump failed twice on Monday."},
        {"id": "second", "intent": "summarize", "prompt": "Summarize: the valve was replaced on Tuesday."},
        {"id": "third", "intent": "summarize", "prompt": "Summarize the first step.", "depends_on": ["first"]}
    ]}"#;
    host_runner::Workflow::parse(text, "three_steps").unwrap()
}

#[tokio::test]
async fn a_failing_provider_fails_its_steps_once_and_the_independent_ones_still_run() {
    // Every call answers a 500: retried three times (at once: `retry-after: 0`), then reported.
    let failing = || Scripted::error(500, "api_error", "Internal server error").with_header("retry-after", "0");
    for orchestration in ["true", "false"] {
        let mock = MockAnthropic::start((0..8).map(|_| failing()).collect()).await;
        let sandbox = Sandbox::standard();
        sandbox.set("orchestration_enabled", orchestration);
        let host = sandbox.host_on(&mock).await;
        let report = host.run(&three_steps()).await.expect("a run with failed steps still reports");
        let paths: Vec<Path> = report.steps.iter().map(|s| s.path).collect();
        assert_eq!(paths, [Path::Failed, Path::Failed, Path::Skipped], "orchestration {orchestration}");
        assert!(report.steps[0].error.as_deref().unwrap().contains("api_error"), "{:?}", report.steps[0].error);
        assert_eq!(report.steps[2].error.as_deref(), Some("depends on failed step `first`"));
        assert_eq!(report.metrics.steps_failed, 2);
        // Each failed step's one call was tried four times: no second call on the normal path.
        assert_eq!(mock.received().len(), 8, "orchestration {orchestration}");
        let audit = sandbox.db().audit(Some(&report.execution_id), 100).unwrap();
        let failed = audit.iter().filter(|e| e.event_type == "WORKFLOW_STEP_FAILED").count();
        assert_eq!(failed, 2, "every failure is recorded with the execution id");
        let orchestrated = audit.iter().any(|e| e.event_type == "ORCHESTRATION_INITIALIZED");
        assert_eq!(orchestrated, orchestration == "true", "the orchestrator ran the steps when it was on");
        // The run says how it ended, with the first error.
        let run = sandbox.db().execution(&report.execution_id).unwrap().expect("an executions row");
        assert_eq!(run.state, "failed");
        assert!(run.error.as_deref().unwrap().starts_with("step `first` failed:"), "{:?}", run.error);
    }
}
