//! `enrich`: adds data to records from a lookup source, with no model call.
//!
//! Params:
//! - `input`: the records: an object (one record) or an array of objects; a
//!   string holding JSON is parsed first. An object without the key that
//!   holds arrays (a `filter` output `{"items": [...]}`) stands for the
//!   records in them;
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
//! missing. Output: `{"records": [...], "enriched": n, "missing": m}`.

mod ops;

use handler_kit::workflowpilot::orchestration::database::{self, Value as SqlValue};
use handler_kit::{HandlerError, HandlerInfo, StepRequest, http, params, plugin};
use ops::Source;

/// Largest answer accepted for one key's lookup.
const RESPONSE_CAP: usize = 256 * 1024;

struct Enrich;

impl handler_kit::Handler for Enrich {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "enrich".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["enrich".into()],
            description: "Adds fields to records from the component's database or a plugin, without a model call"
                .into(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let Some(input) = params::data(&params, "input") else {
            return Err(HandlerError::InvalidInput("params.input is required for enrich".into()));
        };
        let key = match params.get("key") {
            Some(key) => params::pointer(key, "params.key")?,
            None => {
                return Err(HandlerError::InvalidInput(
                    "params.key is required for enrich: a JSON pointer such as `/customer_id`".into(),
                ));
            }
        };
        let source = Source::parse(
            params::optional_str(&params, "source")?,
            params::optional_str(&params, "table")?,
        )?;
        let fields = ops::fields(params::optional_array(&params, "fields")?)?;
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
                let url = plugin::url(&name, &request.available_plugins)?;
                ops::enrich(records, &key, fields.as_deref(), |k| {
                    let lookup = url.with_query("key", k);
                    ops::answered_object(http::get(&lookup, RESPONSE_CAP)?, &lookup)
                })?
            }
        };
        Ok(output.to_string())
    }
}

handler_kit::export_handler!(Enrich);
