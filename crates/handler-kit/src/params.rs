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

/// An optional positive integer param.
pub fn optional_u32(params: &Map<String, Value>, key: &str) -> Result<Option<u32>, HandlerError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v > 0)
            .map(Some)
            .ok_or_else(|| HandlerError::InvalidInput(format!("params.{key} must be a positive integer, got {n}"))),
        Some(other) => {
            Err(HandlerError::InvalidInput(format!("params.{key} must be a positive integer, got {}", kind(other))))
        }
    }
}

/// An optional string param.
pub fn optional_str<'a>(params: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, HandlerError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(HandlerError::InvalidInput(format!("params.{key} must be a string, got {}", kind(other)))),
    }
}

/// An optional array param.
pub fn optional_array<'a>(params: &'a Map<String, Value>, key: &str) -> Result<Option<&'a Vec<Value>>, HandlerError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(other) => Err(HandlerError::InvalidInput(format!("params.{key} must be an array, got {}", kind(other)))),
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

/// A JSON pointer (`/status`, `/lines/0/sku`, or `""` for the whole value);
/// `at` names it in errors (`params.where[0].field`).
pub fn pointer(value: &Value, at: &str) -> Result<String, HandlerError> {
    match value {
        Value::String(p) if p.is_empty() || p.starts_with('/') => Ok(p.clone()),
        Value::String(p) => {
            Err(HandlerError::InvalidInput(format!("{at} must be a JSON pointer such as `/{p}`, got `{p}`")))
        }
        other => Err(HandlerError::InvalidInput(format!("{at} must be a JSON pointer string, got {}", kind(other)))),
    }
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
    fn pointers_start_with_a_slash() {
        assert_eq!(pointer(&json!("/a/0"), "params.field").unwrap(), "/a/0");
        assert_eq!(pointer(&json!(""), "params.field").unwrap(), "");
        let error = |v: Value| match pointer(&v, "params.field") {
            Err(HandlerError::InvalidInput(m)) => m,
            other => panic!("expected invalid input, got {other:?}"),
        };
        assert_eq!(error(json!("a")), "params.field must be a JSON pointer such as `/a`, got `a`");
        assert_eq!(error(json!(3)), "params.field must be a JSON pointer string, got number");
    }

    #[test]
    fn arrays_and_objects_name_the_param() {
        let p = map(json!({"list": [1], "obj": {"k": 1}, "none": null}));
        assert_eq!(optional_array(&p, "list").unwrap().map(Vec::len), Some(1));
        assert!(optional_array(&p, "none").unwrap().is_none());
        assert!(
            matches!(optional_array(&p, "obj"), Err(HandlerError::InvalidInput(m)) if m == "params.obj must be an array, got object")
        );
        assert!(optional_object(&p, "obj").unwrap().is_some_and(|o| o.contains_key("k")));
        assert!(
            matches!(optional_object(&p, "list"), Err(HandlerError::InvalidInput(m)) if m == "params.list must be an object, got array")
        );
    }
}
