//! The free tiers: the declared intent, then the params contract, then the
//! cue words of the step's name and the opening of its prompt, scored with
//! the leading verb's bonus into a confidence.

use super::outcome::{Classification, Method, fallback};
use super::sentences::{INSTRUCTION_WINDOW, leading_verb};
use super::words::contains_word_prefix;
use crate::intents::PROFILES;

/// What a cue counts in the step's name, and in the opening of its prompt.
pub(super) const NAME_WEIGHT: f32 = 3.0;
pub(super) const PROMPT_WEIGHT: f32 = 1.0;
/// The instruction's leading verb weighs as much as a cue in the step's name.
const VERB_WEIGHT: f32 = 3.0;
/// A verb read after a sentence that may itself have been the instruction
/// weighs less ([`leading_verb`]).
const LATER_VERB_WEIGHT: f32 = 2.0;

/// The intent whose params contract `params` follows, if any: of the
/// intents with a matching contract, the one of lowest precedence.
fn by_params(params: &serde_json::Value) -> Option<(&'static str, &'static [&'static str])> {
    let fields = params.as_object()?;
    PROFILES
        .iter()
        .filter_map(|p| {
            let contracts = p.recognition.params_contracts;
            let keys = contracts.iter().find(|keys| keys.iter().all(|k| fields.contains_key(*k)))?;
            Some((p.recognition.contract_precedence, p.intent, *keys))
        })
        .min_by_key(|(precedence, _, _)| *precedence)
        .map(|(_, intent, keys)| (intent, keys))
}

/// The free tiers: explicit, params contract, then cue words in the step's
/// name and the opening of its prompt. Steps below the confidence threshold go
/// on to [`super::llm`] and [`super::context`]; see [`super::settle`].
pub fn classify(declared: Option<&str>, params: &serde_json::Value, name: &str, prompt: &str) -> Classification {
    if let Some(intent) = declared.map(str::trim).filter(|i| !i.is_empty()) {
        return Classification {
            intent: intent.to_ascii_lowercase(),
            confidence: 1.0,
            method: Method::Explicit,
            reasoning: "declared by the workflow".into(),
            alternatives: vec![],
            ambiguous: false,
        };
    }
    if let Some((intent, keys)) = by_params(params) {
        return Classification {
            intent: intent.into(),
            confidence: 0.95,
            method: Method::Params,
            reasoning: format!("params follow the {intent} contract ({})", keys.join(" + ")),
            alternatives: vec![],
            ambiguous: false,
        };
    }
    let opening: String = prompt.chars().take(INSTRUCTION_WINDOW).collect();
    let evidence = [Evidence::text(name, NAME_WEIGHT), Evidence::text(&opening, PROMPT_WEIGHT)];
    from_cues(&score_cues(&evidence, &verb_bonus(prompt)), Method::Pattern, NAME_WEIGHT + PROMPT_WEIGHT)
        .unwrap_or_else(|| fallback("no intent cue in the step's name or instructions".into(), vec![]))
}

/// The leading verb's points, as a bonus for [`score_cues`].
pub(super) fn verb_bonus(prompt: &str) -> Vec<(&'static str, f32, String)> {
    leading_verb(prompt)
        .map(|(intent, why, after_a_sentence)| match after_a_sentence {
            false => (intent, VERB_WEIGHT, why),
            true => (intent, LATER_VERB_WEIGHT, format!("{why} (after a sentence that may be the instruction)")),
        })
        .into_iter()
        .collect()
}

/// Text searched for cue words, and how much a match there counts.
pub(super) struct Evidence {
    text: String,
    weight: f32,
}

impl Evidence {
    pub(super) fn text(text: &str, weight: f32) -> Self {
        Evidence { text: text.to_lowercase(), weight }
    }
}

/// An intent's score: the sum of the weights of the evidence its cues matched.
pub(super) struct Scored {
    intent: &'static str,
    score: f32,
    reasons: Vec<String>,
}

/// Scores every intent's cues over `evidence`, plus `bonus` points with their
/// reasons; best first, ties in the order of [`PROFILES`].
pub(super) fn score_cues(evidence: &[Evidence], bonus: &[(&'static str, f32, String)]) -> Vec<Scored> {
    let mut scored: Vec<Scored> = PROFILES
        .iter()
        .map(|profile| {
            let intent = profile.intent;
            let mut score = 0.0;
            let mut reasons = Vec::new();
            for cue in profile.recognition.cues {
                let hits: f32 = evidence.iter().filter(|e| contains_word_prefix(&e.text, cue)).map(|e| e.weight).sum();
                if hits > 0.0 {
                    score += hits;
                    reasons.push(format!("`{}`", cue.trim()));
                }
            }
            for (_, points, why) in bonus.iter().filter(|(i, _, _)| *i == intent) {
                score += points;
                reasons.push(why.clone());
            }
            Scored { intent, score, reasons }
        })
        .filter(|s| s.score > 0.0)
        .collect();
    scored.sort_by(|a, b| b.score.total_cmp(&a.score));
    scored
}

/// A classification from scored cues: confidence grows with the margin over
/// the runner-up, scaled by how much evidence there is (`full` is the score
/// of clear evidence). `None` when nothing scored.
pub(super) fn from_cues(scored: &[Scored], method: Method, full: f32) -> Option<Classification> {
    let best = scored.first()?;
    let runner_up = scored.get(1).map_or(0.0, |s| s.score);
    let margin = (best.score - runner_up) / best.score;
    let evidence = (best.score / full).min(1.0);
    let confidence = (0.5 + 0.45 * margin * evidence + 0.05 * evidence).clamp(0.0, 1.0);
    Some(Classification {
        intent: best.intent.into(),
        confidence,
        method,
        reasoning: format!("matched {}", best.reasons.join(", ")),
        alternatives: scored.iter().skip(1).map(|s| s.intent.to_string()).collect(),
        ambiguous: false,
    })
}
