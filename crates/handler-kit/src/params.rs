//! Typed access to a step's JSON params, with errors that name the field.

use crate::HandlerError;
use serde_json::{Map, Value};

/// The step's params as a JSON object (`null` or absent means empty).
pub fn object(params_json: &str) -> Result<Map<String, Value>, HandlerError> {
    match serde_json::from_str::<Value>(params_json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(HandlerError::InvalidInput(format!(
            "params must be a JSON object, got {}",
            kind(&other)
        ))),
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
        Some(other) => Err(HandlerError::InvalidInput(format!(
            "params.{key} must be a positive integer, got {}",
            kind(other)
        ))),
    }
}

/// An optional string param.
pub fn optional_str<'a>(params: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, HandlerError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(HandlerError::InvalidInput(format!(
            "params.{key} must be a string, got {}",
            kind(other)
        ))),
    }
}

/// An optional array param.
pub fn optional_array<'a>(params: &'a Map<String, Value>, key: &str) -> Result<Option<&'a Vec<Value>>, HandlerError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(other) => Err(HandlerError::InvalidInput(format!(
            "params.{key} must be an array, got {}",
            kind(other)
        ))),
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
        Some(other) => Err(HandlerError::InvalidInput(format!(
            "params.{key} must be an object, got {}",
            kind(other)
        ))),
    }
}

/// A JSON pointer (`/status`, `/lines/0/sku`, or `""` for the whole value);
/// `at` names it in errors (`params.where[0].field`).
pub fn pointer(value: &Value, at: &str) -> Result<String, HandlerError> {
    match value {
        Value::String(p) if p.is_empty() || p.starts_with('/') => Ok(p.clone()),
        Value::String(p) => Err(HandlerError::InvalidInput(format!(
            "{at} must be a JSON pointer such as `/{p}`, got `{p}`"
        ))),
        other => Err(HandlerError::InvalidInput(format!(
            "{at} must be a JSON pointer string, got {}",
            kind(other)
        ))),
    }
}

/// A data param (`None` when absent; `null` is data). Templates may render a
/// prior step's JSON output into a string, so a string starting with `{` or
/// `[` is parsed; any other string stays text.
pub fn data(params: &Map<String, Value>, key: &str) -> Result<Option<Value>, HandlerError> {
    match params.get(key) {
        Some(Value::String(text)) if text.trim_start().starts_with(['{', '[']) => {
            serde_json::from_str(text).map(Some).map_err(|e| {
                HandlerError::InvalidInput(format!(
                    "params.{key} is a string that looks like JSON but does not parse: {e}"
                ))
            })
        }
        other => Ok(other.cloned()),
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
        let p = map(json!({"a": "[1, 2]", "b": " {\"x\": 1}", "c": "plain text", "d": null, "e": 3, "f": "{broken"}));
        assert_eq!(data(&p, "a").unwrap(), Some(json!([1, 2])));
        assert_eq!(data(&p, "b").unwrap(), Some(json!({"x": 1})));
        assert_eq!(data(&p, "c").unwrap(), Some(json!("plain text")));
        assert_eq!(data(&p, "d").unwrap(), Some(Value::Null));
        assert_eq!(data(&p, "e").unwrap(), Some(json!(3)));
        assert_eq!(data(&p, "missing").unwrap(), None);
        assert!(
            matches!(data(&p, "f"), Err(HandlerError::InvalidInput(m)) if m.starts_with("params.f is a string that looks like JSON"))
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
        assert_eq!(
            error(json!("a")),
            "params.field must be a JSON pointer such as `/a`, got `a`"
        );
        assert_eq!(
            error(json!(3)),
            "params.field must be a JSON pointer string, got number"
        );
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
