//! `classify`'s logic: the classes (from params or the instruction's
//! words), the request with its schema, and the checked answer.

use handler_kit::json::first_value;
use handler_kit::{HandlerError, params};
use serde_json::{Value, json};

/// Most classes a prompt's list is read as; longer lists are prose.
const MAX_CLASSES: usize = 12;
/// Longest class name read from a prompt, in words.
const MAX_CLASS_WORDS: usize = 4;

/// One class and, when given, what it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    pub name: String,
    pub covers: Option<String>,
}

/// `["a", "b"]` or `{"a": "what a covers", ...}`.
pub fn classes_from_param(spec: &Value) -> Result<Vec<Class>, HandlerError> {
    let invalid = |m: String| HandlerError::InvalidInput(m);
    let classes: Vec<Class> = match spec {
        Value::Array(names) => names
            .iter()
            .enumerate()
            .map(|(i, n)| match n.as_str().map(str::trim) {
                Some(name) if !name.is_empty() => Ok(Class { name: name.to_string(), covers: None }),
                _ => Err(invalid(format!("params.labels[{i}] must be a non-empty string"))),
            })
            .collect::<Result<_, _>>()?,
        Value::Object(described) => described
            .iter()
            .map(|(name, covers)| Class {
                name: name.clone(),
                covers: covers.as_str().map(str::trim).filter(|c| !c.is_empty()).map(String::from),
            })
            .collect(),
        other => {
            return Err(invalid(format!(
                "params.labels must be a list of classes or an object, got {}",
                params::kind(other)
            )));
        }
    };
    if classes.len() < 2 {
        return Err(invalid("params.labels needs at least two classes".into()));
    }
    Ok(classes)
}

/// The classes an instruction lists in its first line (the data that may
/// follow is never read as classes): the words after its last ` as `,
/// ` into `, ` one of `, ` between `, ` either ` or `:` up to the end of a
/// sentence, split at commas, `or`, `and` and `/` ("as low, medium or high",
/// "into Billing, Technical, or Account"), as written. Empty when there is no such list.
pub fn classes_from_prompt(prompt: &str) -> Vec<Class> {
    let first_line = prompt.trim_start().lines().next().unwrap_or("");
    for sentence in sentences(first_line).into_iter().rev() {
        let lower = sentence.to_lowercase();
        let start = [" as ", " into ", " one of ", " between ", ": ", " either "]
            .iter()
            .filter_map(|marker| lower.rfind(marker).map(|at| at + marker.len()))
            .max();
        let Some(start) = start else { continue };
        // Lower-casing keeps byte offsets for ASCII markers only when the text before is ASCII.
        if !sentence.is_char_boundary(start) || lower.len() != sentence.len() {
            continue;
        }
        let list = sentence[start..].trim().trim_end_matches(['.', '?', '!', ')']);
        let names: Vec<String> = list
            .split([',', '/', '|'])
            .flat_map(|part| part.split(" or "))
            .flat_map(|part| part.split(" and "))
            .map(|p| {
                p.trim()
                    .trim_start_matches("or ")
                    .trim_start_matches("and ")
                    .trim_matches(['"', '\'', '`', '(', ')'])
                    .trim()
            })
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect();
        let plausible = (2..=MAX_CLASSES).contains(&names.len())
            && names.iter().all(|n| n.split_whitespace().count() <= MAX_CLASS_WORDS);
        if plausible {
            return names.into_iter().map(|name| Class { name, covers: None }).collect();
        }
    }
    vec![]
}

fn sentences(text: &str) -> Vec<&str> {
    text.split_inclusive(['.', '?', '!', '\n']).map(str::trim).filter(|s| !s.is_empty()).collect()
}

/// The system prompt, schema and task. With classes, `label` is one of them.
pub fn request(classes: &[Class]) -> (String, Value, String) {
    let label = if classes.is_empty() {
        json!({"type": "string", "minLength": 1})
    } else {
        json!({"type": "string", "enum": classes.iter().map(|c| c.name.as_str()).collect::<Vec<_>>()})
    };
    let schema = json!({
        "type": "object",
        "required": ["label", "confidence", "rationale"],
        "properties": {
            "label": label,
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "rationale": {"type": "string"}
        }
    });
    let system = "Give the data the one label the instruction asks for, your confidence (0-1) and a one- or \
                  two-sentence rationale citing the data."
        .to_string();
    let task = if classes.is_empty() {
        "Answer with a short label of your own (one to three words).".to_string()
    } else {
        let listed: Vec<String> = classes
            .iter()
            .map(|c| match &c.covers {
                Some(covers) => format!("- {}: {covers}", c.name),
                None => format!("- {}", c.name),
            })
            .collect();
        format!("Classes:\n{}", listed.join("\n"))
    };
    (system, schema, task)
}

/// The model's answer, its label checked against the classes (case aside).
pub fn parse_answer(answer: &str, classes: &[Class]) -> Result<Value, HandlerError> {
    let invalid = |m: String| HandlerError::InvalidOutput(m);
    let value = first_value(answer).map_err(invalid)?;
    let given = value.get("label").and_then(Value::as_str).map(str::trim).unwrap_or_default();
    let label = if classes.is_empty() {
        (!given.is_empty()).then(|| given.to_string())
    } else {
        classes.iter().find(|c| c.name.eq_ignore_ascii_case(given)).map(|c| c.name.clone())
    };
    let Some(label) = label else {
        let names: Vec<&str> = classes.iter().map(|c| c.name.as_str()).collect();
        return Err(invalid(format!("the model's label `{given}` is not one of {}", names.join(", "))));
    };
    let confidence = value.get("confidence").and_then(Value::as_f64).unwrap_or(0.0).clamp(0.0, 1.0);
    let rationale = value.get("rationale").and_then(Value::as_str).unwrap_or_default().trim();
    let labels: Vec<&str> = classes.iter().map(|c| c.name.as_str()).collect();
    Ok(json!({ "label": label, "confidence": confidence, "rationale": rationale, "labels": labels }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(classes: &[Class]) -> Vec<&str> {
        classes.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn classes_are_read_from_the_instruction() {
        let cases = [
            ("Classify the churn risk as low, medium or high.", vec!["low", "medium", "high"]),
            ("Sort the ticket into billing, technical, or account.", vec!["billing", "technical", "account"]),
            ("Is this lead hot/warm/cold? Be strict.", vec![]),
            ("Label the review: positive, neutral or negative", vec!["positive", "neutral", "negative"]),
            ("Decide between approve and reject.", vec!["approve", "reject"]),
            ("Tag the email as one of urgent, normal, low priority.", vec!["urgent", "normal", "low priority"]),
            ("Which department should handle this?", vec![]),
            ("Sort it into Billing, Technical or Account.", vec!["Billing", "Technical", "Account"]),
            (
                "Classify urgency as low, medium or high.\nTicket: server down, customers cannot log in, billing failing",
                vec!["low", "medium", "high"],
            ),
        ];
        for (prompt, expected) in cases {
            assert_eq!(names(&classes_from_prompt(prompt)), expected, "{prompt}");
        }
    }

    #[test]
    fn classes_from_params_with_what_they_cover() {
        let c = classes_from_param(&json!({"billing": "charges and refunds", "technical": ""})).unwrap();
        assert_eq!(c[0], Class { name: "billing".into(), covers: Some("charges and refunds".into()) });
        assert_eq!(c[1].covers, None);
        assert!(matches!(classes_from_param(&json!(["one"])), Err(HandlerError::InvalidInput(_))));
        assert!(matches!(classes_from_param(&json!("a,b")), Err(HandlerError::InvalidInput(_))));
        let (_, schema, task) = request(&c);
        assert_eq!(schema["properties"]["label"]["enum"], json!(["billing", "technical"]));
        assert_eq!(task, "Classes:\n- billing: charges and refunds\n- technical");
    }

    #[test]
    fn answers_must_name_a_class() {
        let classes = classes_from_prompt("Rate it as low, medium or high.");
        let out =
            parse_answer(r#"{"label": "High", "confidence": 1.4, "rationale": " Two outages. "}"#, &classes).unwrap();
        assert_eq!(
            out,
            json!({"label": "high", "confidence": 1.0, "rationale": "Two outages.", "labels": ["low", "medium", "high"]})
        );
        assert!(matches!(parse_answer(r#"{"label": "severe"}"#, &classes), Err(HandlerError::InvalidOutput(_))));
        assert_eq!(parse_answer(r#"{"label": "vip"}"#, &[]).unwrap()["label"], "vip");
        assert!(matches!(parse_answer(r#"{"label": ""}"#, &[]), Err(HandlerError::InvalidOutput(_))));
    }
}
