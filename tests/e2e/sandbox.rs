//! Reliability: every way an untrusted handler can misbehave fails its own
//! step with a typed reason, the workflow falls back, and the host lives on.

use host_runner::components::code::{Code, CodePolicy};
use host_runner::runner::report::{Path, RunReport};
use host_runner::{Host, Workflow};
use integration_tests::{Sandbox, components, example};
use serde_json::{Value, json};

/// A three-step workflow whose middle step has the given intent and params.
fn workflow_with(intent: &str, params: Value) -> Workflow {
    let workflow = json!({
        "id": "w", "agent_id": "a", "user_id": "u",
        "inputs": {"notes": "Ops review. Disk usage hit 91% on db-2. Ticket OPS-7 opened."},
        "steps": [
            {"id": "before", "name": "Summarize notes", "prompt": "Summarize: {{input.notes}}"},
            {"id": "bad", "name": "Misbehave", "intent": intent, "prompt": "Do it: {{input.notes}}", "params": params},
            {"id": "after", "intent": "transform", "prompt": "Reshape",
             "params": {"input": {"a": 1, "b": null}, "drop_empty": true}}
        ]
    });
    Workflow::parse(&workflow.to_string(), "inline").unwrap()
}

/// A sandbox with summarize, transform and the misbehaving guest under `manifest`.
async fn host(manifest: &str) -> (Sandbox, Host) {
    host_with(manifest, CodePolicy::Optimized).await
}

/// The same, handlers given code as `policy` says.
async fn host_with(manifest: &str, policy: CodePolicy) -> (Sandbox, Host) {
    let sandbox = Sandbox::new(&["summarize", "transform"], &["misbehaving"]);
    sandbox.set("orchestration_enabled", "true");
    if !manifest.is_empty() {
        sandbox.manifest("misbehaving", manifest);
    }
    let host = sandbox.builder().code_policy(policy).build().await.unwrap();
    (sandbox, host)
}

/// Runs the workflow; checks that only the middle step fell back, with the
/// audit reason given, and returns the report and the failure's metadata.
async fn misbehave(sandbox: &Sandbox, host: &Host, intent: &str, params: Value, reason: &str) -> (RunReport, Value) {
    let report = host.run(&workflow_with(intent, params)).await.unwrap();
    let paths: Vec<_> = report.steps.iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        [Path::Orchestrated, Path::Fallback, Path::Orchestrated],
        "{intent}: {:?}",
        report.steps[1].fallback_reason
    );
    assert_eq!(report.steps[2].output, json!({"a": 1}));
    let events = sandbox.db().audit(Some(&report.execution_id), 100).unwrap();
    let failed = events.iter().find(|e| e.event_type == "ORCHESTRATION_STEP_FAILED").expect("a STEP_FAILED event");
    assert_eq!(failed.step_id.as_deref(), Some("bad"));
    assert_eq!(failed.metadata["reason"], reason, "{intent}: {}", failed.metadata);
    (report, failed.metadata.clone())
}

#[tokio::test]
async fn a_panic_is_a_trap_and_the_host_lives_on() {
    let (sandbox, host) = host("").await;
    let (report, _) = misbehave(&sandbox, &host, "explode", json!({}), "trap").await;
    assert!(report.steps[1].fallback_reason.as_deref().unwrap().contains("trapped"));
    // Same host, next workflow: unaffected (extract has no handler in this sandbox).
    let again = host.run(&example("invoice-extraction.json")).await.unwrap();
    let paths: Vec<_> = again.steps.iter().map(|s| s.path).collect();
    assert_eq!(paths, [Path::Fallback, Path::Orchestrated, Path::Orchestrated]);
}

#[tokio::test]
async fn an_infinite_loop_runs_out_of_fuel() {
    let (sandbox, host) = host("[limits]\nfuel = 20000000\n").await;
    let (report, _) = misbehave(&sandbox, &host, "spin", json!({}), "fuel").await;
    assert!(report.steps[1].fallback_reason.as_deref().unwrap().contains("ran out of fuel (limit 20000000)"));
    assert_eq!(report.orchestration.unwrap().steps_fell_back, 1);
}

#[tokio::test]
async fn a_loop_with_unlimited_fuel_hits_the_deadline() {
    let (sandbox, host) = host("[limits]\nfuel = 1000000000000000\ndeadline_ms = 300\n").await;
    let (_, meta) = misbehave(&sandbox, &host, "spin", json!({}), "deadline").await;
    assert!(meta["message"].as_str().unwrap().contains("deadline of 300 ms"));
}

#[tokio::test]
async fn waiting_inside_a_host_call_hits_the_deadline() {
    let (sandbox, host) = host("[limits]\ndeadline_ms = 300\n").await;
    let started = std::time::Instant::now();
    misbehave(&sandbox, &host, "sleep", json!({"seconds": 3600}), "deadline").await;
    assert!(started.elapsed().as_secs() < 60, "the sleeping guest was cut off");
}

#[tokio::test]
async fn every_limit_holds_on_baseline_code() {
    // Winch's code, as a hot-loaded handler runs before Cranelift's is ready.
    let limits = "[limits]\nfuel = 20000000\nmemory_mb = 32\n";
    let (sandbox, host) = host_with(limits, CodePolicy::BaselineOnly).await;
    assert!(host.handlers().handlers().iter().all(|h| h.code == Code::Baseline));
    misbehave(&sandbox, &host, "explode", json!({}), "trap").await;
    let (report, _) = misbehave(&sandbox, &host, "spin", json!({}), "fuel").await;
    assert!(report.steps[1].fallback_reason.as_deref().unwrap().contains("ran out of fuel (limit 20000000)"));
    misbehave(&sandbox, &host, "memory-bomb", json!({}), "memory").await;
    misbehave(&sandbox, &host, "deep-recursion", json!({}), "trap").await;
    let (sandbox, host) =
        host_with("[limits]\nfuel = 1000000000000000\ndeadline_ms = 300\n", CodePolicy::BaselineOnly).await;
    let (_, meta) = misbehave(&sandbox, &host, "spin", json!({}), "deadline").await;
    assert!(meta["message"].as_str().unwrap().contains("deadline of 300 ms"));
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_cap() {
    let (sandbox, host) = host("[limits]\nmemory_mb = 32\n").await;
    let (_, meta) = misbehave(&sandbox, &host, "memory-bomb", json!({}), "memory").await;
    assert!(meta["message"].as_str().unwrap().contains(&(32u64 << 20).to_string()));
}

#[tokio::test]
async fn deep_recursion_overflows_the_guest_stack_only() {
    let (sandbox, host) = host("").await;
    let (report, _) = misbehave(&sandbox, &host, "deep-recursion", json!({}), "trap").await;
    // Rust's shadow stack lives in linear memory: it overflows into a trap
    // whose wasm backtrace names the runaway function.
    let reason = report.steps[1].fallback_reason.as_deref().unwrap();
    assert!(reason.contains("recurse"), "{reason}");
}

#[tokio::test]
async fn a_huge_output_is_refused() {
    let (sandbox, host) = host("[limits]\nmax_output_bytes = 65536\n").await;
    misbehave(&sandbox, &host, "huge-output", json!({}), "output_too_large").await;
}

#[tokio::test]
async fn an_outbound_request_to_a_host_not_allowed_never_connects() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    let (sandbox, host) = host("[capabilities]\nallowed_outbound_hosts = [\"https://hooks.example.com\"]\n").await;
    let (_, meta) =
        misbehave(&sandbox, &host, "forbidden-http", json!({"authority": authority}), "handler_error").await;
    let message = meta["message"].as_str().unwrap();
    assert!(message.contains("not_permitted") && message.contains("HttpRequestDenied"), "{message}");
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the denied request must not reach the network"
    );
}

/// A loopback server that answers one request with 204 and hands back the
/// request's text (lower-cased), with its authority.
fn one_request_server() -> (String, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    let received = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let n = conn.read(&mut buf).unwrap();
        conn.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").unwrap();
        String::from_utf8_lossy(&buf[..n]).to_lowercase()
    });
    (authority, received)
}

/// The workflow, its middle step allowed the plugins given.
fn with_plugins(mut workflow: Workflow, plugins: &[&str]) -> Workflow {
    workflow.available_plugins = plugins.iter().map(|p| p.to_string()).collect();
    workflow
}

#[tokio::test]
async fn an_allowed_outbound_request_goes_out_with_the_hosts_secret_header() {
    let (authority, received) = one_request_server();
    // The secret comes from the host's environment (cargo sets CARGO_PKG_NAME
    // for test processes); the guest never sees it.
    let manifest = format!(
        "[capabilities]\nallowed_outbound_hosts = [\"http://{authority}\"]\n\
         [[capabilities.outbound_headers]]\nhost = \"127.0.0.1\"\nname = \"x-webhook-token\"\nenv = \"CARGO_PKG_NAME\"\n"
    );
    let (sandbox, host) = host(&manifest).await;
    // The host is the URL of a plugin the step may use.
    sandbox.set("plugin_webhook_url", &format!("http://{authority}/hook"));
    let workflow = with_plugins(workflow_with("forbidden-http", json!({"authority": authority})), &["webhook"]);
    let report = host.run(&workflow).await.unwrap();
    assert_eq!(report.steps[1].path, Path::Orchestrated, "{:?}", report.steps[1].fallback_reason);
    assert_eq!(report.steps[1].output, json!({"status": 204}));
    let request = received.join().unwrap();
    assert!(request.contains("x-webhook-token: integration-tests"), "{request}");
    // Keyed by execution and step: the same step run again sends the same key.
    let key = format!("idempotency-key: {}:{}:1", report.execution_id, report.steps[1].id);
    assert!(request.contains(&key), "{request}");
}

#[tokio::test]
async fn a_plugins_credential_from_host_config_goes_out_only_to_its_host() {
    let (authority, received) = one_request_server();
    let sandbox = Sandbox::new(&["summarize", "transform"], &["misbehaving"]);
    sandbox.set("orchestration_enabled", "true");
    sandbox.manifest("misbehaving", &format!("[capabilities]\nallowed_outbound_hosts = [\"http://{authority}\"]\n"));
    sandbox.set("plugin_crm_url", &format!("http://{authority}/lookup"));
    let host = sandbox.builder().plugin_header("crm", "x-api-key", "plugin-s3cret").build().await.unwrap();
    let workflow = with_plugins(workflow_with("forbidden-http", json!({"authority": authority})), &["crm"]);
    let report = host.run(&workflow).await.unwrap();
    assert_eq!(report.steps[1].output, json!({"status": 204}), "{:?}", report.steps[1].fallback_reason);
    let request = received.join().unwrap();
    assert!(request.contains("x-api-key: plugin-s3cret"), "{request}");
}

#[tokio::test]
async fn an_allow_listed_host_of_a_plugin_the_step_may_not_use_never_connects() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    let (sandbox, host) = host(&format!("[capabilities]\nallowed_outbound_hosts = [\"http://{authority}\"]\n")).await;
    sandbox.set("plugin_webhook_url", &format!("http://{authority}/hook"));
    // The manifest allows the host, but the workflow gives the step only slack.
    let workflow = with_plugins(workflow_with("forbidden-http", json!({"authority": authority})), &["slack"]);
    let report = host.run(&workflow).await.unwrap();
    assert_eq!(report.steps[1].path, Path::Fallback);
    assert!(report.steps[1].fallback_reason.as_deref().unwrap().contains("HttpRequestDenied"));
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the denied request must not reach the network"
    );
}

#[tokio::test]
async fn a_model_the_step_was_not_routed_to_is_refused_before_the_provider() {
    let (sandbox, host) = host("").await;
    let (report, meta) =
        misbehave(&sandbox, &host, "other-model", json!({"model": "claude-opus-4-5"}), "handler_error").await;
    let message = meta["message"].as_str().unwrap();
    assert!(message.contains("model `claude-opus-4-5` is not the step's routed model"), "{message}");
    let usage = sandbox.db().usage(&report.execution_id).unwrap();
    assert!(usage.iter().all(|u| u.model_info["model"] != "claude-opus-4-5"), "opus was never called: {usage:?}");
    assert!(usage.iter().all(|u| u.model_info["path"] != "failed_attempt"), "the refused attempt spent nothing");

    // A model the manifest allows is called.
    let (_allowed, permitted) = self::host("[capabilities]\nallowed_models = [\"claude-haiku-4-5\"]\n").await;
    let report = permitted.run(&workflow_with("other-model", json!({"model": "claude-haiku-4-5"}))).await.unwrap();
    assert_eq!(report.steps[1].output, json!({"model": "claude-haiku-4-5"}));
}

#[tokio::test]
async fn a_handler_reads_only_the_settings_it_was_granted() {
    let (sandbox, host) = host("").await;
    sandbox.set("plugin_slack_url", "https://hooks.slack.com/services/T000/B000/secret");
    let report = host.run(&workflow_with("read-setting", json!({"key": "plugin_slack_url"}))).await.unwrap();
    assert_eq!(report.steps[1].output, json!({"value": null, "readable": 0}));

    let (granted, granted_host) = self::host("[capabilities]\nsettings = [\"orchestration_enabled\"]\n").await;
    granted.set("plugin_slack_url", "https://hooks.slack.com/services/T000/B000/secret");
    let report =
        granted_host.run(&workflow_with("read-setting", json!({"key": "orchestration_enabled"}))).await.unwrap();
    assert_eq!(report.steps[1].output, json!({"value": "true", "readable": 1}));
}

#[tokio::test]
async fn audit_events_need_a_grant_and_lifecycle_events_are_the_orchestrators() {
    let (sandbox, host) = host("").await;
    let report = host.run(&workflow_with("emit-event", json!({"event": "MISBEHAVED"}))).await.unwrap();
    assert_eq!(report.steps[1].output, json!({"emitted": false, "refusal": "AuditError::NotGranted"}));

    let (sandbox2, host2) = self::host("[capabilities]\naudit = true\n").await;
    let forged = host2.run(&workflow_with("emit-event", json!({"event": "ORCHESTRATION_COMPLETED"}))).await.unwrap();
    assert_eq!(forged.steps[1].output["emitted"], false);
    assert!(forged.steps[1].output["refusal"].as_str().unwrap().contains("Reserved"));
    let own = host2.run(&workflow_with("emit-event", json!({"event": "MISBEHAVED"}))).await.unwrap();
    assert_eq!(own.steps[1].output["emitted"], true);

    for (db, execution) in [(sandbox.db(), &report.execution_id), (sandbox2.db(), &forged.execution_id)] {
        let events = db.audit(Some(execution), 100).unwrap();
        let completed: Vec<_> = events.iter().filter(|e| e.event_type == "ORCHESTRATION_COMPLETED").collect();
        assert_eq!(completed.len(), 1, "only the orchestrator's own");
        assert_eq!(completed[0].source, "orchestrator");
    }
    let events = sandbox2.db().audit(Some(&own.execution_id), 100).unwrap();
    let mine = events.iter().find(|e| e.event_type == "MISBEHAVED").unwrap();
    assert_eq!(mine.source, "misbehaving", "the host stamps the handler's file identity");
}

#[tokio::test]
async fn a_handler_claiming_a_loaded_handlers_name_or_the_hosts_is_rejected() {
    let sandbox = Sandbox::new(&["enrich"], &["impostor"]);
    let err = format!("{:#}", sandbox.builder().build().await.err().unwrap());
    assert!(err.contains("handler name `enrich` is claimed by both"), "{err}");

    let sandbox = Sandbox::new(&["summarize"], &[]);
    std::fs::copy(components().join("test-guests/misbehaving.wasm"), sandbox.handlers_dir().join("orchestrator.wasm"))
        .unwrap();
    let err = format!("{:#}", sandbox.builder().build().await.err().unwrap());
    assert!(err.contains("`orchestrator` is the host's own identity"), "{err}");
}

#[tokio::test]
async fn a_handler_asking_beyond_its_budget_is_refused_before_the_provider() {
    let (sandbox, host) = host("").await;
    sandbox.set("orchestration_max_tokens_per_step", "500");
    let (report, meta) = misbehave(&sandbox, &host, "greedy-llm", json!({}), "handler_error").await;
    assert!(meta["message"].as_str().unwrap().contains("budget exceeded"), "{meta}");
    assert_eq!(report.steps[1].tokens_saved, 0);
    let events = sandbox.db().audit(Some(&report.execution_id), 100).unwrap();
    let refusal = events.iter().find(|e| e.event_type == "ORCHESTRATION_BUDGET_EXCEEDED").unwrap();
    assert_eq!(refusal.metadata["kind"], "refused");
    // The step's cap of 500 tokens, with the default 1.2 overage allowance.
    assert!(refusal.metadata["allocated"].as_u64().unwrap() <= 600, "{}", refusal.metadata);
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

    let empty = wat::parse_str("(component)").unwrap();
    let err = load_error("no-export.wasm", &empty).await;
    assert!(err.contains("no-export.wasm") && err.contains("does not export the `handler` interface"), "{err}");
}

#[tokio::test]
async fn manifests_that_disagree_with_the_component_are_refused() {
    let sandbox = Sandbox::standard();
    sandbox.manifest("extract", "[handler]\nintents = [\"extract\", \"parse\"]\n");
    let err = format!("{:#}", sandbox.builder().build().await.err().unwrap());
    assert!(err.contains("extract.toml") && err.contains("differ from the component's info() intents"), "{err}");

    sandbox.manifest("extract", "[limits]\nfuell = 3\n");
    let err = format!("{:#}", sandbox.builder().build().await.err().unwrap());
    assert!(err.contains("extract.toml") && err.contains("unknown field `fuell`"), "{err}");
}

#[tokio::test]
async fn two_handlers_claiming_one_intent_are_refused() {
    let sandbox = Sandbox::standard();
    std::fs::copy(sandbox.handlers_dir().join("extract.wasm"), sandbox.handlers_dir().join("extract-copy.wasm"))
        .unwrap();
    let err = format!("{:#}", sandbox.builder().build().await.err().unwrap());
    // Both copies claim the name `extract` too; the name is checked first.
    assert!(err.contains("handler name `extract` is claimed by both"), "{err}");
}

#[tokio::test]
async fn an_example_runs_twice_on_one_host_with_fresh_sandboxes() {
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    let host = sandbox.host().await;
    let first = host.run(&example("support-ticket-triage.json")).await.unwrap();
    let second = host.run(&example("support-ticket-triage.json")).await.unwrap();
    assert_ne!(first.execution_id, second.execution_id);
    let outputs = |r: &RunReport| r.steps.iter().map(|s| s.output.clone()).collect::<Vec<_>>();
    assert_eq!(outputs(&first), outputs(&second), "no state leaks from one sandbox to the next");
}
