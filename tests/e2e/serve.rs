//! `pilot serve`: the HTTP API, hot-loading through the watcher, and load
//! while handlers are replaced.

use host_runner::components::code::{Code, CodePolicy};
use host_runner::runner::report::{Path as StepPath, RunReport};
use host_runner::serve::{Limits, router, serve_listener, watch};
use host_runner::{Host, Workflow};
use integration_tests::{Sandbox, components, python_handler, repo};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

const TOKEN: &str = "test-token-7f3a";

struct Server {
    base: String,
    client: reqwest::Client,
}

impl Server {
    async fn start(host: Host) -> Server {
        Server::start_with(host, Limits::for_machine(None)).await
    }

    /// The server `pilot serve` runs (its accept loop and limits), on a free port.
    async fn start_with(host: Host, limits: Limits) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve_listener(
            listener,
            router(host, TOKEN.into(), limits, Default::default()),
            limits,
            std::future::pending(),
        ));
        Server { base, client: reqwest::Client::new() }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.client.get(format!("{}{path}", self.base)).bearer_auth(TOKEN).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: String) -> (u16, Value) {
        let r = self.client.post(format!("{}{path}", self.base)).bearer_auth(TOKEN).body(body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn run(&self, workflow: &str) -> Value {
        let (status, report) = self.post("/v1/workflows", workflow.to_string()).await;
        assert_eq!(status, 200, "{report}");
        report
    }

    /// The host's metrics, as `GET /metrics` answers them.
    async fn metrics(&self) -> String {
        self.client.get(format!("{}/metrics", self.base)).send().await.unwrap().text().await.unwrap()
    }

    /// Polls the handler list until `ready` holds (the watcher works in the
    /// background). Generous: an 18 MB Python component's first compilation
    /// takes seconds, more on a busy CI machine.
    async fn wait_for(&self, what: &str, ready: impl Fn(&[Value]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (_, list) = self.get("/v1/handlers").await;
            if ready(list.as_array().unwrap()) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {list}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn example(name: &str) -> String {
    std::fs::read_to_string(repo().join("examples").join(name)).unwrap()
}

/// Copies a file into place atomically, as a deploy would.
fn install(from: &Path, to: &Path) {
    let staging = to.with_extension("staging");
    std::fs::copy(from, &staging).unwrap();
    std::fs::rename(&staging, to).unwrap();
}

fn active(list: &[Value], name: &str) -> Option<Value> {
    list.iter().find(|h| h["name"] == name && h["state"] == "active").cloned()
}

/// The value of one series of a `/metrics` answer; 0 when it is absent.
fn series(metrics: &str, name: &str) -> f64 {
    metrics.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}

/// A host configured as `pilot serve` configures it.
async fn lenient_host(sandbox: &Sandbox) -> Host {
    sandbox.builder().strict(false).code_policy(CodePolicy::BaselineFirst).build().await.unwrap()
}

#[tokio::test]
async fn the_api_needs_its_token_and_answers_errors_in_json() {
    let sandbox = Sandbox::standard();
    let server = Server::start(lenient_host(&sandbox).await).await;
    let health: Value = reqwest::get(format!("{}/health", server.base)).await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["handlers"], 3);

    let unauthorized = server.client.get(format!("{}/v1/handlers", server.base)).send().await.unwrap();
    assert_eq!(unauthorized.status().as_u16(), 401);
    assert_eq!(unauthorized.json::<Value>().await.unwrap()["error"], "missing or invalid bearer token");
    let wrong = server.client.get(format!("{}/v1/handlers", server.base)).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 401);

    let (status, body) = server.post("/v1/workflows", "{\"id\": \n".into()).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().starts_with("request body: line 2"), "{body}");
    let (status, body) =
        server.post("/v1/workflows", r#"{"id":"w","agent_id":"a","user_id":"u","steps":[]}"#.into()).await;
    assert_eq!((status, body["error"].as_str().unwrap()), (400, "request body: the workflow has no steps"));
    let (status, _) = server.get("/v1/nothing-here").await;
    assert_eq!(status, 404);
    // Every error is JSON, the framework's own included.
    let wrong_method = server.client.delete(format!("{}/health", server.base)).send().await.unwrap();
    assert_eq!(wrong_method.status().as_u16(), 405);
    assert_eq!(wrong_method.json::<Value>().await.unwrap()["error"], "method not allowed here");
    let (status, body) = server.post("/v1/workflows", "x".repeat(5 << 20)).await;
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].as_str().unwrap().starts_with("request body:"), "{body}");

    let report = server.run(&example("invoice-extraction.json")).await;
    assert_eq!(report["steps"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn handlers_dropped_changed_broken_and_removed_while_serving() {
    let sandbox = Sandbox::new(&["transform"], &[]);
    sandbox.set("orchestration_enabled", "true");
    let host = lenient_host(&sandbox).await;
    let _watcher = watch(host.clone()).unwrap();
    let server = Server::start(host).await;
    let workflow = example("support-ticket-triage.json");
    let path_of = |report: &Value, step: usize| report["steps"][step]["path"].as_str().unwrap().to_string();

    // No summarize handler yet: that step falls back.
    let report = server.run(&workflow).await;
    assert_eq!(path_of(&report, 0), "fallback");

    // Drop it in: the watcher loads it and the next run uses it.
    let target = sandbox.handlers_dir().join("summarize.wasm");
    install(&components().join("handlers/summarize.wasm"), &target);
    server.wait_for("summarize 0.1.0", |l| active(l, "summarize").is_some_and(|h| h["version"] == "0.1.0")).await;
    let report = server.run(&workflow).await;
    assert_eq!(path_of(&report, 0), "orchestrated");

    // Replace it with version 2.
    install(&components().join("test-guests/summarize-v2.wasm"), &target);
    server.wait_for("summarize 0.2.0", |l| active(l, "summarize").is_some_and(|h| h["version"] == "0.2.0")).await;
    let report = server.run(&workflow).await;
    assert_eq!(report["steps"][0]["output"]["version"], "0.2.0");

    // A broken file is rejected; version 2 keeps serving.
    std::fs::write(target.with_extension("staging"), b"not a component").unwrap();
    std::fs::rename(target.with_extension("staging"), &target).unwrap();
    server
        .wait_for("the rejection", |l| {
            l.iter().any(|h| h["state"] == "rejected" && h["reason"].as_str().unwrap().contains("not WebAssembly"))
        })
        .await;
    let (_, list) = server.get("/v1/handlers").await;
    assert_eq!(active(list.as_array().unwrap(), "summarize").unwrap()["version"], "0.2.0");
    assert_eq!(path_of(&server.run(&workflow).await, 0), "orchestrated");
    let events = sandbox.db().audit(Some("host"), 100).unwrap();
    assert!(events.iter().any(|e| e.event_type == "HANDLER_REJECTED" && e.metadata["previous_version_kept"] == true));

    // Removed: its intent unregisters and the step falls back.
    std::fs::remove_file(&target).unwrap();
    server.wait_for("removal", |l| active(l, "summarize").is_none()).await;
    assert_eq!(path_of(&server.run(&workflow).await, 0), "fallback");
}

#[tokio::test]
async fn a_python_handler_dropped_into_a_running_server_serves_its_new_intent() {
    let Some(sentiment) = python_handler("sentiment") else { return };
    let sandbox = Sandbox::new(&[], &[]);
    sandbox.set("orchestration_enabled", "true");
    // No kept code: the handler goes active on Winch's code, Cranelift's follows.
    let host = sandbox
        .builder()
        .strict(false)
        .code_policy(CodePolicy::BaselineFirst)
        .compiled_code_dir(sandbox.dir.join("compiled"))
        .build()
        .await
        .unwrap();
    let _watcher = watch(host.clone()).unwrap();
    let server = Server::start(host).await;
    let workflow = serde_json::json!({
        "id": "review-mood",
        "agent_id": "agent-support-1",
        "user_id": "user-1",
        "inputs": {"review": "The boiler still cuts out at night and nobody called back."},
        "steps": [{"id": "mood", "intent": "sentiment", "prompt": "How does the customer feel?",
                   "params": {"text": "{{input.review}}"}}]
    })
    .to_string();
    assert_eq!(server.run(&workflow).await["steps"][0]["path"], "fallback", "no handler for the intent yet");

    install(&sentiment, &sandbox.handlers_dir().join("sentiment.wasm"));
    server.wait_for("sentiment", |l| active(l, "sentiment").is_some()).await;
    let (_, listed) = server.get("/v1/handlers").await;
    let code = active(listed.as_array().unwrap(), "sentiment").unwrap()["code"].clone();
    let on_first_code = server.run(&workflow).await;
    server
        .wait_for("sentiment on optimized code", |l| active(l, "sentiment").is_some_and(|h| h["code"] == "optimized"))
        .await;
    let on_optimized_code = server.run(&workflow).await;
    assert_eq!(code, "baseline", "Cranelift takes seconds for 18 MB: the first code is Winch's");
    for report in [on_first_code, on_optimized_code] {
        let step = &report["steps"][0];
        assert_eq!(
            (step["path"].as_str(), step["handler"].as_str()),
            (Some("orchestrated"), Some("sentiment")),
            "{report}"
        );
        // The simulated provider answers the handler's schema; the handler checked it.
        assert!(["positive", "neutral", "negative"].contains(&step["output"]["label"].as_str().unwrap()), "{step}");
    }
}

#[tokio::test]
async fn handlers_serve_on_baseline_code_until_optimized_code_is_swapped_in_and_kept() {
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    let compiled = sandbox.dir.join("compiled");
    let build =
        || sandbox.builder().strict(false).code_policy(CodePolicy::BaselineFirst).compiled_code_dir(&compiled).build();
    let host = build().await.unwrap();
    let codes = |host: &Host| host.handlers().handlers().iter().map(|h| h.code).collect::<Vec<_>>();
    let workflow = Workflow::parse(&example("support-ticket-triage.json"), "support-ticket-triage.json").unwrap();
    let first = host.run(&workflow).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while codes(&host).contains(&Code::Baseline) {
        assert!(std::time::Instant::now() < deadline, "still baseline after 120 s: {:?}", codes(&host));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = host.run(&workflow).await.unwrap();
    // Both compilers' code gives the same answers.
    let outputs = |r: &RunReport| r.steps.iter().map(|s| (s.path, s.output.clone())).collect::<Vec<_>>();
    assert_eq!(outputs(&first), outputs(&second));
    assert!(first.steps.iter().all(|s| s.path == StepPath::Orchestrated), "{:?}", outputs(&first));
    // The optimized code was kept: the orchestrator's and each handler's.
    let kept =
        std::fs::read_dir(&compiled).unwrap().filter(|e| e.as_ref().unwrap().path().extension().unwrap() == "cwasm");
    assert_eq!(kept.count(), 4);
    // So a restart serves optimized code from the start.
    let restarted = build().await.unwrap();
    assert_eq!(codes(&restarted), vec![Code::Optimized; 3]);
}

#[tokio::test]
async fn a_hundred_concurrent_workflows_while_handlers_are_replaced() {
    const RUNS: usize = 100;
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    let host = lenient_host(&sandbox).await;
    let server = std::sync::Arc::new(Server::start(host).await);
    let workflow = example("support-ticket-triage.json");

    let runs: Vec<_> = (0..RUNS)
        .map(|_| {
            let server = server.clone();
            let workflow = workflow.clone();
            tokio::spawn(async move { server.run(&workflow).await })
        })
        .collect();
    // Swap summarize between versions while the runs are in flight.
    let target = sandbox.handlers_dir().join("summarize.wasm");
    for round in 0..6 {
        let from = if round % 2 == 0 { "test-guests/summarize-v2.wasm" } else { "handlers/summarize.wasm" };
        install(&components().join(from), &target);
        let (status, report) = server.post("/v1/handlers/reload", String::new()).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["replaced"].as_array().unwrap().len(), 1, "{report}");
    }
    let mut executions = Vec::new();
    for run in runs {
        let report = run.await.unwrap();
        for step in report["steps"].as_array().unwrap() {
            assert_eq!(step["path"], "orchestrated", "{step}");
        }
        executions.push(report["execution_id"].as_str().unwrap().to_string());
    }
    executions.sort();
    executions.dedup();
    assert_eq!(executions.len(), RUNS, "every request ran once");

    // Rows are exact: one usage row per step, the seed's events once each.
    let tally = sandbox.db().tally().unwrap();
    assert_eq!((tally.step_usage_rows, tally.distinct_steps), ((RUNS * 3) as u64, (RUNS * 3) as u64));
    let events = |kind: &str| tally.events.get(kind).copied().unwrap_or(0);
    assert_eq!(events("ORCHESTRATION_INITIALIZED"), RUNS as u64);
    assert_eq!(events("ORCHESTRATION_STEP_EXECUTED"), (RUNS * 3) as u64);
    assert_eq!(events("ORCHESTRATION_COMPLETED"), RUNS as u64);
    assert_eq!(events("ORCHESTRATION_STEP_FAILED"), 0);
    assert_eq!(tally.executions.get("completed").copied(), Some(RUNS as u64), "every run ended and says so");
}

#[tokio::test]
async fn silent_clients_are_cut_off_and_connections_beyond_the_limit_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sandbox = Sandbox::standard();
    let limits = Limits { max_connections: 2, header_timeout: Duration::from_millis(300), ..Limits::for_machine(None) };
    let server = Server::start_with(lenient_host(&sandbox).await, limits).await;
    let address = server.base.trim_start_matches("http://").to_string();
    // Two connections that never finish their headers hold both slots...
    let mut silent = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut half = tokio::net::TcpStream::connect(&address).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // ...so a third is answered 503 with Retry-After and closed.
    let mut third = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut answer = String::new();
    third.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1") && answer.contains("too many open connections"), "{answer}");
    // The header timeout closes both; the slots are free again.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "a silent connection stays open past the header timeout");
    let closed = tokio::time::timeout(Duration::from_secs(5), half.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "a half-sent request stays open past the header timeout");
    let health: Value = reqwest::get(format!("{}/health", server.base)).await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn busy_slots_answer_503_and_a_request_past_its_deadline_504() {
    let sandbox = Sandbox::standard();
    let slow = host_runner::ProviderChoice::Simulated(Duration::from_secs(5));
    let host = sandbox.builder().strict(false).provider(slow).build().await.unwrap();
    let limits = Limits {
        max_in_flight: 1,
        queue_wait: Duration::from_millis(100),
        request_deadline: Duration::from_secs(2),
        ..Limits::for_machine(None)
    };
    let server = std::sync::Arc::new(Server::start_with(host, limits).await);
    // Two at once: one takes the only slot and runs past the deadline, the other finds no slot.
    let send = || {
        let server = server.clone();
        tokio::spawn(async move {
            let url = format!("{}/v1/workflows", server.base);
            let r = server.client.post(url).bearer_auth(TOKEN).body(example("invoice-extraction.json")).send();
            let r = r.await.unwrap();
            let retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            (r.status().as_u16(), retry_after, r.json::<Value>().await.unwrap())
        })
    };
    let (a, b) = (send(), send());
    let mut answers = [a.await.unwrap(), b.await.unwrap()];
    answers.sort_by_key(|(status, ..)| *status);
    let [(busy, retry_after, busy_body), (late, _, late_body)] = &answers[..] else { unreachable!() };
    assert_eq!((*busy, retry_after.as_deref()), (503, Some("1")), "{busy_body}");
    assert!(busy_body["error"].as_str().unwrap().contains("retry shortly"));
    assert_eq!(*late, 504, "{late_body}");
    assert!(late_body["error"].as_str().unwrap().contains("deadline of 2 s"), "{late_body}");
}

#[tokio::test]
async fn a_body_sent_too_slowly_is_answered_408_without_holding_a_run_slot() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sandbox = Sandbox::standard();
    let limits = Limits { body_timeout: Duration::from_millis(300), max_in_flight: 1, ..Limits::for_machine(None) };
    let server = std::sync::Arc::new(Server::start_with(lenient_host(&sandbox).await, limits).await);
    let address = server.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /v1/workflows HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 100\r\n\r\n{{\"id\""
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    // While it dawdles, the only run slot is free for others.
    let report = server.run(&example("invoice-extraction.json")).await;
    assert_eq!(report["steps"].as_array().unwrap().len(), 3);
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut answer)).await.unwrap().unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("not received within 0.3 s"), "{answer}");
}

#[tokio::test]
async fn two_hosts_in_one_process_count_apart() {
    let (one, two) = (Sandbox::standard(), Sandbox::standard());
    let first = Server::start(one.host().await).await;
    let second = Server::start(two.host().await).await;
    first.run(&example("support-ticket-triage.json")).await;
    let (counted, other) = (first.metrics().await, second.metrics().await);
    let loaded = "pilot_handler_loads_total{outcome=\"loaded\"}";
    assert_eq!((series(&counted, loaded), series(&other, loaded)), (3.0, 3.0), "each host counts its own loads");
    let usage = "pilot_token_usage_rows_total";
    assert!(series(&counted, usage) > 0.0, "{counted}");
    assert_eq!(series(&other, usage), 0.0, "the first host's rows are not the second's: {other}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_is_a_200_with_the_failure_in_the_body() {
    let sandbox = Sandbox::new(&[], &[]);
    let server = Server::start(sandbox.host().await).await;
    let (status, report) = server.post("/v1/workflows", crate::concurrency::template_miss().to_string()).await;
    assert_eq!(status, 200, "{report}");
    let steps = report["steps"].as_array().unwrap();
    let total = steps.iter().find(|s| s["id"] == "total").unwrap();
    assert_eq!((total["path"].as_str(), total["failure_kind"].as_str()), (Some("failed"), Some("template")));
    assert_eq!(steps.iter().find(|s| s["id"] == "greet").unwrap()["path"], "fallback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_workflows_in_flight_at_model_latency_all_finish_with_exact_rows() {
    const WORKFLOWS: usize = 300;
    let sandbox = Sandbox::standard();
    sandbox.set("orchestration_enabled", "true");
    let model = host_runner::ProviderChoice::Simulated(Duration::from_millis(200));
    let host = sandbox.builder().provider(model).build().await.unwrap();
    let server = std::sync::Arc::new(Server::start_with(host, Limits::for_machine(Some(WORKFLOWS))).await);
    let workflow = example("support-ticket-triage.json");
    let started = Instant::now();
    let runs: Vec<_> = (0..WORKFLOWS)
        .map(|_| {
            let (server, workflow) = (server.clone(), workflow.clone());
            tokio::spawn(async move { server.post("/v1/workflows", workflow).await })
        })
        .collect();
    let mut reports = vec![];
    for run in runs {
        let (status, report) = run.await.unwrap();
        assert_eq!(status, 200, "{report}");
        reports.push(report);
    }
    let elapsed = started.elapsed();
    // One at a time, 300 runs of two 200 ms model waits would take two minutes.
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    let db = sandbox.db();
    for report in &reports {
        let steps = report["steps"].as_array().unwrap();
        let ran = steps.iter().filter(|s| s["path"] == "orchestrated" || s["path"] == "fallback").count();
        let rows = db.usage(report["execution_id"].as_str().unwrap()).unwrap();
        assert_eq!(rows.iter().filter(|r| r.step_id.is_some()).count(), ran, "one row per step that ran: {report}");
    }
}
