//! Testing a field of a JSON value against an expected value, with no model:
//! the `where` clauses of `filter` and the `condition` of `conditional`.
//!
//! A missing field counts as `null`. Numbers compare as numbers even when one
//! side is a numeric string (`"1,234.50"`, `"$12"`): extracted data often
//! keeps amounts as text.

use crate::HandlerError;
use crate::params::{kind, pointer};
use serde_json::Value;
use std::cmp::Ordering;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    /// Substring (case-insensitive) of a string, or element of an array.
    Contains,
    /// The field equals one of the values of an array.
    In,
    /// The field is present and not null.
    Exists,
    NotExists,
}

const OPS: [(&str, Op); 10] = [
    ("eq", Op::Eq),
    ("ne", Op::Ne),
    ("gt", Op::Gt),
    ("gte", Op::Gte),
    ("lt", Op::Lt),
    ("lte", Op::Lte),
    ("contains", Op::Contains),
    ("in", Op::In),
    ("exists", Op::Exists),
    ("not_exists", Op::NotExists),
];

impl Op {
    /// The operator named `name` (`eq`, `gte`, `not_exists`...).
    pub fn parse(name: &str) -> Option<Op> {
        OPS.iter().find(|(n, _)| *n == name).map(|(_, op)| *op)
    }

    /// The operator's name as params spell it.
    pub fn name(self) -> &'static str {
        OPS.iter().find(|(_, op)| *op == self).map_or("", |(n, _)| n)
    }
}

/// One test, as params write it: `{"field": "/json/pointer", "op": "gt", "value": 100}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// A JSON pointer into the item; `""` is the item itself.
    pub field: String,
    pub op: Op,
    /// The expected value (`null` for `exists` and `not_exists`).
    pub value: Value,
}

impl Condition {
    /// Reads a condition; `at` names it in errors (`params.where[2]`).
    pub fn parse(spec: &Value, at: &str) -> Result<Condition, HandlerError> {
        let invalid = |message: String| HandlerError::InvalidInput(message);
        let Value::Object(spec) = spec else {
            return Err(invalid(format!(
                "{at} must be an object like {{\"field\": \"/status\", \"op\": \"eq\", \"value\": \"open\"}}, got {}",
                kind(spec)
            )));
        };
        let field = match spec.get("field") {
            Some(field) => pointer(field, &format!("{at}.field"))?,
            None => return Err(invalid(format!("{at}.field is required"))),
        };
        let names = || OPS.map(|(n, _)| n).join(", ");
        let op = match spec.get("op") {
            Some(Value::String(name)) => {
                Op::parse(name).ok_or_else(|| invalid(format!("{at}.op must be one of {}, got `{name}`", names())))?
            }
            Some(other) => return Err(invalid(format!("{at}.op must be a string, got {}", kind(other)))),
            None => return Err(invalid(format!("{at}.op is required (one of {})", names()))),
        };
        let value = match (op, spec.get("value")) {
            (Op::Exists | Op::NotExists, _) => Value::Null,
            (Op::In, Some(v @ Value::Array(_))) => v.clone(),
            (Op::In, Some(other)) => {
                return Err(invalid(format!("{at}.value must be an array for `in`, got {}", kind(other))));
            }
            (_, Some(v)) => v.clone(),
            (_, None) => return Err(invalid(format!("{at}.value is required for `{}`", op.name()))),
        };
        Ok(Condition { field, op, value })
    }

    /// Whether the condition holds for `item`.
    pub fn holds(&self, item: &Value) -> bool {
        test(self.op, item.pointer(&self.field), &self.value)
    }
}

/// Applies `op` to a field's value (`None` when the field is missing).
pub fn test(op: Op, actual: Option<&Value>, expected: &Value) -> bool {
    let actual = actual.unwrap_or(&Value::Null);
    match op {
        Op::Eq => equal(actual, expected),
        Op::Ne => !equal(actual, expected),
        Op::Gt => order(actual, expected) == Some(Ordering::Greater),
        Op::Gte => matches!(order(actual, expected), Some(Ordering::Greater | Ordering::Equal)),
        Op::Lt => order(actual, expected) == Some(Ordering::Less),
        Op::Lte => matches!(order(actual, expected), Some(Ordering::Less | Ordering::Equal)),
        Op::Contains => match (actual, expected) {
            (Value::String(text), Value::String(part)) => text.to_lowercase().contains(&part.to_lowercase()),
            (Value::Array(items), wanted) => items.iter().any(|item| equal(item, wanted)),
            _ => false,
        },
        Op::In => expected.as_array().is_some_and(|options| options.iter().any(|o| equal(actual, o))),
        Op::Exists => !actual.is_null(),
        Op::NotExists => actual.is_null(),
    }
}

/// JSON equality, except that a number equals a string holding the same
/// number and `1` equals `1.0`.
pub fn equal(a: &Value, b: &Value) -> bool {
    if (a.is_number() || b.is_number())
        && let (Some(x), Some(y)) = (number(a), number(b))
    {
        return x == y;
    }
    a == b
}

/// Numbers (or numeric strings) by value, other strings lexically (ISO dates
/// sort right); `None` when the two cannot be ordered.
pub fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => match (a, b) {
            (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
            _ => None,
        },
    }
}

/// A number, or a string holding one (see [`parse_number`]).
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_number(s),
        _ => None,
    }
}

/// Parses amounts as people write them: `12`, `-3.5`, `1,234.50`, `$12`,
/// `-€0.99`. Commas must group thousands (`1,5` is not a number), so
/// decimal commas and dates such as `2024-03-01` are rejected.
pub fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    let rest = rest.strip_prefix(['$', '€', '£', '¥']).unwrap_or(rest);
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mut groups = int.split(',');
    let first = groups.next().unwrap_or("");
    let grouped = groups.all(|g| g.len() == 3 && digits(g));
    let int_ok = digits(first) && grouped && (!int.contains(',') || (1..=3).contains(&first.len()));
    if !int_ok || !digits(frac) || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    let value: f64 = format!("{}.{}", int.replace(',', ""), if frac.is_empty() { "0" } else { frac }).parse().ok()?;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(spec: Value) -> Condition {
        Condition::parse(&spec, "params.where[0]").unwrap()
    }

    fn parse_error(spec: Value) -> String {
        match Condition::parse(&spec, "params.condition") {
            Err(HandlerError::InvalidInput(message)) => message,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn parses_amounts_as_written() {
        assert_eq!(parse_number("12"), Some(12.0));
        assert_eq!(parse_number(" 1,234.50 "), Some(1234.5));
        assert_eq!(parse_number("$12"), Some(12.0));
        assert_eq!(parse_number("-€0.99"), Some(-0.99));
        assert_eq!(parse_number(".5"), Some(0.5));
        assert_eq!(parse_number("1,000,000"), Some(1_000_000.0));
        for bad in ["", "$", "-", ".", "1,5", "12,34", "2024-03-01", "12 USD", "1e3", "inf", "NaN", "1.2.3", "abc"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn compares_numbers_across_types() {
        let item = json!({"amount": "$1,200.00", "count": 3, "ratio": 1.0, "date": "2024-03-01"});
        assert!(cond(json!({"field": "/amount", "op": "gt", "value": 1000})).holds(&item));
        assert!(cond(json!({"field": "/amount", "op": "eq", "value": 1200})).holds(&item));
        assert!(cond(json!({"field": "/ratio", "op": "eq", "value": 1})).holds(&item));
        assert!(cond(json!({"field": "/count", "op": "lte", "value": "3"})).holds(&item));
        assert!(!cond(json!({"field": "/count", "op": "lt", "value": 3})).holds(&item));
        assert!(cond(json!({"field": "/date", "op": "gte", "value": "2024-01-01"})).holds(&item));
        // Numbers and non-numeric text cannot be ordered: neither gt nor lt holds.
        assert!(!cond(json!({"field": "/date", "op": "gt", "value": 5})).holds(&item));
        assert!(!cond(json!({"field": "/date", "op": "lt", "value": 5})).holds(&item));
    }

    #[test]
    fn missing_fields_count_as_null() {
        let item = json!({"status": "open", "owner": null});
        assert!(cond(json!({"field": "/owner", "op": "not_exists"})).holds(&item));
        assert!(cond(json!({"field": "/nope", "op": "not_exists"})).holds(&item));
        assert!(cond(json!({"field": "/status", "op": "exists"})).holds(&item));
        assert!(cond(json!({"field": "/nope", "op": "ne", "value": "closed"})).holds(&item));
        assert!(cond(json!({"field": "/nope", "op": "eq", "value": null})).holds(&item));
        assert!(!cond(json!({"field": "/nope", "op": "gt", "value": 0})).holds(&item));
        assert!(!cond(json!({"field": "/nope", "op": "contains", "value": "x"})).holds(&item));
    }

    #[test]
    fn contains_and_in() {
        let item = json!({"subject": "Charged TWICE", "tags": ["billing", 42], "priority": "high"});
        assert!(cond(json!({"field": "/subject", "op": "contains", "value": "twice"})).holds(&item));
        assert!(cond(json!({"field": "/tags", "op": "contains", "value": "billing"})).holds(&item));
        assert!(cond(json!({"field": "/tags", "op": "contains", "value": "42"})).holds(&item));
        assert!(!cond(json!({"field": "/tags", "op": "contains", "value": "bill"})).holds(&item));
        assert!(cond(json!({"field": "/priority", "op": "in", "value": ["high", "urgent"]})).holds(&item));
        assert!(!cond(json!({"field": "/priority", "op": "in", "value": ["low"]})).holds(&item));
        assert!(cond(json!({"field": "", "op": "eq", "value": item.clone()})).holds(&item));
    }

    #[test]
    fn parse_errors_name_the_param() {
        assert_eq!(
            parse_error(json!("x")),
            "params.condition must be an object like {\"field\": \"/status\", \"op\": \"eq\", \"value\": \"open\"}, got string"
        );
        assert_eq!(parse_error(json!({"op": "eq", "value": 1})), "params.condition.field is required");
        assert_eq!(
            Condition::parse(&json!({"field": "status", "op": "eq", "value": 1}), "params.condition").unwrap().field,
            "/status",
            "a bare key is a field"
        );
        assert!(
            parse_error(json!({"field": "/a", "op": "like", "value": 1}))
                .starts_with("params.condition.op must be one of eq, ne, gt")
        );
        assert_eq!(parse_error(json!({"field": "/a", "op": "gt"})), "params.condition.value is required for `gt`");
        assert_eq!(
            parse_error(json!({"field": "/a", "op": "in", "value": "x"})),
            "params.condition.value must be an array for `in`, got string"
        );
        assert_eq!(cond(json!({"field": "/a", "op": "exists"})).value, Value::Null);
        assert!(OPS.iter().all(|(name, op)| Op::parse(name) == Some(*op) && op.name() == *name));
    }
}
