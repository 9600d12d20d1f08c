//! The scripted provider: a test double that answers a handler's model calls
//! from a script, for testing one component in isolation (`pilot handlers
//! test`). It never passes for a model: it is reported as `scripted`, and it
//! answers only what the script says. Each call takes the first unused
//! answer whose `match` occurs in the call's system prompt or messages, or
//! else the first unused answer without a `match`; a call nothing answers
//! fails (kind `unscripted`) and is recorded with its whole request, so the
//! test shows what the handler asked. Token counts come from the real BPE.

use super::provider::{AnswerFormat, Completion, ModelProvider, ProviderRequest, ProviderResponse};
use crate::bindings::types::ProviderError;
use crate::tokenizer;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// One scripted answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    /// `{"match": "substring", "answer": ...}`: answers a call that contains the substring.
    Matching(Matching),
    /// `{"answer": ...}`: answers the next call, in order.
    InOrder(InOrder),
    /// Any other value, itself the answer, in order: an object with more keys
    /// than `answer` (a conditional's `{"answer": true, "reason": ...}`) is one.
    Bare(serde_json::Value),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matching {
    r#match: String,
    answer: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InOrder {
    answer: serde_json::Value,
}

impl Answer {
    /// Answers the first unanswered call whose prompt contains `substring`.
    pub fn when(substring: &str, answer: serde_json::Value) -> Answer {
        Answer::Matching(Matching { r#match: substring.to_string(), answer })
    }

    /// Answers the next call, in order.
    pub fn next(answer: serde_json::Value) -> Answer {
        Answer::InOrder(InOrder { answer })
    }

    fn matcher(&self) -> Option<&str> {
        match self {
            Answer::Matching(m) => Some(&m.r#match),
            _ => None,
        }
    }

    /// The answer's text: a string as itself, any other JSON value as JSON.
    fn text(&self) -> String {
        let value = match self {
            Answer::Matching(Matching { answer, .. }) | Answer::InOrder(InOrder { answer }) | Answer::Bare(answer) => {
                answer
            }
        };
        match value {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }
}

/// One model call the handler made, as the provider received it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedCall {
    pub model: String,
    pub system: Option<String>,
    /// The messages' texts, in order.
    pub messages: Vec<String>,
    /// `text`, `json`, or `schema` with the schema.
    pub format: serde_json::Value,
    pub max_tokens: u32,
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// The script entry that answered (0-based); `None` when nothing did.
    pub answered_by: Option<usize>,
}

#[derive(Default)]
struct State {
    used: Vec<bool>,
    calls: Vec<RecordedCall>,
}

pub struct ScriptedProvider {
    answers: Vec<Answer>,
    state: Mutex<State>,
}

impl ScriptedProvider {
    pub fn new(answers: Vec<Answer>) -> Self {
        let used = vec![false; answers.len()];
        ScriptedProvider { answers, state: Mutex::new(State { used, calls: vec![] }) }
    }

    /// Every call so far, answered or not.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).calls.clone()
    }

    fn answer(&self, request: &ProviderRequest) -> Result<ProviderResponse, ProviderError> {
        let system = request.system.clone().filter(|s| !s.is_empty());
        let messages: Vec<String> = request.messages.iter().map(|(_, text)| text.clone()).collect();
        let haystack = format!("{}\n{}", system.as_deref().unwrap_or(""), messages.join("\n"));
        let input_tokens = tokenizer::count(&haystack);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let unused = |i: &usize| !state.used[*i];
        let chosen = (0..self.answers.len())
            .filter(unused)
            .find(|i| self.answers[*i].matcher().is_some_and(|m| haystack.contains(m)))
            .or_else(|| (0..self.answers.len()).filter(unused).find(|i| self.answers[*i].matcher().is_none()));
        let format = match &request.format {
            AnswerFormat::Text => serde_json::json!("text"),
            AnswerFormat::Json => serde_json::json!("json"),
            AnswerFormat::Schema(schema) => serde_json::json!({ "schema": schema }),
        };
        let text = chosen.map(|i| self.answers[i].text());
        let output_tokens = text.as_deref().map_or(0, tokenizer::count);
        state.calls.push(RecordedCall {
            model: request.model.clone(),
            system,
            messages,
            format,
            max_tokens: request.max_tokens,
            input_tokens,
            output_tokens,
            answered_by: chosen,
        });
        let Some(i) = chosen else {
            let n = state.calls.len();
            return Err(ProviderError {
                status: 0,
                kind: "unscripted".into(),
                message: format!("model call {n} has no scripted answer (add one, or a `match` for it)"),
            });
        };
        state.used[i] = true;
        Ok(ProviderResponse {
            text: text.unwrap_or_default(),
            model: request.model.clone(),
            input_tokens,
            output_tokens,
            cached: Default::default(),
            stop_reason: "end_turn".into(),
        })
    }
}

impl ModelProvider for ScriptedProvider {
    fn name(&self) -> &'static str {
        "scripted"
    }

    fn complete<'a>(&'a self, request: &'a ProviderRequest) -> Completion<'a> {
        Box::pin(async move { self.answer(request) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(prompt: &str) -> ProviderRequest {
        ProviderRequest {
            model: "m".into(),
            system: Some("You classify.".into()),
            messages: vec![("user", prompt.into())],
            max_tokens: 50,
            temperature: 0.0,
            format: AnswerFormat::Text,
        }
    }

    #[tokio::test]
    async fn matching_answers_first_then_in_order_and_unscripted_calls_fail_recorded() {
        let answers: Vec<Answer> = serde_json::from_str(
            r#"[{"match": "invoice", "answer": {"label": "billing"}}, "plain first", {"answer": "plain second"},
                {"answer": true, "reason": "a conditional's answer is a value, not a wrapper"}]"#,
        )
        .unwrap();
        let provider = ScriptedProvider::new(answers);
        assert_eq!(provider.complete(&request("hello")).await.unwrap().text, "plain first");
        assert_eq!(provider.complete(&request("the invoice is wrong")).await.unwrap().text, r#"{"label":"billing"}"#);
        assert_eq!(provider.complete(&request("another invoice")).await.unwrap().text, "plain second");
        let whole = provider.complete(&request("branch?")).await.unwrap().text;
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&whole).unwrap()["reason"],
            "a conditional's answer is a value, not a wrapper"
        );
        let err = provider.complete(&request("one more")).await.unwrap_err();
        assert_eq!(err.kind, "unscripted");
        let calls = provider.calls();
        assert_eq!(calls.iter().map(|c| c.answered_by).collect::<Vec<_>>(), [Some(1), Some(0), Some(2), Some(3), None]);
        assert_eq!(calls[4].messages, ["one more"]);
        assert!(calls[0].input_tokens > 0);
    }
}
