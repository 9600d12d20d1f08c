//! `conditional`'s logic: evaluating a structured condition with its reason,
//! the prompt and answer of a yes/no question, and the branch outcome.

use handler_kit::compare::{Condition, Op};
use handler_kit::json::first_value;
use handler_kit::{HandlerError, params};
use serde_json::{Value, json};

/// Longest rendering of a field's value inside a reason.
const MAX_SHOWN_CHARS: usize = 80;

/// Whether `condition` holds for `input`, and why, in words.
pub fn evaluate(condition: &Condition, input: &Value) -> Result<(bool, String), HandlerError> {
    // Text (a prior step's prose answer) has no fields: reading one would
    // silently take the `else` branch.
    if input.is_string() && !condition.field.is_empty() {
        return Err(HandlerError::InvalidInput(format!(
            "params.input is text, not JSON, so params.condition.field `{}` cannot be read from it",
            condition.field
        )));
    }
    let actual = input.pointer(&condition.field);
    let result = condition.holds(input);
    let field = if condition.field.is_empty() { "the input" } else { condition.field.as_str() };
    let shown = actual.map_or_else(|| "missing".to_string(), |v| shorten(&v.to_string()));
    let test = match condition.op {
        Op::Exists | Op::NotExists => condition.op.name().to_string(),
        op => format!("{} {}", op.name(), shorten(&condition.value.to_string())),
    };
    let verdict = if result { "holds" } else { "does not hold" };
    Ok((result, format!("{field} is {shown}, so `{test}` {verdict}")))
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// The system prompt, the schema of the answer and the task asking a yes/no
/// question. The material (the instruction and the step's data) opens the
/// message; `question` is given when it is not the instruction itself, and
/// `input` when the params hold the data the condition reads.
pub fn question_request(question: Option<&str>, input: Option<&Value>) -> (String, Value, String) {
    let schema = json!({
        "type": "object",
        "required": ["answer", "reason"],
        "properties": {"answer": {"type": "boolean"}, "reason": {"type": "string"}}
    });
    let system = "Answer the yes/no question about the data: `answer` true for yes, false for no; `reason` \
         one sentence."
        .to_string();
    let mut parts = Vec::new();
    if let Some(question) = question {
        parts.push(format!("Question: {question}"));
    }
    if let Some(input) = input {
        let data = match input {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        parts.push(format!("Data:\n{data}"));
    }
    (system, schema, parts.join("\n\n"))
}

/// The system prompt, schema and task choosing one of named branches
/// (`input`: the data the params hold, which the material does not carry).
pub fn branch_request(question: Option<&str>, input: Option<&Value>, names: &[String]) -> (String, Value, String) {
    let schema = json!({
        "type": "object",
        "required": ["branch", "reason"],
        "properties": {"branch": {"type": "string", "enum": names}, "reason": {"type": "string"}}
    });
    let system = "Choose the one workflow branch the instruction and the data call for; `reason` is one \
         sentence."
        .to_string();
    let mut task = format!("Branches: {}", names.join(", "));
    if let Some(question) = question {
        task = format!("Question: {question}\n\n{task}");
    }
    if let Some(input) = input {
        let data = match input {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        task = format!("{task}\n\nData:\n{data}");
    }
    (system, schema, task)
}

/// Branch names with the step ids each runs.
pub type Branches = Vec<(String, Vec<String>)>;

/// Named branches, `{"name": [step ids]}`, in the order given.
pub fn named_branches(spec: Option<&Value>) -> Result<Option<Branches>, HandlerError> {
    let Some(spec) = spec.filter(|s| !s.is_null()) else { return Ok(None) };
    let Value::Object(branches) = spec else {
        return Err(HandlerError::InvalidInput(format!(
            "params.branches must be an object of branch name to step ids, got {}",
            params::kind(spec)
        )));
    };
    if branches.len() < 2 {
        return Err(HandlerError::InvalidInput("params.branches needs at least two branches".into()));
    }
    branches
        .iter()
        .map(|(name, ids)| Ok((name.clone(), step_ids(Some(ids), &format!("branches.{name}"))?)))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The model's `{"branch": name, "reason": "..."}`, the name one of `names`.
pub fn parse_branch(answer: &str, names: &[String]) -> Result<(String, String), HandlerError> {
    let invalid = |message: String| HandlerError::InvalidOutput(message);
    let value = first_value(answer).map_err(invalid)?;
    let chosen = value.get("branch").and_then(Value::as_str).map(str::trim).unwrap_or_default();
    let Some(name) = names.iter().find(|n| n.eq_ignore_ascii_case(chosen)) else {
        return Err(invalid(format!("the model chose `{chosen}`, which is not one of {}", names.join(", "))));
    };
    let reason = value.get("reason").and_then(Value::as_str).unwrap_or_default().trim().to_string();
    Ok((name.clone(), reason))
}

/// The output for a named branch: the steps only other branches list are skipped.
pub fn branch_outcome(chosen: &str, reason: &str, branches: &[(String, Vec<String>)]) -> Value {
    let taken: &[String] = branches.iter().find(|(n, _)| n == chosen).map_or(&[], |(_, ids)| ids);
    let mut skip: Vec<&String> = branches
        .iter()
        .filter(|(n, _)| n != chosen)
        .flat_map(|(_, ids)| ids)
        .filter(|id| !taken.contains(id))
        .collect();
    skip.dedup();
    json!({ "branch": chosen, "skip": skip, "reason": reason })
}

/// The model's `{"answer": bool, "reason": "..."}`.
pub fn parse_answer(answer: &str) -> Result<(bool, String), HandlerError> {
    let invalid = |message: String| HandlerError::InvalidOutput(message);
    let value = first_value(answer).map_err(invalid)?;
    let Some(result) = value.get("answer").and_then(Value::as_bool) else {
        return Err(invalid(format!("the model's answer has no boolean `answer`: {value}")));
    };
    let reason = value.get("reason").and_then(Value::as_str).unwrap_or_default().trim().to_string();
    Ok((result, reason))
}

/// The step ids of a branch param (`then`, `else`); absent means none.
/// A branch's step ids: a list of ids, or one string of ids separated by commas.
pub fn step_ids(branch: Option<&Value>, key: &str) -> Result<Vec<String>, HandlerError> {
    let ids: Vec<Value> = match branch {
        None | Some(Value::Null) => vec![],
        Some(Value::String(ids)) => {
            ids.split(',').map(str::trim).filter(|id| !id.is_empty()).map(|id| Value::String(id.into())).collect()
        }
        Some(Value::Array(ids)) => ids.clone(),
        Some(other) => vec![other.clone()],
    };
    ids.iter()
        .enumerate()
        .map(|(i, id)| match id {
            Value::String(id) if !id.trim().is_empty() => Ok(id.clone()),
            other => Err(HandlerError::InvalidInput(format!(
                "params.{key}[{i}] must be a step id, got {}",
                if other.is_string() { "an empty string" } else { params::kind(other) }
            ))),
        })
        .collect()
}

/// The step's output: which branch runs, and the steps of the other one to
/// skip (but not those the branch taken also lists).
pub fn outcome(result: bool, reason: &str, then: Vec<String>, otherwise: Vec<String>) -> Value {
    let (branch, taken, other) = if result { ("then", then, otherwise) } else { ("else", otherwise, then) };
    let skip: Vec<String> = other.into_iter().filter(|id| !taken.contains(id)).collect();
    json!({ "result": result, "branch": branch, "skip": skip, "reason": reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(spec: Value) -> Condition {
        Condition::parse(&spec, "params.condition").unwrap()
    }

    #[test]
    fn structured_conditions_explain_themselves() {
        let input = json!({"amount": "$1,200.00", "priority": "high"});
        let eval = |spec: Value, input: &Value| evaluate(&condition(spec), input).unwrap();
        let (result, reason) = eval(json!({"field": "/amount", "op": "gt", "value": 1000}), &input);
        assert!(result);
        assert_eq!(reason, "/amount is \"$1,200.00\", so `gt 1000` holds");
        let (result, reason) = eval(json!({"field": "/owner", "op": "exists"}), &input);
        assert!(!result);
        assert_eq!(reason, "/owner is missing, so `exists` does not hold");
        let (result, reason) = eval(json!({"field": "", "op": "contains", "value": "x"}), &json!("y".repeat(200)));
        assert!(!result);
        assert!(
            reason.starts_with("the input is \"yyy") && reason.contains("…, so `contains \"x\"` does not hold"),
            "{reason}"
        );
    }

    #[test]
    fn text_input_has_no_fields() {
        let spec = condition(json!({"field": "/amount", "op": "gt", "value": 1}));
        assert!(matches!(
            evaluate(&spec, &json!("[simulated] The amount is 3.")),
            Err(HandlerError::InvalidInput(m)) if m == "params.input is text, not JSON, so params.condition.field `/amount` cannot be read from it"
        ));
    }

    #[test]
    fn the_question_request_asks_what_the_material_does_not_say() {
        let (system, schema, task) = question_request(Some("Is the customer angry?"), Some(&json!({"text": "hi"})));
        assert!(system.contains("yes/no"));
        assert_eq!(schema["properties"]["answer"]["type"], "boolean");
        assert_eq!(task, "Question: Is the customer angry?\n\nData:\n{\"text\":\"hi\"}");
        let (_, _, task) = question_request(None, Some(&json!("Shipped 3 weeks after the promise.")));
        assert_eq!(task, "Data:\nShipped 3 weeks after the promise.");
        assert_eq!(question_request(None, None).2, "", "the instruction is the question");
    }

    #[test]
    fn named_branches_are_chosen_by_name() {
        let spec = json!({"approve": ["pay", "notify"], "reject": ["notify", "close"], "escalate": ["legal"]});
        let branches = named_branches(Some(&spec)).unwrap().unwrap();
        let names: Vec<String> = branches.iter().map(|(n, _)| n.clone()).collect();
        let (_, schema, task) = branch_request(None, Some(&json!({"score": 91})), &names);
        assert_eq!(schema["properties"]["branch"]["enum"], json!(names));
        assert!(task.starts_with("Branches: ") && task.ends_with("Data:\n{\"score\":91}"), "{task}");
        let (chosen, reason) = parse_branch(r#"{"branch": "Reject", "reason": "over budget"}"#, &names).unwrap();
        assert_eq!(
            branch_outcome(&chosen, &reason, &branches),
            json!({"branch": "reject", "skip": ["pay", "legal"], "reason": "over budget"})
        );
        assert!(matches!(parse_branch(r#"{"branch": "maybe"}"#, &names), Err(HandlerError::InvalidOutput(_))));
        assert!(matches!(named_branches(Some(&json!({"only": []}))), Err(HandlerError::InvalidInput(_))));
        let single = named_branches(Some(&json!({"yes": "pay", "no": ["close", "notify"]}))).unwrap().unwrap();
        assert!(single.contains(&("yes".to_string(), vec!["pay".to_string()])), "a single id for a branch");
        assert_eq!(named_branches(None).unwrap(), None);
    }

    #[test]
    fn answers_need_a_boolean() {
        assert_eq!(
            parse_answer("{\"answer\": true, \"reason\": \" Angry tone. \"}").unwrap(),
            (true, "Angry tone.".into())
        );
        assert_eq!(parse_answer("Sure: {\"answer\": false}").unwrap(), (false, String::new()));
        for bad in ["{\"answer\": \"yes\"}", "{\"simulated\": true, \"answer\": \"x\"}", "yes"] {
            assert!(matches!(parse_answer(bad), Err(HandlerError::InvalidOutput(_))), "{bad}");
        }
    }

    #[test]
    fn branches_skip_the_other_side() {
        let ids = |v: Value| step_ids(Some(&v), "then");
        let then = ids(json!(["refund", "notify"])).unwrap();
        let otherwise = ids(json!(["close"])).unwrap();
        assert_eq!(
            outcome(true, "r", then.clone(), otherwise.clone()),
            json!({"result": true, "branch": "then", "skip": ["close"], "reason": "r"})
        );
        assert_eq!(outcome(false, "r", then, otherwise)["skip"], json!(["refund", "notify"]));
        // A step in both branches runs either way.
        let both = |result| outcome(result, "r", vec!["reply".into(), "notify".into()], vec!["reply".into()]);
        assert_eq!(both(true)["skip"], json!([]));
        assert_eq!(both(false)["skip"], json!(["notify"]));
        assert_eq!(step_ids(None, "else").unwrap(), Vec::<String>::new());
        assert_eq!(ids(json!("escalate")).unwrap(), ["escalate"], "one id for a list");
        assert_eq!(ids(json!("refund, notify")).unwrap(), ["refund", "notify"]);
        assert!(
            matches!(ids(json!(["a", 3])), Err(HandlerError::InvalidInput(m)) if m == "params.then[1] must be a step id, got number")
        );
        assert!(
            matches!(ids(json!([" "])), Err(HandlerError::InvalidInput(m)) if m == "params.then[0] must be a step id, got an empty string")
        );
    }
}
