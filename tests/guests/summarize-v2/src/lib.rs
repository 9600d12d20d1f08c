//! Test guest: a second version of `summarize` (0.2.0) that marks its output,
//! so hot-swap tests can tell which version served a step.

use handler_kit::model::{Ask, ask};
use handler_kit::workflowpilot::orchestration::llm::ResponseFormat;
use handler_kit::{HandlerError, HandlerInfo, StepRequest};

struct SummarizeV2;

impl handler_kit::Handler for SummarizeV2 {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "summarize".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["summarize".into()],
            description: "Test guest: summarize, version 2".into(),
            control_params: vec![],
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let summary = ask(Ask {
            system: "Summarize in one sentence.".into(),
            task: String::new(),
            shown_in_task: vec![],
            max_tokens: 64,
            temperature: 0.0,
            format: ResponseFormat::Text,
            request: &request,
        })?;
        Ok(serde_json::json!({ "summary": summary, "version": env!("CARGO_PKG_VERSION") }).to_string())
    }
}

handler_kit::export_handler!(SummarizeV2);
