//! The LLM tier: one call to the fast-tier model for all the steps of a
//! workflow the free tiers were unsure of. The model sees every step's name
//! (the neighbours are context) and the instructions of the unsure ones, the
//! workflow's goal, and the intents the loaded handlers serve. The call is the
//! caller's (it costs tokens); this module writes it and reads the answer.

use super::{Classification, Method};
use serde::Deserialize;
use std::collections::HashMap;

/// The instructions of an unsure step are cut here: the opening says what to
/// do (a lead-in sentence and the instruction fit; the data that follows does
/// not decide the intent).
const INSTRUCTION_CHARS: usize = 400;
/// Output tokens allowed per classified step (plus its id), and a fixed allowance.
const TOKENS_PER_STEP: u32 = 30;
const TOKENS_BASE: u32 = 20;

/// The output allowance of an answer about the steps with these ids: each
/// entry's fields, plus its id (about one token per 2 characters).
pub fn max_tokens(asked: &[&str]) -> u32 {
    TOKENS_BASE + asked.iter().map(|id| TOKENS_PER_STEP + id.len() as u32 / 2 + 1).sum::<u32>()
}

/// A workflow step as the model sees it.
pub struct Candidate<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub prompt: &'a str,
    pub depends_on: &'a [String],
    /// The model is asked about this step (the others are context).
    pub unsure: bool,
}

/// The seed's own meaning of `intent`, if it is one of its intents.
pub fn seed_meaning(intent: &str) -> Option<&'static str> {
    crate::intents::profile(intent).map(|p| p.recognition.meaning)
}

/// An intent the model may answer, and what its handler says it does (a
/// hot-loaded intent's only meaning; the seed's intents have their own).
pub struct Offered {
    pub intent: String,
    pub description: Option<String>,
}

/// `(system, user)` prompts asking the intents of the unsure `steps`.
pub fn request(steps: &[Candidate], goal: Option<&str>, intents: &[Offered]) -> (String, String) {
    let mut system = String::from(
        "Give the intent of each AI-agent workflow step marked CLASSIFY: the work it asks for, \
         not words it contains.\n",
    );
    let (plain, explained): (Vec<&Offered>, Vec<&Offered>) =
        intents.iter().partition(|o| seed_meaning(&o.intent) == Some(""));
    if !plain.is_empty() {
        let names: Vec<&str> = plain.iter().map(|o| o.intent.as_str()).collect();
        system.push_str(&format!("Intents: {}\n", names.join(", ")));
    }
    for offered in explained {
        let intent = offered.intent.as_str();
        let meaning = seed_meaning(intent)
            .or(offered.description.as_deref().map(str::trim).filter(|d| !d.is_empty()))
            .unwrap_or("served by a loaded handler");
        system.push_str(&format!("{intent}: {meaning}\n"));
    }
    // No reasoning asked: output tokens cost several times input tokens.
    system.push_str("Answer JSON only: {\"steps\":[{\"id\":\"…\",\"intent\":\"…\",\"confidence\":0-1}]}");
    let mut user = String::new();
    if let Some(goal) = goal.filter(|g| !g.trim().is_empty()) {
        user.push_str(&format!("Goal: {}\n", goal.trim()));
    }
    for (n, step) in steps.iter().enumerate() {
        user.push_str(&format!("{}. id={:?}", n + 1, step.id));
        if step.name != step.id {
            user.push_str(&format!(" name={:?}", step.name));
        }
        if !step.depends_on.is_empty() {
            user.push_str(&format!(" reads={:?}", step.depends_on));
        }
        if step.unsure {
            let opening: String = step.prompt.chars().take(INSTRUCTION_CHARS).collect();
            user.push_str(&format!(" CLASSIFY {:?}", opening));
        }
        user.push('\n');
    }
    (system, user)
}

#[derive(Deserialize)]
struct Answer {
    steps: Vec<AnswerStep>,
}

#[derive(Deserialize)]
struct AnswerStep {
    id: String,
    intent: String,
    confidence: f32,
    #[serde(default)]
    reasoning: String,
}

/// Why an answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("the answer is not the JSON object asked for: {0}")]
    NotJson(String),
}

/// The classifications in the model's `answer`, by step id: only for steps
/// that were asked about, with an intent a loaded handler serves; the
/// confidence clamped to 0-1. Entries that break these rules are dropped.
pub fn parse(answer: &str, asked: &[&str], intents: &[String]) -> Result<HashMap<String, Classification>, AnswerError> {
    // Models sometimes wrap JSON in a code fence or a sentence: take the outer object.
    let body = match (answer.find('{'), answer.rfind('}')) {
        (Some(start), Some(end)) if start < end => &answer[start..=end],
        _ => answer,
    };
    let parsed: Answer = serde_json::from_str(body).map_err(|e| AnswerError::NotJson(e.to_string()))?;
    Ok(parsed
        .steps
        .into_iter()
        .filter(|s| asked.contains(&s.id.as_str()))
        .filter_map(|s| {
            let intent = s.intent.trim().to_ascii_lowercase();
            intents.contains(&intent).then(|| {
                let confidence = if s.confidence.is_finite() { s.confidence.clamp(0.0, 1.0) } else { 0.0 };
                let c = Classification {
                    intent,
                    confidence,
                    method: Method::Llm,
                    reasoning: match s.reasoning.trim() {
                        "" => "model".to_string(),
                        why => format!("model: {}", why.chars().take(200).collect::<String>()),
                    },
                    alternatives: vec![],
                    ambiguous: false,
                };
                (s.id, c)
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intents() -> Vec<String> {
        super::super::INTENTS.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_request_details_only_unsure_steps_and_lists_loaded_intents() {
        let deps = vec!["a".to_string()];
        let steps = [
            Candidate { id: "a", name: "Extract fields", prompt: "secret-a", depends_on: &[], unsure: false },
            Candidate { id: "b", name: "Step 2", prompt: "Look over the fields.", depends_on: &deps, unsure: true },
        ];
        let offered = |intent: &str, description: Option<&str>| Offered {
            intent: intent.into(),
            description: description.map(String::from),
        };
        let mut loaded: Vec<Offered> = intents().iter().map(|i| offered(i, Some("its handler's own words"))).collect();
        loaded.push(offered("translate", None));
        loaded.push(offered("sentiment", Some("Rates the sentiment of the step's text")));
        let (system, user) = request(&steps, Some("Audit expenses"), &loaded);
        assert!(system.contains("\ntranslate: served by a loaded handler\n"));
        assert!(
            system.contains("\nsentiment: Rates the sentiment of the step's text\n"),
            "a hot-loaded intent's meaning"
        );
        assert!(
            system.contains("\nIntents: extract, summarize, generate, validate, send, filter\n"),
            "intents named for their work, without a meaning"
        );
        assert!(system.contains("\ntransform: reshape or convert data, no judgment\n"), "the seed's own meanings");
        assert!(user.contains("Goal: Audit expenses"));
        assert!(user.contains("name=\"Extract fields\"") && !user.contains("secret-a"));
        assert!(user.contains("id=\"b\" name=\"Step 2\" reads=[\"a\"] CLASSIFY \"Look over the fields.\""));
    }

    #[test]
    fn parses_fenced_answers_and_drops_what_was_not_asked_or_is_unknown() {
        let answer = "```json\n{\"steps\": [\
            {\"id\": \"b\", \"intent\": \"Validate\", \"confidence\": 1.7, \"reasoning\": \"checks fields\"},\
            {\"id\": \"a\", \"intent\": \"extract\", \"confidence\": 0.9},\
            {\"id\": \"c\", \"intent\": \"dance\", \"confidence\": 0.9}]}\n```";
        let got = parse(answer, &["b", "c"], &intents()).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got["b"].intent.as_str(), got["b"].confidence, got["b"].method), ("validate", 1.0, Method::Llm));
        assert!(matches!(parse("I think it is extract", &["b"], &intents()), Err(AnswerError::NotJson(_))));
    }
}
