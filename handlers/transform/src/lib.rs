//! `transform`: reshapes JSON with no model call.
//!
//! Params:
//! - `input`: the data, a JSON value (a string holding JSON is parsed first);
//! - `mapping`: `{ "out_field": "/json/pointer" | literal }`, applied to the
//!   object, or to every item when `input` is an array;
//! - `drop_empty`: remove null, empty-string, empty-array and empty-object fields;
//! - `sort_by`: a JSON pointer to sort array items by (numbers, then strings);
//! - `limit`: keep the first N items of an array.

use handler_kit::{params, HandlerError, HandlerInfo, StepRequest};
use serde_json::{Map, Value};
use std::cmp::Ordering;

struct Transform;

impl handler_kit::Handler for Transform {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "transform".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["transform".into()],
            description: "Reshapes JSON (mapping, empty-field removal, sorting) without a model call".into(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let input = match params.get("input") {
            Some(Value::String(text)) => serde_json::from_str(text).map_err(|e| {
                HandlerError::InvalidInput(format!("params.input is a string but not JSON: {e}"))
            })?,
            Some(value) => value.clone(),
            None => return Err(HandlerError::InvalidInput("params.input is required for transform".into())),
        };
        let mapping = match params.get("mapping") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(other) => {
                return Err(HandlerError::InvalidInput(format!(
                    "params.mapping must be an object, got {}",
                    params::kind(other)
                )))
            }
        };
        let drop_empty = matches!(params.get("drop_empty"), Some(Value::Bool(true)));
        let reshape = |item: &Value| {
            let mapped = mapping.map_or_else(|| item.clone(), |m| apply_mapping(item, m));
            if drop_empty { without_empty(mapped) } else { mapped }
        };
        let output = match &input {
            Value::Array(items) => {
                let mut items: Vec<Value> = items.iter().map(reshape).collect();
                if let Some(pointer) = params::optional_str(&params, "sort_by")? {
                    items.sort_by(|a, b| compare(a.pointer(pointer), b.pointer(pointer)));
                }
                if let Some(limit) = params::optional_u32(&params, "limit")? {
                    items.truncate(limit as usize);
                }
                Value::Array(items)
            }
            other => reshape(other),
        };
        Ok(output.to_string())
    }
}

/// Builds an object from `mapping`: pointers (strings starting with `/`) are
/// looked up in `item` (missing → null), anything else is copied as a literal.
fn apply_mapping(item: &Value, mapping: &Map<String, Value>) -> Value {
    let fields = mapping
        .iter()
        .map(|(out, source)| {
            let value = match source {
                Value::String(p) if p.starts_with('/') => item.pointer(p).cloned().unwrap_or(Value::Null),
                literal => literal.clone(),
            };
            (out.clone(), value)
        })
        .collect();
    Value::Object(fields)
}

/// Removes null and empty values, recursively.
fn without_empty(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, without_empty(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_empty).filter(|v| !is_empty(v)).collect()),
        other => other,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Orders numbers before strings before everything else; missing values last.
fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal)
        }
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Number(_)), _) => Ordering::Less,
        (_, Some(Value::Number(_))) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

handler_kit::export_handler!(Transform);
