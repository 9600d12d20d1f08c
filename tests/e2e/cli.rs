//! The `pilot` binary: clear errors, non-zero exits, nothing written on bad input.

use integration_tests::{Dir, components, pilot, repo, stderr};
use std::process::Command;

#[test]
fn bad_workflows_fail_clearly_and_write_nothing() {
    let dir = Dir::new();
    let cases = [
        ("{\"id\": \"w\",\n  \"steps\": [}", "line 2 column"),
        (
            r#"{"id":"w","agent_id":"a","user_id":"u","steps":[{"id":"a","prompt":"x","depends_on":["zz"]}]}"#,
            "depends on unknown step `zz`",
        ),
        (
            r#"{"id":"w","agent_id":"a","user_id":"u","steps":[{"id":"a","prompt":"x","depends_on":["b"]},{"id":"b","prompt":"y","depends_on":["a"]}]}"#,
            "dependency cycle among steps a, b",
        ),
        (
            r#"{"id":"w","agent_id":"a","user_id":"u","steps":[{"id":"a","prompt":"{{input.nope}}"}]}"#,
            "`{{input.nope}}` names no workflow input",
        ),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let file = dir.write(&format!("bad{i}.json"), text);
        let out = dir.pilot(&["run", &file]);
        assert_eq!(out.status.code(), Some(1), "case {i}");
        let err = stderr(&out);
        assert!(err.contains(&file) && err.contains(expected), "case {i}: {err}");
    }
    assert!(!dir.0.join("pilot.db").exists(), "bad input must not create or write the database");
}

#[test]
fn a_missing_component_is_named() {
    let dir = Dir::new();
    let out = Command::new(pilot())
        .args(["--components", "/nonexistent/components", "run"])
        .arg(repo().join("examples/invoice-extraction.json"))
        .env("PILOT_DB", dir.0.join("pilot.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("orchestrator /nonexistent/components/orchestrator.wasm: no such file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn flags_run_json_handlers_and_audit() {
    let dir = Dir::new();
    let out = dir.pilot(&["flags", "set", "orchestration_enabled", "maybe"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("takes `true` or `false`"));
    // Out of range: refused with the range, nothing written.
    let out = dir.pilot(&["flags", "set", "orchestration_budget_critical_multiplier", "10"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("takes a number from 1 to 5, got `10`"), "{}", stderr(&out));
    let listed = String::from_utf8(dir.pilot(&["flags", "list", "--json"]).stdout).unwrap();
    let flags: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let multiplier = flags.as_array().unwrap().iter().find(|f| f["key"] == "orchestration_budget_critical_multiplier");
    assert_eq!(multiplier.unwrap()["value"], "1.5");
    // In range alone, inconsistent with the other threshold: refused with the reason, nothing written.
    let out = dir.pilot(&["flags", "set", "orchestration_ais_fast_threshold", "8"]);
    assert_eq!(out.status.code(), Some(1));
    let reason = stderr(&out);
    assert!(reason.contains("must be below `orchestration_ais_powerful_threshold` = `6`"), "{reason}");
    let listed = String::from_utf8(dir.pilot(&["flags", "list", "--json"]).stdout).unwrap();
    let flags: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let fast = flags.as_array().unwrap().iter().find(|f| f["key"] == "orchestration_ais_fast_threshold");
    assert_ne!(fast.unwrap()["value"], "8", "nothing written");
    assert!(dir.pilot(&["flags", "set", "orchestration_enabled", "true"]).status.success());
    let listed = String::from_utf8(dir.pilot(&["flags", "list"]).stdout).unwrap();
    assert!(listed.lines().any(|l| l.starts_with("orchestration_enabled") && l.contains("true")), "{listed}");

    let example = repo().join("examples/support-ticket-triage.json").display().to_string();
    let out = dir.pilot(&["run", &example, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("provider: simulated"), "the CLI says which provider it uses");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = doc["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    for s in steps {
        assert_eq!(s["path"], "orchestrated");
        for key in ["id", "intent", "handler", "model", "tokens", "tokens_saved", "cost_usd"] {
            assert!(s.get(key).is_some(), "step lacks {key}: {s}");
        }
    }
    let execution = doc["execution_id"].as_str().unwrap();

    // The run as `pilot runs` lists it, and one run with what each step spent.
    let listed: serde_json::Value = serde_json::from_slice(&dir.pilot(&["runs", "list", "--json"]).stdout).unwrap();
    assert_eq!(listed[0]["id"], execution, "{listed}");
    assert_eq!(listed[0]["state"], "completed");
    let shown = dir.pilot(&["runs", "show", execution, "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let rows = shown["usage"].as_array().unwrap().iter().filter(|u| u["step_id"].is_string()).count();
    assert_eq!(rows, 3, "one usage row per step: {shown}");
    let missing = dir.pilot(&["runs", "show", "no-such-run"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no execution `no-such-run`"), "{}", stderr(&missing));
    let out = dir.pilot(&["handlers", "list"]);
    let text = String::from_utf8(out.stdout).unwrap();
    for name in ["extract", "summarize", "transform"] {
        assert!(text.lines().any(|l| l.starts_with(name) && l.contains(".wasm")), "{text}");
    }

    let out = dir.pilot(&["audit", "--execution", execution, "--json"]);
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(audit["execution"]["state"], "completed", "{audit}");
    let kinds: Vec<&str> =
        audit["events"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"ORCHESTRATION_INITIALIZED"));
    assert_eq!(kinds.last(), Some(&"ORCHESTRATION_COMPLETED"));
}

#[test]
fn an_empty_bearer_token_refuses_to_start() {
    let dir = Dir::new();
    let out = dir.pilot(&["serve", "--token", "", "--listen", "127.0.0.1:0", "--no-watch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bearer token (--token or PILOT_TOKEN) is empty"), "{}", stderr(&out));
}

#[test]
fn a_taken_port_is_an_error_before_anything_says_it_listens() {
    let dir = Dir::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = dir.pilot(&["serve", "--listen", &address, "--token", "t", "--no-watch"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("binding {address}")), "{err}");
    assert!(!err.contains("listening on"), "{err}");
}

#[test]
fn the_workflow_budget_holds_on_the_fallback_path() {
    let dir = Dir::new();
    for (key, value) in [("orchestration_enabled", "true"), ("orchestration_max_tokens_per_workflow", "1")] {
        assert!(dir.pilot(&["flags", "set", key, value]).status.success());
    }
    let example = repo().join("examples/support-ticket-triage.json").display().to_string();
    let out = dir.pilot(&["run", &example, "--json"]);
    assert_eq!(out.status.code(), Some(1), "a budget of 1 token cannot run the example: {}", stderr(&out));
    assert!(stderr(&out).contains("orchestration_max_tokens_per_workflow = 1"), "{}", stderr(&out));
    // Nothing was spent past the budget: no usage row holds more than it allows.
    let usage = String::from_utf8(dir.pilot(&["audit", "--json"]).stdout).unwrap();
    let events: serde_json::Value = serde_json::from_str(&usage).unwrap();
    let kinds: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"WORKFLOW_STEP_FAILED"), "{kinds:?}");
    assert!(!kinds.contains(&"WORKFLOW_STEP_EXECUTED"), "no step ran the normal way unbudgeted: {kinds:?}");
}

#[test]
fn eval_measures_a_corpus_with_plugins_answered_by_the_sink() {
    let dir = Dir::new();
    let corpus = dir.0.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    // A digest posted to Slack and a churn review that looks an account up in a CRM.
    for name in ["14-daily-urgent-ticket-digest.json", "09-churn-review-enterprise.json"] {
        std::fs::copy(repo().join("bench/corpus/contract").join(name), corpus.join(name)).unwrap();
    }
    let page = dir.0.join("report.html");
    let out = dir.pilot(&["eval", corpus.to_str().unwrap(), "--json", "--report", page.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("loopback sink (test double)"), "the sink is labeled: {}", stderr(&out));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports.as_array().unwrap().len(), 1, "a directory of workflows is one split");
    let report = &reports[0];
    assert_eq!(report["split"], "corpus");
    assert_eq!(report["workflows"], 2);
    assert_eq!(report["intent_accuracy"], 100.0);
    assert_eq!(report["key_fact_retention_pct"], 100.0);
    assert!(report["key_facts"]["facts"].as_u64().unwrap() > 0);
    let requests = report["plugin_requests"].as_object().unwrap();
    assert!(requests.get("slack").is_some_and(|n| n.as_u64() > Some(0)), "{requests:?}");
    assert!(requests.get("crm").is_some_and(|n| n.as_u64() > Some(0)), "{requests:?}");
    assert!(report["orchestrated"]["tokens"].as_u64() < report["baseline"]["tokens"].as_u64());
    let confusion = report["confusion"].as_array().unwrap();
    let labeled: u64 = confusion.iter().map(|c| c["steps"].as_u64().unwrap()).sum();
    assert_eq!(labeled, report["labeled_steps"].as_u64().unwrap(), "every labeled step is in the matrix once");
    // The HTML report: self-contained, one section per split, the matrix's diagonal marked.
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("<h2>corpus: 2 workflows"), "{html}");
    assert!(html.contains("class=\"hit\"") && html.contains("<svg"));
    assert!(!html.contains("http://") && !html.contains("https://"), "nothing is fetched when it is viewed");

    // The LLM classification tier, metered; with --perfect-llm-tier answered from the labels.
    assert_eq!(report["llm_tier"]["answered_by"], "simulated (cannot classify)");
    assert_eq!(report["confident_wrong"], 0);
    let heldout = dir.0.join("heldout");
    std::fs::create_dir_all(&heldout).unwrap();
    for name in ["01-vet-recheck-reminders.json", "02-irrops-nx418-cancellation.json"] {
        std::fs::copy(repo().join("bench/corpus/heldout2").join(name), heldout.join(name)).unwrap();
    }
    let run = |extra: &[&str]| -> serde_json::Value {
        let out = dir.pilot(&[&["eval", heldout.to_str().unwrap(), "--json"], extra].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone()
    };
    let (plain, perfect) = (run(&[]), run(&["--perfect-llm-tier"]));
    assert_eq!(perfect["llm_tier"]["answered_by"], "perfect (labels)");
    assert!(perfect["llm_tier"]["steps"].as_u64().unwrap() > 0, "{}", perfect["llm_tier"]);
    assert!(perfect["llm_tier"]["spend"]["tokens"].as_u64().unwrap() > 0);
    assert!(
        perfect["intent_accuracy"].as_f64() > plain["intent_accuracy"].as_f64(),
        "a perfect LLM tier fixes what the free tiers were unsure of: {} vs {}",
        perfect["intent_accuracy"],
        plain["intent_accuracy"]
    );
    assert_eq!(perfect["confident_wrong"], plain["confident_wrong"], "the free tiers settle the same steps either way");

    let missing = dir.pilot(&["eval", dir.0.join("no-such-dir").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("reading corpus directory"), "{}", stderr(&missing));
}

/// SIGTERM drains `pilot serve`: requests in flight (held up by a slow
/// loopback Messages API) all complete, then the process exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_in_flight_finish() {
    use axum::routing::post;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let slow = axum::Router::new().route(
        "/v1/messages",
        post(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(std::time::Duration::from_millis(400)).await;
                axum::Json(integration_tests::mock_anthropic::Scripted::message("Done.", 40, 3).body)
            }
        }),
    );
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_url = format!("http://{}", upstream.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(upstream, slow).await.unwrap() });

    let dir = Dir::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(pilot())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--token",
            "t0k",
            "--no-watch",
            "--provider",
            "anthropic",
        ])
        .env("PILOT_DB", dir.0.join("pilot.db"))
        .env("PILOT_COMPONENTS", components())
        .env("ANTHROPIC_API_KEY", "sk-ant-test")
        .env("ANTHROPIC_BASE_URL", &upstream_url)
        .env_remove("PILOT_HANDLERS")
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while client.get(format!("{base}/health")).send().await.is_err() {
        assert!(std::time::Instant::now() < deadline, "pilot serve did not start");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let workflow = std::fs::read_to_string(repo().join("examples/support-ticket-triage.json")).unwrap();
    let requests: Vec<_> = (0..6)
        .map(|_| {
            let request = client.post(format!("{base}/v1/workflows")).bearer_auth("t0k").body(workflow.clone()).send();
            tokio::spawn(request)
        })
        .collect();
    // Every request is in flight (its first model call is waiting upstream) before SIGTERM.
    while calls.load(Ordering::SeqCst) < 6 {
        assert!(std::time::Instant::now() < deadline, "the requests never reached the provider");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let killed = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(killed.success());
    for request in requests {
        let response = request.await.unwrap().expect("a request in flight was dropped");
        assert_eq!(response.status().as_u16(), 200);
    }
    let status = tokio::task::spawn_blocking(move || server.wait().unwrap()).await.unwrap();
    assert!(status.success(), "pilot serve exits cleanly after draining: {status:?}");
}

#[test]
fn rows_that_cannot_be_written_fail_the_run_and_name_the_database() {
    let dir = Dir::new();
    assert!(dir.pilot(&["flags", "set", "orchestration_enabled", "true"]).status.success());
    // The disk "fills up" for the audit trail only.
    drop(host_runner::storage::Db::open(&dir.0.join("pilot.db").display().to_string()).unwrap());
    rusqlite::Connection::open(dir.0.join("pilot.db"))
        .unwrap()
        .execute_batch("CREATE TRIGGER full BEFORE INSERT ON audit_log BEGIN SELECT RAISE(FAIL, 'disk full'); END;")
        .unwrap();
    let example = repo().join("examples/support-ticket-triage.json").display().to_string();
    let out = dir.pilot(&["run", &example]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("could not be written to") && err.contains("pilot.db") && err.contains("disk full"), "{err}");
}

#[test]
fn bench_measures_both_paths_and_the_serve_path_writes_every_row() {
    let dir = Dir::new();
    let example = repo().join("examples/support-ticket-triage.json").display().to_string();
    let out = dir.pilot(&["bench", &example, "--runs", "3", "--warmup", "1", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let steps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let modes: Vec<&str> = steps.as_array().unwrap().iter().map(|r| r["mode"].as_str().unwrap()).collect();
    assert_eq!(modes, ["orchestration off", "all flags on"]);
    assert!(steps[1]["overhead_p50_ms"].as_f64().unwrap() > 0.0);

    let out = dir.pilot(&["bench", &example, "--runs", "6", "--warmup", "1", "--concurrency", "3", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let serve: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for mode in serve.as_array().unwrap() {
        assert_eq!(mode["workflows"], 6, "{mode}");
        assert_eq!(mode["usage_rows"], mode["steps"], "every step's token_usage row is written: {mode}");
    }
}

#[test]
fn scoped_flags_decide_each_run_and_say_which_scope_did() {
    let dir = Dir::new();
    let set = |args: &[&str]| {
        let out = dir.pilot(&[&["flags", "set"], args].concat());
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    // Global off; on for the example's agent; off again for one user of it.
    set(&["orchestration_enabled", "true", "--agent", "agent-support-01"]);
    set(&["orchestration_enabled", "false", "--user", "user-blocked"]);
    set(&["orchestration_compression_enabled", "true", "--percent", "100"]);
    let refused = dir.pilot(&["flags", "set", "orchestration_max_retries", "2", "--agent", "agent-support-01"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("takes no scoped overrides"), "{}", stderr(&refused));
    let refused = dir.pilot(&["flags", "set", "orchestration_enabled", "true", "--percent", "101"]);
    assert!(stderr(&refused).contains("a percentage from 0 to 100, got `101`"), "{}", stderr(&refused));

    let listed: serde_json::Value = serde_json::from_slice(&dir.pilot(&["flags", "list", "--json"]).stdout).unwrap();
    let overrides: Vec<_> = listed.as_array().unwrap().iter().filter(|r| r.get("override").is_some()).collect();
    assert_eq!(overrides.len(), 3, "{listed}");
    assert_eq!(overrides[0]["override"]["scope"], "percent", "compression's override sorts first: {listed}");
    assert_eq!(overrides[1]["override"]["scope"], "user", "the most specific first: {listed}");
    let text = String::from_utf8(dir.pilot(&["flags", "list"]).stdout).unwrap();
    assert!(text.contains("agent agent-support-01") && text.contains("on for 100% of workflows"), "{text}");

    let example = std::fs::read_to_string(repo().join("examples/support-ticket-triage.json")).unwrap();
    let run = |user: &str| {
        let mut doc: serde_json::Value = serde_json::from_str(&example).unwrap();
        doc["user_id"] = user.into();
        let file = dir.write(&format!("{user}.json"), &doc.to_string());
        let out = dir.pilot(&["run", &file, "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let on = run("user-any");
    assert!(on["steps"].as_array().unwrap().iter().all(|s| s["path"] == "orchestrated"), "{on}");
    let off = run("user-blocked");
    assert!(off["steps"].as_array().unwrap().iter().all(|s| s["path"] == "fallback"), "{off}");

    let runs: serde_json::Value = serde_json::from_slice(&dir.pilot(&["runs", "list", "--json"]).stdout).unwrap();
    let by_id = |id: &serde_json::Value| runs.as_array().unwrap().iter().find(|r| r["id"] == *id).unwrap().clone();
    let (on_row, off_row) = (by_id(&on["execution_id"]), by_id(&off["execution_id"]));
    assert_eq!((&on_row["orchestrated"], &on_row["flag_scope"]), (&true.into(), &"agent:agent-support-01".into()));
    assert_eq!((&off_row["orchestrated"], &off_row["flag_scope"]), (&false.into(), &"user:user-blocked".into()));

    let audit = dir.pilot(&["audit", "--execution", on["execution_id"].as_str().unwrap(), "--json"]);
    let audit: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    let init = audit["events"].as_array().unwrap().iter().find(|e| e["event_type"] == "ORCHESTRATION_INITIALIZED");
    let rollout = &init.expect("an orchestrated run is initialized")["metadata"]["rollout"];
    assert_eq!(
        rollout[0],
        serde_json::json!({"flag": "orchestration_enabled", "value": true, "scope": "agent", "id": "agent-support-01"})
    );
    assert_eq!(rollout[1]["scope"], "percent", "{rollout}");
    assert_eq!(rollout[1]["rollout"]["percent"], 100.0, "{rollout}");

    // A run left off says so in its audit too, with the scope that decided it.
    let audit = dir.pilot(&["audit", "--execution", off["execution_id"].as_str().unwrap(), "--json"]);
    let audit: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    let disabled = audit["events"].as_array().unwrap().iter().find(|e| e["event_type"] == "WORKFLOW_NOT_ORCHESTRATED");
    let disabled = &disabled.expect("a run left off is audited")["metadata"];
    assert_eq!(disabled["decided_by"], "user:user-blocked", "{disabled}");
    assert_eq!(disabled["rollout"][0]["scope"], "user", "{disabled}");

    // Removing the agent's override sends its runs back to the global value.
    let out = dir.pilot(&["flags", "unset", "orchestration_enabled", "--agent", "agent-support-01"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed"), "{}", stderr(&out));
    let after = run("user-other");
    assert!(after["steps"].as_array().unwrap().iter().all(|s| s["path"] == "fallback"), "{after}");

    // An agent type's override decides for the agents of that type.
    set(&["orchestration_enabled", "true", "--agent-type", "support"]);
    let mut doc: serde_json::Value = serde_json::from_str(&example).unwrap();
    doc["agent_type"] = "support".into();
    let file = dir.write("typed.json", &doc.to_string());
    let typed: serde_json::Value = serde_json::from_slice(&dir.pilot(&["run", &file, "--json"]).stdout).unwrap();
    assert!(typed["steps"].as_array().unwrap().iter().all(|s| s["path"] == "orchestrated"), "{typed}");
    let runs: serde_json::Value = serde_json::from_slice(&dir.pilot(&["runs", "list", "--json"]).stdout).unwrap();
    let typed_row = runs.as_array().unwrap().iter().find(|r| r["id"] == typed["execution_id"]).unwrap();
    assert_eq!(typed_row["flag_scope"], "agent_type:support");

    // Every change made through `pilot flags` is audited, before and after; refusals are not.
    let audit: serde_json::Value = serde_json::from_slice(&dir.pilot(&["audit", "--json"]).stdout).unwrap();
    let changes: Vec<(String, serde_json::Value, serde_json::Value)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "SETTING_CHANGED")
        .map(|e| {
            (
                e["metadata"]["key"].as_str().unwrap().to_string(),
                e["metadata"]["before"].clone(),
                e["metadata"]["after"].clone(),
            )
        })
        .collect();
    let agent_key = "orchestration_enabled@agent:agent-support-01".to_string();
    assert_eq!(changes.len(), 5, "three sets, one unset, one set: {changes:?}");
    assert!(changes.contains(&(agent_key.clone(), serde_json::Value::Null, "true".into())), "{changes:?}");
    assert!(changes.contains(&(agent_key, "true".into(), serde_json::Value::Null)), "{changes:?}");
}

#[test]
fn report_compares_the_cohorts_with_the_sums_of_the_tables() {
    let dir = Dir::new();
    for args in [
        &["orchestration_enabled", "true", "--percent", "50"][..],
        &["orchestration_ais_routing_enabled", "true"][..],
        &["orchestration_compression_enabled", "true"][..],
    ] {
        assert!(dir.pilot(&[&["flags", "set"], args].concat()).status.success());
    }
    let example = std::fs::read_to_string(repo().join("examples/support-ticket-triage.json")).unwrap();
    for i in 0..16 {
        let mut doc: serde_json::Value = serde_json::from_str(&example).unwrap();
        doc["id"] = format!("triage-{i}").into();
        let file = dir.write(&format!("w{i}.json"), &doc.to_string());
        assert!(dir.pilot(&["run", &file]).status.success());
    }
    let out = dir.pilot(&["report", "--since", "1h", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // The same figures straight from the tables.
    let db = rusqlite::Connection::open(dir.0.join("pilot.db")).unwrap();
    let sums = |orchestrated: bool| -> (i64, i64, i64, f64) {
        db.query_row(
            "SELECT COUNT(DISTINCT e.id),
                    COUNT(CASE WHEN json_extract(u.model_info, '$.path') IN ('orchestrated', 'fallback') THEN 1 END),
                    COALESCE(SUM(u.tokens_used), 0), COALESCE(SUM(u.cost), 0)
             FROM executions e LEFT JOIN token_usage u ON u.execution_id = e.id WHERE e.orchestrated = ?1",
            [orchestrated],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
    };
    for (cohort, orchestrated) in [("orchestrated", true), ("normal", false)] {
        let (runs, steps, tokens, cost) = sums(orchestrated);
        let c = &report["overall"][cohort];
        assert!(runs > 0, "the 50% rollout put some of 16 workflows in each cohort");
        assert_eq!(
            (c["runs"].as_i64(), c["steps"].as_i64(), c["tokens"].as_i64()),
            (Some(runs), Some(steps), Some(tokens))
        );
        assert!((c["cost_usd"].as_f64().unwrap() - cost).abs() < 1e-9, "{c}");
        let per_step = c["tokens_per_step"]["value"].as_f64().unwrap();
        assert!((per_step - tokens as f64 / steps as f64).abs() < 1e-9);
    }
    let (runs_o, runs_n) = (sums(true).0, sums(false).0);
    assert_eq!(runs_o + runs_n, 16);
    let saving = report["overall"]["token_saving"]["pct"].as_f64().unwrap();
    assert!(saving > 0.0, "orchestrated steps spend fewer tokens: {report}");
    assert_eq!(report["overall"]["verdict"], "too few runs", "16 runs are not 30 per cohort");
    // Normal steps compare by intent too: their intents are the free tiers' guess.
    let by_intent = report["by_intent"].as_array().unwrap();
    assert!(
        by_intent
            .iter()
            .any(|k| k["normal"]["steps"].as_i64() > Some(0) && k["orchestrated"]["steps"].as_i64() > Some(0)),
        "{report}"
    );
    let text = String::from_utf8(dir.pilot(&["report", "--since", "1h"]).stdout).unwrap();
    assert!(text.contains("agent-support-01") && text.contains("too few runs"), "{text}");

    // A second agent under a tight workflow budget: its orchestrated runs fail
    // steps (the budget holds on every path once orchestration is on).
    assert!(dir.pilot(&["flags", "set", "orchestration_max_tokens_per_workflow", "300"]).status.success());
    for i in 0..12 {
        let mut doc: serde_json::Value = serde_json::from_str(&example).unwrap();
        doc["id"] = format!("tight-{i}").into();
        doc["agent_id"] = "agent-tight-02".into();
        let file = dir.write(&format!("t{i}.json"), &doc.to_string());
        dir.pilot(&["run", &file]);
    }
    let out = dir.pilot(&["report", "--since", "1h", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed_steps: i64 = db
        .query_row(
            "SELECT COUNT(DISTINCT a.execution_id || '/' || a.step_id) FROM audit_log a
             JOIN executions e ON e.id = a.execution_id WHERE a.event_type = 'WORKFLOW_STEP_FAILED'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(failed_steps > 0, "the tight budget failed some steps");
    // Every key of every section is the sum of its rows.
    let key_sums = |column: &str, key: &str, orchestrated: bool| -> (i64, i64, i64, i64, i64) {
        let intent_of = "json_extract(s.model_info, '$.intent')";
        let (keyed, failed_keyed) = match column {
            "agent" => ("e.agent_id = ?2".to_string(), "e.agent_id = ?2".to_string()),
            _ => (
                // A row of a step of that intent, or a paid attempt at a step that then
                // failed, whose failure event names that intent.
                format!(
                    "(EXISTS (SELECT 1 FROM token_usage s WHERE s.execution_id = u.execution_id AND s.step_id = u.step_id
                      AND json_extract(s.model_info, '$.path') IN ('orchestrated', 'fallback') AND {intent_of} = ?2)
                     OR (json_extract(u.model_info, '$.path') = 'failed_attempt'
                      AND NOT EXISTS (SELECT 1 FROM token_usage s WHERE s.execution_id = u.execution_id
                          AND s.step_id = u.step_id AND json_extract(s.model_info, '$.path') IN ('orchestrated', 'fallback'))
                      AND EXISTS (SELECT 1 FROM audit_log a WHERE a.execution_id = u.execution_id AND a.step_id = u.step_id
                          AND a.event_type = 'WORKFLOW_STEP_FAILED' AND json_extract(a.metadata, '$.intent') = ?2)))"
                ),
                "json_extract(a.metadata, '$.intent') = ?2".to_string(),
            ),
        };
        let (runs, steps, tokens): (i64, i64, i64) = db
            .query_row(
                &format!(
                    "SELECT COUNT(DISTINCT e.id),
                            COUNT(CASE WHEN json_extract(u.model_info, '$.path') IN ('orchestrated', 'fallback') THEN 1 END),
                            COALESCE(SUM(u.tokens_used), 0)
                     FROM executions e JOIN token_usage u ON u.execution_id = e.id
                     WHERE e.orchestrated = ?1 AND {keyed}"
                ),
                rusqlite::params![orchestrated, key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let failed_runs: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM executions e WHERE e.orchestrated = ?1 AND e.agent_id = ?2 AND e.state = 'failed'",
                rusqlite::params![orchestrated, key],
                |r| r.get(0),
            )
            .unwrap();
        let failed_steps: i64 = db
            .query_row(
                &format!(
                    "SELECT COUNT(DISTINCT a.execution_id || '/' || a.step_id) FROM audit_log a
                     JOIN executions e ON e.id = a.execution_id
                     WHERE a.event_type = 'WORKFLOW_STEP_FAILED' AND e.orchestrated = ?1 AND {failed_keyed}
                       AND NOT EXISTS (SELECT 1 FROM token_usage s WHERE s.execution_id = a.execution_id
                           AND s.step_id = a.step_id AND json_extract(s.model_info, '$.path') IN ('orchestrated', 'fallback'))"
                ),
                rusqlite::params![orchestrated, key],
                |r| r.get(0),
            )
            .unwrap();
        (runs, steps, tokens, failed_runs, failed_steps)
    };
    let mut failed_by_intent = 0;
    for (section, column) in [("by_agent", "agent"), ("by_intent", "intent")] {
        for keyed in report[section].as_array().unwrap() {
            let key = keyed["key"].as_str().unwrap();
            for (cohort, orchestrated) in [("orchestrated", true), ("normal", false)] {
                let c = &keyed[cohort];
                let (runs, steps, tokens, failed_runs, failed) = key_sums(column, key, orchestrated);
                assert_eq!(
                    (c["steps"].as_i64(), c["tokens"].as_i64(), c["failed_steps"].as_i64()),
                    (Some(steps), Some(tokens), Some(failed)),
                    "{section} {key} {cohort}: {c}"
                );
                if column == "agent" {
                    assert_eq!(c["failed_runs"].as_i64(), Some(failed_runs), "{key} {cohort}: {c}");
                    assert!(c["runs"].as_i64() >= Some(runs), "runs without usage rows count too: {c}");
                } else {
                    failed_by_intent += failed;
                }
            }
        }
    }
    assert_eq!(failed_by_intent, failed_steps, "every failed step is counted under its intent");
    let tight = report["by_agent"].as_array().unwrap().iter().find(|k| k["key"] == "agent-tight-02").unwrap();
    assert!(tight["orchestrated"]["failed_steps"].as_i64() > Some(0), "{tight}");
    // Latency quantiles by nearest rank over the steps' own times.
    let mut times: Vec<f64> = db
        .prepare(
            "SELECT json_extract(u.model_info, '$.time_ms') FROM token_usage u JOIN executions e ON e.id = u.execution_id
             WHERE e.orchestrated = 1 AND json_extract(u.model_info, '$.path') IN ('orchestrated', 'fallback')",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    times.sort_by(f64::total_cmp);
    let rank = |q: f64| times[((q * times.len() as f64).ceil() as usize).max(1) - 1];
    let overall = &report["overall"]["orchestrated"];
    for (field, q) in [("latency_p50_ms", 0.5), ("latency_p95_ms", 0.95)] {
        // SQLite's JSON reads a number back to within a rounding of it.
        assert!((overall[field].as_f64().unwrap() - rank(q)).abs() < 1e-9, "{field}: {overall}");
    }
    // The randomised comparison leaves out a run an operator turned on by agent.
    assert!(
        dir.pilot(&["flags", "set", "orchestration_enabled", "true", "--agent", "agent-chosen-03"]).status.success()
    );
    let mut doc: serde_json::Value = serde_json::from_str(&example).unwrap();
    doc["agent_id"] = "agent-chosen-03".into();
    let file = dir.write("chosen.json", &doc.to_string());
    dir.pilot(&["run", &file]);
    let runs_of = |args: &[&str]| -> i64 {
        let report: serde_json::Value = serde_json::from_slice(&dir.pilot(args).stdout).unwrap();
        report["overall"]["orchestrated"]["runs"].as_i64().unwrap()
            + report["overall"]["normal"]["runs"].as_i64().unwrap()
    };
    let percentage_decided = db
        .query_row("SELECT COUNT(*) FROM executions WHERE flag_scope IN ('percent', 'outside_percent')", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    assert_eq!(runs_of(&["report", "--since", "1h", "--json"]), 16 + 12 + 1);
    assert_eq!(runs_of(&["report", "--since", "1h", "--json", "--percentage-rollout"]), percentage_decided);
    assert_eq!(percentage_decided, 16 + 12, "every run but the chosen one was decided by the percentage");
    let bad = dir.pilot(&["report", "--since", "7w"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("unknown unit `w`"), "{}", stderr(&bad));
}
