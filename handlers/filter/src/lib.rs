//! `filter`: keeps the items of a list that meet criteria; the model is asked
//! only for criteria that need judgment.
//!
//! Params:
//! - `input`: the items: an array, or an object holding one (its arrays
//!   concatenated, e.g. an extraction's `{"quotes": [...]}`); a string holding
//!   JSON is parsed first, other text gives one item per non-empty line;
//! - `where`: `[{"field": "/json/pointer", "op": "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|
//!   "contains"|"in"|"exists"|"not_exists", "value": ...}]`, checked locally;
//! - `match`: `all` (default) or `any` of the `where` clauses;
//! - `criteria`: fuzzy criteria in words, judged by the model in one call.
//!
//! With both, `where` runs first and the model judges only the items left.
//! Output: `{"items": [...kept], "kept": n, "dropped": m}`.

mod ops;

use handler_kit::model::{ask, Ask};
use handler_kit::workflowpilot::orchestration::llm::ResponseFormat;
use handler_kit::{params, HandlerError, HandlerInfo, StepRequest};
use ops::Match;
use serde_json::{json, Value};

/// Room for the `{"keep": [...]}` wrapper, then a few tokens per listed index.
const BASE_OUTPUT_TOKENS: u32 = 32;
const TOKENS_PER_ITEM: u32 = 4;

struct Filter;

impl handler_kit::Handler for Filter {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "filter".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["filter".into()],
            description: "Keeps the items that meet criteria; the model only judges fuzzy criteria".into(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let items = match params::data(&params, "input") {
            Some(input) => ops::items(input)?,
            None => return Err(HandlerError::InvalidInput("params.input is required for filter".into())),
        };
        let conditions = params::optional_array(&params, "where")?
            .map(|w| ops::parse_where(w))
            .transpose()?;
        let criteria = params::optional_str(&params, "criteria")?
            .map(str::trim)
            .filter(|c| !c.is_empty());
        if conditions.is_none() && criteria.is_none() {
            return Err(HandlerError::InvalidInput(
                "params.where or params.criteria is required for filter".into(),
            ));
        }
        let mode = Match::parse(params::optional_str(&params, "match")?)?;

        let mut kept: Vec<&Value> = items
            .iter()
            .filter(|item| conditions.as_ref().is_none_or(|c| ops::passes(item, c, mode)))
            .collect();
        if let Some(criteria) = criteria.filter(|_| !kept.is_empty()) {
            let (system, user) = ops::criteria_prompt(&request.step.prompt, criteria, &kept);
            let answer = ask(Ask {
                system,
                user,
                max_tokens: BASE_OUTPUT_TOKENS + TOKENS_PER_ITEM * kept.len() as u32,
                temperature: 0.0,
                format: ResponseFormat::Json,
                request: &request,
            })?;
            kept = ops::parse_keep(&answer, kept.len())?
                .into_iter()
                .map(|i| kept[i])
                .collect();
        }
        Ok(json!({ "items": kept, "kept": kept.len(), "dropped": items.len() - kept.len() }).to_string())
    }
}

handler_kit::export_handler!(Filter);
