//! `conditional`: decides which branch of a workflow runs. A structured
//! condition is evaluated locally; a question in words goes to the model.
//!
//! Params:
//! - `input`: the value the condition reads (a string holding JSON is parsed first);
//! - `condition`: `{"field": "/json/pointer", "op": ..., "value": ...}`, with
//!   `filter`'s operators; or
//! - `question`: a yes/no question about the step and `input`, for the model;
//! - `then`, `else`: the step ids of each branch (a step in both runs either way).
//!
//! Output: `{"result": bool, "branch": "then"|"else", "skip": [ids of the
//! branch not taken], "reason": "..."}`; the workflow runner skips `skip`.

mod ops;

use handler_kit::compare::Condition;
use handler_kit::model::{ask, Ask};
use handler_kit::workflowpilot::orchestration::llm::ResponseFormat;
use handler_kit::{params, HandlerError, HandlerInfo, StepRequest};

/// Room for a boolean and a one-sentence reason.
const MAX_OUTPUT_TOKENS: u32 = 200;

struct Conditional;

impl handler_kit::Handler for Conditional {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "conditional".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["conditional".into()],
            description: "Chooses a workflow branch from a condition, or from a yes/no question to the model".into(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let input = params::data(&params, "input");
        let then = ops::step_ids(params::optional_array(&params, "then")?, "then")?;
        let otherwise = ops::step_ids(params::optional_array(&params, "else")?, "else")?;
        let question = params::optional_str(&params, "question")?
            .map(str::trim)
            .filter(|q| !q.is_empty());
        let (result, reason) = match (params.get("condition").filter(|c| !c.is_null()), question) {
            (Some(_), Some(_)) => {
                return Err(HandlerError::InvalidInput(
                    "give params.condition or params.question, not both".into(),
                ))
            }
            (Some(spec), None) => {
                let condition = Condition::parse(spec, "params.condition")?;
                let input = input.ok_or_else(|| {
                    HandlerError::InvalidInput("params.input is required to evaluate params.condition".into())
                })?;
                ops::evaluate(&condition, &input)?
            }
            (None, Some(question)) => {
                let (system, user) = ops::question_prompt(&request.step.prompt, question, input.as_ref());
                let answer = ask(Ask {
                    system,
                    user,
                    max_tokens: MAX_OUTPUT_TOKENS,
                    temperature: 0.0,
                    format: ResponseFormat::Json,
                    request: &request,
                })?;
                ops::parse_answer(&answer)?
            }
            (None, None) => {
                return Err(HandlerError::InvalidInput(
                    "params.condition or params.question is required for conditional".into(),
                ))
            }
        };
        Ok(ops::outcome(result, &reason, then, otherwise).to_string())
    }
}

handler_kit::export_handler!(Conditional);
