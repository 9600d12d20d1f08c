//! A step's material (assembled by the orchestrator: the prompt, the data
//! params, the inputs and outputs the step reads, memory) as a model message,
//! and its data as JSON for the handlers' no-model paths.

use crate::StepRequest;
use crate::workflowpilot::orchestration::types::MaterialSource;
use serde_json::{Map, Value};

/// A piece this short, on one line, is a `name: value` line of its source's
/// group rather than a tagged block of its own: identifiers, dates and names
/// would otherwise cost more in tags than in content.
const LINE_PIECE_CHARS: usize = 160;

/// The material as one user message: the instruction first (untagged), then every
/// piece of data and the memory in the order given, each long piece in a
/// tag named by its source (`<param name="call">`, `<input name="…">`,
/// `<step_output name="…">`, `<memory>`), and the short one-line pieces of
/// each source together in one block (`<inputs>` with `name: value` lines).
/// Pieces named in `shown_elsewhere` are left out: the caller renders them
/// itself (as numbered items, say).
pub fn render(request: &StepRequest, shown_elsewhere: &[String]) -> String {
    let pieces: Vec<_> = request.material.iter().filter(|p| !shown_elsewhere.contains(&p.name)).collect();
    let is_line = |content: &str| content.len() <= LINE_PIECE_CHARS && !content.contains('\n');
    let mut blocks: Vec<String> = vec![];
    let mut grouped: Vec<MaterialSource> = vec![];
    for piece in &pieces {
        let content = piece.content.trim();
        match piece.source {
            // The instruction is trusted text, first and untagged; data sits in tags.
            MaterialSource::Prompt if !content.is_empty() => blocks.push(content.to_string()),
            MaterialSource::Prompt => {}
            MaterialSource::Memory => blocks.push(format!("<memory>\n{content}\n</memory>")),
            source if is_line(content) => {
                if grouped.contains(&source) {
                    continue;
                }
                grouped.push(source);
                let lines: Vec<String> = pieces
                    .iter()
                    .filter(|p| p.source == source && is_line(p.content.trim()))
                    .map(|p| format!("{}: {}", p.name, p.content.trim()))
                    .collect();
                let tag = group_tag(source);
                blocks.push(format!("<{tag}>\n{}\n</{tag}>", lines.join("\n")));
            }
            source => {
                let tag = piece_tag(source);
                blocks.push(format!("<{tag} name=\"{}\">\n{content}\n</{tag}>", piece.name));
            }
        }
    }
    blocks.join("\n\n")
}

fn piece_tag(source: MaterialSource) -> &'static str {
    match source {
        MaterialSource::Prompt => "instruction",
        MaterialSource::Param => "param",
        MaterialSource::Input => "input",
        MaterialSource::StepOutput => "step_output",
        MaterialSource::Memory => "memory",
    }
}

fn group_tag(source: MaterialSource) -> &'static str {
    match source {
        MaterialSource::Prompt => "instruction",
        MaterialSource::Param => "params",
        MaterialSource::Input => "inputs",
        MaterialSource::StepOutput => "step_outputs",
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

/// The step's data as one JSON value, and the names it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    pub value: Value,
    pub pieces: Vec<String>,
}

/// The step's data as one JSON value, for work without a model, read from
/// the originals (never the compressed material): the params that are not
/// `control` settings, then the inputs and earlier outputs the material
/// carries as pieces of their own.
/// One value is the data; among several, the only JSON object or array is
/// (a prior step's record beside workflow texts); otherwise an object of
/// all of them by name. `None` when the step has no data. Text holding a
/// JSON object or array is parsed (a model's output arrives as text).
pub fn data(request: &StepRequest, control: &[&str]) -> Option<Data> {
    let mut named: Vec<(String, Value)> = vec![];
    if let Ok(Value::Object(params)) = serde_json::from_str::<Value>(&request.params) {
        named.extend(params.into_iter().filter(|(k, v)| !control.contains(&k.as_str()) && !v.is_null()));
    }
    // A context value is data only when the material carries it as a piece
    // of its own: one a param already holds (a template's value) is not data twice.
    let in_material = |name: &str| {
        request
            .material
            .iter()
            .any(|p| p.name == name && matches!(p.source, MaterialSource::Input | MaterialSource::StepOutput))
    };
    if let Ok(Value::Object(context)) = serde_json::from_str::<Value>(&request.context) {
        for (key, value) in context {
            match (key.as_str(), value) {
                ("inputs" | "steps", Value::Object(values)) => {
                    named.extend(values.into_iter().filter(|(name, _)| in_material(name)))
                }
                (_, value) if in_material(&key) => named.push((key, value)),
                _ => {}
            }
        }
    }
    let mut named: Vec<(String, Value)> =
        named.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, parsed(v))).collect();
    let structured: Vec<usize> =
        (0..named.len()).filter(|i| named[*i].1.is_object() || named[*i].1.is_array()).collect();
    let (value, pieces) = match (named.len(), structured.as_slice()) {
        (0, _) => return None,
        (1, _) => {
            let (name, value) = named.remove(0);
            (value, vec![name])
        }
        (_, [only]) => {
            let (name, value) = named.remove(*only);
            (value, vec![name])
        }
        _ => {
            let names = named.iter().map(|(n, _)| n.clone()).collect();
            (Value::Object(named.into_iter().collect::<Map<String, Value>>()), names)
        }
    };
    Some(Data { value, pieces })
}

fn parsed(value: Value) -> Value {
    match value {
        Value::String(text) if text.trim_start().starts_with(['{', '[']) => {
            serde_json::from_str(text.trim()).unwrap_or(Value::String(text))
        }
        other => other,
    }
}

/// Whether the step gives its model anything at all to work on.
pub fn is_empty(request: &StepRequest) -> bool {
    request.material.iter().all(|p| p.content.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::request_with;
    use crate::workflowpilot::orchestration::types::MaterialFormat;

    #[test]
    fn renders_instruction_data_and_memory_in_tags() {
        let transcript = "Angela: $612,000 grant.\nDana: agreed.";
        let request = request_with(&[
            ("prompt", MaterialSource::Prompt, MaterialFormat::Text, "Summarize the call."),
            ("transcript", MaterialSource::Param, MaterialFormat::Text, transcript),
            ("account", MaterialSource::Input, MaterialFormat::Text, "ACC-55102"),
            ("recap", MaterialSource::StepOutput, MaterialFormat::Json, r#"{"owner":"Dana"}"#),
            ("region", MaterialSource::Input, MaterialFormat::Text, "EMEA"),
            ("memory", MaterialSource::Memory, MaterialFormat::Json, r#"{"tz":"UTC"}"#),
        ]);
        assert_eq!(
            render(&request, &[]),
            "Summarize the call.\n\n\
             <param name=\"transcript\">\nAngela: $612,000 grant.\nDana: agreed.\n</param>\n\n\
             <inputs>\naccount: ACC-55102\nregion: EMEA\n</inputs>\n\n\
             <step_outputs>\nrecap: {\"owner\":\"Dana\"}\n</step_outputs>\n\n\
             <memory>\n{\"tz\":\"UTC\"}\n</memory>"
        );
        let long = "x".repeat(LINE_PIECE_CHARS + 1);
        let long_piece = request_with(&[("notes", MaterialSource::Input, MaterialFormat::Text, &long)]);
        assert_eq!(render(&long_piece, &[]), format!("<input name=\"notes\">\n{long}\n</input>"));
        assert_eq!(instruction(&request), Some("Summarize the call."));
        assert!(!render(&request, &["transcript".into()]).contains("$612,000"));
    }

    #[test]
    fn data_comes_from_the_originals_preferring_the_one_record() {
        let mut request = request_with(&[]);
        request.params = r#"{"rows": "[{\"h\": 2}, {\"h\": 3}]", "mapping": {"a": "/h"}}"#.into();
        request.context = r#"{"inputs": {}, "steps": {}}"#.into();
        let data_of = |r: &StepRequest| data(r, &["mapping"]);
        assert_eq!(
            data_of(&request).unwrap(),
            Data { value: serde_json::json!([{"h": 2}, {"h": 3}]), pieces: vec!["rows".into()] }
        );
        // A record from an earlier step beside workflow texts: the record.
        request.params = r#"{"mapping": {"a": "/total"}}"#.into();
        request.context =
            r#"{"inputs": {"invoice_text": "INV 42 ..."}, "steps": {"fields": {"total": 716.38}}}"#.into();
        request.material = request_with(&[
            ("invoice_text", MaterialSource::Input, MaterialFormat::Text, "INV 42 ..."),
            ("fields", MaterialSource::StepOutput, MaterialFormat::Json, r#"{"total":716.38}"#),
        ])
        .material;
        assert_eq!(data_of(&request).unwrap().value, serde_json::json!({"total": 716.38}));
        // Several texts: all of them by name.
        request.context = r#"{"inputs": {"a": "x", "b": "y"}}"#.into();
        request.material = request_with(&[
            ("a", MaterialSource::Input, MaterialFormat::Text, "x"),
            ("b", MaterialSource::Input, MaterialFormat::Text, "y"),
        ])
        .material;
        assert_eq!(data_of(&request).unwrap().value, serde_json::json!({"a": "x", "b": "y"}));
        request.context = "{}".into();
        assert_eq!(data_of(&request), None);
    }

    #[test]
    fn a_context_value_a_param_carries_is_not_data_twice() {
        let mut request = request_with(&[("entries", MaterialSource::Param, MaterialFormat::Json, "[1,2]")]);
        request.params = r#"{"entries": [1, 2]}"#.into();
        request.context = r#"{"inputs": {"timesheets": [1, 2]}}"#.into();
        assert_eq!(
            data(&request, &[]).unwrap(),
            Data { value: serde_json::json!([1, 2]), pieces: vec!["entries".into()] }
        );
    }
}
