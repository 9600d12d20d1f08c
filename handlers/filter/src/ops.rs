//! `filter`'s logic: structured `where` clauses, and the prompt and answer
//! of the model call for fuzzy criteria.

use handler_kit::compare::Condition;
use handler_kit::json::first_value;
use handler_kit::{HandlerError, params};
use orchestration::compress::table;
use serde_json::{Value, json};

/// How `where` clauses combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    All,
    Any,
}

impl Match {
    pub fn parse(name: Option<&str>) -> Result<Match, HandlerError> {
        match name.unwrap_or("all") {
            "all" => Ok(Match::All),
            "any" => Ok(Match::Any),
            other => Err(HandlerError::InvalidInput(format!("params.match must be `all` or `any`, got `{other}`"))),
        }
    }
}

/// The items of `params.input`: the records it holds, or for text, its
/// non-empty lines (a list a prior step wrote in prose).
pub fn items(input: Value) -> Result<Vec<Value>, HandlerError> {
    match input {
        Value::String(text) => Ok(lines(&text)),
        other => params::records(other, "input"),
    }
}

/// The items of the step's data when no params name them: its records, or,
/// for data that holds none (several texts), the lines of its texts.
pub fn items_of_data(data: Value) -> Vec<Value> {
    match data {
        Value::Object(fields) if !fields.values().any(|v| v.is_array() || v.is_object()) => {
            fields.values().filter_map(Value::as_str).flat_map(lines).collect()
        }
        other => items(other.clone()).unwrap_or_else(|_| vec![other]),
    }
}

/// Whether [`items_of_data`] carries every part of `data` (a list, a text,
/// or texts only): then the numbered items can stand for the data.
pub fn items_cover(data: &Value) -> bool {
    match data {
        Value::Array(_) | Value::String(_) => true,
        Value::Object(fields) => fields.values().all(Value::is_string),
        _ => false,
    }
}

fn lines(text: &str) -> Vec<Value> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| json!(l)).collect()
}

/// The `where` clauses, each checked and named in errors by its index.
/// The clauses of `params.where` it can check itself (`None` when there
/// are none), and the rest as words for the model: a sentence, a clause in
/// another shape, a single clause given without its list.
pub fn lenient_where(given: Option<&Value>) -> (Option<Vec<Condition>>, Option<String>) {
    let clauses = match given {
        None | Some(Value::Null) => return (None, None),
        Some(Value::Array(clauses)) => clauses.clone(),
        Some(single) => vec![single.clone()],
    };
    let (mut conditions, mut words) = (Vec::new(), Vec::new());
    for (i, clause) in clauses.iter().enumerate() {
        match Condition::parse(clause, &format!("params.where[{i}]")) {
            Ok(condition) => conditions.push(condition),
            Err(_) => words.push(params::text_of(clause)),
        }
    }
    words.retain(|w| !w.trim().is_empty());
    ((!conditions.is_empty()).then_some(conditions), (!words.is_empty()).then(|| words.join("; ")))
}

/// Whether `item` passes the clauses.
pub fn passes(item: &Value, conditions: &[Condition], mode: Match) -> bool {
    match mode {
        Match::All => conditions.iter().all(|c| c.holds(item)),
        Match::Any => conditions.iter().any(|c| c.holds(item)),
    }
}

/// The system prompt, the answer's schema and the task asking the model
/// which of the numbered `items` to keep. `criteria` is given when the params
/// state them; otherwise the instruction (in the material) does.
pub fn criteria_request(criteria: Option<&str>, items: &[&Value]) -> (String, Value, String) {
    let schema = json!({
        "type": "object",
        "required": ["keep"],
        "properties": {"keep": {"type": "array", "items": {"type": "integer"}}}
    });
    let system = "List in `keep` the numbers of the items that meet the instruction's criteria.".to_string();
    // Records that share their keys are listed as rows under one header.
    let texts: Vec<String> = items.iter().map(|item| item.to_string()).collect();
    let (header, lines) = match table::numbered_rows(&texts) {
        Some((columns, rows)) => (format!("Items ({columns}):"), rows),
        None => ("Items:".to_string(), texts),
    };
    let listed: Vec<String> = lines.iter().enumerate().map(|(i, line)| format!("[{i}] {line}")).collect();
    let mut task = format!("{header}\n{}", listed.join("\n"));
    if let Some(criteria) = criteria {
        task = format!("Criteria: {criteria}\n\n{task}");
    }
    (system, schema, task)
}

/// The indices the model kept, checked against the `count` items it saw,
/// in order and without repeats.
pub fn parse_keep(answer: &str, count: usize) -> Result<Vec<usize>, HandlerError> {
    let invalid = |message: String| HandlerError::InvalidOutput(message);
    let value = first_value(answer).map_err(invalid)?;
    let Some(Value::Array(keep)) = value.get("keep") else {
        return Err(invalid(format!("the model's answer has no `keep` array: {value}")));
    };
    let mut indices = keep
        .iter()
        .map(|v| match v.as_u64() {
            Some(i) if (i as usize) < count => Ok(i as usize),
            _ => Err(invalid(format!(
                "the model kept {v}, which is not an item number from 0 to {}",
                count.saturating_sub(1)
            ))),
        })
        .collect::<Result<Vec<usize>, _>>()?;
    indices.sort_unstable();
    indices.dedup();
    Ok(indices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_output(result: Result<Vec<usize>, HandlerError>) -> String {
        match result {
            Err(HandlerError::InvalidOutput(message)) => message,
            other => panic!("expected invalid output, got {other:?}"),
        }
    }

    #[test]
    fn items_come_from_records_or_lines_of_text() {
        assert_eq!(items(json!({"quotes": [{"a": 1}], "currency": "EUR"})).unwrap(), vec![json!({"a": 1})]);
        assert_eq!(
            items(json!("#1 feat: x\n\n  #2 fix: y  \n")).unwrap(),
            vec![json!("#1 feat: x"), json!("#2 fix: y")]
        );
        assert!(matches!(items(json!(3)), Err(HandlerError::InvalidInput(m)) if m.ends_with("got number")));
    }

    #[test]
    fn where_clauses_combine_by_match() {
        let conditions = lenient_where(Some(&json!([
            {"field": "/priority", "op": "eq", "value": "high"},
            {"field": "/amount", "op": "gte", "value": 100},
        ])))
        .0
        .unwrap();
        let items = [
            json!({"priority": "high", "amount": "250.00"}),
            json!({"priority": "high", "amount": 20}),
            json!({"priority": "low", "amount": 500}),
            json!({"priority": "low"}),
        ];
        let kept = |mode| items.iter().filter(|i| passes(i, &conditions, mode)).count();
        assert_eq!(kept(Match::All), 1);
        assert_eq!(kept(Match::Any), 3);
    }

    #[test]
    fn a_where_in_another_shape_becomes_words_for_the_model() {
        assert_eq!(lenient_where(Some(&json!([]))).0.map(|c| c.len()), None);
        let (checked, words) =
            lenient_where(Some(&json!([{"field": "/a", "op": "eq", "value": 1}, {"field": "/b", "op": "near"}])));
        assert_eq!(checked.map(|c| c.len()), Some(1));
        assert_eq!(words.as_deref(), Some("field: /b; op: near"));
        let (checked, words) = lenient_where(Some(&json!("amount over 500 and still open")));
        assert!(checked.is_none());
        assert_eq!(words.as_deref(), Some("amount over 500 and still open"));
        let single = lenient_where(Some(&json!({"field": "status", "op": "eq", "value": "open"})));
        assert_eq!((single.0.map(|c| c.len()), single.1), (Some(1), None), "one clause without its list, a bare key");
        assert_eq!(Match::parse(None).unwrap(), Match::All);
        assert_eq!(Match::parse(Some("any")).unwrap(), Match::Any);
        assert!(matches!(Match::parse(Some("some")), Err(HandlerError::InvalidInput(m)) if m.contains("params.match")));
    }

    #[test]
    fn the_request_numbers_items() {
        let a = json!({"t": "refund"});
        let b = json!("plain");
        let (_, schema, task) = criteria_request(Some("mentions money"), &[&a, &b]);
        assert_eq!(schema["required"], json!(["keep"]));
        assert_eq!(task, "Criteria: mentions money\n\nItems:\n[0] {\"t\":\"refund\"}\n[1] \"plain\"");
        assert!(criteria_request(None, &[&a]).2.starts_with("Items:\n[0]"));
    }

    #[test]
    fn records_are_numbered_rows_under_one_header() {
        let rows: Vec<Value> = (0..3).map(|i| json!({"who": format!("E-{i}"), "hours": 9 + i})).collect();
        let (_, _, task) = criteria_request(None, &rows.iter().collect::<Vec<_>>());
        assert_eq!(task, "Items (columns hours,who):\n[0] 9,E-0\n[1] 10,E-1\n[2] 11,E-2");
    }

    #[test]
    fn kept_indices_are_checked_sorted_and_unique() {
        assert_eq!(parse_keep("```json\n{\"keep\": [2, 0, 2]}\n```", 3).unwrap(), vec![0, 2]);
        assert_eq!(parse_keep("{\"keep\": []}", 0).unwrap(), Vec::<usize>::new());
        assert!(
            invalid_output(parse_keep("{\"keep\": [3]}", 3))
                .contains("kept 3, which is not an item number from 0 to 2")
        );
        assert!(invalid_output(parse_keep("{\"keep\": [-1]}", 3)).contains("kept -1"));
        assert!(invalid_output(parse_keep("{\"keep\": [\"1\"]}", 3)).contains("kept \"1\""));
        assert!(invalid_output(parse_keep("{\"simulated\": true, \"answer\": \"x\"}", 3)).contains("no `keep` array"));
        assert!(invalid_output(parse_keep("no idea", 3)).contains("no JSON"));
    }

    #[test]
    fn data_without_records_gives_the_lines_of_its_texts() {
        let data = json!({"log": "09:14 login failed root\n09:15 login ok dana", "host": "bastion-02"});
        // Object keys come sorted (serde_json's map).
        assert_eq!(
            items_of_data(data),
            vec![json!("bastion-02"), json!("09:14 login failed root"), json!("09:15 login ok dana")]
        );
        assert_eq!(items_of_data(json!({"orders": [{"id": 1}]})), vec![json!({"id": 1})]);
        assert!(items_cover(&json!({"a": "x", "b": "y"})) && items_cover(&json!([1])));
        assert!(!items_cover(&json!({"region": "EMEA", "orders": [{"id": 1}]})), "the region would be lost");
    }
}
