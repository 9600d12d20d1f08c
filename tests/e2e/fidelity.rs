//! Fidelity: a step's data reaches its model whatever the author named it.
//! Each model-calling handler runs a free-style step (no params of its
//! contract) whose one unique fact sits in a params field with a key no
//! handler knows; the Messages API mock records what was sent.

use axum::routing::post;
use host_runner::Workflow;
use host_runner::runner::report::{Path, RunReport};
use integration_tests::Sandbox;
use integration_tests::mock_anthropic::{MockAnthropic, Received, Scripted};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Runs one workflow with orchestration and compression on against the mock.
async fn run(handler: &str, workflow: Value, answers: Vec<Scripted>) -> (RunReport, Vec<Received>) {
    let mock = MockAnthropic::start(answers).await;
    let sandbox = Sandbox::new(&[handler], &[]);
    sandbox.set("orchestration_enabled", "true");
    sandbox.set("orchestration_compression_enabled", "true");
    let host = sandbox.host_on(&mock).await;
    let workflow = Workflow::parse(&workflow.to_string(), "fidelity.json").unwrap();
    let report = host.run(&workflow).await.unwrap();
    (report, mock.received())
}

/// A one-step workflow with an explicit intent.
fn one_step(intent: &str, prompt: &str, params: Value) -> Value {
    json!({
        "id": format!("fidelity-{intent}"), "agent_id": "agent-f", "user_id": "user-f",
        "steps": [{"id": "only", "intent": intent, "prompt": prompt, "params": params}]
    })
}

/// What the step's model calls were sent: system prompts and messages.
fn sent(received: &[Received]) -> String {
    received.iter().map(|r| r.body.to_string()).collect::<Vec<_>>().join("\n")
}

fn assert_reached(handler: &str, report: &RunReport, received: &[Received], fact: &str) {
    assert_eq!(report.steps[0].path, Path::Orchestrated, "{handler}: {:?}", report.steps[0].fallback_reason);
    assert!(!received.is_empty(), "{handler} made no model call");
    assert!(sent(received).contains(fact), "{handler}: `{fact}` never reached the model:\n{}", sent(received));
}

#[tokio::test]
async fn summarize_sends_a_transcript_held_under_any_key() {
    let fact = "grant of $612,000 (ref GR-77310)";
    let params = json!({"call_transcript": format!("Angela: we were awarded a {fact} over two years.")});
    let (report, received) = run(
        "summarize",
        one_step("summarize", "Summarize the call for the account team.", params),
        vec![Scripted::message("A two-year grant funds the rollout.", 90, 10)],
    )
    .await;
    assert_reached("summarize", &report, &received, fact);
    assert_eq!(report.steps[0].output["summary"], "A two-year grant funds the rollout.");
}

#[tokio::test]
async fn extract_without_a_schema_answers_free_json() {
    let fact = "liability cap of EUR 2,400,000";
    let params = json!({"contract_text": format!("Clause 9.2: a {fact} applies. Renewal on 2025-03-01.")});
    let (report, received) = run(
        "extract",
        one_step("extract", "Pull the renewal date and liability cap out of the contract.", params),
        vec![Scripted::message(r#"{"renewal_date": "2025-03-01", "liability_cap": "EUR 2,400,000"}"#, 80, 20)],
    )
    .await;
    assert_reached("extract", &report, &received, fact);
    assert_eq!(report.steps[0].output["renewal_date"], "2025-03-01");
}

#[tokio::test]
async fn generate_draws_on_data_in_params() {
    let fact = "order HK-104477 arrives Thursday";
    let params = json!({"shipping_update": format!("Carrier says {fact}.")});
    let (report, received) = run(
        "generate",
        one_step("generate", "Write a short apology email to the customer.", params),
        vec![Scripted::message("Subject: Your order\n\nSorry, it arrives Thursday.", 70, 15)],
    )
    .await;
    assert_reached("generate", &report, &received, fact);
}

#[tokio::test]
async fn classify_reads_its_classes_from_the_prompt() {
    let fact = "three P1 outages in March";
    let params = json!({"account_notes": format!("Customer reported {fact}; renewal in 40 days.")});
    let (report, received) = run(
        "classify",
        one_step("classify", "Classify the churn risk as low, medium or high.", params),
        vec![Scripted::tool(json!({"label": "high", "confidence": 0.8, "rationale": "Repeated outages."}), 90, 20)],
    )
    .await;
    assert_reached("classify", &report, &received, fact);
    assert_eq!(report.steps[0].output["label"], "high");
    let schema = &received[0].body["tools"][0]["input_schema"];
    assert_eq!(schema["properties"]["label"]["enum"], json!(["low", "medium", "high"]));
}

#[tokio::test]
async fn conditional_takes_the_prompt_as_its_question() {
    let fact = "purchased 2024-10-02, 41 days ago";
    let params = json!({"order_record": {"status": "delivered", "note": fact}});
    let (report, received) = run(
        "conditional",
        one_step("conditional", "Is the order still inside the 30-day return window?", params),
        vec![Scripted::tool(json!({"answer": false, "reason": "41 days is past 30."}), 60, 12)],
    )
    .await;
    assert_reached("conditional", &report, &received, fact);
    assert_eq!(report.steps[0].output["branch"], "else");
}

#[tokio::test]
async fn validate_checks_against_the_rules_the_prompt_states() {
    let fact = "hotel 3 nights at $412/night";
    let params = json!({"expense_report": format!("Trip to Denver: {fact}, taxi $38.")});
    let (report, received) = run(
        "validate",
        one_step(
            "validate",
            "Check the expense report against the travel policy: hotels at most $250 a night.",
            params,
        ),
        vec![Scripted::tool(json!({"valid": false, "errors": [{"field": "hotel", "message": "Over $250."}]}), 80, 20)],
    )
    .await;
    assert_reached("validate", &report, &received, fact);
    assert_eq!(report.steps[0].output["valid"], false);
    assert_eq!(report.steps[0].output["errors"][0]["message"], "Over $250.");
}

#[tokio::test]
async fn aggregate_totals_with_the_model_without_operations() {
    let fact = "Project Orion: 37.5 hours";
    let params = json!({"timesheets": format!("{fact} (Dana), Project Vega: 12 hours (Li)")});
    let (report, received) = run(
        "aggregate",
        one_step("aggregate", "Total the hours per project.", params),
        vec![Scripted::message("Orion 37.5 h; Vega 12 h.", 50, 10)],
    )
    .await;
    assert_reached("aggregate", &report, &received, fact);
    assert_eq!(report.steps[0].output["merged"], "Orion 37.5 h; Vega 12 h.");
}

#[tokio::test]
async fn transform_reshapes_as_the_prompt_says() {
    let fact = "ines.barros@lumen.example";
    let params = json!({"contacts": [{"full_name": "Ines Barros", "mail": fact}]});
    let (report, received) = run(
        "transform",
        one_step("transform", "Reformat the contacts as records with first name, last name and email.", params),
        vec![Scripted::message(
            r#"[{"first_name": "Ines", "last_name": "Barros", "email": "ines.barros@lumen.example"}]"#,
            60,
            25,
        )],
    )
    .await;
    assert_reached("transform", &report, &received, fact);
    assert_eq!(report.steps[0].output[0]["last_name"], "Barros");
}

#[tokio::test]
async fn filter_takes_the_prompt_as_criteria_and_numbers_the_items() {
    let fact = "SO-99120";
    let params = json!({"orders": [{"id": fact, "total": 812, "ship_to": "DE"}, {"id": "SO-99121", "total": 90, "ship_to": "US"}]});
    let (report, received) = run(
        "filter",
        one_step("filter", "Keep only orders over $500 shipped to the EU.", params),
        vec![Scripted::tool(json!({"keep": [0]}), 70, 8)],
    )
    .await;
    assert_reached("filter", &report, &received, fact);
    assert_eq!(report.steps[0].output["kept"], 1);
    assert_eq!(report.steps[0].output["items"][0]["id"], fact);
    let message = received[0].body["messages"][0]["content"].as_str().unwrap();
    assert_eq!(message.matches(fact).count(), 1, "the items are listed once, numbered: {message}");
}

#[tokio::test]
async fn enrich_without_a_lookup_key_enriches_with_the_model() {
    let fact = "Brightwater Logistics GmbH";
    let params = json!({"lead": {"company": fact, "email": "t.w@brightwater.example"}});
    let (report, received) = run(
        "enrich",
        one_step("enrich", "Add the company's country and industry to the lead.", params),
        vec![Scripted::message(
            r#"{"company": "Brightwater Logistics GmbH", "country": "DE", "industry": null}"#,
            60,
            20,
        )],
    )
    .await;
    assert_reached("enrich", &report, &received, fact);
    assert_eq!(report.steps[0].output["country"], "DE");
}

#[tokio::test]
async fn send_drafts_from_the_data_and_reads_plugin_and_channel_from_the_prompt() {
    // A loopback webhook standing in for Slack.
    let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    let seen = bodies.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |axum::Json(body): axum::Json<Value>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let fact = "INC-7731 resolved at 10:42 UTC";
    let mut workflow = one_step("send", "Post the status to Slack #ops-status.", json!({"status_report": fact}));
    workflow["available_plugins"] = json!(["slack", "email"]);
    let mock = MockAnthropic::start(vec![Scripted::message("INC-7731 is resolved (10:42 UTC).", 40, 10)]).await;
    let sandbox = Sandbox::new(&["send"], &[]);
    sandbox.manifest("send", &format!("[capabilities]\nallowed_outbound_hosts = [\"http://{authority}\"]\n"));
    sandbox.set("orchestration_enabled", "true");
    sandbox.set("plugin_slack_url", &format!("http://{authority}/hook"));
    let host = sandbox.host_on(&mock).await;
    let report = host.run(&Workflow::parse(&workflow.to_string(), "send.json").unwrap()).await.unwrap();
    assert_reached("send", &report, &mock.received(), fact);
    assert_eq!(
        bodies.lock().unwrap().as_slice(),
        [json!({"text": "INC-7731 is resolved (10:42 UTC).", "channel": "#ops-status"})]
    );
}

#[tokio::test]
async fn a_step_without_a_prompt_runs_on_its_declared_intent_and_params() {
    let fact = "refund of EUR 3,840.00 for ACC-55102";
    let workflow = json!({
        "id": "promptless", "agent_id": "a", "user_id": "u",
        "steps": [{"id": "only", "intent": "summarize", "params": {"ticket": format!("Customer asks for a {fact}.")}}]
    });
    let (report, received) = run("summarize", workflow, vec![Scripted::message("Refund requested.", 30, 4)]).await;
    assert_reached("summarize", &report, &received, fact);
    let message = received[0].body["messages"][0]["content"].as_str().unwrap();
    assert!(message.starts_with("<params>"), "no empty instruction is sent: {message}");
}

#[tokio::test]
async fn earlier_outputs_and_inputs_reach_a_step_that_names_neither() {
    // The second step has no template: it sees the workflow input and its dependency's output.
    let workflow = json!({
        "id": "chain", "agent_id": "a", "user_id": "u",
        "inputs": {"ticket": "Ticket TCK-20931: card charged twice for INV-2024-08817."},
        "steps": [
            {"id": "gist", "intent": "summarize", "prompt": "Summarize the ticket."},
            {"id": "reply", "intent": "generate", "prompt": "Draft a reply to the customer.", "depends_on": ["gist"]}
        ]
    });
    let mock = MockAnthropic::start(vec![
        Scripted::message("Double charge on INV-2024-08817 (gist-7F3).", 40, 12),
        Scripted::message("Dear customer, we are refunding the duplicate.", 60, 12),
    ])
    .await;
    let sandbox = Sandbox::new(&["summarize", "generate"], &[]);
    sandbox.set("orchestration_enabled", "true");
    let host = sandbox.host_on(&mock).await;
    let report = host.run(&Workflow::parse(&workflow.to_string(), "chain.json").unwrap()).await.unwrap();
    assert!(report.steps.iter().all(|s| s.path == Path::Orchestrated), "{:?}", report.steps);
    let received = mock.received();
    let reply = received[1].body["messages"][0]["content"].as_str().unwrap();
    assert!(reply.contains("TCK-20931"), "the input reached the second step: {reply}");
    assert!(reply.contains("gist-7F3"), "the dependency's output reached it: {reply}");
}
