//! Untrusted handlers fail only their own step; bad files are refused by name.

use host_runner::runner::report::Path;
use host_runner::storage::records::list_audit;
use host_runner::Workflow;
use integration_tests::{components, example, Sandbox};

fn workflow_with(intent: &str) -> Workflow {
    let text = format!(
        r#"{{"id":"w","agent_id":"a","user_id":"u","inputs":{{"notes":"Ops review. Disk usage hit 91% on db-2. Ticket OPS-7 opened."}},
        "steps":[
          {{"id":"before","name":"Summarize notes","prompt":"Summarize: {{{{input.notes}}}}"}},
          {{"id":"bad","name":"Misbehave","intent":"{intent}","prompt":"Do it: {{{{input.notes}}}}"}},
          {{"id":"after","intent":"transform","prompt":"Reshape","params":{{"input":{{"a":1,"b":null}},"drop_empty":true}}}}
        ]}}"#
    );
    Workflow::parse(&text, "inline").unwrap()
}

#[tokio::test]
async fn a_trapping_handler_fails_only_its_step() {
    let sandbox = Sandbox::new(&["summarize", "transform"], &["trap-handler"]);
    sandbox.set("orchestration_enabled", "true");
    let host = sandbox.host().await;
    let report = host.run(&workflow_with("explode")).await.unwrap();
    let paths: Vec<_> = report.steps.iter().map(|s| s.path).collect();
    assert_eq!(paths, [Path::Orchestrated, Path::Fallback, Path::Orchestrated]);
    let reason = report.steps[1].fallback_reason.as_deref().unwrap();
    assert!(reason.contains("trapped"), "{reason}");
    assert_eq!(report.steps[2].output, serde_json::json!({"a": 1}));

    let events = list_audit(&sandbox.db().lock(), Some(&report.execution_id), 100).unwrap();
    let failed = events.iter().find(|e| e.event_type == "ORCHESTRATION_STEP_FAILED").unwrap();
    assert_eq!(failed.step_id.as_deref(), Some("bad"));
    assert_eq!(failed.metadata["reason"], "trap");

    // The host lives on: the next workflow runs normally.
    let again = host.run(&workflow_with("explode")).await.unwrap();
    assert_eq!(again.steps[0].path, Path::Orchestrated);
}

#[tokio::test]
async fn fuel_exhaustion_fails_only_its_step() {
    let sandbox = Sandbox::new(&["summarize", "transform"], &["spin-handler"]);
    sandbox.set("orchestration_enabled", "true");
    let host = sandbox.builder().component_fuel("spin", 20_000_000).build().await.unwrap();
    let report = host.run(&workflow_with("spin")).await.unwrap();
    let paths: Vec<_> = report.steps.iter().map(|s| s.path).collect();
    assert_eq!(paths, [Path::Orchestrated, Path::Fallback, Path::Orchestrated]);
    assert!(report.steps[1].fallback_reason.as_deref().unwrap().contains("ran out of fuel (limit 20000000)"));
    let events = list_audit(&sandbox.db().lock(), Some(&report.execution_id), 100).unwrap();
    let failed = events.iter().find(|e| e.event_type == "ORCHESTRATION_STEP_FAILED").unwrap();
    assert_eq!(failed.metadata["reason"], "fuel");
    assert_eq!(report.orchestration.unwrap().steps_fell_back, 1);
}

async fn load_error(file_name: &str, bytes: &[u8]) -> String {
    let sandbox = Sandbox::standard();
    std::fs::write(sandbox.handlers_dir().join(file_name), bytes).unwrap();
    match sandbox.builder().build().await {
        Ok(_) => panic!("{file_name} should be refused"),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn files_that_are_not_handler_components_are_refused_by_name() {
    let err = load_error("random.wasm", b"\x13\x37 definitely not wasm").await;
    assert!(err.contains("random.wasm") && err.contains("not WebAssembly"), "{err}");

    let err = load_error("core.wasm", b"\0asm\x01\0\0\0").await;
    assert!(err.contains("core.wasm") && err.contains("a core module"), "{err}");

    let orchestrator = std::fs::read(components().join("orchestrator.wasm")).unwrap();
    let err = load_error("wrong-world.wasm", &orchestrator).await;
    assert!(err.contains("wrong-world.wasm") && err.contains("imports something the host does not provide"), "{err}");
}

#[tokio::test]
async fn two_handlers_claiming_one_intent_are_refused() {
    let sandbox = Sandbox::standard();
    std::fs::copy(sandbox.handlers_dir().join("extract.wasm"), sandbox.handlers_dir().join("extract-copy.wasm")).unwrap();
    let err = format!("{:#}", sandbox.builder().build().await.err().unwrap());
    assert!(err.contains("intent `extract` is served by both"), "{err}");
}

#[tokio::test]
async fn an_example_runs_twice_on_one_host_with_fresh_sandboxes() {
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    let host = sandbox.host().await;
    let first = host.run(&example("support-ticket-triage.json")).await.unwrap();
    let second = host.run(&example("support-ticket-triage.json")).await.unwrap();
    assert_ne!(first.execution_id, second.execution_id);
    let outputs = |r: &host_runner::RunReport| r.steps.iter().map(|s| s.output.clone()).collect::<Vec<_>>();
    assert_eq!(outputs(&first), outputs(&second), "no state leaks from one sandbox to the next");
}
