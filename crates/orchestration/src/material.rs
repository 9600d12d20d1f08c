//! A step's material: everything its model calls must carry, assembled once
//! by the orchestrator for every handler, so no handler can forget the data.
//!
//! The pieces, in order: the prompt; every params value that is data (not a
//! control setting of the chosen handler, which the handler declares in its
//! `info()`); each workflow input and dependency output the step sees (the
//! host scopes the context to what the step references); the agent's memory.
//! A context value whose text already sits in the prompt or a params value
//! (a template put it there) is not repeated: it is listed in
//! [`Assembly::omitted`] with the piece that carries it. Nothing else is left
//! out; compression may shorten pieces but never drops one.

use crate::tokens::TokenCounter;
use serde::Serialize;
use serde_json::{Map, Value};

/// Where a piece came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Prompt,
    Param,
    Input,
    StepOutput,
    Memory,
}

/// How a piece's content is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Text,
    Json,
}

/// One part of a step's material.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Piece {
    pub name: String,
    pub source: Source,
    pub format: Format,
    pub content: String,
    pub tokens: u32,
    /// Tokens before compression.
    pub original_tokens: u32,
    pub compressed: bool,
}

impl Piece {
    fn new(name: &str, source: Source, value: &Value, counter: &dyn TokenCounter) -> Piece {
        let (format, content) = match value {
            Value::String(text) => (Format::Text, text.clone()),
            other => (Format::Json, other.to_string()),
        };
        let tokens = counter.count(&content);
        Piece { name: name.to_string(), source, format, content, tokens, original_tokens: tokens, compressed: false }
    }
}

/// A context value left out because another piece already carries its
/// text, or memory an intent does not read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Omitted {
    pub name: String,
    pub source: Source,
    /// The piece whose content holds it (or, in parentheses, why it is not sent).
    pub carried_by: String,
}

/// The material of one step, before compression.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Assembly {
    pub pieces: Vec<Piece>,
    pub omitted: Vec<Omitted>,
}

impl Assembly {
    pub fn tokens(&self) -> u32 {
        self.pieces.iter().map(|p| p.tokens).sum()
    }
}

/// What the step sees, as the caller hands it over.
pub struct StepData<'a> {
    pub prompt: &'a str,
    /// The step's params, a JSON object as text.
    pub params: &'a str,
    /// The variables the step sees: `{"inputs": {...}, "steps": {...}}`; any
    /// other top-level member counts as an input.
    pub context: &'a str,
    /// The agent's memory, a JSON value as text.
    pub memory: &'a str,
}

/// Assembles a step's material. `control` lists the params keys the
/// handler reads as settings; they are not data.
pub fn assemble(data: &StepData<'_>, control: &[String], counter: &dyn TokenCounter) -> Assembly {
    let mut assembly = Assembly::default();
    if !data.prompt.trim().is_empty() {
        assembly.pieces.push(Piece::new("prompt", Source::Prompt, &Value::String(data.prompt.to_string()), counter));
    }
    let params = parse_object(data.params);
    for (key, value) in &params {
        if !control.iter().any(|c| c == key) && !is_empty(value) {
            assembly.pieces.push(Piece::new(key, Source::Param, value, counter));
        }
    }
    // Texts the context must not repeat: the prompt, and every data param's value and string leaf.
    let mut carriers: Vec<(&str, String)> = vec![("prompt", data.prompt.to_string())];
    for (key, value) in params.iter().filter(|(k, _)| !control.iter().any(|c| c == *k)) {
        collect_texts(key, value, &mut carriers);
    }
    for (name, source, value) in context_values(data.context) {
        if is_empty(&value) {
            continue;
        }
        match carrier_of(&value, &carriers) {
            Some(carrier) => {
                assembly.omitted.push(Omitted { name, source, carried_by: carrier.to_string() });
            }
            None => assembly.pieces.push(Piece::new(&name, source, &value, counter)),
        }
    }
    if let Ok(memory) = serde_json::from_str::<Value>(data.memory)
        && !is_empty(&memory)
    {
        assembly.pieces.push(Piece::new("memory", Source::Memory, &memory, counter));
    }
    assembly
}

/// Shortest text found inside a longer carrier: a shorter value (`2025`,
/// `high`) is only carried by a carrier that is exactly it, so a word that
/// happens to occur in a prompt never hides the variable that holds it.
pub const MIN_CARRIED_CHARS: usize = 24;

/// The carrier (name) whose text holds `value`'s text (a string as itself,
/// anything else as compact JSON), by the rule of [`MIN_CARRIED_CHARS`].
pub fn carrier_of<'a>(value: &Value, carriers: &'a [(&'a str, String)]) -> Option<&'a str> {
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    };
    carriers
        .iter()
        .find(
            |(_, carrier)| {
                if text.chars().count() >= MIN_CARRIED_CHARS { carrier.contains(&text) } else { carrier.trim() == text }
            },
        )
        .map(|(name, _)| *name)
}

fn parse_object(json: &str) -> Map<String, Value> {
    match serde_json::from_str(json) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// `null`, blank strings and empty arrays or objects carry nothing.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    }
}

/// The context's inputs and step outputs, named.
fn context_values(context: &str) -> Vec<(String, Source, Value)> {
    let mut values = vec![];
    for (key, value) in parse_object(context) {
        match (key.as_str(), value) {
            ("inputs", Value::Object(inputs)) => values.extend(inputs.into_iter().map(|(k, v)| (k, Source::Input, v))),
            ("steps", Value::Object(outputs)) => {
                values.extend(outputs.into_iter().map(|(k, v)| (k, Source::StepOutput, v)))
            }
            (_, value) => values.push((key, Source::Input, value)),
        }
    }
    values
}

/// A params value's compact JSON and each of its string leaves, so a context
/// value inserted into it by a template (whole, or as a string) is found.
pub fn collect_texts<'a>(name: &'a str, value: &Value, out: &mut Vec<(&'a str, String)>) {
    fn leaves<'a>(name: &'a str, value: &Value, out: &mut Vec<(&'a str, String)>) {
        match value {
            Value::String(s) => out.push((name, s.clone())),
            Value::Array(items) => items.iter().for_each(|v| leaves(name, v, out)),
            Value::Object(fields) => fields.values().for_each(|v| leaves(name, v, out)),
            _ => {}
        }
    }
    if !value.is_string() {
        out.push((name, value.to_string()));
    }
    leaves(name, value, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> u32 {
        text.split_whitespace().count() as u32
    }

    fn assemble_with(prompt: &str, params: &str, context: &str, memory: &str, control: &[&str]) -> Assembly {
        let control: Vec<String> = control.iter().map(|s| s.to_string()).collect();
        assemble(&StepData { prompt, params, context, memory }, &control, &words)
    }

    fn names(a: &Assembly) -> Vec<(&str, Source)> {
        a.pieces.iter().map(|p| (p.name.as_str(), p.source)).collect()
    }

    #[test]
    fn data_params_under_any_name_are_pieces_and_control_params_are_not() {
        let a = assemble_with(
            "Summarize the call for the account team.",
            r#"{"transcript": "Angela: the grant is $612,000.", "target_length": 80, "notes": {"owner": "Dana"}}"#,
            "{}",
            "null",
            &["target_length", "style"],
        );
        assert_eq!(
            names(&a),
            vec![("prompt", Source::Prompt), ("notes", Source::Param), ("transcript", Source::Param)]
        );
        assert_eq!(a.pieces[1].format, Format::Json);
        assert_eq!(a.pieces[1].content, r#"{"owner":"Dana"}"#);
        assert_eq!(a.pieces[2].format, Format::Text);
        assert_eq!(a.pieces[2].tokens, 5);
    }

    #[test]
    fn context_values_go_along_unless_a_template_already_put_them_in() {
        let context = r#"{"inputs": {"call": "Angela: the grant is $612,000.", "account": "ACME-7"},
                          "steps": {"recap": {"summary": "grant secured"}, "empty": null}}"#;
        let a = assemble_with(
            "Draft the follow-up.",
            r#"{"transcript": "Angela: the grant is $612,000."}"#,
            context,
            "null",
            &[],
        );
        assert_eq!(
            names(&a),
            vec![
                ("prompt", Source::Prompt),
                ("transcript", Source::Param),
                ("account", Source::Input),
                ("recap", Source::StepOutput)
            ]
        );
        assert_eq!(
            a.omitted,
            vec![Omitted { name: "call".into(), source: Source::Input, carried_by: "transcript".into() }]
        );
        // A whole output inserted as a params value, and text templated into the prompt.
        let a = assemble_with(
            "Reply to ACME-7 about it.",
            r#"{"previous": {"summary": "grant secured"}}"#,
            context,
            "null",
            &[],
        );
        let omitted: Vec<&str> = a.omitted.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(omitted, vec!["recap"], "a short id in the prompt does not hide its variable");
        assert!(a.pieces.iter().any(|p| p.name == "call"));
    }

    #[test]
    fn short_values_and_control_params_never_hide_a_variable() {
        let context = r#"{"inputs": {"year": 2025, "priority": "high", "currency": "USD", "ref": "INV-2024-0042"}}"#;
        let a = assemble_with(
            "Write the FY2025 report, a high-level view.",
            r#"{"schema": {"enum": ["USD", "EUR"]}, "ref": "INV-2024-0042"}"#,
            context,
            "null",
            &["schema"],
        );
        let sent: Vec<&str> = a.pieces.iter().map(|p| p.name.as_str()).collect();
        for name in ["year", "priority", "currency"] {
            assert!(sent.contains(&name), "{name} must be sent: {sent:?}");
        }
        // A short value equal to a data param is carried by it.
        assert_eq!(a.omitted, vec![Omitted { name: "ref".into(), source: Source::Input, carried_by: "ref".into() }]);
    }

    #[test]
    fn memory_and_empty_values() {
        let a = assemble_with(
            "",
            r#"{"blank": " ", "none": null, "list": []}"#,
            r#"{"inputs": {}}"#,
            r#"{"user_context": {"tz": "UTC"}}"#,
            &[],
        );
        assert_eq!(names(&a), vec![("memory", Source::Memory)]);
        assert!(assemble_with("x", "{}", "{}", "{}", &[]).pieces.iter().all(|p| p.source != Source::Memory));
    }
}
