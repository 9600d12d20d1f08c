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
