//! `conditional`: decides which branch of a workflow runs. A structured
//! condition is evaluated locally; otherwise the model answers the question
//! the step asks (its prompt, or `params.question`) about the step's data.
//!
//! Params (settings; every other param is data the question is about):
//! - `input`: the value a condition reads (a string holding JSON is parsed
//!   first); without it, the step's data;
//! - `condition`: `{"field": "/json/pointer", "op": ..., "value": ...}`, with
//!   `filter`'s operators; or
//! - `question`: a yes/no question for the model (default: the prompt);
//! - `then`, `else`: the step ids of each branch (a step in both runs either
//!   way); one id, or ids separated by commas, stand for a list;
//! - `branches`: instead of a yes/no question, `{"name": [step ids], ...}`:
//!   the model picks one branch by name.
//!
//! A condition it cannot read (a sentence such as `"amount over 500"`) is
//! asked of the model as the question, never refused.
//!
//! Output: `{"result": bool, "branch": "then"|"else", "skip": [ids of the
//! branch not taken], "reason": "..."}`, or with `branches` `{"branch": name,
//! "skip": [...], "reason"}`; the workflow runner skips `skip`.

mod ops;

use handler_kit::compare::Condition;
use handler_kit::model::{Ask, ask};
use handler_kit::{HandlerError, HandlerInfo, StepRequest, material, params};

/// Room for a boolean or a branch name and a one-sentence reason.
const MAX_OUTPUT_TOKENS: u32 = 200;

/// Params that are settings; every other param is data.
const CONTROL: [&str; 6] = ["input", "condition", "question", "then", "else", "branches"];

struct Conditional;

impl handler_kit::Handler for Conditional {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "conditional".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["conditional".into()],
            description: "Chooses a workflow branch from a condition, or from a question to the model".into(),
            control_params: CONTROL.map(String::from).to_vec(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let input = params::data(&params, "input");
        let then = ops::step_ids(params.get("then"), "then")?;
        let otherwise = ops::step_ids(params.get("else"), "else")?;
        let branches = ops::named_branches(params.get("branches"))?;
        // A condition it cannot read (a sentence, another shape) is the question for the model.
        let spec = params.get("condition").filter(|c| !c.is_null());
        let condition = spec.and_then(|spec| Condition::parse(spec, "params.condition").ok());
        let question = params::optional_text(&params, "question")
            .or_else(|| spec.filter(|_| condition.is_none()).map(params::text_of).filter(|q| !q.trim().is_empty()));
        let question = question.as_deref();
        if let Some(condition) = condition {
            if question.is_some() || branches.is_some() {
                return Err(HandlerError::InvalidInput(
                    "give params.condition, or a question (params.question, params.branches), not both".into(),
                ));
            }
            let input = input.or_else(|| material::data(&request, &CONTROL).map(|d| d.value)).ok_or_else(|| {
                HandlerError::InvalidInput(
                    "params.condition needs data to read: params.input, or the step's data".into(),
                )
            })?;
            let (result, reason) = ops::evaluate(&condition, &input)?;
            return Ok(ops::outcome(result, &reason, then, otherwise).to_string());
        }
        if question.is_none() && material::instruction(&request).is_none() {
            return Err(HandlerError::InvalidInput(
                "conditional needs a question: params.condition, params.question, or a prompt that asks it".into(),
            ));
        }
        let ask_model = |system: String, schema: serde_json::Value, task: String| {
            ask(Ask::structured(&request, system, &schema, task, MAX_OUTPUT_TOKENS))
        };
        let output = match branches {
            Some(branches) => {
                let names: Vec<String> = branches.iter().map(|(n, _)| n.clone()).collect();
                let (system, schema, task) = ops::branch_request(question, input.as_ref(), &names);
                let (chosen, reason) = ops::parse_branch(&ask_model(system, schema, task)?, &names)?;
                ops::branch_outcome(&chosen, &reason, &branches)
            }
            None => {
                let (system, schema, task) = ops::question_request(question, input.as_ref());
                let (result, reason) = ops::parse_answer(&ask_model(system, schema, task)?)?;
                ops::outcome(result, &reason, then, otherwise)
            }
        };
        Ok(output.to_string())
    }
}

handler_kit::export_handler!(Conditional);
