//! What every intent handler component shares: the `intent-handler` world's
//! bindings, the export macro, and helpers for the common chores (reading
//! params, comparing JSON values, asking the model for text or JSON, building
//! prompts with memory, calling a step's plugins over HTTP).

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
pub mod model;
pub mod params;
pub mod plugin;

pub use exports::workflowpilot::orchestration::handler::{Guest as Handler, HandlerInfo};
pub use workflowpilot::orchestration::types::{HandlerError, LlmFailure, StepRequest};
