//! `classify`: labels the step's data with one of a set of classes: from
//! `params.labels`, or from the instruction ("Classify the churn risk as low,
//! medium or high"). The model answers through a schema whose `label` is one
//! of the classes; without classes it names a short label itself.
//!
//! Params (settings; every other param is data to classify):
//! - `labels`: the classes, `["low", "medium", "high"]`, or
//!   `{"billing": "invoices, refunds, charges", ...}` with what each covers.
//!
//! Output: `{"label", "confidence": 0..1, "rationale", "labels": [...]}`.

mod ops;

use handler_kit::model::{Ask, ask};
use handler_kit::{HandlerError, HandlerInfo, StepRequest, material, params};

/// Room for a label, a confidence and a two-sentence rationale.
const MAX_OUTPUT_TOKENS: u32 = 250;

struct Classify;

impl handler_kit::Handler for Classify {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "classify".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["classify".into()],
            description: "Labels the step's data with one of the classes the params or the prompt give".into(),
            control_params: vec!["labels".into()],
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let classes = match params.get("labels").filter(|l| !l.is_null()) {
            Some(spec) => ops::classes_from_param(spec)?,
            None => ops::classes_from_prompt(material::instruction(&request).unwrap_or(&request.step.prompt)),
        };
        if material::is_empty(&request) {
            return Err(HandlerError::InvalidInput("the step has no prompt and no data: nothing to classify".into()));
        }
        let (system, schema, task) = ops::request(&classes);
        let answer = ask(Ask::structured(&request, system, &schema, task, MAX_OUTPUT_TOKENS))?;
        Ok(ops::parse_answer(&answer, &classes)?.to_string())
    }
}

handler_kit::export_handler!(Classify);
