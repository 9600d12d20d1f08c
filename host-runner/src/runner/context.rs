//! What a step reads: its WIT form, the variables of the normal path, the
//! part of them an orchestrated step sees, and the params not already sent.

use super::workflow::{StepSpec, Workflow};
use crate::bindings::types::WorkflowStep;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

pub fn wit_step(spec: &StepSpec) -> WorkflowStep {
    WorkflowStep {
        id: spec.id.clone(),
        name: spec.display_name().to_string(),
        prompt: spec.prompt.clone(),
        intent: spec.intent.clone(),
        params: spec.params.to_string(),
        depends_on: spec.depends_on.clone(),
        critical: spec.critical,
    }
}

/// The params whose value is not already in the prompt or the context (a
/// template copied it there), so the normal path sends each value once; by
/// the orchestrator's own rule (`orchestration::material::carrier_of`).
pub fn params_not_in(params: &Value, prompt: &str, context: &Value) -> Map<String, Value> {
    let mut carriers: Vec<(&str, String)> = vec![("prompt", prompt.to_string())];
    orchestration::material::collect_texts("context", context, &mut carriers);
    let Some(params) = params.as_object() else { return Map::new() };
    params
        .iter()
        .filter(|(_, value)| orchestration::material::carrier_of(value, &carriers).is_none())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The variables of the normal path: the workflow inputs and the step's
/// dependencies' outputs.
pub fn step_context(workflow: &Workflow, spec: &StepSpec, outputs: &HashMap<String, Value>) -> Value {
    let steps: Map<String, Value> =
        spec.depends_on.iter().filter_map(|dep| outputs.get(dep).map(|o| (dep.clone(), o.clone()))).collect();
    json!({ "inputs": workflow.inputs, "steps": steps })
}

/// What the orchestrated step reads of `context`: its dependencies' outputs,
/// and the inputs its templates name; every input when it has no template
/// at all (it has not said what it reads).
pub fn visible_context(spec: &StepSpec, context: &Value) -> Value {
    let Some(named) = spec.referenced_inputs() else {
        return context.clone();
    };
    let inputs: Map<String, Value> = context["inputs"]
        .as_object()
        .map(|all| all.iter().filter(|(key, _)| named.contains(*key)).map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    json!({ "inputs": inputs, "steps": context["steps"] })
}

/// The step ids a conditional handler's output says to skip (`{"skip": [...]}`).
pub fn branch_not_taken(output: &Value) -> Vec<String> {
    output["skip"].as_array().map_or(vec![], |ids| ids.iter().filter_map(|v| v.as_str().map(String::from)).collect())
}
