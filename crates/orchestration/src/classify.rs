//! Rule-based intent classification (the seed's free tiers).
//!
//! An explicit intent always wins. Next, the step's params: each handler has a
//! params contract (`schema` for extract, `rules` for validate, `condition`
//! for conditional...), so params written for one handler are the strongest
//! evidence there is. Otherwise each intent's cue words are looked for in the
//! step's name (strong evidence) and in the opening of its prompt, where
//! instructions are written (weaker evidence; data pasted further down must
//! not vote). No match gives the safe fallback intent.

use serde::Serialize;

/// The seed's ten intents.
pub const INTENTS: [&str; 10] = [
    "extract", "summarize", "generate", "validate", "send", "transform", "conditional", "aggregate", "filter", "enrich",
];

/// The intent used when nothing matches: a plain model call on the prompt.
pub const FALLBACK_INTENT: &str = "generate";

/// Only the opening of a prompt is read for cues.
const INSTRUCTION_WINDOW: usize = 240;
const NAME_WEIGHT: f32 = 3.0;
const PROMPT_WEIGHT: f32 = 1.0;

/// Cue words per intent; matched as whole words, case-insensitively, as prefixes
/// (so `extract` also matches `extracting`).
const CUES: [(&str, &[&str]); 10] = [
    ("extract", &["extract", "parse", "pull out", "capture the", "identify the fields", "read the fields"]),
    ("summarize", &["summar", "condense", "tl;dr", "recap", "digest", "brief overview", "key points"]),
    ("generate", &["generate", "write", "draft", "compose", "create a", "produce a", "reply", "respond"]),
    ("validate", &["validat", "verify", "check that", "check whether", "ensure", "confirm that", "audit"]),
    ("send", &["send", "notify", "email to", "post to", "deliver", "dispatch", "alert", "slack"]),
    ("transform", &["transform", "convert", "reshape", "map the", "format as", "normalize", "rename", "restructure"]),
    ("conditional", &["if ", "whether to", "decide", "branch", "route to", "escalate if", "otherwise"]),
    ("aggregate", &["aggregat", "sum up", "sum the", "totals by", "combine", "merge", "group by", "roll up", "count the", "tally"]),
    ("filter", &["filter", "select only", "keep only", "exclude", "remove all", "discard", "shortlist"]),
    ("enrich", &["enrich", "look up", "lookup", "augment", "append data", "add details", "fetch more"]),
];

/// Params keys that belong to one handler's contract, checked in order (the
/// first intent with a matching key wins: `validate` takes `schema` + `data`
/// before `extract` takes `schema` alone).
const PARAM_CONTRACTS: [(&str, &[&[&str]]); 10] = [
    ("validate", &[&["rules"], &["schema", "data"]]),
    ("extract", &[&["schema"]]),
    ("conditional", &[&["condition"], &["question"], &["then"], &["else"]]),
    ("aggregate", &[&["operations"], &["group_by"]]),
    ("filter", &[&["where"], &["criteria"]]),
    ("transform", &[&["mapping"], &["sort_by"], &["drop_empty"]]),
    ("send", &[&["plugin"], &["channel"], &["to", "message"]]),
    ("enrich", &[&["source", "key"], &["source", "fields"]]),
    ("summarize", &[&["target_length"]]),
    ("generate", &[&["max_words"], &["type"]]),
];

/// How an intent was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Explicit,
    Params,
    Pattern,
    Fallback,
}

/// The outcome of classifying one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub intent: String,
    pub confidence: f32,
    pub method: Method,
    pub reasoning: String,
    pub alternatives: Vec<String>,
}

/// The intent whose params contract `params` follows, if any.
fn by_params(params: &serde_json::Value) -> Option<(&'static str, &'static [&'static str])> {
    let fields = params.as_object()?;
    PARAM_CONTRACTS.iter().find_map(|(intent, contracts)| {
        contracts.iter().find(|keys| keys.iter().all(|k| fields.contains_key(*k))).map(|keys| (*intent, *keys))
    })
}

/// Classifies a step from its declared intent, params, name and prompt.
pub fn classify(declared: Option<&str>, params: &serde_json::Value, name: &str, prompt: &str) -> Classification {
    if let Some(intent) = declared.map(str::trim).filter(|i| !i.is_empty()) {
        return Classification {
            intent: intent.to_ascii_lowercase(),
            confidence: 1.0,
            method: Method::Explicit,
            reasoning: "declared by the workflow".into(),
            alternatives: vec![],
        };
    }
    if let Some((intent, keys)) = by_params(params) {
        return Classification {
            intent: intent.into(),
            confidence: 0.95,
            method: Method::Params,
            reasoning: format!("params follow the {intent} contract ({})", keys.join(" + ")),
            alternatives: vec![],
        };
    }
    let name = name.to_lowercase();
    let opening: String = prompt.chars().take(INSTRUCTION_WINDOW).collect::<String>().to_lowercase();
    let mut scored: Vec<(&str, f32, Vec<&str>)> = CUES
        .iter()
        .map(|(intent, cues)| {
            let mut score = 0.0;
            let mut matched = Vec::new();
            for cue in *cues {
                let in_name = contains_word_prefix(&name, cue);
                let in_prompt = contains_word_prefix(&opening, cue);
                if in_name {
                    score += NAME_WEIGHT;
                }
                if in_prompt {
                    score += PROMPT_WEIGHT;
                }
                if in_name || in_prompt {
                    matched.push(*cue);
                }
            }
            (*intent, score, matched)
        })
        .filter(|(_, score, _)| *score > 0.0)
        .collect();
    // Highest score first; ties keep the declaration order of INTENTS.
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let Some((best, best_score, cues)) = scored.first().cloned() else {
        return Classification {
            intent: FALLBACK_INTENT.into(),
            confidence: 0.3,
            method: Method::Fallback,
            reasoning: "no intent cue in the step's name or instructions".into(),
            alternatives: vec![],
        };
    };
    let runner_up = scored.get(1).map_or(0.0, |s| s.1);
    // Margin over the runner-up, scaled by how much evidence there is at all.
    let margin = (best_score - runner_up) / best_score;
    let evidence = (best_score / (NAME_WEIGHT + PROMPT_WEIGHT)).min(1.0);
    let confidence = (0.5 + 0.45 * margin * evidence + 0.05 * evidence).clamp(0.0, 1.0);
    Classification {
        intent: best.into(),
        confidence,
        method: Method::Pattern,
        reasoning: format!("matched {}", cues.iter().map(|c| format!("`{}`", c.trim())).collect::<Vec<_>>().join(", ")),
        alternatives: scored.iter().skip(1).map(|s| s.0.to_string()).collect(),
    }
}

/// Whether `cue` occurs in `text` starting at a word boundary.
fn contains_word_prefix(text: &str, cue: &str) -> bool {
    text.match_indices(cue).any(|(at, _)| {
        at == 0 || !text[..at].chars().next_back().is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn explicit_intent_wins_over_patterns() {
        let c = classify(Some(" Transform "), &json!({"schema": {}}), "Summarize the thread", "Summarize this");
        assert_eq!((c.intent.as_str(), c.method, c.confidence), ("transform", Method::Explicit, 1.0));
    }

    #[test]
    fn name_and_instructions_decide() {
        let c = classify(None, &json!({}), "Extract invoice fields", "Extract the invoice number and total from the text below.");
        assert_eq!(c.intent, "extract");
        assert_eq!(c.method, Method::Pattern);
        assert!(c.confidence >= 0.9, "clear single-intent step, got {}", c.confidence);

        let c = classify(None, &json!({}), "Ticket digest", "Summarize the customer's messages in three sentences.");
        assert_eq!(c.intent, "summarize");
    }

    #[test]
    fn data_below_the_instructions_does_not_vote() {
        let data = "x ".repeat(200) + "please send and notify and filter";
        let c = classify(None, &json!({}), "Condense notes", &format!("Condense these notes.\n{data}"));
        assert_eq!(c.intent, "summarize");
        assert!(c.alternatives.is_empty());
    }

    #[test]
    fn competing_cues_lower_confidence_and_list_alternatives() {
        let c = classify(None, &json!({}), "Process", "Extract the totals and summarize the findings");
        assert!(c.confidence < 0.9, "ambiguous step, got {}", c.confidence);
        assert!(!c.alternatives.is_empty());
    }

    #[test]
    fn params_contracts_beat_wording() {
        let c = classify(None, &json!({"schema": {"type": "object"}}), "Process the email", "Summarize and send");
        assert_eq!((c.intent.as_str(), c.method), ("extract", Method::Params));
        let c = classify(None, &json!({"schema": {}, "data": {}}), "Check", "x");
        assert_eq!(c.intent, "validate", "schema + data is validation, not extraction");
        let c = classify(None, &json!({"input": [], "where": []}), "Summarize", "x");
        assert_eq!(c.intent, "filter");
        let c = classify(None, &json!({"input": []}), "Summarize the notes", "x");
        assert_eq!(c.method, Method::Pattern, "`input` alone belongs to no contract");
    }

    #[test]
    fn cues_match_at_word_starts_only() {
        // "resend" must not count as "send"; "unfiltered" must not count as "filter".
        let c = classify(None, &json!({}), "Step", "Look at the unfiltered resend queue");
        assert_eq!(c.method, Method::Fallback);
        assert_eq!(c.intent, FALLBACK_INTENT);
    }
}
