//! The simulated provider: an offline, deterministic test double. It never
//! passes for a model: every text answer starts with `[simulated]`, the
//! provider is reported as `simulated` everywhere, and its "answers" are
//! mechanical: the leading sentences of the prompt for text, and for a
//! requested JSON Schema a value of that schema, its fields filled from
//! `Label: value` lines of the prompt where one names them. Token counts come
//! from the real BPE tokenizer.

use super::provider::{AnswerFormat, Completion, ModelProvider, ProviderRequest, ProviderResponse};
use crate::bindings::types::ProviderError;
use crate::tokenizer;
use serde_json::{Map, Value, json};
use std::time::Duration;

pub const TEXT_LABEL: &str = "[simulated] ";
/// A text answer is at most this fraction of the prompt, like a summary.
const TEXT_ANSWER_RATIO: u32 = 4;
const MIN_TEXT_ANSWER: u32 = 24;

pub struct Simulated {
    latency: Duration,
}

impl Simulated {
    /// A provider that answers after `latency` (zero for benchmarks).
    pub fn new(latency: Duration) -> Self {
        Simulated { latency }
    }

    async fn send(&self, request: &ProviderRequest) -> Result<ProviderResponse, ProviderError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let prompt = request.messages.iter().map(|(_, text)| text.as_str()).collect::<Vec<_>>().join("\n");
        let system = request.system.as_deref().unwrap_or("");
        // A schema travels with the request (as the forced tool's input
        // schema): the provider bills it as input. (Its fixed tool-use system
        // prompt is not modelled.)
        let schema_tokens = match &request.format {
            AnswerFormat::Schema(schema) => tokenizer::count(&schema.to_string()),
            _ => 0,
        };
        let input_tokens = tokenizer::count(system) + tokenizer::count(&prompt) + schema_tokens;
        let (text, stop_reason) = match &request.format {
            AnswerFormat::Schema(schema) => (fill(schema, &prompt, None).to_string(), "tool_use"),
            AnswerFormat::Json => (
                json!({ "simulated": true, "answer": sentences(&prompt).next().unwrap_or("") }).to_string(),
                "end_turn",
            ),
            AnswerFormat::Text => {
                let cap = request.max_tokens.min((input_tokens / TEXT_ANSWER_RATIO).max(MIN_TEXT_ANSWER));
                text_answer(&prompt, cap)
            }
        };
        let mut output_tokens = tokenizer::count(&text);
        let text = if output_tokens > request.max_tokens {
            output_tokens = request.max_tokens;
            tokenizer::truncate(&text, request.max_tokens)
        } else {
            text
        };
        Ok(ProviderResponse {
            text,
            model: request.model.clone(),
            input_tokens,
            output_tokens,
            cached: Default::default(),
            stop_reason: if output_tokens == request.max_tokens { "max_tokens" } else { stop_reason }.to_string(),
        })
    }
}

/// Leading sentences of the prompt within `cap` tokens, labeled.
fn text_answer(prompt: &str, cap: u32) -> (String, &'static str) {
    let budget = cap.saturating_sub(tokenizer::count(TEXT_LABEL));
    let mut answer = String::new();
    for sentence in sentences(prompt) {
        let candidate = if answer.is_empty() { sentence.to_string() } else { format!("{answer} {sentence}") };
        if tokenizer::count(&candidate) > budget {
            break;
        }
        answer = candidate;
    }
    if answer.is_empty() {
        answer = tokenizer::truncate(prompt.trim(), budget);
    }
    (format!("{TEXT_LABEL}{answer}"), "end_turn")
}

fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive(['.', '!', '?', '\n']).map(str::trim).filter(|s| !s.is_empty())
}

/// A value valid against `schema`: `const`, then the first `enum` option
/// (or the labeled value when it is one of them), the first of
/// `anyOf`/`oneOf`, and by type: objects with every property, arrays of at
/// least `minItems`, numbers inside `minimum`/`maximum`, strings of at least
/// `minLength`. A field's value comes from a `Label: value` line of the prompt
/// that names it, when there is one.
fn fill(schema: &Value, prompt: &str, field: Option<&str>) -> Value {
    if let Some(constant) = schema.get("const") {
        return constant.clone();
    }
    let found = field.and_then(|f| labeled_value(prompt, f));
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        return match found.map(Value::String) {
            Some(v) if options.contains(&v) => v,
            _ => options.first().cloned().unwrap_or(Value::Null),
        };
    }
    if let Some(first) = ["anyOf", "oneOf"].iter().find_map(|k| schema.get(*k)?.as_array()?.first()) {
        return fill(first, prompt, field);
    }
    let kind = schema.get("type").and_then(|t| match t {
        Value::String(s) => Some(s.as_str()),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    });
    let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
    let clamp = |n: f64| n.max(bound("minimum").unwrap_or(f64::MIN)).min(bound("maximum").unwrap_or(f64::MAX));
    match kind.unwrap_or(if schema.get("properties").is_some() { "object" } else { "string" }) {
        "object" => {
            let mut object = Map::new();
            if let Some(Value::Object(properties)) = schema.get("properties") {
                for (name, property) in properties {
                    object.insert(name.clone(), fill(property, prompt, Some(name)));
                }
            }
            // A required field the schema does not describe: present, as null.
            for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
            {
                object.entry(name.to_string()).or_insert(Value::Null);
            }
            Value::Object(object)
        }
        "array" => {
            let items = schema.get("items").cloned().unwrap_or(json!({"type": "string"}));
            let mut values: Vec<Value> = match found {
                Some(list) if items.get("type").and_then(Value::as_str).unwrap_or("string") == "string" => {
                    list.split([',', ';']).map(|s| s.trim()).filter(|s| !s.is_empty()).map(|s| json!(s)).collect()
                }
                _ => vec![],
            };
            let min_items = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
            while values.len() < min_items {
                values.push(fill(&items, prompt, None));
            }
            Value::Array(values)
        }
        "number" => json!(clamp(found.and_then(|v| number(&v)).unwrap_or(0.0))),
        "integer" => json!(clamp(found.and_then(|v| number(&v)).unwrap_or(0.0)).round() as i64),
        "boolean" => json!(found.is_some_and(|v| matches!(v.to_lowercase().as_str(), "yes" | "true" | "y"))),
        "null" => Value::Null,
        _ => {
            let mut text = found.unwrap_or_default();
            let min_length = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
            if text.chars().count() < min_length {
                text = format!("{text}{}", "-".repeat(min_length - text.chars().count()));
            }
            Value::String(text)
        }
    }
}

/// The value of the first `Label: value` line whose label names `field`
/// (`invoice_number` matches `Invoice number:` and `Invoice Number (ref):`).
fn labeled_value(prompt: &str, field: &str) -> Option<String> {
    let wanted = normalize(field);
    let lines = prompt.lines().filter_map(|line| line.split_once(':'));
    let mut fallback = None;
    for (label, value) in lines {
        let label = normalize(label);
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        if label == wanted {
            return Some(value.to_string());
        }
        if fallback.is_none() && label.starts_with(&wanted) {
            fallback = Some(value.to_string());
        }
    }
    fallback
}

fn normalize(label: &str) -> String {
    label.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

fn number(text: &str) -> Option<f64> {
    let cleaned: String = text
        .chars()
        .skip_while(|c| !(c.is_ascii_digit() || *c == '-'))
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-'))
        .filter(|c| *c != ',')
        .collect();
    cleaned.parse().ok()
}

impl ModelProvider for Simulated {
    fn name(&self) -> &'static str {
        "simulated"
    }

    fn complete<'a>(&'a self, request: &'a ProviderRequest) -> Completion<'a> {
        Box::pin(self.send(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(system: &str, prompt: &str, format: AnswerFormat, max_tokens: u32) -> ProviderRequest {
        ProviderRequest {
            model: "claude-haiku-4-5".into(),
            system: Some(system.into()),
            messages: vec![("user", prompt.into())],
            max_tokens,
            temperature: 0.0,
            format,
        }
    }

    #[tokio::test]
    async fn fills_the_schema_from_labeled_lines() {
        let schema = json!({"type":"object","required":["invoice_number","total","paid"],"properties":{
            "invoice_number":{"type":"string"},"total":{"type":"number"},"paid":{"type":"boolean"},
            "tags":{"type":"array","items":{"type":"string"}},"status":{"enum":["open","closed"]}}});
        let prompt = "Invoice Number: INV-0042\nTotal due: $1,234.50\nPaid: no\nTags: urgent, q3\n";
        let r = Simulated::new(Duration::ZERO)
            .complete(&request("Extract.", prompt, AnswerFormat::Schema(schema.clone()), 500))
            .await
            .unwrap();
        let v: Value = serde_json::from_str(&r.text).unwrap();
        assert_eq!(
            v,
            json!({"invoice_number": "INV-0042", "total": 1234.5, "paid": false, "tags": ["urgent", "q3"], "status": "open"})
        );
        // The schema is sent, so it is billed as input.
        let schema_tokens = tokenizer::count(&schema.to_string());
        assert_eq!(r.input_tokens, tokenizer::count("Extract.") + tokenizer::count(prompt) + schema_tokens);
        assert_eq!(r.output_tokens, tokenizer::count(&r.text));
    }

    #[test]
    fn schema_values_respect_constraints() {
        let schema = json!({"type": "object", "properties": {
            "label": {"type": "string", "enum": ["low", "medium", "high"]},
            "confidence": {"type": "number", "minimum": 0.5, "maximum": 1},
            "reasons": {"type": "array", "minItems": 2, "items": {"type": "object", "properties": {"why": {"type": "string", "minLength": 3}}}},
            "kind": {"const": "verdict"},
            "either": {"anyOf": [{"type": "integer", "minimum": 4}, {"type": "string"}]}
        }});
        let v = fill(&schema, "Label: high\nConfidence: 0.2", None);
        assert_eq!(
            v,
            json!({"label": "high", "confidence": 0.5, "reasons": [{"why": "---"}, {"why": "---"}], "kind": "verdict", "either": 4})
        );
        assert_eq!(fill(&schema, "Label: extreme", None)["label"], "low", "a label outside the enum is not taken");
    }

    #[tokio::test]
    async fn text_answers_are_labeled_short_and_deterministic() {
        let prompt = "The outage began at 09:14 UTC. Payments failed for 23 minutes. ".repeat(20);
        let sim = Simulated::new(Duration::ZERO);
        let a = sim.complete(&request("Summarize.", &prompt, AnswerFormat::Text, 400)).await.unwrap();
        let b = sim.complete(&request("Summarize.", &prompt, AnswerFormat::Text, 400)).await.unwrap();
        assert!(a.text.starts_with(TEXT_LABEL));
        assert_eq!(a.text, b.text);
        assert!(a.output_tokens < a.input_tokens / 2, "{} vs {}", a.output_tokens, a.input_tokens);
        let tiny = sim.complete(&request("Summarize.", &prompt, AnswerFormat::Text, 8)).await.unwrap();
        assert!(tiny.output_tokens <= 8);
    }
}
