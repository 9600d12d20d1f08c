//! Which steps a step waits for when independent steps run at once: its
//! `depends_on`, and any earlier step whose params name it (a `conditional`
//! lists the steps of its branches there, and may skip them, so they must
//! not start before it has decided).

use super::workflow::Workflow;
use serde_json::Value;
use std::collections::HashMap;

/// For each step (by index), the indices of the steps it waits for.
pub fn waits(workflow: &Workflow) -> Vec<Vec<usize>> {
    let index: HashMap<&str, usize> = workflow.steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut waits: Vec<Vec<usize>> = workflow
        .steps
        .iter()
        .map(|s| s.depends_on.iter().filter_map(|d| index.get(d.as_str()).copied()).collect())
        .collect();
    // Only steps earlier in the execution order can gate later ones: no cycles.
    let order = workflow.execution_order();
    for (position, &gate) in order.iter().enumerate() {
        let mut named = vec![];
        strings(&workflow.steps[gate].params, &mut named);
        for id in named {
            if let Some(&target) = index.get(id)
                && order[position + 1..].contains(&target)
                && !waits[target].contains(&gate)
            {
                waits[target].push(gate);
            }
        }
    }
    waits
}

fn strings<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn branch_steps_wait_for_the_step_that_names_them() {
        let workflow = Workflow::parse(
            &json!({
                "id": "w", "agent_id": "a", "user_id": "u",
                "steps": [
                    {"id": "check", "prompt": "Is it over budget?", "intent": "conditional",
                     "params": {"then": ["approve"], "else": "reject"}},
                    {"id": "approve", "prompt": "Approve it."},
                    {"id": "reject", "prompt": "Reject it."},
                    {"id": "log", "prompt": "Log it."}
                ]
            })
            .to_string(),
            "test.json",
        )
        .unwrap();
        let waits = waits(&workflow);
        assert_eq!(waits, vec![vec![], vec![0], vec![0], vec![]]);
    }
}
