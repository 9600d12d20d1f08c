//! A step's complexity (0-10): a sum of table-driven contributions, each
//! recorded with what caused it.

use super::cues::{
    CODE_CUES, DOMAIN_CAP, DOMAIN_CUES, REASONING_CAP, REASONING_CUES, SIMPLICITY_CAP, SIMPLICITY_CUES, STAKES_CUES,
    contains_cue, cue_text, match_cues,
};
use super::mechanical::{MECHANICAL_IN_WORDS, mechanical_in_words};
use crate::intents;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Params that let the handler work without model judgment.
const STRUCTURED_PARAMS: f32 = -1.5;
/// Params that need model judgment (`criteria`, `question`, `judgment` rules) or free text to rewrite.
const FUZZY_PARAMS: f32 = 3.0;
/// Per judgment rule beyond the first, up to [`EXTRA_JUDGMENT_MAX`].
const EXTRA_JUDGMENT: f32 = 0.25;
const EXTRA_JUDGMENT_MAX: f32 = 0.75;

/// Points of generate's `params.type`.
const GENERATE_TYPES: [(&str, f32); 5] =
    [("code", 2.5), ("report", 1.0), ("text", 0.5), ("email", 0.0), ("creative", 0.0)];

/// Words of a classification that labels every item of a batch, not one
/// item: a judgment per item, each of which must be right.
const BATCH_CUES: [&str; 3] = ["each", "every", "all the"];
/// Points for a label per item.
pub(super) const BATCH_LABELS: f32 = 1.0;

/// Prompt tokens at or above each bound add the points (the last bound reached wins).
const INPUT_SIZE: [(u32, f32); 4] = [(250, 0.5), (600, 1.0), (1_000, 1.5), (2_000, 2.0)];

/// What moved a step's complexity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    Intent,
    Params,
    Output,
    InputSize,
    Cues,
    Domain,
}

/// One line of the complexity sum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub factor: Factor,
    pub detail: String,
    pub points: f32,
}

/// A step's complexity (0-10) and the contributions it was summed from
/// (the sum before clamping).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Complexity {
    pub score: f32,
    pub contributions: Vec<Contribution>,
    /// Whether the step's work is the model's judgment: its params leave a
    /// judgment to the model, or it has no such params and its intent is one
    /// of judgment. Structured params and mechanical work in words are not.
    /// (The domain's stakes read the intent's own flag instead: a transform
    /// rewritten in words is a judgment, but a costly domain does not make
    /// reshaping harder.)
    pub judgment: bool,
}

/// Scores a step from its intent, name, prompt (resolved or not), params and
/// prompt size, and the domain of its workflow's goal.
pub fn step_complexity(
    intent: &str,
    step_name: &str,
    prompt: &str,
    goal: Option<&str>,
    params: &Value,
    prompt_tokens: u32,
) -> Complexity {
    let intent = intent.trim().to_ascii_lowercase();
    let mut out: Vec<Contribution> = Vec::new();
    let mut add = |factor, detail: String, points: f32| {
        if points != 0.0 {
            out.push(Contribution { factor, detail, points });
        }
    };

    let handling = intents::handling(&intent);
    let detail = match intents::profile(&intent) {
        Some(_) => format!("intent {intent}"),
        None => format!("intent {intent} (unknown: a plain model call)"),
    };
    add(Factor::Intent, detail, handling.base_complexity);

    let text = cue_text(step_name, prompt);
    let work = params_work(&intent, params, &text);
    // Structured params or mechanical work in words: the step's domain does not make it harder.
    let mechanical = work.as_ref().is_some_and(|(_, points)| *points <= MECHANICAL_IN_WORDS);
    let judgment = match &work {
        Some((_, points)) => *points >= FUZZY_PARAMS,
        None => handling.judgment,
    };
    if let Some((detail, points)) = work {
        add(Factor::Params, detail, points);
    }

    for (detail, points) in output_shape(&intent, params, prompt) {
        add(Factor::Output, detail, points);
    }

    if let Some((bound, points)) = INPUT_SIZE.iter().rev().find(|(bound, _)| prompt_tokens >= *bound) {
        add(Factor::InputSize, format!("{prompt_tokens} prompt tokens (>= {bound})"), *points);
    }

    let (hits, sum) = match_cues(&text, REASONING_CUES.iter().chain(&STAKES_CUES).chain(&CODE_CUES));
    if !hits.is_empty() {
        add(Factor::Cues, format!("reasoning cues {}", hits.join(", ")), sum.min(REASONING_CAP));
    }
    let (hits, sum) = match_cues(&text, SIMPLICITY_CUES.iter());
    if !hits.is_empty() {
        add(Factor::Cues, format!("simple-work cues {}", hits.join(", ")), sum.max(SIMPLICITY_CAP));
    }

    if let Some(goal) = goal.filter(|_| !mechanical && handling.judgment) {
        let (hits, sum) = match_cues(&goal.to_lowercase(), DOMAIN_CUES.iter());
        if !hits.is_empty() {
            add(Factor::Domain, format!("domain stakes {}", hits.join(", ")), sum.min(DOMAIN_CAP));
        }
    }

    let total: f32 = out.iter().map(|c| c.points).sum();
    Complexity { score: total.clamp(0.0, 10.0), contributions: out, judgment }
}

/// Whether the params make the step mechanical or a matter of judgment.
/// Work the params leave to the instruction (`text`, lower-cased) is a
/// judgment unless the instruction states a computation.
fn params_work(intent: &str, params: &Value, text: &str) -> Option<(String, f32)> {
    let has = |key: &str| params.get(key).is_some_and(|v| !v.is_null());
    let structured = |what: &str| Some((format!("structured params ({what}): no model judgment"), STRUCTURED_PARAMS));
    let in_words = |what: &str| {
        let stated = params.get("criteria").or_else(|| params.get("question")).and_then(Value::as_str);
        let text = stated.map_or_else(|| text.to_string(), |s| format!("{text}\n{}", s.to_lowercase()));
        Some(match mechanical_in_words(intent, params, &text) {
            Some(why) => (format!("{what}, mechanical: {why}"), MECHANICAL_IN_WORDS),
            None => (format!("{what}: model judgment"), FUZZY_PARAMS),
        })
    };
    match intent {
        "send" if has("plugin") || has("channel") || has("to") => structured("a plugin call"),
        "enrich" if has("source") || has("key") => structured("a lookup"),
        "transform" if has("mapping") => structured("mapping"),
        "transform" => in_words("no mapping: free text to rewrite"),
        "aggregate" if has("group_by") || has("operations") => structured("group_by/operations"),
        "aggregate" => in_words("no operations: free text to merge"),
        "filter" if has("criteria") => in_words("fuzzy params (criteria)"),
        "filter" if has("where") => structured("where"),
        "filter" => in_words("fuzzy params (the criteria the prompt states)"),
        "conditional" if has("question") => in_words("fuzzy params (question)"),
        "conditional" if has("condition") => structured("condition"),
        "conditional" => in_words("fuzzy params (the question the prompt asks)"),
        "enrich" => in_words("no lookup: the model enriches"),
        "validate" => {
            let rules = params.get("rules").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
            let judgments = rules.iter().filter(|r| r.get("check").and_then(Value::as_str) == Some("judgment")).count();
            if judgments > 0 {
                let extra = (EXTRA_JUDGMENT * (judgments - 1) as f32).min(EXTRA_JUDGMENT_MAX);
                Some((format!("{judgments} of {} rules need judgment", rules.len()), FUZZY_PARAMS + extra))
            } else if !rules.is_empty() || has("schema") {
                structured("rules/schema")
            } else {
                Some(("fuzzy params (the rules the prompt states): model judgment".into(), FUZZY_PARAMS))
            }
        }
        _ if has("criteria") || has("question") => {
            Some(("fuzzy params (criteria/question): model judgment".into(), FUZZY_PARAMS))
        }
        _ => None,
    }
}

/// Points for the size and structure of what the step must produce.
fn output_shape(intent: &str, params: &Value, prompt: &str) -> Vec<(String, f32)> {
    let mut out = Vec::new();
    if intent == "classify" {
        let text = cue_text("", prompt);
        let hits: Vec<String> =
            BATCH_CUES.iter().filter(|cue| contains_cue(&text, cue)).map(|c| format!("`{c}`")).collect();
        if !hits.is_empty() {
            out.push((format!("a label per item ({})", hits.join(", ")), BATCH_LABELS));
        }
    }
    if intent == "generate"
        && let Some(kind) = params.get("type").and_then(Value::as_str)
        && let Some((_, points)) = GENERATE_TYPES.iter().find(|(t, _)| t.eq_ignore_ascii_case(kind))
    {
        out.push((format!("output type {kind}"), *points));
    }
    if let Some(words) = params.get("max_words").and_then(Value::as_u64) {
        if words >= 1_000 {
            out.push((format!("long output ({words} words)"), 1.0));
        } else if words >= 500 {
            out.push((format!("long output ({words} words)"), 0.5));
        }
    }
    if let Some(length) = params.get("target_length").and_then(Value::as_u64) {
        if length <= 30 {
            out.push((format!("one-line output (target {length} words)"), -1.5));
        } else if length >= 250 {
            out.push((format!("long output (target {length} words)"), 0.5));
        }
    }
    if intent != "validate"
        && let Some(schema) = params.get("schema").filter(|s| s.is_object())
    {
        let mut shape = Shape::default();
        shape.walk(schema, 0);
        if shape.fields <= 3 && !shape.nested {
            out.push((format!("small flat schema ({} fields)", shape.fields), -1.0));
        } else {
            if shape.fields >= 14 {
                out.push((format!("large schema ({} fields)", shape.fields), 1.0));
            } else if shape.fields >= 8 {
                out.push((format!("large schema ({} fields)", shape.fields), 0.5));
            }
            if shape.nested {
                out.push(("nested schema (objects or lists of objects)".into(), 0.5));
            }
        }
    }
    out
}

/// Leaf fields of a JSON schema and whether objects nest.
#[derive(Default)]
struct Shape {
    fields: u32,
    nested: bool,
}

impl Shape {
    fn walk(&mut self, schema: &Value, depth: u32) {
        if depth > 16 {
            return;
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            if depth > 0 {
                self.nested = true;
            }
            for prop in props.values() {
                if prop.get("properties").is_some() || prop.get("items").is_some_and(|i| i.get("properties").is_some())
                {
                    self.walk(prop, depth + 1);
                } else {
                    self.fields += 1;
                }
            }
        } else if let Some(items) = schema.get("items") {
            self.walk(items, depth);
        }
    }
}
