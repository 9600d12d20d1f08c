//! `validate`: checks data against rules and a schema. Structured checks run
//! locally; rules that need judgment go to the model, all in one call; a
//! step with no structured rules has the model check its data against the
//! rules its instruction states.
//!
//! Params (settings; every other param is data to check):
//! - `data`: the data, any JSON value (a string holding JSON is parsed
//!   first); without it, the step's data;
//! - `rules`: `[{"field": "/json/pointer", "check": "required"|"type"|"min"|"max"|
//!   "min_length"|"max_length"|"pattern"|"one_of"|"judgment", "value": ...,
//!   "message": optional}]`; a `judgment` rule's value is the question for
//!   the model, and its field (optional) points the model at part of the data;
//!   a `pattern` is a regular expression in `regex-lite` syntax (Rust regex
//!   without Unicode classes: `\d`, `\w`, `\s` and case folding are ASCII),
//!   chosen to keep the component small (423 KB instead of 923 KB with `regex`);
//!   rules in other shapes are never refused: one rule without its list, a
//!   sentence, or `{"field": "rule in words"}`; what it cannot check itself
//!   becomes a judgment for the model;
//! - `schema`: a JSON Schema subset (`type`, `properties`, `required`, `items`, `enum`).
//!
//! Output: `{"valid": bool, "errors": [{"field", "check", "message"}]}` (only
//! what later steps read: the output travels into their model calls).

mod ops;

use handler_kit::model::{Ask, ask};
use handler_kit::{HandlerError, HandlerInfo, StepRequest, material, params};
use ops::{Check, Failure};
use serde_json::{Value, json};

/// Room for the `{"results": [...]}` wrapper, then one verdict with a short reason per rule.
const BASE_OUTPUT_TOKENS: u32 = 32;
const TOKENS_PER_JUDGMENT: u32 = 80;
/// Room for a verdict on the instruction's rules with a few violations.
const VERDICT_MAX_TOKENS: u32 = 600;

/// Params that are settings; every other param is data.
const CONTROL: [&str; 3] = ["data", "rules", "schema"];

struct Validate;

impl handler_kit::Handler for Validate {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "validate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["validate".into()],
            description: "Checks data against rules and a schema; the model only judges rules that need judgment"
                .into(),
            control_params: CONTROL.map(String::from).to_vec(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let given = params::data(&params, "data");
        let rules = ops::lenient_rules(params.get("rules"));
        let schema = match params.get("schema") {
            None | Some(Value::Null) => None,
            Some(schema @ Value::Object(_)) => Some(schema),
            Some(other) => {
                return Err(HandlerError::InvalidInput(format!(
                    "params.schema must be a JSON Schema object, got {}",
                    params::kind(other)
                )));
            }
        };
        if rules.is_empty() && schema.is_none() {
            return check_by_instruction(&request, given.as_ref());
        }
        let data = given.clone().or_else(|| material::data(&request, &CONTROL).map(|d| d.value)).ok_or_else(|| {
            HandlerError::InvalidInput("nothing to validate: give params.data, or data in the step".into())
        })?;

        let mut failures: Vec<(usize, Failure)> =
            rules.iter().enumerate().filter_map(|(i, rule)| ops::check(rule, &data).map(|f| (i, f))).collect();
        let judgments: Vec<(usize, &ops::Rule)> =
            rules.iter().enumerate().filter(|(_, rule)| matches!(rule.check, Check::Judgment(_))).collect();
        if !judgments.is_empty() {
            let (system, schema, task) = ops::judgment_request(given.as_ref(), &judgments);
            let max_tokens = BASE_OUTPUT_TOKENS + TOKENS_PER_JUDGMENT * judgments.len() as u32;
            let answer = ask(Ask::structured(&request, system, &schema, task, max_tokens))?;
            let asked: Vec<usize> = judgments.iter().map(|(i, _)| *i).collect();
            for ((i, rule), (pass, reason)) in judgments.iter().zip(ops::parse_judgments(&answer, &asked)?) {
                if !pass {
                    failures.push((*i, ops::judgment_failure(rule, &reason)));
                }
            }
            // Errors are listed in rule order, whoever checked them.
            failures.sort_by_key(|(i, _)| *i);
        }
        let mut errors: Vec<Value> = failures.iter().map(|(_, f)| f.to_json()).collect();
        if let Some(schema) = schema {
            errors.extend(ops::schema_failures(&data, schema).iter().map(Failure::to_json));
        }
        Ok(json!({
            "valid": errors.is_empty(),
            "errors": errors,
        })
        .to_string())
    }
}

/// No structured rules: the model checks the data against the rules the
/// instruction states, in one call.
fn check_by_instruction(request: &StepRequest, data: Option<&Value>) -> Result<String, HandlerError> {
    if material::instruction(request).is_none() {
        return Err(HandlerError::InvalidInput(
            "validate needs rules: params.rules, params.schema, or a prompt that states them".into(),
        ));
    }
    let (system, schema, task) = ops::instruction_request(data);
    let answer = ask(Ask::structured(request, system, &schema, task, VERDICT_MAX_TOKENS))?;
    let errors = ops::parse_verdict(&answer)?;
    Ok(json!({ "valid": errors.is_empty(), "errors": errors }).to_string())
}

handler_kit::export_handler!(Validate);
