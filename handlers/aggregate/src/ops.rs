//! `aggregate`'s structured work: reading the operations, flattening the
//! input into records, computing results per group; and the merge prompt.

use handler_kit::compare::{number, order};
use handler_kit::{HandlerError, params};
use serde_json::{Map, Value, json};
use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sum,
    Count,
    Avg,
    Min,
    Max,
    Concat,
    Distinct,
}

const KINDS: [(&str, Kind); 7] = [
    ("sum", Kind::Sum),
    ("count", Kind::Count),
    ("avg", Kind::Avg),
    ("min", Kind::Min),
    ("max", Kind::Max),
    ("concat", Kind::Concat),
    ("distinct", Kind::Distinct),
];

/// One named result: `"total": {"op": "sum", "field": "/amount"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The result's name in the output.
    pub name: String,
    pub kind: Kind,
    /// A JSON pointer into each record; optional for `count` only.
    pub field: Option<String>,
    /// For `concat`: join the values into text with this separator.
    pub separator: Option<String>,
}

/// Reads `params.operations`; `grouped` reserves the name `group`.
pub fn parse_operations(specs: &Map<String, Value>, grouped: bool) -> Result<Vec<Operation>, HandlerError> {
    let invalid = |message: String| HandlerError::InvalidInput(message);
    if specs.is_empty() {
        return Err(invalid("params.operations must name at least one result".into()));
    }
    specs
        .iter()
        .map(|(name, spec)| {
            let at = format!("params.operations.{name}");
            if grouped && name == "group" {
                return Err(invalid(format!("{at}: `group` is the name of each group's key; pick another name")));
            }
            let Value::Object(spec) = spec else {
                return Err(invalid(format!(
                    "{at} must be an object like {{\"op\": \"sum\", \"field\": \"/amount\"}}, got {}",
                    params::kind(spec)
                )));
            };
            let names = || KINDS.map(|(n, _)| n).join(", ");
            let kind = match spec.get("op") {
                Some(Value::String(op)) => KINDS
                    .iter()
                    .find(|(n, _)| n == op)
                    .map(|(_, k)| *k)
                    .ok_or_else(|| invalid(format!("{at}.op must be one of {}, got `{op}`", names())))?,
                Some(other) => return Err(invalid(format!("{at}.op must be a string, got {}", params::kind(other)))),
                None => return Err(invalid(format!("{at}.op is required (one of {})", names()))),
            };
            let field = match spec.get("field") {
                None | Some(Value::Null) if kind == Kind::Count => None,
                None | Some(Value::Null) => {
                    return Err(invalid(format!("{at}.field is required for `{}`", op_name(kind))));
                }
                Some(field) => Some(params::pointer(field, &format!("{at}.field"))?),
            };
            let separator = match spec.get("separator") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if kind == Kind::Concat => Some(s.clone()),
                Some(Value::String(_)) => return Err(invalid(format!("{at}.separator applies to `concat` only"))),
                Some(other) => {
                    return Err(invalid(format!("{at}.separator must be a string, got {}", params::kind(other))));
                }
            };
            Ok(Operation { name: name.clone(), kind, field, separator })
        })
        .collect()
}

fn op_name(kind: Kind) -> &'static str {
    KINDS.iter().find(|(_, k)| *k == kind).map_or("", |(n, _)| n)
}

/// The results of `operations` over all `records`.
pub fn aggregate(records: &[Value], operations: &[Operation]) -> Result<Map<String, Value>, HandlerError> {
    let indexed: Vec<(usize, &Value)> = records.iter().enumerate().collect();
    results(&indexed, operations)
}

/// One `{"group": key, ...results}` per distinct value at `group_by`
/// (missing counts as null), sorted by key.
pub fn aggregate_by(records: &[Value], group_by: &str, operations: &[Operation]) -> Result<Vec<Value>, HandlerError> {
    let mut groups: Vec<(Value, Vec<(usize, &Value)>)> = Vec::new();
    let mut positions: HashMap<String, usize> = HashMap::new();
    for (i, record) in records.iter().enumerate() {
        let key = record.pointer(group_by).cloned().unwrap_or(Value::Null);
        match positions.entry(identity(&key)) {
            Entry::Occupied(at) => groups[*at.get()].1.push((i, record)),
            Entry::Vacant(at) => {
                at.insert(groups.len());
                groups.push((key, vec![(i, record)]));
            }
        }
    }
    groups.sort_by(|(a, _), (b, _)| key_order(a, b));
    groups
        .into_iter()
        .map(|(key, members)| {
            let mut row = Map::from_iter([("group".to_string(), key)]);
            row.extend(results(&members, operations)?);
            Ok(Value::Object(row))
        })
        .collect()
}

fn results(records: &[(usize, &Value)], operations: &[Operation]) -> Result<Map<String, Value>, HandlerError> {
    operations.iter().map(|op| Ok((op.name.clone(), compute(op, records)?))).collect()
}

fn compute(op: &Operation, records: &[(usize, &Value)]) -> Result<Value, HandlerError> {
    let Some(field) = &op.field else {
        return Ok(json!(records.len()));
    };
    // Missing and null values are skipped by every operation.
    let values: Vec<(usize, &Value)> =
        records.iter().filter_map(|(i, r)| r.pointer(field).filter(|v| !v.is_null()).map(|v| (*i, v))).collect();
    let numbers = || {
        values
            .iter()
            .map(|(i, v)| {
                number(v).ok_or_else(|| {
                    HandlerError::InvalidInput(format!(
                        "params.operations.{}: {field} of item {i} is not a number: {v}",
                        op.name
                    ))
                })
            })
            .collect::<Result<Vec<f64>, _>>()
    };
    Ok(match op.kind {
        Kind::Count => json!(values.len()),
        Kind::Sum => to_number(numbers()?.iter().sum()),
        Kind::Avg => {
            let numbers = numbers()?;
            if numbers.is_empty() { Value::Null } else { to_number(numbers.iter().sum::<f64>() / numbers.len() as f64) }
        }
        Kind::Min | Kind::Max => {
            let wanted = if op.kind == Kind::Min { Ordering::Less } else { Ordering::Greater };
            // Text that is not a number (ISO dates, names) is compared as text.
            if values.iter().all(|(_, v)| v.is_string()) && values.iter().any(|(_, v)| number(v).is_none()) {
                let texts = values.iter().map(|(_, v)| *v);
                texts
                    .reduce(|best, v| if order(v, best) == Some(wanted) { v } else { best })
                    .cloned()
                    .unwrap_or(Value::Null)
            } else {
                let best = numbers()?
                    .into_iter()
                    .reduce(|best, x| if x.partial_cmp(&best) == Some(wanted) { x } else { best });
                best.map_or(Value::Null, to_number)
            }
        }
        Kind::Concat => {
            let flat = flatten(&values);
            match &op.separator {
                Some(separator) => {
                    let texts: Vec<String> =
                        flat.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect();
                    json!(texts.join(separator))
                }
                None => json!(flat),
            }
        }
        Kind::Distinct => {
            let mut seen = HashSet::new();
            json!(flatten(&values).into_iter().filter(|v| seen.insert(identity(v))).collect::<Vec<_>>())
        }
    })
}

/// Values with arrays spread into their elements (tags across records).
fn flatten(values: &[(usize, &Value)]) -> Vec<Value> {
    values
        .iter()
        .flat_map(|(_, v)| match v {
            Value::Array(items) => items.iter().filter(|x| !x.is_null()).cloned().collect(),
            other => vec![(*other).clone()],
        })
        .collect()
}

/// What makes two values the same group or distinct value: `1` and `1.0` are one.
fn identity(value: &Value) -> String {
    match value {
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |x| x.to_string()),
        other => other.to_string(),
    }
}

/// Group keys in order: numbers (numeric strings too) by value, then text,
/// then booleans, then anything else; null (missing) last.
fn key_order(a: &Value, b: &Value) -> Ordering {
    let rank = |v: &Value| match v {
        _ if number(v).is_some() => 0,
        Value::String(_) => 1,
        Value::Bool(_) => 2,
        Value::Null => 4,
        _ => 3,
    };
    rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => order(a, b).unwrap_or_else(|| a.to_string().cmp(&b.to_string())),
    })
}

/// A JSON number without float noise (`0.1 + 0.2` is `0.3`), whole numbers as integers.
fn to_number(x: f64) -> Value {
    let rounded = (x * 1e9).round() / 1e9;
    let x = if rounded.is_finite() { rounded } else { x };
    if x.fract() == 0.0 && x.abs() < 9e15 { json!(x as i64) } else { json!(x) }
}

/// The system prompt and task of a merge or free-form aggregation by the
/// model. The material (instruction and data) opens the message; the task
/// adds `params.instruction` and `params.input` when the params hold them.
pub fn merge_request(instruction: Option<&str>, input: Option<&Value>) -> (String, String) {
    let system = "Merge, combine, count or total the material as the instruction asks, into one result. Drop \
                  repetition; keep every distinct fact, figure and name; show computed totals; invent \
                  nothing. No preamble."
        .to_string();
    let mut parts = Vec::new();
    if let Some(instruction) = instruction {
        parts.push(format!("Instruction: {instruction}"));
    }
    if let Some(input) = input {
        let input = match input {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        parts.push(format!("Input:\n{input}"));
    }
    (system, parts.join("\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(spec: Value) -> Vec<Operation> {
        parse_operations(spec.as_object().unwrap(), false).unwrap()
    }

    fn input_error<T: std::fmt::Debug>(result: Result<T, HandlerError>) -> String {
        match result {
            Err(HandlerError::InvalidInput(message)) => message,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    fn sales() -> Vec<Value> {
        vec![
            json!({"region": "west", "amount": "$1,234.50", "rep": "ana", "tags": ["new", "web"]}),
            json!({"region": "east", "amount": 100, "rep": "bo", "tags": ["web"]}),
            json!({"region": "west", "amount": 0.25, "rep": "ana"}),
            json!({"region": "east", "amount": null, "rep": "cy", "tags": []}),
            json!({"amount": 5, "rep": "di"}),
        ]
    }

    #[test]
    fn computes_every_operation_skipping_nulls() {
        let operations = ops(json!({
            "total": {"op": "sum", "field": "/amount"},
            "orders": {"op": "count"},
            "priced": {"op": "count", "field": "/amount"},
            "mean": {"op": "avg", "field": "/amount"},
            "low": {"op": "min", "field": "/amount"},
            "high": {"op": "max", "field": "/amount"},
            "reps": {"op": "distinct", "field": "/rep"},
            "tags": {"op": "distinct", "field": "/tags"},
            "all_tags": {"op": "concat", "field": "/tags"},
            "roster": {"op": "concat", "field": "/rep", "separator": ", "}
        }));
        let out = aggregate(&sales(), &operations).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({
                "total": 1339.75, "orders": 5, "priced": 4, "mean": 334.9375, "low": 0.25, "high": 1234.5,
                "reps": ["ana", "bo", "cy", "di"], "tags": ["new", "web"], "all_tags": ["new", "web", "web"],
                "roster": "ana, bo, ana, cy, di"
            })
        );
    }

    #[test]
    fn empty_input_gives_empty_results() {
        let operations = ops(json!({"t": {"op": "sum", "field": "/a"}, "m": {"op": "avg", "field": "/a"},
                                    "x": {"op": "max", "field": "/a"}, "n": {"op": "count"}}));
        assert_eq!(Value::Object(aggregate(&[], &operations).unwrap()), json!({"t": 0, "m": null, "x": null, "n": 0}));
    }

    #[test]
    fn groups_are_sorted_by_key_with_missing_last() {
        let operations = ops(json!({"total": {"op": "sum", "field": "/amount"}, "n": {"op": "count"}}));
        let out = aggregate_by(&sales(), "/region", &operations).unwrap();
        assert_eq!(
            out,
            vec![
                json!({"group": "east", "total": 100, "n": 2}),
                json!({"group": "west", "total": 1234.75, "n": 2}),
                json!({"group": null, "total": 5, "n": 1}),
            ]
        );
        let numeric = [json!({"k": 10}), json!({"k": "9"}), json!({"k": 10.0}), json!({"k": true}), json!({"k": "b"})];
        let keys: Vec<Value> = aggregate_by(&numeric, "/k", &ops(json!({"n": {"op": "count"}})))
            .unwrap()
            .into_iter()
            .map(|g| json!([g["group"], g["n"]]))
            .collect();
        assert_eq!(keys, vec![json!(["9", 1]), json!([10, 2]), json!(["b", 1]), json!([true, 1])]);
    }

    #[test]
    fn min_and_max_of_text_compare_text() {
        let dates = [json!({"d": "2024-03-01"}), json!({"d": "2023-12-31"}), json!({"d": null})];
        let out = aggregate(
            &dates,
            &ops(json!({"first": {"op": "min", "field": "/d"}, "last": {"op": "max", "field": "/d"}})),
        );
        assert_eq!(Value::Object(out.unwrap()), json!({"first": "2023-12-31", "last": "2024-03-01"}));
    }

    #[test]
    fn numbers_lose_float_noise() {
        let items = [json!({"a": 0.1}), json!({"a": 0.2})];
        assert_eq!(aggregate(&items, &ops(json!({"s": {"op": "sum", "field": "/a"}}))).unwrap()["s"], json!(0.3));
        assert_eq!(to_number(3.0), json!(3));
        assert_eq!(to_number(-2.5), json!(-2.5));
    }

    #[test]
    fn a_value_that_is_not_a_number_is_named() {
        let items = [json!({"a": 1}), json!({"a": "n/a"})];
        let message = input_error(aggregate(&items, &ops(json!({"total": {"op": "sum", "field": "/a"}}))));
        assert_eq!(message, "params.operations.total: /a of item 1 is not a number: \"n/a\"");
    }

    #[test]
    fn operation_errors_name_the_param() {
        let error = |spec: Value, grouped| input_error(parse_operations(spec.as_object().unwrap(), grouped));
        assert_eq!(error(json!({}), false), "params.operations must name at least one result");
        assert_eq!(
            error(json!({"t": "sum"}), false),
            "params.operations.t must be an object like {\"op\": \"sum\", \"field\": \"/amount\"}, got string"
        );
        assert!(
            error(json!({"t": {"op": "median", "field": "/a"}}), false)
                .starts_with("params.operations.t.op must be one of sum, count")
        );
        assert_eq!(error(json!({"t": {"op": "sum"}}), false), "params.operations.t.field is required for `sum`");
        let bare = parse_operations(json!({"t": {"op": "sum", "field": "a"}}).as_object().unwrap(), false).unwrap();
        assert_eq!(bare[0].field.as_deref(), Some("/a"), "a bare key is a field");
        assert_eq!(
            error(json!({"t": {"op": "sum", "field": "/a", "separator": ","}}), false),
            "params.operations.t.separator applies to `concat` only"
        );
        assert!(
            error(json!({"group": {"op": "count"}}), true).starts_with("params.operations.group: `group` is the name")
        );
        assert!(parse_operations(json!({"group": {"op": "count"}}).as_object().unwrap(), false).is_ok());
    }

    #[test]
    fn the_merge_request_adds_what_the_params_hold() {
        let (_, task) = merge_request(Some("One paragraph."), Some(&json!("A shipped. B slipped.")));
        assert_eq!(task, "Instruction: One paragraph.\n\nInput:\nA shipped. B slipped.");
        assert_eq!(merge_request(None, Some(&json!({"a": 1}))).1, "Input:\n{\"a\":1}");
        assert_eq!(merge_request(None, None).1, "", "the material says it all");
    }
}
