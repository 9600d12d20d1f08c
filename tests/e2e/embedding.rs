//! Other hosts: the shipped components run outside `pilot`. The Rust path is
//! `host-runner/examples/embed.rs` (compiled by `cargo test`); the Python
//! ones, `examples/embed-python/run_handler.py` (one handler) and
//! `run_workflow.py` (the orchestrator driving a workflow through handlers),
//! run here on wasmtime-py, and the JavaScript one, `examples/embed-js/`, on
//! Node through jco.

use integration_tests::{components, missing_tool, repo};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// The venv's Python with wasmtime-py, or `None` when it could not be
/// installed (then see [`missing_tool`]: under CI the test fails).
fn wasmtime_py() -> Option<PathBuf> {
    let python = repo().join("target/python-venv/bin/python");
    let has_wasmtime_py = python.is_file()
        && Command::new(&python).args(["-c", "import wasmtime.component"]).status().is_ok_and(|s| s.success());
    if !has_wasmtime_py {
        assert!(
            !python.is_file(),
            "target/python-venv exists without wasmtime-py: run scripts/build-python-handlers.sh"
        );
        missing_tool("wasmtime-py could not be installed from PyPI");
        return None;
    }
    Some(python)
}

#[test]
fn wasmtime_py_runs_a_shipped_handler_with_its_imports_in_python() {
    let Some(python) = wasmtime_py() else { return };
    let summarize = components().join("handlers/summarize.wasm");
    let out = Command::new(&python)
        .arg(repo().join("examples/embed-python/run_handler.py"))
        .arg(&summarize)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["name"], "summarize", "info() through the Python host");
    assert!(lines[1]["output"]["summary"].as_str().unwrap().contains("ORD-4411"), "execute() through it");
    let sent = lines[1]["llm_calls"][0]["messages"][0].as_str().unwrap();
    assert!(
        sent.starts_with("Summarize the call for the account team.") && sent.contains("transcript: Dana"),
        "the handler rendered its material: {sent}"
    );
}

/// The orchestrator component on wasmtime-py, every import of
/// `orchestrator-core` in Python: its `handlers.dispatch` runs each step's
/// handler component in a store of its own, `audit` collects the events.
#[test]
fn wasmtime_py_runs_a_workflow_through_the_orchestrator_with_its_imports_in_python() {
    let Some(python) = wasmtime_py() else { return };
    let out = Command::new(&python)
        .arg(repo().join("examples/embed-python/run_workflow.py"))
        .arg(components().join("orchestrator.wasm"))
        .arg(components().join("handlers"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let of_kind = |kind: &'static str| lines.iter().filter(move |l| l["kind"] == kind);
    let one = |kind: &'static str| of_kind(kind).next().unwrap_or_else(|| panic!("no `{kind}` line in {lines:?}"));
    assert_eq!(one("is_active")["value"], true, "orchestration_enabled from the Python settings");

    let steps: Vec<&Value> = of_kind("step").collect();
    let expected = [("summary", "summarize"), ("facts", "extract"), ("helpdesk_record", "transform")];
    assert_eq!(steps.len(), expected.len(), "{steps:?}");
    for (step, (id, intent)) in steps.iter().zip(expected) {
        assert_eq!(step["step"], id);
        assert_eq!(step["intent"], intent, "{step}");
        assert_eq!(step["handler"], intent, "ran through its handler: {step}");
        assert!(step["output"].is_object(), "the handler's output: {step}");
    }
    assert!(steps[0]["output"]["summary"].as_str().unwrap().contains("ACC-88213"), "{}", steps[0]);
    assert_eq!(steps[0]["routed_model"], "canned-double", "its llm call went to the Python double");
    assert!(steps[0]["tokens_used"]["total"].as_u64().unwrap() > 0, "usage from the dispatch: {}", steps[0]);
    assert_eq!(steps[1]["output"]["account_id"], "ACC-88213", "extract checked the canned JSON: {}", steps[1]);
    assert_eq!(steps[2]["output"]["requester"], "Maria Gonzalez", "facts' output fed the transform: {}", steps[2]);

    let metrics = &one("metrics")["value"];
    assert_eq!(metrics["steps_executed"], steps.len(), "complete(): {metrics}");
    assert_eq!(metrics["steps_fell_back"], 0, "{metrics}");
    let planned = one("metadata")["value"]["steps"].as_array().unwrap();
    assert!(planned.iter().all(|p| p["status"] == "executed"), "get-metadata(): {planned:?}");

    let events = one("audit")["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ORCHESTRATION_INITIALIZED",
            "ORCHESTRATION_STEP_EXECUTED",
            "ORCHESTRATION_STEP_EXECUTED",
            "ORCHESTRATION_STEP_EXECUTED",
            "ORCHESTRATION_COMPLETED"
        ],
        "through the Python audit import"
    );
    let executed: Vec<&Value> = events.iter().filter(|e| e["event_type"] == "ORCHESTRATION_STEP_EXECUTED").collect();
    assert!(executed.iter().zip(expected).all(|(e, (id, _))| e["step_id"] == id), "{executed:?}");
    assert_eq!(one("llm")["orchestrator_calls"], 0, "no model call of the orchestrator's own with these settings");
}

/// The two lines both example hosts print: `info()`, then `execute()`'s output and the model calls.
fn check_host_output(stdout: &[u8]) {
    let lines: Vec<Value> = String::from_utf8_lossy(stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["name"], "summarize", "info() through the host");
    assert!(lines[1]["output"]["summary"].as_str().unwrap().contains("ORD-4411"), "execute() through it");
    let sent = lines[1]["llm_calls"][0]["messages"][0].as_str().unwrap();
    assert!(
        sent.starts_with("Summarize the call for the account team.") && sent.contains("transcript: Dana"),
        "the handler rendered its material: {sent}"
    );
}

#[test]
fn jco_runs_a_shipped_handler_on_node_with_its_imports_in_javascript() {
    if Command::new("node").arg("--version").output().is_err() {
        missing_tool("node is not installed (.ci/run installs it)");
        return;
    }
    let summarize = components().join("handlers/summarize.wasm");
    let out = Command::new(repo().join("examples/embed-js/run.sh")).arg(&summarize).output().unwrap();
    let jco = repo().join("examples/embed-js/node_modules/.bin/jco");
    if !out.status.success() && !jco.exists() {
        missing_tool(&format!("jco could not be installed from npm: {}", String::from_utf8_lossy(&out.stderr)));
        return;
    }
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_host_output(&out.stdout);
}

/// A Rust host of one's own, linking `host-runner`'s capabilities one by one
/// (`host-runner/examples/own_host.rs`, built by `cargo test`).
#[test]
fn a_host_built_from_the_capabilities_one_by_one_runs_a_shipped_handler() {
    let example = integration_tests::pilot().parent().unwrap().join("examples/own_host");
    let dir = integration_tests::Dir::new();
    let out = std::process::Command::new(&example)
        .arg(components().join("handlers/summarize.wasm"))
        .current_dir(&dir.0)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", example.display()));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("info: summarize"), "{stdout}");
    assert!(stdout.contains("output: {\"summary\""), "{stdout}");
    assert!(stdout.contains("under a budget of 2000"), "{stdout}");
}
