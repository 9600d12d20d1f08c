//! `aggregate`: groups, counts, sums and merges records or prior outputs.
//! Structured operations make no model call; merging text asks the model once.
//!
//! Params:
//! - `input`: an array of records, or an object holding them (its arrays
//!   concatenated, e.g. a `filter` output; or, without arrays, its objects,
//!   e.g. outputs keyed by step); a string holding JSON is parsed first,
//!   other strings are text to merge;
//! - `operations`: `{"out_name": {"op": "sum"|"count"|"avg"|"min"|"max"|"concat"|
//!   "distinct", "field": "/json/pointer"}}`; numeric strings (`"1,234.50"`,
//!   `"$12"`) count as numbers, nulls are skipped, `count` without `field`
//!   counts records, `concat` takes an optional `separator` to join text;
//! - `group_by`: a JSON pointer; results are then per group, sorted by key;
//! - `instruction`: how to merge, when the model merges.
//!
//! Output: `{...results}`; with `group_by`, `[{"group": key, ...results}]`.
//! Without `operations`, text input (or any input with `instruction`) is
//! merged by the model: `{"merged": text}`.

mod ops;

use handler_kit::model::{ask, Ask};
use handler_kit::workflowpilot::orchestration::llm::ResponseFormat;
use handler_kit::{params, HandlerError, HandlerInfo, StepRequest};
use serde_json::{json, Value};

const MERGE_MAX_TOKENS: u32 = 1024;
/// Merging should stay close to the sources.
const MERGE_TEMPERATURE: f32 = 0.3;

struct Aggregate;

impl handler_kit::Handler for Aggregate {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "aggregate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["aggregate".into()],
            description: "Groups, counts, sums and merges records; the model only merges text".into(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let input = params::data(&params, "input")
            .ok_or_else(|| HandlerError::InvalidInput("params.input is required for aggregate".into()))?;
        let group_by = match params.get("group_by") {
            None | Some(Value::Null) => None,
            Some(pointer) => Some(params::pointer(pointer, "params.group_by")?),
        };
        let instruction = params::optional_str(&params, "instruction")?
            .map(str::trim)
            .filter(|i| !i.is_empty());
        let Some(specs) = params::optional_object(&params, "operations")? else {
            if !input.is_string() && instruction.is_none() {
                return Err(HandlerError::InvalidInput(
                    "params.operations is required to aggregate JSON \
                     (or give params.instruction to merge it with the model)"
                        .into(),
                ));
            }
            return merge(&request, instruction, &input);
        };
        let operations = ops::parse_operations(specs, group_by.is_some())?;
        let records = params::records(input, "input")?;
        let output = match group_by {
            Some(pointer) => Value::Array(ops::aggregate_by(&records, &pointer, &operations)?),
            None => Value::Object(ops::aggregate(&records, &operations)?),
        };
        Ok(output.to_string())
    }
}

/// Merges the input with one text call.
fn merge(request: &StepRequest, instruction: Option<&str>, input: &Value) -> Result<String, HandlerError> {
    let (system, user) = ops::merge_prompt(&request.step.prompt, instruction, input);
    let answer = ask(Ask {
        system,
        user,
        max_tokens: MERGE_MAX_TOKENS,
        temperature: MERGE_TEMPERATURE,
        format: ResponseFormat::Text,
        request,
    })?;
    let merged = answer.trim();
    if merged.is_empty() {
        return Err(HandlerError::InvalidOutput(
            "the model answered with nothing merged".into(),
        ));
    }
    Ok(json!({ "merged": merged }).to_string())
}

handler_kit::export_handler!(Aggregate);
