//! `enrich`: adds data to records from a lookup source, with no model call;
//! a step that names no lookup key has the model enrich its data as the
//! instruction asks (from the data given, never invented).
//!
//! Params (settings; every other param is data):
//! - `input`: the records: an object (one record) or an array of objects; a
//!   string holding JSON is parsed first. An object without the key that
//!   holds arrays (a `filter` output `{"items": [...]}`) stands for the
//!   records in them; without it, the step's data;
//! - `key`: a JSON pointer to each record's lookup key (a string or a number);
//! - `source`: `database`, the component's own database; or `http`, `crm`,
//!   `webhook`, a plugin (one of the step's `available_plugins`) answering
//!   `GET <plugin_<source>_url>?key=<key>` with a JSON object (404 or `null`:
//!   not found);
//! - `fields`: the fields to copy from the looked-up object (default: all);
//! - `table`: the database table (default `enrichment`), with columns
//!   `key TEXT PRIMARY KEY, data TEXT` holding one JSON object per key.
//!
//! Looked-up fields overwrite the record's fields of the same name. Records
//! whose key is absent or not found are kept unchanged and counted as
//! missing. Output: `{"records": [...], "enriched": n, "missing": m}`; from
//! the model, the enriched JSON it answers.

mod ops;

use handler_kit::model::{Ask, ask_json, data_task};
use handler_kit::workflowpilot::orchestration::database::{self, Value as SqlValue};
use handler_kit::{HandlerError, HandlerInfo, StepRequest, http, material, params, plugin};
use ops::Source;

/// Largest answer accepted for one key's lookup.
const RESPONSE_CAP: usize = 256 * 1024;
const MODEL_MAX_TOKENS: u32 = 2048;

/// Params that are settings; every other param is data.
const CONTROL: [&str; 5] = ["input", "key", "source", "fields", "table"];

struct Enrich;

impl handler_kit::Handler for Enrich {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "enrich".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["enrich".into()],
            description: "Adds fields to records from the component's database or a plugin, without a model call"
                .into(),
            control_params: CONTROL.map(String::from).to_vec(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let given = params::data(&params, "input");
        let key = match params.get("key") {
            Some(key) => params::pointer(key, "params.key")?,
            None => return enrich_with_model(&request, given.as_ref()),
        };
        let Some(input) = given.or_else(|| material::data(&request, &CONTROL).map(|d| d.value)) else {
            return Err(HandlerError::InvalidInput("nothing to enrich: give params.input, or data in the step".into()));
        };
        let (source, table) = (params::optional_str(&params, "source")?, params::optional_str(&params, "table")?);
        let source = Source::parse(source.as_deref(), table.as_deref())?;
        let fields = ops::fields(params::optional_list(&params, "fields").as_ref())?;
        let records = ops::records(input, &key)?;
        let output = match source {
            Source::Database { table } => {
                let statement = ops::lookup_statement(&table);
                ops::enrich(records, &key, fields.as_deref(), |k| {
                    let rows = database::query(&statement, &[SqlValue::Text(k.to_string())])
                        .map_err(|e| ops::database_error(e, &table))?;
                    ops::stored_object(rows, &table, k)
                })?
            }
            Source::Plugin(name) => {
                let url = plugin::url(&name)?;
                ops::enrich(records, &key, fields.as_deref(), |k| {
                    let lookup = url.with_query("key", k);
                    ops::answered_object(http::get(&lookup, RESPONSE_CAP)?, &lookup)
                })?
            }
        };
        Ok(output.to_string())
    }
}

/// No lookup key: the model adds what the instruction asks for to the data.
fn enrich_with_model(request: &StepRequest, input: Option<&serde_json::Value>) -> Result<String, HandlerError> {
    if material::instruction(request).is_none() {
        return Err(HandlerError::InvalidInput(
            "enrich needs a lookup (params.key and params.source) or a prompt that says what to add".into(),
        ));
    }
    let system = "Return the data as JSON with the fields the instruction asks for added, derived from the \
                 data (categories, normalized values, what the text states); null where the data does not \
                 say. Invent nothing.";
    let enriched = ask_json(Ask::json(request, system, data_task(input), MODEL_MAX_TOKENS))?;
    Ok(enriched.to_string())
}

handler_kit::export_handler!(Enrich);
