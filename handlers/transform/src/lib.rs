//! `transform`: reshapes data. Structured params reshape JSON with no model
//! call; a reshaping asked for in words goes to the model, over the step's
//! material, and must come back as JSON.
//!
//! Params (settings; every other param is data to reshape):
//! - `input`: the data, a JSON value (a string holding JSON is parsed first);
//!   without it, the step's data;
//! - `mapping`: `{ "out_field": "/json/pointer" | literal }`, applied to the
//!   object, or to every item when the data is an array; a mapping in words
//!   (a string, a list of phrases) goes to the model with the instruction;
//! - `select`: the fields to keep (names, or JSON pointers named by their last segment);
//! - `rename`: `{ "old_field": "new_field" }`;
//! - `drop_empty`: remove null, empty-string, empty-array and empty-object fields;
//! - `sort_by`: a JSON pointer to sort array items by (numbers, then strings);
//! - `limit`: keep the first N items of an array.

use handler_kit::model::{Ask, ask_json, data_task};
use handler_kit::{HandlerError, HandlerInfo, StepRequest, material, params};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Params that are settings; every other param is data.
const CONTROL: [&str; 7] = ["input", "mapping", "select", "rename", "drop_empty", "sort_by", "limit"];
/// The params that describe a reshaping without a model.
const STRUCTURED: [&str; 6] = ["mapping", "select", "rename", "drop_empty", "sort_by", "limit"];
const MODEL_MAX_TOKENS: u32 = 2048;

struct Transform;

impl handler_kit::Handler for Transform {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "transform".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            intents: vec!["transform".into()],
            description: "Reshapes JSON (mapping, selection, renaming, sorting) locally, or as asked with the model"
                .into(),
            control_params: CONTROL.map(String::from).to_vec(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let params = params::object(&request.params)?;
        let given = params::data(&params, "input");
        // A mapping given in words (or any shape but an object) is said to the model.
        let mapping_in_words = params.get("mapping").filter(|m| !m.is_null() && !m.is_object()).map(params::text_of);
        if mapping_in_words.is_some() || !STRUCTURED.iter().any(|key| params.get(*key).is_some_and(|v| !v.is_null())) {
            return reshape_with_model(&request, given.as_ref(), mapping_in_words.as_deref());
        }
        let input = given.or_else(|| material::data(&request, &CONTROL).map(|d| d.value)).ok_or_else(|| {
            HandlerError::InvalidInput("nothing to transform: give params.input, or data in the step".into())
        })?;
        let mapping = params.get("mapping").and_then(Value::as_object);
        let select = fields_to_keep(params::optional_list(&params, "select"))?;
        let rename = params::optional_object(&params, "rename")?;
        let drop_empty =
            params::optional_str(&params, "drop_empty")?.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let reshape = |item: &Value| {
            let mut out = mapping.map_or_else(|| item.clone(), |m| apply_mapping(item, m));
            if let Some(fields) = &select {
                out = keep_fields(&out, fields);
            }
            if let Some(names) = rename {
                out = rename_fields(out, names);
            }
            if drop_empty { without_empty(out) } else { out }
        };
        let output = match &input {
            Value::Array(items) => {
                let mut items: Vec<Value> = items.iter().map(reshape).collect();
                if let Some(by) = params.get("sort_by").filter(|v| !v.is_null()) {
                    let pointer = params::pointer(by, "params.sort_by")?;
                    items.sort_by(|a, b| compare(a.pointer(&pointer), b.pointer(&pointer)));
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

/// The reshaping in words: the model answers the reshaped JSON. `said` is
/// a mapping the params give in words, beside the instruction.
fn reshape_with_model(
    request: &StepRequest,
    input: Option<&Value>,
    said: Option<&str>,
) -> Result<String, HandlerError> {
    if material::instruction(request).is_none() && said.is_none() {
        return Err(HandlerError::InvalidInput(
            "transform needs to know how to reshape: params.mapping, params.select, params.rename, \
             or a prompt that says it"
                .into(),
        ));
    }
    let system = "Reshape the data as JSON exactly as the instruction says (select, rename, reformat, convert, \
                 restructure), keeping every value the result needs unchanged. Invent nothing.";
    let task = match said {
        Some(mapping) => format!("Mapping: {mapping}\n\n{}", data_task(input)),
        None => data_task(input),
    };
    let reshaped = ask_json(Ask::json(request, system, task, MODEL_MAX_TOKENS))?;
    Ok(reshaped.to_string())
}

/// `select`'s fields: `(output name, pointer)`.
fn fields_to_keep(select: Option<Vec<Value>>) -> Result<Option<Vec<(String, String)>>, HandlerError> {
    let Some(select) = select else { return Ok(None) };
    select
        .iter()
        .enumerate()
        .map(|(i, field)| match field.as_str().map(str::trim) {
            Some(pointer) if pointer.starts_with('/') => {
                let name = pointer.rsplit('/').next().unwrap_or(pointer).to_string();
                Ok((name, pointer.to_string()))
            }
            Some(name) if !name.is_empty() => Ok((name.to_string(), format!("/{name}"))),
            _ => Err(HandlerError::InvalidInput(format!("params.select[{i}] must be a field name or JSON pointer"))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn keep_fields(item: &Value, fields: &[(String, String)]) -> Value {
    Value::Object(
        fields.iter().filter_map(|(name, pointer)| item.pointer(pointer).map(|v| (name.clone(), v.clone()))).collect(),
    )
}

fn rename_fields(item: Value, names: &Map<String, Value>) -> Value {
    match item {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| match names.get(&k).and_then(Value::as_str) {
                    Some(new) => (new.to_string(), v),
                    None => (k, v),
                })
                .collect(),
        ),
        other => other,
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
            fields.into_iter().map(|(k, v)| (k, without_empty(v))).filter(|(_, v)| !is_empty(v)).collect(),
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
