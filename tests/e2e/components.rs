//! Every built component is a valid WASI 0.2 component of its world.

use integration_tests::{components, python_handler, repo};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

fn validate(path: &std::path::Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    assert!(wasmparser::Parser::is_component(&bytes), "{} is not a component", path.display());
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&bytes)
        .unwrap_or_else(|e| panic!("{} does not validate: {e}", path.display()));
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).unwrap();
    let component = Component::new(&engine, &bytes).unwrap();
    component.component_type().exports(&engine).map(|(name, _)| name.to_string()).collect()
}

#[test]
fn handlers_export_the_handler_interface() {
    let dir = components().join("handlers");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "wasm") {
            continue; // manifests ship beside their components
        }
        let exports = validate(&path);
        assert_eq!(exports, ["workflowpilot:orchestration/handler@0.1.0"], "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 3, "expected at least three handlers in {}", dir.display());
}

#[test]
fn the_orchestrator_exports_the_orchestrator_interface() {
    let exports = validate(&components().join("orchestrator.wasm"));
    assert_eq!(exports, ["workflowpilot:orchestration/orchestrator@0.1.0"]);
}

/// Every shipped component imports no more than its world declares (with
/// semver-compatible WASI versions matched), so a host that links exactly
/// the world runs it: `wasm-tools component targets wit/ --world W X.wasm`.
#[test]
fn every_component_targets_exactly_its_world() {
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve.push_dir(repo().join("wit")).unwrap();
    let world = |name: &str| resolve.select_world(&[package], Some(name)).unwrap();
    let mut checked = vec![(components().join("orchestrator.wasm"), "orchestrator-core")];
    for entry in std::fs::read_dir(components().join("handlers")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wasm") {
            checked.push((path, "intent-handler"));
        }
    }
    checked.extend(python_handler("sentiment").map(|path| (path, "intent-handler-full-wasi")));
    let failures: Vec<String> = checked
        .iter()
        .filter_map(|(path, name)| {
            let bytes = std::fs::read(path).unwrap();
            wit_component::targets(&resolve, world(name), &bytes, true)
                .err()
                .map(|e| format!("{} does not target {name}: {e:#}", path.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
