//! `aggregate`: groups, counts, sums and merges records or prior outputs.
//! Structured operations make no model call; anything else (merging text,
//! totals asked for in words) asks the model once, over the step's material.
//!
//! Params (settings; every other param is data to aggregate):
//! - `input`: an array of records, or an object holding them (its arrays
//!   concatenated, e.g. a `filter` output; or, without arrays, its objects,
//!   e.g. outputs keyed by step); a string holding JSON is parsed first,
//!   other strings are text to merge; without it, the step's data;
//! - `operations`: `{"out_name": {"op": "sum"|"count"|"avg"|"min"|"max"|"concat"|
//!   "distinct", "field": "/json/pointer"}}`; numeric strings (`"1,234.50"`,
//!   `"$12"`) count as numbers, nulls are skipped, `count` without `field`
//!   counts records, `concat` takes an optional `separator` to join text;
//! - `group_by`: a field (a JSON pointer, a bare key or a dotted path);
//!   results are then per group, sorted by key;
//! - `instruction`: how to merge, when the model merges.
//!
//! Operations or a grouping in a shape it cannot run itself (words, several
//! fields, an unknown `op`) are never refused: the model is asked, with them
//! and the instruction.
//!
//! Output: `{...results}`; with `group_by`, `[{"group": key, ...results}]`.
//! Without `operations` the model aggregates: `{"merged": text}`.

mod ops;

use handler_kit::model::{Ask, ask};
use handler_kit::workflowpilot::orchestration::llm::ResponseFormat;
use handler_kit::{HandlerError, HandlerInfo, StepRequest, material, params};
use serde_json::{Value, json};

const MERGE_MAX_TOKENS: u32 = 1024;
/// Merging should stay close to the sources.
const MERGE_TEMPERATURE: f32 = 0.3;

/// Params that are settings; every other param is data.
const CONTROL: [&str; 4] = ["input", "operations", "group_by", "instruction"];

struct Aggregate;

impl handler_kit::Handler for Aggregate {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "aggregate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["aggregate".into()],
            description: "Groups, counts, sums and merges records; the model only merges text".into(),
            control_params: CONTROL.map(String::from).to_vec(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let given = params::data(&params, "input");
        let group_by = params.get("group_by").filter(|g| !g.is_null());
        let pointer = group_by.and_then(|g| params::pointer(g, "params.group_by").ok());
        let operations = match params.get("operations") {
            Some(Value::Object(specs)) => ops::parse_operations(specs, pointer.is_some()).ok(),
            _ => None,
        };
        let (Some(operations), true) = (operations, group_by.is_none() || pointer.is_some()) else {
            // Operations or a grouping it cannot run itself are said to the model, with the instruction.
            let said = [
                params::optional_text(&params, "instruction"),
                params::optional_text(&params, "operations").map(|o| format!("Compute: {o}")),
                group_by.map(|g| format!("Group by: {}", params::text_of(g))),
            ];
            let instruction = said.into_iter().flatten().collect::<Vec<_>>().join("\n");
            let instruction = (!instruction.is_empty()).then_some(instruction);
            return merge(&request, instruction.as_deref(), given.as_ref());
        };
        let group_by = pointer;
        let input = given.or_else(|| material::data(&request, &CONTROL).map(|d| d.value)).ok_or_else(|| {
            HandlerError::InvalidInput("nothing to aggregate: give params.input, or data in the step".into())
        })?;
        let records = params::records(input, "input")?;
        let output = match group_by {
            Some(pointer) => Value::Array(ops::aggregate_by(&records, &pointer, &operations)?),
            None => Value::Object(ops::aggregate(&records, &operations)?),
        };
        Ok(output.to_string())
    }
}

/// Aggregates with one text call over the material (and `params.input`).
fn merge(request: &StepRequest, instruction: Option<&str>, input: Option<&Value>) -> Result<String, HandlerError> {
    if input.is_none() && material::is_empty(request) {
        return Err(HandlerError::InvalidInput("nothing to aggregate: the step has no prompt and no data".into()));
    }
    let (system, task) = ops::merge_request(instruction, input);
    let answer = ask(Ask {
        system,
        task,
        shown_in_task: vec![],
        max_tokens: MERGE_MAX_TOKENS,
        temperature: MERGE_TEMPERATURE,
        format: ResponseFormat::Text,
        request,
    })?;
    let merged = answer.trim();
    if merged.is_empty() {
        return Err(HandlerError::InvalidOutput("the model answered with nothing merged".into()));
    }
    Ok(json!({ "merged": merged }).to_string())
}

handler_kit::export_handler!(Aggregate);
