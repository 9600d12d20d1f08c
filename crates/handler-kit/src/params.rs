//! Typed access to a step's JSON params, with errors that name the field.

use crate::HandlerError;
use serde_json::{Map, Value};

/// The step's params as a JSON object (`null` or absent means empty).
pub fn object(params_json: &str) -> Result<Map<String, Value>, HandlerError> {
    match serde_json::from_str::<Value>(params_json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(HandlerError::InvalidInput(format!("params must be a JSON object, got {}", kind(&other)))),
        Err(e) => Err(HandlerError::InvalidInput(format!("params are not valid JSON: {e}"))),
    }
}

/// An optional positive integer param: a number, or a string holding one
/// (`"120"`, `"120 words"`), as people write them.
pub fn optional_u32(params: &Map<String, Value>, key: &str) -> Result<Option<u32>, HandlerError> {
    let positive = |v: f64| (v >= 1.0 && v <= f64::from(u32::MAX)).then(|| v.round() as u32);
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .and_then(positive)
            .map(Some)
            .ok_or_else(|| HandlerError::InvalidInput(format!("params.{key} must be a positive integer, got {n}"))),
        Some(Value::String(text)) => {
            let leading: String = text.trim().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            leading.parse::<f64>().ok().and_then(positive).map(Some).ok_or_else(|| {
                HandlerError::InvalidInput(format!("params.{key} must be a positive integer, got `{text}`"))
            })
        }
        Some(other) => {
            Err(HandlerError::InvalidInput(format!("params.{key} must be a positive integer, got {}", kind(other))))
        }
    }
}

/// An optional string param; a number or boolean is taken as its text.
pub fn optional_str(params: &Map<String, Value>, key: &str) -> Result<Option<String>, HandlerError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(scalar @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(scalar.to_string())),
        Some(other) => Err(HandlerError::InvalidInput(format!("params.{key} must be a string, got {}", kind(other)))),
    }
}

/// An optional free-text param (criteria, a question, an instruction) in
/// whatever shape it came: a string; a list of phrases, joined with `; `; an
/// object, as `key: value` phrases; a number or boolean as its text.
pub fn optional_text(params: &Map<String, Value>, key: &str) -> Option<String> {
    let text = text_of(params.get(key)?);
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// A value as words for the model: see [`optional_text`].
pub fn text_of(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            items.iter().map(text_of).filter(|t| !t.trim().is_empty()).collect::<Vec<_>>().join("; ")
        }
        Value::Object(fields) => {
            fields.iter().map(|(k, v)| format!("{k}: {}", text_of(v))).collect::<Vec<_>>().join("; ")
        }
        scalar => scalar.to_string(),
    }
}

/// An optional list param: an array's items, or a single value as a list of one.
pub fn optional_list(params: &Map<String, Value>, key: &str) -> Option<Vec<Value>> {
    match params.get(key)? {
        Value::Null => None,
        Value::Array(items) => Some(items.clone()),
        single => Some(vec![single.clone()]),
    }
}

/// An optional object param.
pub fn optional_object<'a>(
    params: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, HandlerError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(fields)) => Ok(Some(fields)),
        Some(other) => Err(HandlerError::InvalidInput(format!("params.{key} must be an object, got {}", kind(other)))),
    }
}

/// A JSON pointer (`/status`, `/lines/0/sku`, or `""` for the whole value),
/// also written as people write a field: a bare key (`vendor`) or a dotted
/// path (`customer.email`, `lines[0].sku`). `at` names it in errors
/// (`params.where[0].field`).
pub fn pointer(value: &Value, at: &str) -> Result<String, HandlerError> {
    match value {
        Value::String(p) if p.is_empty() || p.starts_with('/') => Ok(p.clone()),
        Value::String(path) => Ok(dotted_to_pointer(path.trim())),
        other => {
            Err(HandlerError::InvalidInput(format!("{at} must be a field name or JSON pointer, got {}", kind(other))))
        }
    }
}

/// `customer.email` → `/customer/email`, `lines[0].sku` → `/lines/0/sku`
/// (`~` and `/` inside a key escaped as RFC 6901 says).
fn dotted_to_pointer(path: &str) -> String {
    let spaced = path.replace('[', ".").replace(']', "");
    spaced
        .split('.')
        .filter(|segment| !segment.is_empty())
        .map(|segment| format!("/{}", segment.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// A data param (`None` when absent; `null` is data). Templates render a
/// prior step's output into a string when it is embedded in text, so a string
/// holding a JSON object or array is parsed; any other string stays text
/// (`[Draft] ...` is text, not broken JSON).
pub fn data(params: &Map<String, Value>, key: &str) -> Option<Value> {
    match params.get(key)? {
        Value::String(text) if text.trim_start().starts_with(['{', '[']) => {
            Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone())))
        }
        other => Some(other.clone()),
    }
}

/// The records a data param holds: an array's items; for an object, its
/// array fields concatenated (fields beside them describe the list, like
/// `filter`'s `{"items": [...], "kept": 3}` or an extraction's `{"quotes": [...]}`),
/// or, when it has no array field, its object fields (outputs keyed by step).
pub fn records(value: Value, key: &str) -> Result<Vec<Value>, HandlerError> {
    let error = |what: &str| {
        HandlerError::InvalidInput(format!(
            "params.{key} must be an array of records or an object holding them, got {what}"
        ))
    };
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(fields) => {
            let values: Vec<Value> = fields.into_iter().map(|(_, v)| v).collect();
            if values.iter().any(Value::is_array) {
                let lists = values.into_iter().filter_map(|v| match v {
                    Value::Array(items) => Some(items),
                    _ => None,
                });
                Ok(lists.flatten().collect())
            } else if values.iter().any(Value::is_object) {
                Ok(values.into_iter().filter(Value::is_object).collect())
            } else {
                Err(error("an object with no array or object field"))
            }
        }
        other => Err(error(kind(&other))),
    }
}

/// The JSON type name of a value, for error messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn data_params_parse_json_text_and_keep_other_text() {
        let p =
            map(json!({"a": "[1, 2]", "b": " {\"x\": 1}", "c": "plain text", "d": null, "e": 3, "f": "[Draft] hi"}));
        assert_eq!(data(&p, "a"), Some(json!([1, 2])));
        assert_eq!(data(&p, "b"), Some(json!({"x": 1})));
        assert_eq!(data(&p, "c"), Some(json!("plain text")));
        assert_eq!(data(&p, "d"), Some(Value::Null));
        assert_eq!(data(&p, "e"), Some(json!(3)));
        assert_eq!(data(&p, "f"), Some(json!("[Draft] hi")));
        assert_eq!(data(&p, "missing"), None);
    }

    #[test]
    fn records_come_from_arrays_or_the_objects_that_hold_them() {
        assert_eq!(records(json!([1, 2]), "input").unwrap(), vec![json!(1), json!(2)]);
        let filtered = json!({"items": [{"a": 1}, {"a": 2}], "kept": 2, "dropped": 5});
        assert_eq!(records(filtered, "input").unwrap().len(), 2);
        let months = json!({"jan": [{"a": 1}], "feb": [{"a": 2}, {"a": 3}], "note": {"a": 9}});
        assert_eq!(records(months, "input").unwrap().len(), 3);
        assert_eq!(records(json!({"items": [], "kept": 0}), "input").unwrap(), Vec::<Value>::new());
        let by_step = json!({"east": {"total": 1}, "west": {"total": 2}, "count": 2});
        assert_eq!(records(by_step, "input").unwrap(), vec![json!({"total": 1}), json!({"total": 2})]);
        let error = |v: Value| match records(v, "input") {
            Err(HandlerError::InvalidInput(m)) => m,
            other => panic!("expected invalid input, got {other:?}"),
        };
        assert_eq!(
            error(json!({"amount": 3})),
            "params.input must be an array of records or an object holding them, got an object with no array or object field"
        );
        assert_eq!(
            error(json!("text")),
            "params.input must be an array of records or an object holding them, got string"
        );
    }

    #[test]
    fn pointers_are_taken_as_pointers_keys_or_dotted_paths() {
        assert_eq!(pointer(&json!("/a/0"), "params.field").unwrap(), "/a/0");
        assert_eq!(pointer(&json!(""), "params.field").unwrap(), "");
        assert_eq!(pointer(&json!("vendor"), "params.field").unwrap(), "/vendor");
        assert_eq!(pointer(&json!("customer.email"), "params.field").unwrap(), "/customer/email");
        assert_eq!(pointer(&json!("lines[0].sku"), "params.field").unwrap(), "/lines/0/sku");
        assert_eq!(pointer(&json!("a~b"), "params.field").unwrap(), "/a~0b");
        let error = |v: Value| match pointer(&v, "params.field") {
            Err(HandlerError::InvalidInput(m)) => m,
            other => panic!("expected invalid input, got {other:?}"),
        };
        assert_eq!(error(json!(3)), "params.field must be a field name or JSON pointer, got number");
    }

    #[test]
    fn scalars_lists_and_text_are_read_in_the_shapes_people_write() {
        let p =
            map(json!({"n": "120 words", "f": 12.0, "zero": "0", "b": true, "one": "x", "list": [1], "none": null}));
        assert_eq!(optional_u32(&p, "n").unwrap(), Some(120));
        assert_eq!(optional_u32(&p, "f").unwrap(), Some(12));
        assert!(optional_u32(&p, "zero").is_err());
        assert_eq!(optional_str(&p, "b").unwrap().as_deref(), Some("true"));
        assert_eq!(optional_list(&p, "one"), Some(vec![json!("x")]), "a single value is a list of one");
        assert_eq!(optional_list(&p, "list"), Some(vec![json!(1)]));
        assert_eq!(optional_list(&p, "none"), None);
        let words = map(json!({"c": ["over budget", "late"], "o": {"amount": "> 100", "status": "open"}, "e": "  "}));
        assert_eq!(optional_text(&words, "c").as_deref(), Some("over budget; late"));
        assert_eq!(optional_text(&words, "o").as_deref(), Some("amount: > 100; status: open"));
        assert_eq!(optional_text(&words, "e"), None);
    }

    #[test]
    fn objects_name_the_param() {
        let p = map(json!({"list": [1], "obj": {"k": 1}}));
        assert!(optional_object(&p, "obj").unwrap().is_some_and(|o| o.contains_key("k")));
        assert!(
            matches!(optional_object(&p, "list"), Err(HandlerError::InvalidInput(m)) if m == "params.list must be an object, got array")
        );
    }
}
