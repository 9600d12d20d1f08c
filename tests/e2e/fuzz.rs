//! Property tests of the workflow parser and the template resolver: any
//! input gives a value or an error, never a panic; valid workflows always
//! order their steps after their dependencies.

use host_runner::Workflow;
use host_runner::runner::template::{Scope, references};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_parser_never_panics_on_arbitrary_text(text in ".{0,400}") {
        let _ = Workflow::parse(&text, "fuzz");
    }

    #[test]
    fn the_parser_never_panics_on_workflow_shaped_json(
        ids in prop::collection::vec("[a-c]{1,2}", 1..6),
        deps in prop::collection::vec(prop::collection::vec(0usize..6, 0..3), 1..6),
        prompts in prop::collection::vec("(\\{\\{|\\}\\}|input\\.x|steps\\.[a-c]\\.output|[ .a-z]){0,12}", 1..6),
    ) {
        let steps: Vec<Value> = ids.iter().enumerate().map(|(i, id)| json!({
            "id": id,
            "prompt": prompts.get(i).cloned().unwrap_or_default(),
            "depends_on": deps.get(i).map(|d| d.iter().filter_map(|j| ids.get(*j).cloned()).collect::<Vec<_>>()).unwrap_or_default(),
        })).collect();
        let doc = json!({"id": "w", "agent_id": "a", "user_id": "u", "inputs": {"x": "1"}, "steps": steps});
        if let Ok(workflow) = Workflow::parse(&doc.to_string(), "fuzz") {
            let order = workflow.execution_order();
            prop_assert_eq!(order.len(), workflow.steps.len());
            let position: HashMap<&str, usize> =
                order.iter().enumerate().map(|(at, i)| (workflow.steps[*i].id.as_str(), at)).collect();
            for step in &workflow.steps {
                for dep in &step.depends_on {
                    prop_assert!(position[dep.as_str()] < position[step.id.as_str()]);
                }
            }
        }
    }

    #[test]
    fn templates_resolve_or_fail_cleanly(text in "(\\{\\{|\\}\\}|input\\.|steps\\.s\\.output|\\.|[a-z0-9 ]){0,30}") {
        let inputs: Map<String, Value> = json!({"a": {"b": [1, 2]}, "n": 3}).as_object().unwrap().clone();
        let outputs = HashMap::from([("s".to_string(), json!({"x": "y"}))]);
        let scope = Scope { inputs: &inputs, outputs: &outputs };
        let rendered = scope.render(&text);
        if references(&text).is_err() {
            prop_assert!(rendered.is_err());
        }
        if !text.contains("{{") {
            prop_assert_eq!(rendered.unwrap(), text);
        }
    }
}
