//! `validate`'s logic: reading rules, running the structured checks and the
//! schema, and the prompt and answer of the one model call for judgments.

use handler_kit::compare::{equal, number};
use handler_kit::json::{first_value, has_type};
use handler_kit::{HandlerError, params};
use regex_lite::Regex;
use serde_json::{Value, json};

const TYPES: [&str; 7] = ["string", "number", "integer", "boolean", "array", "object", "null"];
const CHECKS: &str = "required, type, min, max, min_length, max_length, pattern, one_of, judgment";

/// What a rule checks, with its parsed `value`.
#[derive(Debug)]
pub enum Check {
    Required,
    Type(Vec<String>),
    Min(f64),
    Max(f64),
    MinLength(usize),
    MaxLength(usize),
    Pattern(Regex),
    OneOf(Vec<Value>),
    /// A question the model answers.
    Judgment(String),
}

impl Check {
    pub fn name(&self) -> &'static str {
        match self {
            Check::Required => "required",
            Check::Type(_) => "type",
            Check::Min(_) => "min",
            Check::Max(_) => "max",
            Check::MinLength(_) => "min_length",
            Check::MaxLength(_) => "max_length",
            Check::Pattern(_) => "pattern",
            Check::OneOf(_) => "one_of",
            Check::Judgment(_) => "judgment",
        }
    }
}

/// One rule: `{"field": "/json/pointer", "check": ..., "value": ..., "message": ...}`.
#[derive(Debug)]
pub struct Rule {
    /// A JSON pointer into the data; `""` is the data itself (the default for judgments).
    pub field: String,
    pub check: Check,
    /// Replaces the default error message.
    pub message: Option<String>,
}

/// One failed check, as the output lists it.
#[derive(Debug)]
pub struct Failure {
    pub field: String,
    pub check: String,
    pub message: String,
}

impl Failure {
    pub fn to_json(&self) -> Value {
        json!({ "field": self.field, "check": self.check, "message": self.message })
    }
}

/// Reads `params.rules` in any shape: a list of rules; one rule without its
/// list; a sentence; an object of `field: rule in words`. A rule it cannot
/// check itself (a sentence, an unknown check) becomes a `judgment` the
/// model answers, so a rule is never refused for its shape.
pub fn lenient_rules(given: Option<&Value>) -> Vec<Rule> {
    let specs = match given {
        None | Some(Value::Null) => return vec![],
        Some(Value::Array(specs)) => specs.clone(),
        Some(Value::Object(fields)) if !fields.contains_key("check") => {
            // `{"amount": "must be positive", "email": "required"}`: one rule per field.
            return fields
                .iter()
                .map(|(field, rule)| Rule {
                    field: params::pointer(&Value::String(field.clone()), "params.rules").unwrap_or_default(),
                    check: Check::Judgment(format!("{field}: {}", params::text_of(rule))),
                    message: None,
                })
                .collect();
        }
        Some(single) => vec![single.clone()],
    };
    specs
        .iter()
        .enumerate()
        .filter_map(|(i, spec)| match parse_rule(spec, &format!("params.rules[{i}]")) {
            Ok(rule) => Some(rule),
            Err(_) => {
                let words = params::text_of(spec);
                let words = words.trim();
                (!words.is_empty()).then(|| Rule {
                    field: String::new(),
                    check: Check::Judgment(words.into()),
                    message: None,
                })
            }
        })
        .collect()
}

fn parse_rule(spec: &Value, at: &str) -> Result<Rule, HandlerError> {
    let invalid = |message: String| HandlerError::InvalidInput(message);
    let Value::Object(spec) = spec else {
        return Err(invalid(format!(
            "{at} must be an object like {{\"field\": \"/total\", \"check\": \"min\", \"value\": 0}}, got {}",
            params::kind(spec)
        )));
    };
    let check_name = match spec.get("check") {
        Some(Value::String(name)) => name.as_str(),
        Some(other) => return Err(invalid(format!("{at}.check must be a string, got {}", params::kind(other)))),
        None => return Err(invalid(format!("{at}.check is required (one of {CHECKS})"))),
    };
    let value = spec.get("value").unwrap_or(&Value::Null);
    let value_error =
        |wanted: &str| invalid(format!("{at}.value must be {wanted} for `{check_name}`, got {}", params::kind(value)));
    // Numbers written as strings (`"5"`) count as numbers.
    let as_number = || value.as_f64().or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()));
    let length = || {
        as_number()
            .filter(|n| *n >= 0.0 && n.fract() == 0.0)
            .map(|n| n as usize)
            .ok_or_else(|| value_error("a non-negative integer"))
    };
    let check = match check_name {
        "required" => Check::Required,
        "type" => {
            let names: Vec<&str> = match value {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) if !ts.is_empty() => ts
                    .iter()
                    .map(Value::as_str)
                    .collect::<Option<_>>()
                    .ok_or_else(|| value_error("a type name or a list of them"))?,
                _ => return Err(value_error("a type name or a list of them")),
            };
            if let Some(unknown) = names.iter().find(|t| !TYPES.contains(t)) {
                return Err(invalid(format!(
                    "{at}.value names an unknown type `{unknown}` (types: {})",
                    TYPES.join(", ")
                )));
            }
            Check::Type(names.into_iter().map(String::from).collect())
        }
        "min" => Check::Min(as_number().ok_or_else(|| value_error("a number"))?),
        "max" => Check::Max(as_number().ok_or_else(|| value_error("a number"))?),
        "min_length" => Check::MinLength(length()?),
        "max_length" => Check::MaxLength(length()?),
        "pattern" => {
            let pattern = value.as_str().ok_or_else(|| value_error("a regular expression string"))?;
            Check::Pattern(
                Regex::new(pattern)
                    .map_err(|e| invalid(format!("{at}.value is not a valid regular expression: {e}")))?,
            )
        }
        "one_of" => Check::OneOf(value.as_array().cloned().ok_or_else(|| value_error("an array of allowed values"))?),
        "judgment" => match value.as_str().map(str::trim) {
            Some(question) if !question.is_empty() => Check::Judgment(question.to_string()),
            _ => return Err(value_error("the question for the model (a non-empty string)")),
        },
        other => return Err(invalid(format!("{at}.check must be one of {CHECKS}, got `{other}`"))),
    };
    let field = match spec.get("field") {
        Some(field) => params::pointer(field, &format!("{at}.field"))?,
        None if matches!(check, Check::Judgment(_)) => String::new(),
        None => return Err(invalid(format!("{at}.field is required for `{check_name}`"))),
    };
    let message = match spec.get("message") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) => Some(m.clone()),
        Some(other) => return Err(invalid(format!("{at}.message must be a string, got {}", params::kind(other)))),
    };
    Ok(Rule { field, check, message })
}

/// Runs a structured rule; `None` when it passes (judgment rules are left to
/// the model and pass here). A missing or null field passes every check but
/// `required` (and `type`, where null is a type).
pub fn check(rule: &Rule, data: &Value) -> Option<Failure> {
    let actual = data.pointer(&rule.field);
    let problem = match (&rule.check, actual) {
        (Check::Judgment(_), _) => None,
        (Check::Required, None) => Some("is required but missing".to_string()),
        (Check::Required, Some(Value::Null)) => Some("is required but null".to_string()),
        (Check::Required, Some(Value::String(s))) if s.trim().is_empty() => Some("is required but empty".to_string()),
        (Check::Required, Some(_)) => None,
        (Check::Type(types), Some(v)) => (!types.iter().any(|t| has_type(v, t)))
            .then(|| format!("expected {}, got {}", types.join(" or "), params::kind(v))),
        (_, None | Some(Value::Null)) => None,
        (Check::Min(min), Some(v)) => match number(v) {
            Some(x) if x < *min => Some(format!("{v} is less than the minimum {min}")),
            Some(_) => None,
            None => Some(format!("expected a number, got {v}")),
        },
        (Check::Max(max), Some(v)) => match number(v) {
            Some(x) if x > *max => Some(format!("{v} is more than the maximum {max}")),
            Some(_) => None,
            None => Some(format!("expected a number, got {v}")),
        },
        (Check::MinLength(min), Some(v)) => match length(v) {
            Some((n, unit)) if n < *min => Some(format!("has {n} {unit}, fewer than the minimum {min}")),
            Some(_) => None,
            None => Some(format!("expected a string or an array, got {}", params::kind(v))),
        },
        (Check::MaxLength(max), Some(v)) => match length(v) {
            Some((n, unit)) if n > *max => Some(format!("has {n} {unit}, more than the maximum {max}")),
            Some(_) => None,
            None => Some(format!("expected a string or an array, got {}", params::kind(v))),
        },
        (Check::Pattern(pattern), Some(v)) => {
            // Numbers (zip codes, ids) are matched on their digits.
            let text = match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            match text {
                Some(text) if pattern.is_match(&text) => None,
                Some(_) => Some(format!("{v} does not match the pattern `{pattern}`")),
                None => Some(format!("expected a string, got {}", params::kind(v))),
            }
        }
        (Check::OneOf(options), Some(v)) => (!options.iter().any(|o| equal(v, o)))
            .then(|| format!("{v} is not one of {}", Value::Array(options.clone()))),
    }?;
    Some(Failure {
        field: rule.field.clone(),
        check: rule.check.name().to_string(),
        message: rule.message.clone().unwrap_or(problem),
    })
}

fn length(value: &Value) -> Option<(usize, &'static str)> {
    match value {
        Value::String(s) => Some((s.chars().count(), "characters")),
        Value::Array(items) => Some((items.len(), "items")),
        _ => None,
    }
}

/// The schema's violations as failures of the `schema` check.
pub fn schema_failures(data: &Value, schema: &Value) -> Vec<Failure> {
    handler_kit::json::validate(data, schema)
        .into_iter()
        .map(|error| {
            let (field, message) = error.split_once(": ").unwrap_or(("/", error.as_str()));
            Failure { field: field.to_string(), check: "schema".into(), message: message.to_string() }
        })
        .collect()
}

/// The system prompt, the answer's schema and the task asking the model to
/// judge the `judgments` (rule index and rule). `data` is given when the
/// params hold it; otherwise the step's material carries it.
pub fn judgment_request(data: Option<&Value>, judgments: &[(usize, &Rule)]) -> (String, Value, String) {
    // One required key per rule: the schema itself asks for every verdict.
    let verdict = json!({
        "type": "object",
        "required": ["pass", "reason"],
        "properties": {"pass": {"type": "boolean"}, "reason": {"type": "string"}}
    });
    let keys: Vec<String> = judgments.iter().map(|(i, _)| i.to_string()).collect();
    let properties: serde_json::Map<String, Value> = keys.iter().map(|k| (k.clone(), verdict.clone())).collect();
    let schema = json!({
        "type": "object",
        "required": ["verdicts"],
        "properties": {"verdicts": {"type": "object", "required": keys, "properties": properties}}
    });
    let system = "For each numbered rule, judge whether the data passes it; give a one-sentence reason under \
         the rule's number in `verdicts`."
        .to_string();
    let rules: Vec<String> = judgments
        .iter()
        .map(|(i, rule)| {
            let question = match &rule.check {
                Check::Judgment(question) => question.as_str(),
                _ => "",
            };
            if rule.field.is_empty() {
                format!("{i}. {question}")
            } else {
                format!("{i}. {question} (field {})", rule.field)
            }
        })
        .collect();
    let mut task = format!("Rules:\n{}", rules.join("\n"));
    if let Some(data) = data {
        task = format!("Data:\n{}\n\n{task}", text_of(data));
    }
    (system, schema, task)
}

/// The system prompt, schema and task of a check whose rules are the
/// instruction's own words (no structured rules given).
pub fn instruction_request(data: Option<&Value>) -> (String, Value, String) {
    let schema = json!({
        "type": "object",
        "required": ["valid", "errors"],
        "properties": {
            "valid": {"type": "boolean"},
            "errors": {"type": "array", "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}}
            }}
        }
    });
    let system = "Check the data against the rules, policy or criteria the instruction states, and only those. \
         `valid` is true only when every rule holds; list each violation in `errors` with the field or \
         item it concerns and a one-sentence message."
        .to_string();
    let task = data.map(|d| format!("Data:\n{}", text_of(d))).unwrap_or_default();
    (system, schema, task)
}

/// The model's `{"valid", "errors": [{field, message}]}`, as the output's errors.
pub fn parse_verdict(answer: &str) -> Result<Vec<Value>, HandlerError> {
    let invalid = |message: String| HandlerError::InvalidOutput(message);
    let value = first_value(answer).map_err(invalid)?;
    let Some(valid) = value.get("valid").and_then(Value::as_bool) else {
        return Err(invalid(format!("the model's verdict has no boolean `valid`: {value}")));
    };
    let errors: Vec<Value> = value
        .get("errors")
        .and_then(Value::as_array)
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    json!({
                        "field": e.get("field").and_then(Value::as_str).unwrap_or(""),
                        "check": "judgment",
                        "message": e.get("message").and_then(Value::as_str).unwrap_or("").trim(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if !valid && errors.is_empty() {
        return Ok(vec![
            json!({"field": "", "check": "judgment", "message": "the data does not meet the stated rules"}),
        ]);
    }
    Ok(if valid { vec![] } else { errors })
}

fn text_of(data: &Value) -> String {
    match data {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The model's verdicts `(pass, reason)`, one per asked rule index, in the
/// order asked. A rule left out, judged twice or never asked is an error.
pub fn parse_judgments(answer: &str, asked: &[usize]) -> Result<Vec<(bool, String)>, HandlerError> {
    let invalid = |message: String| HandlerError::InvalidOutput(message);
    let value = first_value(answer).map_err(invalid)?;
    let Some(Value::Object(verdicts)) = value.get("verdicts") else {
        return Err(invalid(format!("the model's answer has no `verdicts` object: {value}")));
    };
    asked
        .iter()
        .map(|i| {
            let verdict = verdicts
                .get(&i.to_string())
                .ok_or_else(|| invalid(format!("the model gave no verdict for rule {i}")))?;
            let pass = verdict
                .get("pass")
                .and_then(Value::as_bool)
                .ok_or_else(|| invalid(format!("the verdict on rule {i} lacks a boolean `pass`: {verdict}")))?;
            let reason = verdict.get("reason").and_then(Value::as_str).unwrap_or_default().trim().to_string();
            Ok((pass, reason))
        })
        .collect()
}

/// The failure of a judgment the model did not pass.
pub fn judgment_failure(rule: &Rule, reason: &str) -> Failure {
    let question = match &rule.check {
        Check::Judgment(question) => question.as_str(),
        _ => "",
    };
    let message = match (&rule.message, reason) {
        (Some(message), _) => message.clone(),
        (None, "") => format!("the model judged that the data fails: {question}"),
        (None, reason) => format!("{question} {reason}"),
    };
    Failure { field: rule.field.clone(), check: "judgment".into(), message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(spec: Value) -> Rule {
        parse_rule(&spec, "params.rules[0]").unwrap()
    }

    fn fails(spec: Value, data: &Value) -> Option<String> {
        check(&rule(spec), data).map(|f| f.message)
    }

    fn input_error(spec: Value) -> String {
        match parse_rule(&spec, "params.rules[1]") {
            Err(HandlerError::InvalidInput(message)) => message,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    /// What `lenient_rules` makes of rules in other shapes: (field, judgment question) per rule.
    fn judged(given: Value) -> Vec<(String, String)> {
        lenient_rules(Some(&given))
            .into_iter()
            .map(|r| match r.check {
                Check::Judgment(q) => (r.field, q),
                other => (r.field, other.name().to_string()),
            })
            .collect()
    }

    #[test]
    fn rules_in_other_shapes_are_checked_or_judged_never_refused() {
        assert_eq!(
            judged(json!("every line item needs a cost centre")),
            [(String::new(), "every line item needs a cost centre".into())]
        );
        assert_eq!(
            judged(json!({"amount": "must be positive", "email": "required"})),
            [("/amount".into(), "amount: must be positive".into()), ("/email".into(), "email: required".into())]
        );
        assert_eq!(judged(json!({"field": "total", "check": "min", "value": "0"})), [("/total".into(), "min".into())]);
        assert_eq!(
            judged(json!([{"field": "/a", "check": "required"}, "no duplicates", {"field": "/b", "check": "shape"}])),
            [
                ("/a".into(), "required".into()),
                (String::new(), "no duplicates".into()),
                (String::new(), "check: shape; field: /b".into())
            ]
        );
        assert!(lenient_rules(None).is_empty());
    }

    fn output_error(result: Result<Vec<(bool, String)>, HandlerError>) -> String {
        match result {
            Err(HandlerError::InvalidOutput(message)) => message,
            other => panic!("expected invalid output, got {other:?}"),
        }
    }

    #[test]
    fn structured_checks() {
        let data = json!({
            "email": "ana@example.com", "total": "$1,200.00", "qty": 0, "note": " ", "owner": null,
            "tags": ["a", "b", "c"], "status": "paid", "zip": 94107
        });
        let f = |spec: Value| fails(spec, &data);
        assert_eq!(f(json!({"field": "/email", "check": "required"})), None);
        assert_eq!(f(json!({"field": "/missing", "check": "required"})).unwrap(), "is required but missing");
        assert_eq!(f(json!({"field": "/owner", "check": "required"})).unwrap(), "is required but null");
        assert_eq!(f(json!({"field": "/note", "check": "required"})).unwrap(), "is required but empty");
        assert_eq!(f(json!({"field": "/qty", "check": "type", "value": "integer"})), None);
        assert_eq!(
            f(json!({"field": "/total", "check": "type", "value": "number"})).unwrap(),
            "expected number, got string"
        );
        assert_eq!(f(json!({"field": "/owner", "check": "type", "value": ["string", "null"]})), None);
        assert_eq!(
            f(json!({"field": "/owner", "check": "type", "value": "string"})).unwrap(),
            "expected string, got null"
        );
        assert_eq!(
            f(json!({"field": "/total", "check": "max", "value": 1000})).unwrap(),
            "\"$1,200.00\" is more than the maximum 1000"
        );
        assert_eq!(f(json!({"field": "/qty", "check": "min", "value": 1})).unwrap(), "0 is less than the minimum 1");
        assert_eq!(
            f(json!({"field": "/status", "check": "min", "value": 1})).unwrap(),
            "expected a number, got \"paid\""
        );
        assert_eq!(
            f(json!({"field": "/tags", "check": "max_length", "value": 2})).unwrap(),
            "has 3 items, more than the maximum 2"
        );
        assert_eq!(
            f(json!({"field": "/status", "check": "min_length", "value": 5})).unwrap(),
            "has 4 characters, fewer than the minimum 5"
        );
        assert_eq!(
            f(json!({"field": "/qty", "check": "min_length", "value": 1})).unwrap(),
            "expected a string or an array, got number"
        );
        assert_eq!(f(json!({"field": "/email", "check": "pattern", "value": "^[^@\\s]+@[^@\\s]+$"})), None);
        assert_eq!(f(json!({"field": "/zip", "check": "pattern", "value": "^\\d{5}$"})), None);
        assert_eq!(f(json!({"field": "/status", "check": "pattern", "value": "(?i)^PAID$"})), None);
        assert_eq!(
            f(json!({"field": "/status", "check": "pattern", "value": "^o"})).unwrap(),
            "\"paid\" does not match the pattern `^o`"
        );
        assert_eq!(f(json!({"field": "/status", "check": "one_of", "value": ["paid", "open"]})), None);
        assert_eq!(
            f(json!({"field": "/qty", "check": "one_of", "value": ["1", "2"]})).unwrap(),
            "0 is not one of [\"1\",\"2\"]"
        );
        // Missing and null fields pass everything but `required` and `type`.
        assert_eq!(f(json!({"field": "/missing", "check": "min", "value": 5})), None);
        assert_eq!(f(json!({"field": "/owner", "check": "pattern", "value": "x"})), None);
        assert_eq!(f(json!({"field": "/missing", "check": "type", "value": "string"})), None);
    }

    #[test]
    fn custom_messages_replace_the_default() {
        let failure =
            check(&rule(json!({"field": "/a", "check": "required", "message": "Give an amount."})), &json!({}));
        assert_eq!(
            failure.unwrap().to_json(),
            json!({"field": "/a", "check": "required", "message": "Give an amount."})
        );
    }

    #[test]
    fn rule_errors_name_the_param() {
        assert_eq!(
            input_error(json!("required")),
            "params.rules[1] must be an object like {\"field\": \"/total\", \"check\": \"min\", \"value\": 0}, got string"
        );
        assert_eq!(input_error(json!({"field": "/a"})), format!("params.rules[1].check is required (one of {CHECKS})"));
        assert_eq!(
            input_error(json!({"field": "/a", "check": "shape"})),
            format!("params.rules[1].check must be one of {CHECKS}, got `shape`")
        );
        assert_eq!(input_error(json!({"check": "required"})), "params.rules[1].field is required for `required`");
        assert_eq!(
            input_error(json!({"field": "/a", "check": "min", "value": "five"})),
            "params.rules[1].value must be a number for `min`, got string"
        );
        assert_eq!(
            input_error(json!({"field": "/a", "check": "max_length", "value": -1})),
            "params.rules[1].value must be a non-negative integer for `max_length`, got number"
        );
        assert_eq!(
            input_error(json!({"field": "/a", "check": "type", "value": "text"})),
            "params.rules[1].value names an unknown type `text` (types: string, number, integer, boolean, array, object, null)"
        );
        assert!(
            input_error(json!({"field": "/a", "check": "pattern", "value": "(["}))
                .starts_with("params.rules[1].value is not a valid regular expression")
        );
        assert_eq!(
            input_error(json!({"field": "/a", "check": "one_of", "value": "a"})),
            "params.rules[1].value must be an array of allowed values for `one_of`, got string"
        );
        assert_eq!(
            input_error(json!({"check": "judgment", "value": " "})),
            "params.rules[1].value must be the question for the model (a non-empty string) for `judgment`, got string"
        );
        assert_eq!(
            input_error(json!({"field": "/a", "check": "required", "message": 3})),
            "params.rules[1].message must be a string, got number"
        );
        assert_eq!(rule(json!({"check": "judgment", "value": "Fair?"})).field, "");
    }

    #[test]
    fn schema_violations_become_failures() {
        let schema = json!({"type": "object", "required": ["id"], "properties": {"n": {"type": "number"}}});
        let failures = schema_failures(&json!({"n": "x"}), &schema);
        assert_eq!(
            failures.iter().map(Failure::to_json).collect::<Vec<_>>(),
            vec![
                json!({"field": "/", "check": "schema", "message": "missing required field `id`"}),
                json!({"field": "/n", "check": "schema", "message": "expected number, got string"}),
            ]
        );
    }

    #[test]
    fn the_judgment_request_numbers_rules_by_their_index() {
        let rules = lenient_rules(Some(&json!([
            {"field": "/a", "check": "required"},
            {"check": "judgment", "value": "Is the refund justified by the policy?"},
            {"field": "/reason", "check": "judgment", "value": "Is the reason polite?"},
        ])));
        let judgments = [(1, &rules[1]), (2, &rules[2])];
        let (_, schema, task) = judgment_request(Some(&json!({"days": 12})), &judgments);
        assert_eq!(schema["properties"]["verdicts"]["required"], json!(["1", "2"]));
        assert_eq!(
            task,
            "Data:\n{\"days\":12}\n\nRules:\n1. Is the refund justified by the policy?\n2. Is the reason polite? (field /reason)"
        );
        assert!(judgment_request(None, &judgments).2.starts_with("Rules:\n1."));
    }

    #[test]
    fn a_verdict_on_the_instructions_rules_lists_its_errors() {
        assert_eq!(parse_verdict(r#"{"valid": true, "errors": []}"#).unwrap(), Vec::<Value>::new());
        assert_eq!(
            parse_verdict(r#"{"valid": false, "errors": [{"field": "/hotel", "message": " Over the $250 cap. "}]}"#)
                .unwrap(),
            vec![json!({"field": "/hotel", "check": "judgment", "message": "Over the $250 cap."})]
        );
        assert_eq!(parse_verdict(r#"{"valid": false}"#).unwrap().len(), 1, "invalid always says so");
        assert!(matches!(parse_verdict(r#"{"ok": 1}"#), Err(HandlerError::InvalidOutput(_))));
        let (_, schema, task) = instruction_request(None);
        assert_eq!(schema["required"], json!(["valid", "errors"]));
        assert_eq!(task, "");
    }

    #[test]
    fn verdicts_are_checked_against_the_rules_asked() {
        let answer =
            r#"{"verdicts": {"4": {"pass": false, "reason": "Too late."}, "1": {"pass": true, "reason": ""}}}"#;
        assert_eq!(parse_judgments(answer, &[1, 4]).unwrap(), vec![(true, String::new()), (false, "Too late.".into())]);
        assert_eq!(output_error(parse_judgments(answer, &[1, 4, 5])), "the model gave no verdict for rule 5");
        assert!(
            output_error(parse_judgments(r#"{"verdicts": {"1": {"pass": "yes"}}}"#, &[1]))
                .starts_with("the verdict on rule 1 lacks")
        );
        assert!(output_error(parse_judgments("{\"simulated\": true}", &[1])).contains("no `verdicts` object"));
        assert!(output_error(parse_judgments("no", &[1])).contains("no JSON"));
    }

    #[test]
    fn judgment_failures_explain_themselves() {
        let r = rule(json!({"field": "/refund", "check": "judgment", "value": "Is the refund justified?"}));
        assert_eq!(judgment_failure(&r, "Bought 45 days ago.").message, "Is the refund justified? Bought 45 days ago.");
        assert_eq!(judgment_failure(&r, "").message, "the model judged that the data fails: Is the refund justified?");
        assert_eq!(judgment_failure(&r, "").field, "/refund");
    }
}
