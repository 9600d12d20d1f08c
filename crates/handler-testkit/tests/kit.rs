//! The kit on a shipped handler: scripted answers, data reaching the model,
//! an unscripted call caught.

use handler_testkit::{HandlerTest, Step};
use serde_json::json;
use std::path::PathBuf;

fn classify() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/components/handlers/classify.wasm")
}

#[tokio::test]
async fn a_step_runs_on_a_matched_answer_and_its_data_reaches_the_model() {
    let outcome = HandlerTest::new(classify())
        .answer_when("KIT-FACT-9", json!({"label": "high", "confidence": 0.8, "rationale": "usage fell"}))
        .run(
            Step::prompt("Classify the churn risk as low, medium or high.")
                .input("account", "Usage down 40% since the champion left (KIT-FACT-9)."),
        )
        .await
        .unwrap();
    assert_eq!(outcome.output().unwrap()["label"], "high");
    assert!(outcome.sent().contains("KIT-FACT-9"), "the input reached the model");
    assert!(outcome.unscripted_call().is_none());
    assert_eq!(outcome.llm_calls.len(), 1);
}

#[tokio::test]
async fn a_call_the_script_does_not_answer_is_caught() {
    let outcome = HandlerTest::new(classify())
        .answer_when("something else", json!({"label": "low", "confidence": 0.5, "rationale": "-"}))
        .run(Step::prompt("Classify the ticket's priority.").param("ticket", "Site down since 09:14."))
        .await
        .unwrap();
    assert!(outcome.unscripted_call().is_some());
    assert!(outcome.output().is_err(), "the handler saw a provider error");
}
