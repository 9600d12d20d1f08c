//! `filter`: keeps the items of a list that meet criteria; the model is asked
//! only for criteria that need judgment: `params.criteria`, or the
//! instruction when there are no structured `where` clauses.
//!
//! Params (settings; every other param is data):
//! - `input`: the items: an array, or an object holding one (its arrays
//!   concatenated, e.g. an extraction's `{"quotes": [...]}`); a string holding
//!   JSON is parsed first, other text gives one item per non-empty line;
//!   without it, the step's data;
//! - `where`: `[{"field": "/json/pointer", "op": "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|
//!   "contains"|"in"|"exists"|"not_exists", "value": ...}]`, checked locally;
//! - `match`: `all` (default) or `any` of the `where` clauses;
//! - `criteria`: fuzzy criteria in words, judged by the model in one call
//!   (a list of phrases or an object of `field: condition` is read as words).
//!
//! With both, `where` runs first and the model judges only the items left. A
//! `where` in another shape (a sentence, a clause it cannot read) is never
//! refused: what it cannot check itself joins the criteria for the model.
//! Output: `{"items": [...kept], "kept": n, "dropped": m}`.

mod ops;

use handler_kit::model::{Ask, ask};
use handler_kit::{HandlerError, HandlerInfo, StepRequest, material, params};
use ops::Match;
use serde_json::{Value, json};

/// Room for the `{"keep": [...]}` wrapper, then a few tokens per listed index.
const BASE_OUTPUT_TOKENS: u32 = 32;
const TOKENS_PER_ITEM: u32 = 4;

/// Params that are settings; every other param is data.
const CONTROL: [&str; 4] = ["input", "where", "match", "criteria"];

struct Filter;

impl handler_kit::Handler for Filter {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "filter".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["filter".into()],
            description: "Keeps the items that meet criteria; the model only judges fuzzy criteria".into(),
            control_params: CONTROL.map(String::from).to_vec(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        // Items from the material are listed by number in the task, so their
        // piece is not sent twice (only when it is the step's one data piece).
        let (items, listed_piece) = match params::data(&params, "input") {
            Some(input) => (ops::items(input)?, vec![]),
            None => match material::data(&request, &CONTROL) {
                Some(data) => {
                    // Pieces are hidden from the material only when the numbered items carry all of them.
                    let listed = if ops::items_cover(&data.value) { data.pieces.clone() } else { vec![] };
                    (ops::items_of_data(data.value), listed)
                }
                None => {
                    return Err(HandlerError::InvalidInput(
                        "nothing to filter: give params.input, or data in the step".into(),
                    ));
                }
            },
        };
        // Clauses it can check here; anything else said in `where` joins the criteria the model judges.
        let (conditions, unparsed) = ops::lenient_where(params.get("where"));
        let criteria = [params::optional_text(&params, "criteria"), unparsed].into_iter().flatten().collect::<Vec<_>>();
        let criteria = (!criteria.is_empty()).then(|| criteria.join("; "));
        let criteria = criteria.as_deref();
        let by_model = criteria.is_some() || conditions.is_none();
        if by_model && criteria.is_none() && material::instruction(&request).is_none() {
            return Err(HandlerError::InvalidInput(
                "filter needs criteria: params.where, params.criteria, or a prompt that states them".into(),
            ));
        }
        let mode = Match::parse(params::optional_str(&params, "match")?.as_deref())?;

        let mut kept: Vec<&Value> =
            items.iter().filter(|item| conditions.as_ref().is_none_or(|c| ops::passes(item, c, mode))).collect();
        if by_model && !kept.is_empty() {
            let (system, schema, task) = ops::criteria_request(criteria, &kept);
            let max_tokens = BASE_OUTPUT_TOKENS + TOKENS_PER_ITEM * kept.len() as u32;
            let answer = ask(Ask {
                shown_in_task: listed_piece,
                ..Ask::structured(&request, system, &schema, task, max_tokens)
            })?;
            kept = ops::parse_keep(&answer, kept.len())?.into_iter().map(|i| kept[i]).collect();
        }
        Ok(json!({ "items": kept, "kept": kept.len(), "dropped": items.len() - kept.len() }).to_string())
    }
}

handler_kit::export_handler!(Filter);
