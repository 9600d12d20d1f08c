//! `pilot handlers test` and the harness behind it: every shipped handler on
//! one request, its model calls answered from a script, in isolation.

use handler_testkit::{HandlerTest, Step};
use host_runner::capabilities::import_log::ImportCall;
use host_runner::components::engine::EngineOptions;
use host_runner::components::limits::HandlerLimits;
use host_runner::components::shared::Limits;
use host_runner::harness::{Harness, TestRequest};
use integration_tests::{Dir, components, python_handler, stderr};
use serde_json::{Value, json};

fn limits() -> Limits {
    Limits { defaults: HandlerLimits::default(), inherit_stderr: false }
}

/// `(handler, request, the script's answer, a fact only the request's data holds, a check of the output)`.
type Case = (&'static str, Value, Value, &'static str, fn(&Value) -> bool);

fn cases() -> Vec<Case> {
    vec![
        (
            "aggregate",
            json!({"prompt": "Merge the two shift notes into one note.",
                   "params": {"night_note": "Pump P-7 tripped twice (FACT-AGG-1).", "day_note": "Valve V-2 replaced."}}),
            json!("Pump P-7 tripped twice (FACT-AGG-1); valve V-2 was replaced."),
            "FACT-AGG-1",
            |out| out.to_string().contains("valve V-2 was replaced"),
        ),
        (
            "classify",
            json!({"prompt": "Classify the churn risk as low, medium or high.",
                   "params": {"account_notes": "Champion left; usage down 40% (FACT-CLA-1)."}}),
            json!({"label": "high", "confidence": 0.86, "rationale": "Champion left, usage fell."}),
            "FACT-CLA-1",
            |out| out["label"] == "high",
        ),
        (
            "conditional",
            json!({"prompt": "Is the order over the approval limit?",
                   "params": {"order_sheet": "Order FACT-CON-1: $9,800 total; approval limit $5,000."}}),
            json!({"answer": true, "reason": "9,800 is over 5,000."}),
            "FACT-CON-1",
            |out| out.to_string().contains("true"),
        ),
        (
            "enrich",
            json!({"prompt": "Add the sales region for the customer.",
                   "params": {"customer_card": "Brightwater Ltd, Leeds, UK (FACT-ENR-1)"}}),
            json!({"region": "EMEA"}),
            "FACT-ENR-1",
            |out| out.to_string().contains("EMEA"),
        ),
        (
            "extract",
            json!({"prompt": "Pull the invoice number and the total.",
                   "params": {"scan": "Invoice FACT-EXT-1, total EUR 716.38, due 14 July."}}),
            json!({"invoice_number": "FACT-EXT-1", "total": 716.38}),
            "FACT-EXT-1",
            |out| out["total"] == 716.38,
        ),
        (
            "filter",
            json!({"prompt": "Keep only the orders over $100.",
                   "params": {"open_orders": [{"id": "FACT-FIL-1", "amount": 250}, {"id": "B", "amount": 40}, {"id": "C", "amount": 120}]}}),
            json!({"keep": [0, 2]}),
            "FACT-FIL-1",
            |out| out.to_string().contains("FACT-FIL-1") && !out.to_string().contains("\"B\""),
        ),
        (
            "generate",
            json!({"prompt": "Write a one-line thank-you note to the customer.",
                   "params": {"customer_card": "Priya Raman, order FACT-GEN-1"}}),
            json!("Thank you for your order, Priya!"),
            "FACT-GEN-1",
            |out| out.to_string().contains("Thank you for your order"),
        ),
        (
            "summarize",
            json!({"prompt": "Summarize the call in one sentence.",
                   "params": {"call_log": "Dana asked for a refund on FACT-SUM-1; the agent agreed to a 50% credit."}}),
            json!("Dana got a 50% credit on FACT-SUM-1."),
            "FACT-SUM-1",
            |out| out.to_string().contains("50% credit"),
        ),
        (
            "transform",
            json!({"prompt": "Turn the contact into CSV-ready fields: first name, last name, email.",
                   "params": {"raw_contact": "Ms. Priya Raman <priya@FACT-TRA-1.example>"}}),
            json!({"first_name": "Priya", "last_name": "Raman", "email": "priya@FACT-TRA-1.example"}),
            "FACT-TRA-1",
            |out| out.to_string().contains("Raman"),
        ),
        (
            "validate",
            json!({"prompt": "Check that every line has a positive quantity.",
                   "params": {"order_lines": [{"sku": "FACT-VAL-1", "qty": 2}, {"sku": "B", "qty": 0}]}}),
            json!({"valid": false, "errors": [{"field": "B", "message": "quantity is 0"}]}),
            "FACT-VAL-1",
            |out| out["valid"] == false,
        ),
    ]
}

#[tokio::test]
async fn every_model_calling_handler_runs_alone_on_a_scripted_answer_and_sends_its_data() {
    for (handler, request, answer, fact, check) in cases() {
        let test = HandlerTest::new(components().join(format!("handlers/{handler}.wasm"))).answer(answer);
        let outcome = test.run(Step(serde_json::from_value(request).unwrap())).await.unwrap();
        let output = outcome.output().unwrap_or_else(|e| panic!("{e}"));
        assert!(check(output), "{handler}: unexpected output {output}");
        assert_eq!(outcome.llm_calls.len(), 1, "{handler}: one model call");
        let call = &outcome.llm_calls[0];
        assert_eq!(call.answered_by, Some(0), "{handler}");
        assert!(outcome.sent().contains(fact), "{handler}: the data under an unknown param key reached the model");
        assert_eq!(
            outcome.tokens,
            [call.input_tokens, call.output_tokens],
            "{handler}: billed on what the provider reported"
        );
    }
}

#[test]
fn the_cli_exit_code_tells_a_handler_failure_from_a_test_that_could_not_run() {
    let dir = Dir::new();
    let classify = components().join("handlers/classify.wasm").display().to_string();
    let (_, request, answer, ..) = cases().into_iter().find(|c| c.0 == "classify").unwrap();
    let request = dir.write("request.json", &request.to_string());
    let answers = dir.write("answers.json", &json!([{"match": "FACT-CLA-1", "answer": answer}]).to_string());

    let ok = dir.pilot(&["handlers", "test", &classify, "--request", &request, "--answers", &answers, "--json"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let report: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(report["result"]["Ok"]["label"], "high");

    // No script for the model call: the test is incomplete, and the request is shown.
    let unscripted = dir.pilot(&["handler", "test", &classify, "--request", &request]);
    assert_eq!(unscripted.status.code(), Some(2));
    assert!(stderr(&unscripted).contains("has no scripted answer"), "{}", stderr(&unscripted));
    assert!(stderr(&unscripted).contains("FACT-CLA-1"), "the unanswered request is printed");

    // A handler's own failure: send without its plugin's URL.
    let send = components().join("handlers/send.wasm").display().to_string();
    let post = dir.write(
        "post.json",
        &json!({"prompt": "Post the summary to Slack #ops.", "available_plugins": ["slack"]}).to_string(),
    );
    let failed = dir.pilot(&["handler", "test", &send, "--request", &post]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert!(String::from_utf8_lossy(&failed.stdout).contains("plugin_slack_url"));

    // Bad input: named, exit 2.
    let bad = dir.write("bad.json", &json!({"prompt": 3}).to_string());
    let refused = dir.pilot(&["handler", "test", &classify, "--request", &bad]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("bad.json"), "{}", stderr(&refused));
}

#[tokio::test]
async fn the_python_handler_runs_alone_like_any_other() {
    let Some(sentiment) = python_handler("sentiment") else { return };
    let answer = json!({"label": "negative", "score": -0.7, "evidence": "nobody called back"});
    let harness = HandlerTest::new(&sentiment).answer_when("REF-PY-7", answer).load().await.unwrap();
    assert_eq!(harness.handler().info.intents, ["sentiment"]);
    let step = Step::prompt("How does the customer feel about the repair?")
        .param("review", "Third visit and the boiler still cuts out. Nobody called back (REF-PY-7).");
    let outcome = harness.execute(&step.0).await.unwrap();
    assert_eq!(
        outcome.result.as_ref().unwrap(),
        &json!({"label": "negative", "score": -0.7, "evidence": "nobody called back"})
    );
    let call = &outcome.llm_calls[0];
    assert!(call.messages[0].contains("REF-PY-7"), "the Python handler sends the step's material");
    assert_eq!(call.format["schema"]["properties"]["label"]["enum"], json!(["positive", "neutral", "negative"]));

    // Its own checks hold: a label outside the schema's is an invalid output, the handler's error.
    let wrong = json!({"label": "furious", "score": -1, "evidence": "x"});
    let outcome = HandlerTest::new(&sentiment).answer(wrong).run(step).await.unwrap();
    assert!(outcome.handler_error);
    assert!(outcome.result.unwrap_err().contains("furious"));
}

#[tokio::test]
async fn outbound_requests_and_settings_reads_are_recorded_with_what_was_refused() {
    let guest = components().join("test-guests/misbehaving.wasm");
    let harness = Harness::load(&guest, None, vec![], limits(), EngineOptions::default()).await.unwrap();
    let step = |intent: &str| -> TestRequest { serde_json::from_value(json!({"intent": intent})).unwrap() };

    let outcome = harness.execute(&step("forbidden-http")).await.unwrap();
    assert!(outcome.result.is_err(), "no manifest, no outbound host");
    assert_eq!(
        outcome.imports,
        [ImportCall::Http {
            method: "GET".into(),
            url: "http://example.com/".into(),
            denied: Some("host not allowed".into())
        }]
    );

    let outcome = harness.execute(&step("read-setting")).await.unwrap();
    assert_eq!(outcome.result.as_ref().unwrap()["value"], Value::Null, "not granted: reads as unset");
    assert!(outcome.imports.contains(&ImportCall::Setting { key: "plugin_slack_url".into(), granted: false }));
}
