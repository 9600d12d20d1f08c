//! Reading JSON out of model answers and checking it against a step's schema.

use crate::params::kind;
use serde_json::Value;

/// The first JSON object or array in `text`: models wrap JSON in prose or
/// code fences, so everything before the first `{`/`[` is skipped and
/// everything after the value is ignored.
pub fn first_value(text: &str) -> Result<Value, String> {
    let start = text.find(['{', '[']).ok_or_else(|| "the answer contains no JSON object or array".to_string())?;
    let mut values = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    match values.next() {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(format!("the answer's JSON is malformed: {e}")),
        None => Err("the answer contains no JSON value".to_string()),
    }
}

/// Checks `value` against the subset of JSON Schema that extraction schemas
/// use: `type`, `properties`, `required`, `items`, `enum`. Returns every
/// violation, each with its JSON pointer.
pub fn validate(value: &Value, schema: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(value, schema, "", &mut errors);
    errors
}

fn check(value: &Value, schema: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else { return };
    if let Some(expected) = schema.get("type") {
        let allowed: Vec<&str> = match expected {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !allowed.is_empty() && !allowed.iter().any(|t| has_type(value, t)) {
            errors.push(format!("{}: expected {}, got {}", pointer(at), allowed.join(" or "), kind(value)));
            return;
        }
    }
    if let Some(Value::Array(options)) = schema.get("enum")
        && !options.contains(value)
    {
        errors.push(format!("{}: {} is not one of the allowed values", pointer(at), value));
    }
    if let Value::Object(fields) = value {
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !fields.contains_key(name) {
                    errors.push(format!("{}: missing required field `{name}`", pointer(at)));
                }
            }
        }
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (name, field_schema) in properties {
                if let Some(field) = fields.get(name) {
                    check(field, field_schema, &format!("{at}/{name}"), errors);
                }
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(item, item_schema, &format!("{at}/{i}"), errors);
        }
    }
}

/// Whether `value` has the JSON Schema type `t` (`integer` is a whole number).
pub fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "integer" => value.as_i64().is_some() || value.as_u64().is_some(),
        "number" => value.is_number(),
        "null" => value.is_null(),
        other => kind(value) == other,
    }
}

fn pointer(at: &str) -> &str {
    if at.is_empty() { "/" } else { at }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_json_inside_prose_and_fences() {
        let v = first_value("Sure!\n```json\n{\"a\": [1, 2]}\n```\nDone.").unwrap();
        assert_eq!(v, json!({"a": [1, 2]}));
        assert!(first_value("no json here").unwrap_err().contains("no JSON"));
    }

    #[test]
    fn reports_every_violation_with_its_pointer() {
        let schema = json!({
            "type": "object",
            "required": ["id", "total"],
            "properties": {
                "id": {"type": "string"},
                "total": {"type": "number"},
                "lines": {"type": "array", "items": {"type": "object", "required": ["sku"]}},
                "status": {"enum": ["paid", "open"]}
            }
        });
        let value = json!({"total": "12", "lines": [{"sku": "a"}, {}], "status": "lost"});
        let errors = validate(&value, &schema);
        assert_eq!(
            errors,
            vec![
                "/: missing required field `id`",
                "/lines/1: missing required field `sku`",
                "/status: \"lost\" is not one of the allowed values",
                "/total: expected number, got string",
            ]
        );
        assert!(validate(&json!({"id": "x", "total": 3}), &schema).is_empty());
    }
}
