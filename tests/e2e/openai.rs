//! The OpenAI-compatible provider against a loopback server speaking Chat Completions.

use host_runner::capabilities::llm::openai::OpenAi;
use host_runner::capabilities::llm::provider::{AnswerFormat, ModelProvider, ProviderRequest};
use host_runner::runner::report::Path;
use integration_tests::mock_openai::{MockOpenAi, completion, error};
use integration_tests::{Sandbox, example};
use serde_json::json;

fn request(format: AnswerFormat) -> ProviderRequest {
    ProviderRequest {
        model: "llama3.1:8b".into(),
        system: Some("Answer briefly.".into()),
        messages: vec![("user", "Give the sum of 2 and 2.".into())],
        max_tokens: 32,
        temperature: 0.0,
        format,
    }
}

#[tokio::test]
async fn json_mode_after_a_429_reads_the_answer_and_its_usage() {
    let mock = MockOpenAi::start(vec![
        error(429, "rate_limit_exceeded", "Rate limit reached for requests").with_header("retry-after", "0"),
        completion(r#"{"sum": 4}"#, 21, 6),
    ])
    .await;
    let client = OpenAi::new(&format!("{}/v1", mock.base_url), "sk-test-key".into()).unwrap();
    let answer = client.complete(&request(AnswerFormat::Json)).await.unwrap();
    assert_eq!((answer.text.as_str(), answer.input_tokens, answer.output_tokens), (r#"{"sum": 4}"#, 21, 6));
    assert_eq!(answer.stop_reason, "stop");

    let received = mock.received();
    assert_eq!(received.len(), 2, "one retry after the 429");
    let first = &received[0];
    assert_eq!(first.header("authorization"), Some("Bearer sk-test-key"));
    assert_eq!(first.body["model"], "llama3.1:8b");
    assert_eq!(first.body["max_tokens"], 32);
    assert_eq!(first.body["response_format"], json!({"type": "json_object"}));
    assert_eq!(first.body["messages"][0]["role"], "system");
    assert!(first.body["messages"][0]["content"].as_str().unwrap().starts_with("Answer briefly."));
    assert_eq!(first.body["messages"][1], json!({"role": "user", "content": "Give the sum of 2 and 2."}));
}

#[tokio::test]
async fn a_400_is_a_typed_error_without_retry_and_a_local_server_gets_no_key() {
    let mock = MockOpenAi::start(vec![error(400, "invalid_request_error", "max_tokens is too large")]).await;
    let client = OpenAi::new(&format!("{}/v1", mock.base_url), String::new()).unwrap();
    let err = client.complete(&request(AnswerFormat::Text)).await.unwrap_err();
    assert_eq!(
        (err.status, err.kind.as_str(), err.message.as_str()),
        (400, "invalid_request_error", "max_tokens is too large")
    );
    let received = mock.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].header("authorization"), None, "an empty key sends no Authorization header");
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let unavailable = || error(503, "server_error", "The server is overloaded").with_header("retry-after", "0");
    let mock = MockOpenAi::start(vec![unavailable(), unavailable(), unavailable(), unavailable()]).await;
    let client = OpenAi::new(&format!("{}/v1", mock.base_url), "sk-test-key".into()).unwrap();
    let err = client.complete(&request(AnswerFormat::Text)).await.unwrap_err();
    assert_eq!((err.status, err.kind.as_str()), (503, "server_error"));
    assert_eq!(mock.received().len(), 4, "three retries, then the error");
}

#[tokio::test]
async fn a_workflow_runs_orchestrated_on_an_openai_compatible_server() {
    let mock = MockOpenAi::start(vec![
        completion(
            r#"{"invoice_number":"INV-2024-0042","invoice_date":"2024-06-14","due_date":"2024-07-14","currency":"EUR","total":716.38}"#,
            300,
            40,
        ),
        completion("ACME billed 716.38 EUR for safety supplies, due 2024-07-14.", 250, 20),
    ])
    .await;
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    let host = sandbox.host_on_openai(&mock).await;
    assert_eq!(host.provider_name(), "openai");
    let report = host.run(&example("invoice-extraction.json")).await.unwrap();
    assert!(report.steps.iter().all(|s| s.path == Path::Orchestrated), "{:?}", report.steps);
    assert_eq!(report.steps[0].output["total"], 716.38);
    assert_eq!((report.steps[0].tokens.input, report.steps[0].tokens.output), (300, 40));
    let received = mock.received();
    assert_eq!(received.len(), 2, "transform makes no model call");
    // The schema travels as `response_format: json_schema`.
    assert_eq!(received[0].body["response_format"]["type"], "json_schema");
    assert!(received[0].body["response_format"]["json_schema"]["schema"]["properties"]["total"].is_object());
}

/// A schema-constrained answer that is not JSON (seen from a real LiteLLM
/// proxy) is the model's unusable answer: the step is retried one tier up,
/// counted, and runs orchestrated, never reported as a provider failure.
#[tokio::test]
async fn an_answer_that_is_not_json_is_retried_one_tier_up() {
    let mock = MockOpenAi::start(vec![
        completion("Sure! The invoice number is INV-2024-0042 and the total is 716.38 EUR.", 300, 25),
        completion("As I said: INV-2024-0042, 716.38 EUR.", 320, 15),
        completion(r#"{"invoice_number":"INV-2024-0042","total":716.38}"#, 300, 20),
    ])
    .await;
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    sandbox.set("orchestration_ais_routing_enabled", "true");
    let host = sandbox.host_on_openai(&mock).await;
    let workflow = host_runner::Workflow::parse(
        &serde_json::json!({
            "id": "one-invoice",
            "agent_id": "agent-ap-01",
            "user_id": "user-ap",
            "inputs": {"invoice": "ACME Safety Supplies. Invoice INV-2024-0042. Total due: 716.38 EUR."},
            "steps": [{
                "id": "fields",
                "prompt": "Extract the invoice fields.\n\n{{input.invoice}}",
                "params": {"schema": {"type": "object", "required": ["invoice_number", "total"],
                    "properties": {"invoice_number": {"type": "string"}, "total": {"type": "number"}}}}
            }]
        })
        .to_string(),
        "inline",
    )
    .unwrap();
    let report = host.run(&workflow).await.unwrap();
    assert_eq!(report.steps[0].path, Path::Orchestrated, "{:?}", report.steps);
    assert_eq!(report.steps[0].output["total"], 716.38);
    let received = mock.received();
    assert_eq!(received.len(), 3, "the unusable answer, the handler's repair request, the retry a tier up");
    assert_eq!(received[0].body["model"], received[1].body["model"], "the repair asks the same model");
    assert_ne!(received[1].body["model"], received[2].body["model"], "retried on a stronger tier's model");
    assert_eq!(report.orchestration.expect("orchestration metrics").retries, 1);
    assert_eq!(report.metrics.failed_attempts.calls, 2, "the unusable answers were paid and are counted");
}
