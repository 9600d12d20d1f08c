//! What every intent handler component shares: the `intent-handler` world's
//! bindings, the export macro, and helpers for the common chores (reading
//! params, comparing JSON values, rendering the step's material and asking
//! the model with it, calling a step's plugins over HTTP).

wit_bindgen::generate!({
    path: "../../wit",
    world: "workflowpilot:orchestration/intent-handler",
    pub_export_macro: true,
    export_macro_name: "export_handler",
    default_bindings_module: "handler_kit",
    generate_all,
});

pub mod compare;
pub mod http;
pub mod json;
pub mod material;
pub mod model;
pub mod params;
pub mod plugin;

pub use exports::workflowpilot::orchestration::handler::{Guest as Handler, HandlerInfo};
pub use workflowpilot::orchestration::types::{HandlerError, LlmFailure, StepRequest};

#[cfg(test)]
mod test_support {
    use crate::StepRequest;
    use crate::workflowpilot::orchestration::types::{MaterialFormat, MaterialPiece, MaterialSource, WorkflowStep};

    /// A request whose material is `pieces` (name, source, format, content).
    pub fn request_with(pieces: &[(&str, MaterialSource, MaterialFormat, &str)]) -> StepRequest {
        StepRequest {
            workflow_id: "wf".into(),
            step: WorkflowStep {
                id: "s".into(),
                name: "Step".into(),
                prompt: String::new(),
                intent: None,
                params: "{}".into(),
                depends_on: vec![],
                critical: false,
            },
            intent: "test".into(),
            params: "{}".into(),
            context: "{}".into(),
            memory_context: "null".into(),
            material: pieces
                .iter()
                .map(|(name, source, format, content)| MaterialPiece {
                    name: name.to_string(),
                    source: *source,
                    format: *format,
                    content: content.to_string(),
                    tokens: 0,
                    original_tokens: 0,
                    compressed: false,
                })
                .collect(),
            available_plugins: vec![],
            routed_model: "m".into(),
            token_budget: 1000,
        }
    }
}
