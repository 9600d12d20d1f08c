//! The LLM classification tier under evaluation. Every provider call goes to
//! the simulated provider (the labeled test double), except the
//! orchestrator's classification call, which this wrapper recognizes by its
//! prompt: it meters that call's tokens, and in `perfect` mode answers it
//! from the split's labels, as a perfect classifier would. That separates
//! the two causes of a wrong intent: a free tier that settles a step wrongly
//! with confidence (the LLM tier is never asked), and an LLM tier no offline
//! double can play.

use host_runner::capabilities::llm::provider::{Completion, ModelProvider, ProviderRequest, ProviderResponse};
use host_runner::tokenizer;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How the classification call's system prompt begins (the orchestrator's `classify::llm::request`).
const CLASSIFICATION_PROMPT: &str = "Give the intent of each AI-agent workflow step marked CLASSIFY";

/// Tokens and calls of the classification tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TierSpend {
    pub calls: u64,
    pub tokens: u64,
}

pub struct ClassificationOracle {
    inner: Arc<dyn ModelProvider>,
    /// Answer classification calls from `labels` (otherwise the inner provider answers them).
    perfect: bool,
    /// The running workflow's labeled intents, by step id.
    labels: Mutex<HashMap<String, String>>,
    spend: Mutex<TierSpend>,
}

impl ClassificationOracle {
    pub fn new(inner: Arc<dyn ModelProvider>, perfect: bool) -> Self {
        ClassificationOracle { inner, perfect, labels: Mutex::default(), spend: Mutex::default() }
    }

    /// The labels of the workflow about to run.
    pub fn set_labels(&self, labels: HashMap<String, String>) {
        *self.labels.lock().unwrap_or_else(|p| p.into_inner()) = labels;
    }

    /// Whether classification calls are answered from the labels.
    pub fn perfect(&self) -> bool {
        self.perfect
    }

    /// What the classification tier has spent so far.
    pub fn spend(&self) -> TierSpend {
        *self.spend.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self, response: &ProviderResponse) {
        let mut spend = self.spend.lock().unwrap_or_else(|p| p.into_inner());
        spend.calls += 1;
        spend.tokens += u64::from(response.input_tokens) + u64::from(response.output_tokens);
    }

    /// The labels' answer to a classification request: every step marked CLASSIFY, with its labeled intent.
    fn answer(&self, request: &ProviderRequest) -> ProviderResponse {
        let labels = self.labels.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let user: String = request.messages.iter().map(|(_, text)| text.as_str()).collect::<Vec<_>>().join("\n");
        let steps: Vec<_> = asked_ids(&user)
            .into_iter()
            .filter_map(|id| labels.get(&id).map(|intent| json!({ "id": id, "intent": intent, "confidence": 1.0 })))
            .collect();
        let text = json!({ "steps": steps }).to_string();
        let input = tokenizer::count(request.system.as_deref().unwrap_or("")) + tokenizer::count(&user);
        ProviderResponse {
            output_tokens: tokenizer::count(&text),
            text,
            model: request.model.clone(),
            input_tokens: input,
            cached: Default::default(),
            stop_reason: "end_turn".into(),
        }
    }
}

impl ModelProvider for ClassificationOracle {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn complete<'a>(&'a self, request: &'a ProviderRequest) -> Completion<'a> {
        let classifying = request.system.as_deref().is_some_and(|s| s.starts_with(CLASSIFICATION_PROMPT));
        Box::pin(async move {
            if classifying && self.perfect {
                let response = self.answer(request);
                self.count(&response);
                return Ok(response);
            }
            let response = self.inner.complete(request).await?;
            if classifying {
                self.count(&response);
            }
            Ok(response)
        })
    }
}

/// The ids of the lines marked CLASSIFY: `3. id="triage" name="…" CLASSIFY "…"`.
fn asked_ids(user: &str) -> Vec<String> {
    user.lines()
        .filter(|line| line.contains(" CLASSIFY "))
        .filter_map(|line| {
            let quoted = line.split_once("id=")?.1;
            let mut chars = quoted.chars();
            (chars.next()? == '"').then_some(())?;
            // The id is Rust-Debug quoted: read to the first unescaped quote.
            let (mut id, mut escaped) = (String::new(), false);
            for c in chars {
                match (c, escaped) {
                    ('\\', false) => escaped = true,
                    ('"', false) => return Some(id),
                    (c, _) => {
                        id.push(c);
                        escaped = false;
                    }
                }
            }
            None
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steps_asked_about_are_read_from_the_request() {
        let user = "Goal: triage\n1. id=\"intake\" name=\"Read it\"\n2. id=\"route\" reads=[\"intake\"] CLASSIFY \"Send it to the right queue.\"\n3. id=\"say \\\"hi\\\"\" CLASSIFY \"x\"";
        assert_eq!(asked_ids(user), ["route", "say \"hi\""]);
    }
}
