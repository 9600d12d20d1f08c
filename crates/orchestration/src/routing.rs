//! Model-tier routing: the seed's AIS (Agent Intensity System), driven by the step.
//!
//! The seed routed every step of an agent on the agent's `combined_score`
//! (table `agent_intensity_metrics`, 0-10) alone: fast below 3.0, balanced up to
//! 6.5, powerful above. Here the **step's own complexity** (0-10) decides, and
//! the agent's `execution_score` only nudges it:
//!
//! ```text
//! score = 0.75 * step complexity + 0.25 * agent execution score   (agent row present)
//! score = step complexity                                         (no row)
//! tier  = fast if score < fast_below, powerful if score > powerful_above, else balanced
//! ```
//!
//! then one tier up per previous failure of the step, and down again while the
//! remaining token budget cannot cover the step (prompt plus the
//! output its intent typically needs, within the tier's `max_tokens`).
//!
//! Step complexity is a sum of table-driven contributions, each recorded with
//! what caused it, clamped to 0-10:
//!
//! | factor | source | points |
//! |---|---|---|
//! | intent | [`INTENT_BASE`] | 0.5 (send) .. 4.5 (generate) |
//! | params | structured params (mapping, where, condition, group_by, structured rules, plugin, lookup) | -1.5 |
//! | params | fuzzy params (`criteria`, `question`, `judgment` rules) or free text to rewrite | +3.0 (+0.25 per extra judgment rule, at most +0.75) |
//! | output | `params.type` of generate ([`GENERATE_TYPES`]), `max_words`, `target_length`, extract `schema` size and nesting | -1.5 .. +3.5 |
//! | input size | prompt tokens ([`INPUT_SIZE`]) | 0 .. +2.0 |
//! | cues | words in the step name and the prompt's instructions ([`REASONING_CUES`], [`STAKES_CUES`], [`CODE_CUES`], [`SIMPLICITY_CUES`]) | -1.5 .. +3.5 |
//!
//! Calibrated on `bench/corpus` (189 labelled steps): see the `routing_corpus_calibration`
//! test, which prints the confusion matrix and the implied cost reduction.

use crate::budget;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

// ---------------------------------------------------------------------------
// Tiers and their models
// ---------------------------------------------------------------------------

/// A model tier, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Fast,
    Balanced,
    Powerful,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Fast, Tier::Balanced, Tier::Powerful];

    /// One tier up; `Powerful` stays `Powerful`.
    pub fn escalate(self) -> Tier {
        match self {
            Tier::Fast => Tier::Balanced,
            Tier::Balanced | Tier::Powerful => Tier::Powerful,
        }
    }

    /// One tier down; `Fast` stays `Fast`.
    pub fn de_escalate(self) -> Tier {
        match self {
            Tier::Powerful => Tier::Balanced,
            Tier::Balanced | Tier::Fast => Tier::Fast,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Fast => "fast",
            Tier::Balanced => "balanced",
            Tier::Powerful => "powerful",
        }
    }

    /// 0 (fast), 1 (balanced), 2 (powerful): the unit of [`RunOutcome::avg_tier_used`].
    pub fn index(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The model a tier calls, with its prices in USD per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub provider: String,
    pub model: String,
    /// Output allowance of one call; also what the budget check reserves.
    pub max_tokens: u32,
    pub temperature: f32,
    pub input_price_per_mtok: f64,
    pub output_price_per_mtok: f64,
}

impl ModelConfig {
    /// The default model of a tier: Anthropic's current Haiku, Sonnet and Opus.
    pub fn default_for(tier: Tier) -> ModelConfig {
        let (model, max_tokens, temperature) = match tier {
            Tier::Fast => ("claude-haiku-4-5", 2_048, 0.2),
            Tier::Balanced => ("claude-sonnet-4-5", 4_096, 0.3),
            Tier::Powerful => ("claude-opus-4-5", 8_192, 0.3),
        };
        let (input, output) = crate::pricing::list_price(model).expect("tier default models have list prices");
        ModelConfig {
            provider: "anthropic".into(),
            model: model.into(),
            max_tokens,
            temperature,
            input_price_per_mtok: input,
            output_price_per_mtok: output,
        }
    }
}

/// Cost in USD of one call.
pub fn cost_usd(model: &ModelConfig, input_tokens: u32, output_tokens: u32) -> f64 {
    crate::pricing::cost_usd((model.input_price_per_mtok, model.output_price_per_mtok), input_tokens, output_tokens)
}

/// The model of each tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierModels {
    pub fast: ModelConfig,
    pub balanced: ModelConfig,
    pub powerful: ModelConfig,
}

impl TierModels {
    pub fn get(&self, tier: Tier) -> &ModelConfig {
        match tier {
            Tier::Fast => &self.fast,
            Tier::Balanced => &self.balanced,
            Tier::Powerful => &self.powerful,
        }
    }

    /// The tier whose model is `model` (or a dated snapshot of it).
    pub fn tier_of(&self, model: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| crate::pricing::is_model(model, &self.get(*t).model))
    }

    /// The config of the tier whose model is `model`.
    pub fn by_model(&self, model: &str) -> Option<&ModelConfig> {
        self.tier_of(model).map(|t| self.get(t))
    }
}

impl Default for TierModels {
    fn default() -> Self {
        TierModels {
            fast: ModelConfig::default_for(Tier::Fast),
            balanced: ModelConfig::default_for(Tier::Balanced),
            powerful: ModelConfig::default_for(Tier::Powerful),
        }
    }
}

/// Prefix of the per-tier model keys: `orchestration_tier_<tier>_<field>` with
/// field `provider`, `model`, `max_tokens`, `temperature`, `input_price`, `output_price`.
pub const TIER_KEY_PREFIX: &str = "orchestration_tier_";
pub const FAST_THRESHOLD_KEY: &str = "orchestration_ais_fast_threshold";
pub const POWERFUL_THRESHOLD_KEY: &str = "orchestration_ais_powerful_threshold";

/// Reads each tier's model from settings; a missing, empty or unreadable value
/// keeps that field's default (max_tokens > 0, temperature 0-1, prices finite and >= 0).
pub fn tier_models_from_settings(get: impl Fn(&str) -> Option<String>) -> TierModels {
    let read = |tier: Tier| {
        let mut m = ModelConfig::default_for(tier);
        let value = |field: &str| {
            get(&format!("{TIER_KEY_PREFIX}{tier}_{field}")).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
        };
        if let Some(v) = value("provider") {
            m.provider = v;
        }
        if let Some(v) = value("model") {
            m.model = v;
        }
        if let Some(v) = value("max_tokens").and_then(|v| v.parse::<u32>().ok()).filter(|v| *v > 0) {
            m.max_tokens = v;
        }
        if let Some(v) = value("temperature").and_then(|v| v.parse::<f32>().ok()).filter(|v| (0.0..=1.0).contains(v)) {
            m.temperature = v;
        }
        let price =
            |field: &str| value(field).and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite() && *v >= 0.0);
        if let Some(v) = price("input_price") {
            m.input_price_per_mtok = v;
        }
        if let Some(v) = price("output_price") {
            m.output_price_per_mtok = v;
        }
        m
    };
    TierModels { fast: read(Tier::Fast), balanced: read(Tier::Balanced), powerful: read(Tier::Powerful) }
}

/// The AIS tier boundaries on the 0-10 score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Scores below this go to the fast tier (seed: 3.0).
    pub fast_below: f32,
    /// Scores above this go to the powerful tier (seed: 6.5).
    pub powerful_above: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { fast_below: 3.0, powerful_above: 6.5 }
    }
}

impl Thresholds {
    /// The tier of a score: `fast` below `fast_below`, `powerful` above
    /// `powerful_above`, `balanced` in between (both bounds included).
    pub fn tier(&self, score: f32) -> Tier {
        if score < self.fast_below {
            Tier::Fast
        } else if score > self.powerful_above {
            Tier::Powerful
        } else {
            Tier::Balanced
        }
    }
}

/// Reads the thresholds; each must be a number in 0-10, and `fast_below` must
/// stay below `powerful_above`, otherwise both defaults apply.
pub fn thresholds_from_settings(get: impl Fn(&str) -> Option<String>) -> Thresholds {
    let default = Thresholds::default();
    let read = |key: &str, fallback: f32| {
        get(key).and_then(|v| v.trim().parse::<f32>().ok()).filter(|v| (0.0..=10.0).contains(v)).unwrap_or(fallback)
    };
    let t = Thresholds {
        fast_below: read(FAST_THRESHOLD_KEY, default.fast_below),
        powerful_above: read(POWERFUL_THRESHOLD_KEY, default.powerful_above),
    };
    if t.fast_below < t.powerful_above { t } else { default }
}

// ---------------------------------------------------------------------------
// Agent scores (table agent_intensity_metrics)
// ---------------------------------------------------------------------------

/// An agent's row of `agent_intensity_metrics`, each 0-10 (higher = needs
/// stronger models).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AgentScores {
    pub creation: f32,
    pub execution: f32,
    pub combined: f32,
}

/// Share of the agent's execution score in the routing score, when the agent has a row.
pub const AGENT_WEIGHT: f32 = 0.25;

// ---------------------------------------------------------------------------
// Step complexity: the tables
// ---------------------------------------------------------------------------

/// Base complexity of each intent, before params, output, size and cues.
/// Intents whose handlers can work without a model start low; those that
/// always write with a model start at the middle of the balanced band.
pub const INTENT_BASE: [(&str, f32); 11] = [
    ("send", 0.5),
    ("enrich", 1.0),
    ("transform", 1.0),
    ("aggregate", 1.0),
    ("filter", 1.0),
    ("conditional", 1.5),
    ("validate", 1.5),
    ("classify", 2.0),
    ("extract", 3.5),
    ("summarize", 3.5),
    ("generate", 4.5),
];
/// Base of an intent not in [`INTENT_BASE`]: a plain model call.
pub const UNKNOWN_INTENT_BASE: f32 = 4.0;

/// Params that let the handler work without model judgment.
const STRUCTURED_PARAMS: f32 = -1.5;
/// Params that need model judgment (`criteria`, `question`, `judgment` rules) or free text to rewrite.
const FUZZY_PARAMS: f32 = 3.0;
/// Per judgment rule beyond the first, up to [`EXTRA_JUDGMENT_MAX`].
const EXTRA_JUDGMENT: f32 = 0.25;
const EXTRA_JUDGMENT_MAX: f32 = 0.75;

/// Points of generate's `params.type`.
pub const GENERATE_TYPES: [(&str, f32); 5] =
    [("code", 2.5), ("report", 1.0), ("text", 0.5), ("email", 0.0), ("creative", 0.0)];

/// Words of a classification that labels every item of a batch, not one
/// item: a judgment per item, each of which must be right.
const BATCH_CUES: [&str; 3] = ["each", "every", "all the"];
const BATCH_LABELS: f32 = 1.0;

/// Prompt tokens at or above each bound add the points (the last bound reached wins).
pub const INPUT_SIZE: [(u32, f32); 4] = [(250, 0.5), (600, 1.0), (1_000, 1.5), (2_000, 2.0)];

/// Cues of reasoning, stakes or code in the step name and the prompt's
/// instructions. A cue matches at a word start and, unless it ends with `*`,
/// at a word end too (`analyz*` matches `analyze` and `analyzing`; `spec` does
/// not match `specific`). Their sum is capped at [`REASONING_CAP`].
pub const REASONING_CUES: [(&str, f32); 56] = [
    // legal, contract, regulatory and HR reasoning
    ("legal", 1.0),
    ("contract clause*", 1.0),
    ("clause*", 1.0),
    ("indemn*", 1.0),
    ("liabilit*", 1.0),
    ("governing law", 1.0),
    ("nda*", 1.5),
    ("lease*", 1.5),
    ("gdpr", 1.0),
    ("dpa", 0.75),
    ("playbook*", 0.75),
    ("redline*", 1.0),
    ("counsel", 0.5),
    ("section*", 0.5),
    ("consent*", 0.75),
    ("permitted transferee*", 1.0),
    ("change-of-control", 0.5),
    ("termination*", 0.5),
    ("scc*", 0.75),
    ("policy", 0.5),
    ("policies", 0.5),
    ("complian*", 0.5),
    ("regulat*", 0.5),
    ("accreditation*", 0.5),
    ("harassment", 1.0),
    ("retaliat*", 1.0),
    ("investigation*", 0.75),
    ("accused", 0.75),
    // judgment and synthesis
    ("analyz*", 0.75),
    ("analyse*", 0.75),
    ("analysis", 0.75),
    ("assess*", 1.0),
    ("reconcil*", 1.0),
    ("root cause*", 1.0),
    ("compar*", 0.75),
    ("justif*", 0.75),
    ("negotiat*", 0.75),
    ("strateg*", 0.75),
    ("weigh*", 1.0),
    ("judge*", 1.0),
    ("consider*", 0.75),
    ("decide whether", 0.75),
    ("recommend*", 0.5),
    ("reasoning", 0.75),
    ("explain why", 0.75),
    ("evidence", 0.5),
    ("fact-check*", 0.75),
    ("factual*", 0.75),
    ("unsupported", 0.5),
    ("impersonat*", 0.75),
    ("defect*", 0.5),
    ("exposure*", 0.5),
    // predictions
    ("how likely", 0.75),
    ("forecast*", 0.75),
    ("probabilit*", 0.75),
    ("reasons", 0.5),
];
/// Stakes raised by the audience or the subject, counted with [`REASONING_CUES`].
pub const STAKES_CUES: [(&str, f32); 4] = [("ceo", 0.5), ("board", 0.5), ("executive*", 0.5), ("risk*", 0.5)];
/// Cues of code, counted with [`REASONING_CUES`].
pub const CODE_CUES: [(&str, f32); 8] = [
    ("code", 1.0),
    ("function*", 0.75),
    ("sql", 2.0),
    ("postgres*", 2.0),
    ("script*", 2.0),
    ("terraform", 2.0),
    ("spec", 0.5),
    ("specification*", 0.5),
];
pub const REASONING_CAP: f32 = 3.5;

/// Cues of mechanical work (same matching); their sum is capped at [`SIMPLICITY_CAP`].
pub const SIMPLICITY_CUES: [(&str, f32); 15] = [
    ("notify", -0.5),
    ("format as", -0.5),
    ("format the", -0.5),
    ("formatting", -0.5),
    ("reformat*", -0.5),
    ("copy", -0.5),
    ("list", -0.5),
    ("extract the number*", -0.5),
    ("one line", -0.5),
    ("one-line", -0.5),
    ("one sentence", -0.5),
    ("subject line", -0.5),
    ("yes or no", -0.5),
    ("yes/no", -0.5),
    ("forward*", -0.5),
];
pub const SIMPLICITY_CAP: f32 = -1.5;

/// Domains where a wrong judgment is costly (legal, medical, financial crime
/// and insurance, security), read in the workflow's goal (the step's own
/// words are [`REASONING_CUES`]): a step of such a workflow that needs model
/// judgment is harder than the same words elsewhere. Their sum is capped at [`DOMAIN_CAP`].
pub const DOMAIN_CUES: [(&str, f32); 32] = [
    ("legal", 1.0),
    ("contract*", 1.0),
    ("agreement*", 1.0),
    ("nda*", 1.0),
    ("litigation", 1.0),
    ("lawsuit*", 1.0),
    ("medical", 1.5),
    ("clinical", 1.5),
    ("patient*", 1.0),
    ("diagnos*", 1.0),
    ("physician*", 1.0),
    ("prior-auth*", 1.0),
    ("prior authori*", 1.0),
    ("prescription*", 1.0),
    ("fraud*", 1.5),
    ("suspicious", 1.0),
    ("structuring", 1.0),
    ("money laundering", 1.5),
    ("aml", 1.5),
    ("sanction*", 1.0),
    ("insurance", 1.0),
    ("underwrit*", 1.0),
    ("claim form*", 0.5),
    ("compliance", 1.0),
    ("regulator*", 1.0),
    ("audit*", 0.5),
    ("security", 1.0),
    ("breach*", 1.0),
    ("intrusion*", 1.5),
    ("attack*", 1.0),
    ("credential*", 1.0),
    ("malware", 1.5),
];
pub const DOMAIN_CAP: f32 = 2.5;
/// Intents whose work is the model's judgment: the ones a costly domain weighs on.
const JUDGMENT_INTENTS: [&str; 8] =
    ["classify", "conditional", "validate", "generate", "summarize", "extract", "filter", "aggregate"];

/// Only the prompt's instructions are read for cues: its first paragraph, at
/// most this many characters (data pasted below must not vote).
const INSTRUCTION_WINDOW: usize = 600;

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

    match INTENT_BASE.iter().find(|(i, _)| *i == intent) {
        Some((_, base)) => add(Factor::Intent, format!("intent {intent}"), *base),
        None => add(Factor::Intent, format!("intent {intent} (unknown: a plain model call)"), UNKNOWN_INTENT_BASE),
    }

    let work = params_work(&intent, params);
    // Structured params make the step mechanical: its domain does not make it harder.
    let mechanical = work.as_ref().is_some_and(|(_, points)| *points < 0.0);
    if let Some((detail, points)) = work {
        add(Factor::Params, detail, points);
    }

    for (detail, points) in output_shape(&intent, params, prompt) {
        add(Factor::Output, detail, points);
    }

    if let Some((bound, points)) = INPUT_SIZE.iter().rev().find(|(bound, _)| prompt_tokens >= *bound) {
        add(Factor::InputSize, format!("{prompt_tokens} prompt tokens (>= {bound})"), *points);
    }

    let text = cue_text(step_name, prompt);
    let (hits, sum) = match_cues(&text, REASONING_CUES.iter().chain(&STAKES_CUES).chain(&CODE_CUES));
    if !hits.is_empty() {
        add(Factor::Cues, format!("reasoning cues {}", hits.join(", ")), sum.min(REASONING_CAP));
    }
    let (hits, sum) = match_cues(&text, SIMPLICITY_CUES.iter());
    if !hits.is_empty() {
        add(Factor::Cues, format!("simple-work cues {}", hits.join(", ")), sum.max(SIMPLICITY_CAP));
    }

    if let Some(goal) = goal.filter(|_| !mechanical && JUDGMENT_INTENTS.contains(&intent.as_str())) {
        let (hits, sum) = match_cues(&goal.to_lowercase(), DOMAIN_CUES.iter());
        if !hits.is_empty() {
            add(Factor::Domain, format!("domain stakes {}", hits.join(", ")), sum.min(DOMAIN_CAP));
        }
    }

    let total: f32 = out.iter().map(|c| c.points).sum();
    Complexity { score: total.clamp(0.0, 10.0), contributions: out }
}

/// Whether the params make the step mechanical or a matter of judgment.
fn params_work(intent: &str, params: &Value) -> Option<(String, f32)> {
    let has = |key: &str| params.get(key).is_some_and(|v| !v.is_null());
    let structured = |what: &str| Some((format!("structured params ({what}): no model judgment"), STRUCTURED_PARAMS));
    let fuzzy = |what: &str| Some((format!("fuzzy params ({what}): model judgment"), FUZZY_PARAMS));
    match intent {
        "send" if has("plugin") || has("channel") || has("to") => structured("a plugin call"),
        "enrich" if has("source") || has("key") => structured("a lookup"),
        "transform" if has("mapping") => structured("mapping"),
        "transform" => Some(("no mapping: free text to rewrite".into(), FUZZY_PARAMS)),
        "aggregate" if has("group_by") || has("operations") => structured("group_by/operations"),
        "aggregate" => Some(("no operations: free text to merge".into(), FUZZY_PARAMS)),
        "filter" if has("criteria") => fuzzy("criteria"),
        "filter" if has("where") => structured("where"),
        "filter" => fuzzy("the criteria the prompt states"),
        "conditional" if has("question") => fuzzy("question"),
        "conditional" if has("condition") => structured("condition"),
        "conditional" => fuzzy("the question the prompt asks"),
        "enrich" => fuzzy("no lookup: the model enriches"),
        "validate" => {
            let rules = params.get("rules").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
            let judgments = rules.iter().filter(|r| r.get("check").and_then(Value::as_str) == Some("judgment")).count();
            if judgments > 0 {
                let extra = (EXTRA_JUDGMENT * (judgments - 1) as f32).min(EXTRA_JUDGMENT_MAX);
                Some((format!("{judgments} of {} rules need judgment", rules.len()), FUZZY_PARAMS + extra))
            } else if !rules.is_empty() || has("schema") {
                structured("rules/schema")
            } else {
                fuzzy("the rules the prompt states")
            }
        }
        _ if has("criteria") || has("question") => fuzzy("criteria/question"),
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

/// The text cues are read from: the step name and the prompt's first paragraph.
fn cue_text(step_name: &str, prompt: &str) -> String {
    let first = prompt.trim_start().split("\n\n").next().unwrap_or("");
    let window: String = first.chars().take(INSTRUCTION_WINDOW).collect();
    format!("{}\n{}", step_name, window).to_lowercase()
}

fn match_cues<'a>(text: &str, cues: impl Iterator<Item = &'a (&'a str, f32)>) -> (Vec<String>, f32) {
    let mut hits = Vec::new();
    let mut sum = 0.0;
    for (cue, points) in cues {
        if contains_cue(text, cue) {
            hits.push(format!("`{}`", cue.trim_end_matches('*')));
            sum += points;
        }
    }
    (hits, sum)
}

/// Whether `cue` occurs in `text` at a word start and, unless the cue ends
/// with `*`, ending at a word end.
fn contains_cue(text: &str, cue: &str) -> bool {
    let (needle, prefix) = match cue.strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (cue, false),
    };
    let word_char = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(needle).any(|(at, _)| {
        !word_char(text[..at].chars().next_back()) && (prefix || !word_char(text[at + needle.len()..].chars().next()))
    })
}

// ---------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------

/// Everything the router looks at for one step.
#[derive(Debug, Clone)]
pub struct RouteInput<'a> {
    pub intent: &'a str,
    pub step_name: &'a str,
    /// The step's prompt; only its first paragraph is read for cues.
    pub prompt: &'a str,
    /// The workflow's description, read for its domain.
    pub goal: Option<&'a str>,
    pub params: &'a Value,
    pub prompt_tokens: u32,
    /// The agent's `agent_intensity_metrics` row, `None` when it has none.
    pub agent: Option<AgentScores>,
    /// Tokens left in the workflow budget; `None` when not limited.
    pub budget_remaining: Option<u32>,
    /// How many times this step already failed.
    pub previous_failures: u32,
    pub thresholds: Thresholds,
    pub models: &'a TierModels,
}

/// The router's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteDecision {
    pub tier: Tier,
    pub model: ModelConfig,
    /// The routing score (0-10): step complexity blended with the agent's execution score.
    pub score: f32,
    pub step_complexity: f32,
    /// The agent's execution score when it took part.
    pub agent_execution: Option<f32>,
    /// The tier the score alone gave, before failures and budget.
    pub score_tier: Tier,
    /// Expected cost of the step on the chosen model (prompt plus the intent's typical output).
    pub expected_cost_usd: f64,
    pub reason: String,
    pub contributions: Vec<Contribution>,
}

/// Tokens a step needs on a tier: its prompt plus the output its intent
/// typically produces, capped by the tier's output allowance. (The host lowers
/// `max_tokens` to what the budget leaves, so the full allowance is not needed.)
pub fn reserve_tokens(model: &ModelConfig, intent: &str, prompt_tokens: u32) -> u64 {
    u64::from(prompt_tokens) + u64::from(budget::expected_output_tokens(intent).min(model.max_tokens))
}

/// Routes one step to a tier and its model.
pub fn route(input: &RouteInput) -> RouteDecision {
    let complexity =
        step_complexity(input.intent, input.step_name, input.prompt, input.goal, input.params, input.prompt_tokens);
    let agent_execution = input.agent.map(|a| a.execution.clamp(0.0, 10.0));
    let score = match agent_execution {
        Some(e) => (1.0 - AGENT_WEIGHT) * complexity.score + AGENT_WEIGHT * e,
        None => complexity.score,
    };
    let score_tier = input.thresholds.tier(score);

    let mut reason =
        format!("{score_tier}: step complexity {:.1} from {}", complexity.score, drivers(&complexity.contributions));
    match agent_execution {
        Some(e) => reason
            .push_str(&format!("; agent execution score {e:.1} weighed {:.0}% gives {score:.2}", AGENT_WEIGHT * 100.0)),
        None => reason.push_str("; no agent scores"),
    }
    let t = input.thresholds;
    reason.push_str(&format!(" (fast < {:.1}, powerful > {:.1})", t.fast_below, t.powerful_above));

    let mut tier = score_tier;
    if input.previous_failures > 0 {
        for _ in 0..input.previous_failures.min(2) {
            tier = tier.escalate();
        }
        if tier == score_tier {
            reason
                .push_str(&format!("; already at the top tier after {} previous failure(s)", input.previous_failures));
        } else {
            reason.push_str(&format!(
                "; escalated {score_tier} -> {tier} after {} previous failure(s)",
                input.previous_failures
            ));
        }
    }

    if let Some(remaining) = input.budget_remaining {
        let wanted = tier;
        let needed = |t: Tier| reserve_tokens(input.models.get(t), input.intent, input.prompt_tokens);
        while tier != Tier::Fast && needed(tier) > u64::from(remaining) {
            tier = tier.de_escalate();
        }
        if tier != wanted {
            let m = input.models.get(wanted);
            reason.push_str(&format!(
                "; stepped down {wanted} -> {tier}: {remaining} tokens left cannot cover {wanted}'s {} (prompt {} + expected output, at most {})",
                needed(wanted),
                input.prompt_tokens,
                m.max_tokens
            ));
        }
        if needed(tier) > u64::from(remaining) {
            reason.push_str(&format!(
                "; even {tier} needs {} tokens and {remaining} are left: the budget check decides",
                needed(tier)
            ));
        }
    }

    let model = input.models.get(tier).clone();
    let output = budget::expected_output_tokens(input.intent).min(model.max_tokens);
    let expected_cost_usd = cost_usd(&model, input.prompt_tokens, output);
    reason.push_str(&format!(" -> {} ({})", model.model, model.provider));
    RouteDecision {
        tier,
        model,
        score,
        step_complexity: complexity.score,
        agent_execution,
        score_tier,
        expected_cost_usd,
        reason,
        contributions: complexity.contributions,
    }
}

/// The three largest contributions, as `detail (+x.x)`.
fn drivers(contributions: &[Contribution]) -> String {
    let mut sorted: Vec<&Contribution> = contributions.iter().collect();
    sorted.sort_by(|a, b| b.points.abs().total_cmp(&a.points.abs()));
    sorted.iter().take(3).map(|c| format!("{} ({:+.2})", c.detail, c.points)).collect::<Vec<_>>().join(", ")
}

// ---------------------------------------------------------------------------
// Updating the agent's execution score
// ---------------------------------------------------------------------------

/// What a completed run tells about the agent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// Steps routed in the run.
    pub steps: u32,
    /// Steps that failed (counted once per step).
    pub failures: u32,
    /// Mean tier used, 0.0 (all fast) to 2.0 (all powerful); see [`Tier::index`].
    pub avg_tier_used: f32,
    /// Tokens the run used.
    pub tokens: u64,
}

/// Smoothing of the execution score: the share of the newest run.
pub const EXECUTION_EMA_ALPHA: f32 = 0.3;

/// The run's own intensity (0-10):
///
/// ```text
/// 0.60 * tier      (avg_tier_used / 2 * 10: which models the steps needed)
/// 0.25 * failures  (failures / steps * 10: steps that failed needed more)
/// 0.15 * tokens    (2 * log2(tokens per step / 250), 0-10: 250 -> 0, 1k -> 4, 8k -> 10)
/// ```
pub fn run_intensity(run: &RunOutcome) -> Option<f32> {
    if run.steps == 0 {
        return None;
    }
    let steps = run.steps as f32;
    let tier = (run.avg_tier_used.clamp(0.0, 2.0) / 2.0) * 10.0;
    let failures = (run.failures.min(run.steps) as f32 / steps) * 10.0;
    let per_step = run.tokens as f32 / steps;
    let tokens = if per_step <= 250.0 { 0.0 } else { (2.0 * (per_step / 250.0).log2()).min(10.0) };
    Some((0.60 * tier + 0.25 * failures + 0.15 * tokens).clamp(0.0, 10.0))
}

/// The agent's scores after a completed run.
///
/// The execution score is an exponential moving average of [`run_intensity`]:
/// `execution' = execution + 0.3 * (intensity - execution)`, so the newest run
/// weighs 30% and older runs fade geometrically. An agent without a row starts
/// at the run's intensity (creation score the same, for want of anything
/// better). The creation score is not touched by runs; `combined` is the mean
/// of creation and execution. A run with no steps changes nothing.
pub fn updated_execution_score(previous: Option<AgentScores>, run: &RunOutcome) -> Option<AgentScores> {
    let Some(intensity) = run_intensity(run) else {
        return previous;
    };
    let (creation, execution) = match previous {
        Some(p) => {
            let e = p.execution.clamp(0.0, 10.0);
            (p.creation.clamp(0.0, 10.0), e + EXECUTION_EMA_ALPHA * (intensity - e))
        }
        None => (intensity, intensity),
    };
    Some(AgentScores { creation, execution, combined: (creation + execution) / 2.0 })
}

#[cfg(test)]
mod tests;
