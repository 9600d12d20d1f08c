//! A step's material (assembled by the orchestrator: the prompt, the data
//! params, the inputs and outputs the step reads, memory) as a model message,
//! and its data as JSON for the handlers' no-model paths.

use crate::StepRequest;
use crate::workflowpilot::orchestration::types::{MaterialFormat, MaterialPiece, MaterialSource};
use serde_json::{Map, Value};

/// The material as one user message: the instruction first, then every
/// piece of data and the memory, each in its own tag, in the order given.
/// Pieces named in `shown_elsewhere` are left out: the caller renders them
/// itself (as numbered items, say).
pub fn render(request: &StepRequest, shown_elsewhere: &[String]) -> String {
    let mut out = String::new();
    for piece in request.material.iter().filter(|p| !shown_elsewhere.contains(&p.name)) {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        match piece.source {
            MaterialSource::Prompt => out.push_str(&format!("<instruction>\n{}\n</instruction>", piece.content.trim())),
            MaterialSource::Memory => {
                out.push_str(&format!("<memory of earlier runs>\n{}\n</memory of earlier runs>", piece.content.trim()))
            }
            source => out.push_str(&format!(
                "<data name=\"{}\" from=\"{}\">\n{}\n</data>",
                piece.name,
                source_name(source),
                piece.content.trim()
            )),
        }
    }
    out
}

fn source_name(source: MaterialSource) -> &'static str {
    match source {
        MaterialSource::Prompt => "prompt",
        MaterialSource::Param => "params",
        MaterialSource::Input => "workflow input",
        MaterialSource::StepOutput => "earlier step",
        MaterialSource::Memory => "memory",
    }
}

/// The step's instruction: its prompt as the material carries it.
pub fn instruction(request: &StepRequest) -> Option<&str> {
    request
        .material
        .iter()
        .find(|p| p.source == MaterialSource::Prompt)
        .map(|p| p.content.trim())
        .filter(|p| !p.is_empty())
}

/// The pieces that are data: params, inputs and earlier outputs.
pub fn data_pieces(request: &StepRequest) -> impl Iterator<Item = &MaterialPiece> {
    request.material.iter().filter(|p| !matches!(p.source, MaterialSource::Prompt | MaterialSource::Memory))
}

/// The step's data as one JSON value, and the pieces it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    pub value: Value,
    pub pieces: Vec<String>,
}

/// The step's data as one JSON value, for handlers that work on it without a
/// model: the value of its only data piece, or an object of all of them by
/// name; `None` when the step has no data. Text that holds a JSON object or
/// array is parsed (earlier outputs arrive as text when a model wrote them).
pub fn data(request: &StepRequest) -> Option<Data> {
    let mut pieces: Vec<(String, Value)> = data_pieces(request).map(|p| (p.name.clone(), piece_value(p))).collect();
    let names = pieces.iter().map(|(name, _)| name.clone()).collect();
    let value = match pieces.len() {
        0 => return None,
        1 => pieces.pop().map(|(_, v)| v)?,
        _ => Value::Object(pieces.into_iter().collect::<Map<String, Value>>()),
    };
    Some(Data { value, pieces: names })
}

fn piece_value(piece: &MaterialPiece) -> Value {
    let text = piece.content.trim();
    let parsed = match piece.format {
        MaterialFormat::Json => serde_json::from_str(text).ok(),
        MaterialFormat::Text if text.starts_with(['{', '[']) => serde_json::from_str(text).ok(),
        MaterialFormat::Text => None,
    };
    parsed.unwrap_or_else(|| Value::String(piece.content.clone()))
}

/// Whether the step gives its model anything at all to work on.
pub fn is_empty(request: &StepRequest) -> bool {
    request.material.iter().all(|p| p.content.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::request_with;

    #[test]
    fn renders_instruction_data_and_memory_in_tags() {
        let request = request_with(&[
            ("prompt", MaterialSource::Prompt, MaterialFormat::Text, "Summarize the call."),
            ("transcript", MaterialSource::Param, MaterialFormat::Text, "Angela: $612,000 grant."),
            ("recap", MaterialSource::StepOutput, MaterialFormat::Json, r#"{"owner":"Dana"}"#),
            ("memory", MaterialSource::Memory, MaterialFormat::Json, r#"{"tz":"UTC"}"#),
        ]);
        assert_eq!(
            render(&request, &[]),
            "<instruction>\nSummarize the call.\n</instruction>\n\n\
             <data name=\"transcript\" from=\"params\">\nAngela: $612,000 grant.\n</data>\n\n\
             <data name=\"recap\" from=\"earlier step\">\n{\"owner\":\"Dana\"}\n</data>\n\n\
             <memory of earlier runs>\n{\"tz\":\"UTC\"}\n</memory of earlier runs>"
        );
        assert_eq!(instruction(&request), Some("Summarize the call."));
        assert!(!render(&request, &["transcript".into()]).contains("$612,000"));
    }

    #[test]
    fn data_is_the_only_piece_or_an_object_of_all() {
        let one = request_with(&[
            ("prompt", MaterialSource::Prompt, MaterialFormat::Text, "Total it."),
            ("rows", MaterialSource::Param, MaterialFormat::Json, r#"[{"h":2},{"h":3}]"#),
        ]);
        let data_of = |r: &StepRequest| data(r).map(|d| d.value);
        assert_eq!(data_of(&one), Some(serde_json::json!([{"h": 2}, {"h": 3}])));
        assert_eq!(data(&one).unwrap().pieces, ["rows"]);
        let two = request_with(&[
            ("rows", MaterialSource::Param, MaterialFormat::Text, "[1, 2]"),
            ("note", MaterialSource::Input, MaterialFormat::Text, "plain words"),
        ]);
        assert_eq!(data_of(&two), Some(serde_json::json!({"rows": [1, 2], "note": "plain words"})));
        let none = request_with(&[("prompt", MaterialSource::Prompt, MaterialFormat::Text, "Go.")]);
        assert_eq!(data_of(&none), None);
        assert!(!is_empty(&none) && is_empty(&request_with(&[])));
    }
}
