//! Other hosts: the shipped components run outside `pilot`. The Rust path is
//! `host-runner/examples/embed.rs` (compiled by `cargo test`); the Python
//! one, `examples/embed-python/run_handler.py`, runs here on wasmtime-py, and
//! the JavaScript one, `examples/embed-js/`, on Node through jco.

use integration_tests::{components, missing_tool, repo};
use serde_json::Value;
use std::process::Command;

#[test]
fn wasmtime_py_runs_a_shipped_handler_with_its_imports_in_python() {
    let python = repo().join("target/python-venv/bin/python");
    let summarize = components().join("handlers/summarize.wasm");
    let has_wasmtime_py = python.is_file()
        && Command::new(&python).args(["-c", "import wasmtime.component"]).status().is_ok_and(|s| s.success());
    if !has_wasmtime_py {
        assert!(
            !python.is_file(),
            "target/python-venv exists without wasmtime-py: run scripts/build-python-handlers.sh"
        );
        missing_tool("wasmtime-py could not be installed from PyPI");
        return;
    }
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
