//! `enrich`'s logic: its params, the records and their keys, merging what a
//! lookup found, and reading the answers of the database and HTTP sources.

use handler_kit::HandlerError;
use handler_kit::http::{Response, Url};
use handler_kit::params::{self, kind};
use handler_kit::workflowpilot::orchestration::database::{DatabaseError, QueryResult, Value as SqlValue};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

pub const DEFAULT_TABLE: &str = "enrichment";
/// The sources answered by a plugin's URL.
const PLUGIN_SOURCES: [&str; 3] = ["http", "crm", "webhook"];

/// Where looked-up data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A table of the component's own database.
    Database { table: String },
    /// A GET to the plugin's URL.
    Plugin(String),
}

impl Source {
    pub fn parse(source: Option<&str>, table: Option<&str>) -> Result<Source, HandlerError> {
        let invalid = |message: String| HandlerError::InvalidInput(message);
        match (source, table) {
            (Some("database"), table) => Ok(Source::Database { table: table_name(table.unwrap_or(DEFAULT_TABLE))? }),
            (Some(plugin), None) if PLUGIN_SOURCES.contains(&plugin) => Ok(Source::Plugin(plugin.to_string())),
            (Some(plugin), Some(_)) if PLUGIN_SOURCES.contains(&plugin) => {
                Err(invalid(format!("params.table applies to source `database` only, not `{plugin}`")))
            }
            (Some(other), _) => {
                Err(invalid(format!("params.source must be `database`, `http`, `crm` or `webhook`, got `{other}`")))
            }
            (None, _) => {
                Err(invalid("params.source is required for enrich: `database`, `http`, `crm` or `webhook`".into()))
            }
        }
    }
}

/// A table name goes into the SQL text (parameters cannot name tables), so
/// it must be a plain identifier.
fn table_name(name: &str) -> Result<String, HandlerError> {
    let mut chars = name.chars();
    let identifier = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !identifier {
        return Err(HandlerError::InvalidInput(format!(
            "params.table must be an identifier (letters, digits and `_`, not starting with a digit), got `{name}`"
        )));
    }
    Ok(name.to_string())
}

/// The statement that looks one key up.
pub fn lookup_statement(table: &str) -> String {
    format!("SELECT data FROM {table} WHERE key = ?1")
}

/// The fields to copy; `None` copies all.
pub fn fields(list: Option<&Vec<Value>>) -> Result<Option<Vec<String>>, HandlerError> {
    let Some(list) = list else { return Ok(None) };
    if list.is_empty() {
        return Err(HandlerError::InvalidInput(
            "params.fields must name at least one field; leave it out to copy all".into(),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, field)| match field {
            Value::String(name) if !name.is_empty() => Ok(name.clone()),
            other => Err(HandlerError::InvalidInput(format!(
                "params.fields[{i}] must be a field name, got {}",
                if other.is_string() { "an empty string" } else { kind(other) }
            ))),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// The records of `params.input`: an array's objects, or an object as one
/// record. An object without the key that holds arrays (a `filter` output
/// `{"items": [...], "kept": 3}`) stands for the records in them.
pub fn records(input: Value, key: &str) -> Result<Vec<Value>, HandlerError> {
    let records = match input {
        Value::Object(ref fields) if input.pointer(key).is_none() && fields.values().any(Value::is_array) => {
            params::records(input, "input")?
        }
        Value::Object(_) => return Ok(vec![input]),
        Value::Array(items) => items,
        other => {
            return Err(HandlerError::InvalidInput(format!(
                "params.input must be an object or an array of objects, got {}",
                kind(&other)
            )));
        }
    };
    match records.iter().enumerate().find(|(_, r)| !r.is_object()) {
        Some((i, other)) => {
            Err(HandlerError::InvalidInput(format!("params.input[{i}] must be an object, got {}", kind(other))))
        }
        None => Ok(records),
    }
}

/// The lookup key of a record: a string or a number; `None` when it is
/// absent, null or empty.
fn lookup_key(record: &Value, key: &str, index: usize) -> Result<Option<String>, HandlerError> {
    match record.pointer(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(HandlerError::InvalidInput(format!(
            "params.key `{key}` is {} in record {index}; lookup keys are strings or numbers",
            kind(other)
        ))),
    }
}

/// Looks every record's key up and merges what was found; looked-up fields
/// overwrite the record's fields of the same name. Each distinct key is
/// looked up once: records often share one (many orders, one customer).
/// Output: `{"records": [...], "enriched": n, "missing": m}`.
pub fn enrich(
    records: Vec<Value>,
    key: &str,
    fields: Option<&[String]>,
    mut lookup: impl FnMut(&str) -> Result<Option<Map<String, Value>>, HandlerError>,
) -> Result<Value, HandlerError> {
    let mut found: HashMap<String, Option<Map<String, Value>>> = HashMap::new();
    let (mut enriched, mut missing) = (0, 0);
    let mut out = Vec::with_capacity(records.len());
    for (index, mut record) in records.into_iter().enumerate() {
        let data = match lookup_key(&record, key, index)? {
            Some(k) => match found.get(&k) {
                Some(data) => data.clone(),
                None => {
                    let data = lookup(&k)?;
                    found.insert(k, data.clone());
                    data
                }
            },
            None => None,
        };
        match (data, record.as_object_mut()) {
            (Some(data), Some(target)) => {
                for (name, value) in data {
                    if fields.is_none_or(|wanted| wanted.contains(&name)) {
                        target.insert(name, value);
                    }
                }
                enriched += 1;
            }
            _ => missing += 1,
        }
        out.push(record);
    }
    Ok(json!({ "records": out, "enriched": enriched, "missing": missing }))
}

/// The object stored for a key: the `data` column of the first row, JSON
/// text holding an object; no row or a NULL means not found.
pub fn stored_object(result: QueryResult, table: &str, key: &str) -> Result<Option<Map<String, Value>>, HandlerError> {
    let failed = |what: String| HandlerError::Failed(format!("table `{table}`, key `{key}`: {what}"));
    match result.rows.into_iter().next().and_then(|row| row.into_iter().next()) {
        None | Some(SqlValue::Null) => Ok(None),
        Some(SqlValue::Text(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(data)) => Ok(Some(data)),
            Ok(other) => Err(failed(format!("data holds {}, not a JSON object", kind(&other)))),
            Err(e) => Err(failed(format!("data is not JSON: {e}"))),
        },
        Some(_) => Err(failed("data must be TEXT holding a JSON object".into())),
    }
}

/// The typed error of a failed lookup query.
pub fn database_error(error: DatabaseError, table: &str) -> HandlerError {
    match error {
        DatabaseError::AccessDenied(m) => HandlerError::NotPermitted(format!("reading table `{table}`: {m}")),
        DatabaseError::InvalidStatement(m) | DatabaseError::ExecutionFailed(m) => {
            HandlerError::Failed(format!("reading table `{table}` (key TEXT PRIMARY KEY, data TEXT): {m}"))
        }
    }
}

/// The object a plugin answered for a key: 404 or a JSON `null` means not
/// found, any other non-2xx status fails.
pub fn answered_object(response: Response, url: &Url) -> Result<Option<Map<String, Value>>, HandlerError> {
    if response.status == 404 {
        return Ok(None);
    }
    match response.success(url)?.json(url)? {
        Value::Object(data) => Ok(Some(data)),
        Value::Null => Ok(None),
        other => Err(HandlerError::Failed(format!(
            "{} answered {} for a key lookup; expected a JSON object",
            url.authority(),
            kind(&other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_input<T: std::fmt::Debug>(result: Result<T, HandlerError>) -> String {
        match result {
            Err(HandlerError::InvalidInput(message)) => message,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    fn failed<T: std::fmt::Debug>(result: Result<T, HandlerError>) -> String {
        match result {
            Err(HandlerError::Failed(message)) => message,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn sources_and_tables_are_checked() {
        assert_eq!(Source::parse(Some("database"), None).unwrap(), Source::Database { table: "enrichment".into() });
        assert_eq!(
            Source::parse(Some("database"), Some("_people2")).unwrap(),
            Source::Database { table: "_people2".into() }
        );
        assert_eq!(Source::parse(Some("crm"), None).unwrap(), Source::Plugin("crm".into()));
        assert!(
            invalid_input(Source::parse(Some("database"), Some("people; DROP TABLE x")))
                .starts_with("params.table must be an identifier")
        );
        assert!(invalid_input(Source::parse(Some("database"), Some("2x"))).ends_with("got `2x`"));
        assert!(invalid_input(Source::parse(Some("database"), Some(""))).ends_with("got ``"));
        assert_eq!(
            invalid_input(Source::parse(Some("crm"), Some("t"))),
            "params.table applies to source `database` only, not `crm`"
        );
        assert!(invalid_input(Source::parse(Some("ldap"), None)).ends_with("got `ldap`"));
        assert!(invalid_input(Source::parse(None, None)).starts_with("params.source is required"));
        assert_eq!(lookup_statement("enrichment"), "SELECT data FROM enrichment WHERE key = ?1");
    }

    #[test]
    fn fields_are_names() {
        assert_eq!(fields(None).unwrap(), None);
        assert_eq!(fields(Some(&vec![json!("tier")])).unwrap(), Some(vec!["tier".to_string()]));
        assert!(invalid_input(fields(Some(&vec![]))).starts_with("params.fields must name at least one field"));
        assert_eq!(
            invalid_input(fields(Some(&vec![json!("a"), json!(3)]))),
            "params.fields[1] must be a field name, got number"
        );
        assert_eq!(
            invalid_input(fields(Some(&vec![json!("")]))),
            "params.fields[0] must be a field name, got an empty string"
        );
    }

    #[test]
    fn records_are_an_array_an_object_or_the_arrays_an_object_holds() {
        assert_eq!(records(json!([{"id": 1}, {"id": 2}]), "/id").unwrap().len(), 2);
        assert_eq!(records(json!({"id": 1, "lines": [1, 2]}), "/id").unwrap(), vec![json!({"id": 1, "lines": [1, 2]})]);
        let filtered = json!({"items": [{"id": 1}, {"id": 2}], "kept": 2, "dropped": 0});
        assert_eq!(records(filtered, "/id").unwrap(), vec![json!({"id": 1}), json!({"id": 2})]);
        assert_eq!(records(json!({"name": "x"}), "/id").unwrap(), vec![json!({"name": "x"})]);
        assert_eq!(
            invalid_input(records(json!([{"id": 1}, "x"]), "/id")),
            "params.input[1] must be an object, got string"
        );
        assert_eq!(
            invalid_input(records(json!("text"), "/id")),
            "params.input must be an object or an array of objects, got string"
        );
    }

    #[test]
    fn records_are_enriched_once_per_key_and_missing_ones_kept() {
        let input = vec![
            json!({"id": "c1", "total": 5, "tier": "old"}),
            json!({"id": 7}),
            json!({"id": "c1"}),
            json!({"id": "nope"}),
            json!({"other": 1}),
            json!({"id": ""}),
        ];
        let mut asked = Vec::new();
        let output = enrich(input, "/id", None, |k| {
            asked.push(k.to_string());
            Ok(match k {
                "c1" => json!({"tier": "gold", "region": "EU"}).as_object().cloned(),
                "7" => json!({"tier": "silver"}).as_object().cloned(),
                _ => None,
            })
        })
        .unwrap();
        assert_eq!(asked, vec!["c1", "7", "nope"]);
        assert_eq!(
            output,
            json!({
                "records": [
                    {"id": "c1", "total": 5, "tier": "gold", "region": "EU"},
                    {"id": 7, "tier": "silver"},
                    {"id": "c1", "tier": "gold", "region": "EU"},
                    {"id": "nope"},
                    {"other": 1},
                    {"id": ""}
                ],
                "enriched": 3,
                "missing": 3
            })
        );
    }

    #[test]
    fn only_the_listed_fields_are_copied_and_bad_keys_are_named() {
        let wanted = vec!["region".to_string(), "absent".to_string()];
        let output = enrich(vec![json!({"a": {"id": "c1"}})], "/a/id", Some(&wanted), |_| {
            Ok(json!({"tier": "gold", "region": "EU"}).as_object().cloned())
        })
        .unwrap();
        assert_eq!(output["records"], json!([{"a": {"id": "c1"}, "region": "EU"}]));
        let bad = enrich(vec![json!({"id": "x"}), json!({"id": {"n": 1}})], "/id", None, |_| Ok(None));
        assert_eq!(invalid_input(bad), "params.key `/id` is object in record 1; lookup keys are strings or numbers");
        let lookup_failed = enrich(vec![json!({"id": "x"})], "/id", None, |_| Err(HandlerError::Failed("down".into())));
        assert_eq!(failed(lookup_failed), "down");
    }

    #[test]
    fn stored_rows_hold_json_objects() {
        let rows = |value: SqlValue| QueryResult { columns: vec!["data".into()], rows: vec![vec![value]] };
        let text = |t: &str| rows(SqlValue::Text(t.into()));
        assert_eq!(
            stored_object(text(r#"{"team": "core"}"#), "t", "k").unwrap(),
            json!({"team": "core"}).as_object().cloned()
        );
        assert_eq!(stored_object(QueryResult { columns: vec!["data".into()], rows: vec![] }, "t", "k").unwrap(), None);
        assert_eq!(stored_object(rows(SqlValue::Null), "t", "k").unwrap(), None);
        assert_eq!(
            failed(stored_object(text("[1]"), "t", "k")),
            "table `t`, key `k`: data holds array, not a JSON object"
        );
        assert!(failed(stored_object(text("{oops"), "t", "k")).starts_with("table `t`, key `k`: data is not JSON"));
        assert_eq!(
            failed(stored_object(rows(SqlValue::Integer(3)), "t", "k")),
            "table `t`, key `k`: data must be TEXT holding a JSON object"
        );
        assert!(
            matches!(database_error(DatabaseError::AccessDenied("no".into()), "t"), HandlerError::NotPermitted(m) if m == "reading table `t`: no")
        );
        assert!(
            failed::<()>(Err(database_error(DatabaseError::InvalidStatement("no such table: t".into()), "t")))
                .ends_with("no such table: t")
        );
    }

    #[test]
    fn plugin_answers_are_objects_and_404_is_not_found() {
        let url = Url::parse("https://crm.example.com/lookup").unwrap();
        let response =
            |status, body: &str| Response { status, body: body.as_bytes().to_vec(), truncated: false, sent: 0 };
        assert_eq!(
            answered_object(response(200, r#"{"tier": "gold"}"#), &url).unwrap(),
            json!({"tier": "gold"}).as_object().cloned()
        );
        assert_eq!(answered_object(response(404, "not found"), &url).unwrap(), None);
        assert_eq!(answered_object(response(200, "null"), &url).unwrap(), None);
        assert_eq!(
            failed(answered_object(response(200, "[1]"), &url)),
            "crm.example.com answered array for a key lookup; expected a JSON object"
        );
        assert_eq!(failed(answered_object(response(503, "busy"), &url)), "crm.example.com answered HTTP 503: busy");
    }
}
