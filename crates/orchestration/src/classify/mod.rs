//! Intent classification, tiered as in the seed.
//!
//! An explicit intent always wins. Next, the step's params: each handler has a
//! params contract (`schema` for extract, `rules` for validate, `condition`
//! for conditional...), so params written for one handler are the strongest
//! evidence there is. Otherwise each intent's cue words are looked for in the
//! step's name (strong evidence) and in the opening of its prompt, where
//! instructions are written (weaker evidence; data pasted further down must
//! not vote). These tiers are free. A step they are unsure of (confidence
//! under `orchestration_classification_confidence_threshold`, 0.9) goes to
//! the [`llm`] tier (the fast-tier model, one call for all unsure steps of a
//! workflow, accepted from 0.7), then to the [`context`] tier (accepted from
//! 0.6); [`settle`] picks the answer. Nothing sure gives the safe fallback
//! intent, marked ambiguous.

pub mod context;
pub mod llm;

use serde::Serialize;

/// The seed's ten intents, and `classify` (labelling into given classes).
pub const INTENTS: [&str; 11] = [
    "extract",
    "summarize",
    "generate",
    "validate",
    "send",
    "transform",
    "conditional",
    "aggregate",
    "filter",
    "enrich",
    "classify",
];

/// The intent used when nothing matches: a plain model call on the prompt.
pub const FALLBACK_INTENT: &str = "generate";

/// Only the opening of a prompt is read for cues.
pub(crate) const INSTRUCTION_WINDOW: usize = 240;
pub(crate) const NAME_WEIGHT: f32 = 3.0;
pub(crate) const PROMPT_WEIGHT: f32 = 1.0;
/// The instruction's leading verb weighs as much as a cue in the step's name.
const VERB_WEIGHT: f32 = 3.0;

/// Cue words per intent; matched as whole words, case-insensitively, as prefixes
/// (so `extract` also matches `extracting`).
const CUES: [(&str, &[&str]); 11] = [
    ("extract", &["extract", "parse", "pull out", "capture the", "identify the fields", "read the fields"]),
    ("summarize", &["summar", "condense", "tl;dr", "recap", "digest", "brief overview", "key points", "sum up"]),
    ("generate", &["generate", "write", "draft", "compose", "create a", "produce a", "reply", "respond"]),
    ("validate", &["validat", "verify", "check that", "check whether", "ensure", "confirm that", "audit"]),
    ("send", &["send", "notify", "email to", "post to", "deliver", "dispatch", "alert the", "slack"]),
    ("transform", &["transform", "convert", "reshape", "map the", "format as", "normalize", "rename", "restructure"]),
    ("conditional", &["if ", "whether to", "decide", "branch", "route to", "escalate if", "otherwise"]),
    (
        "aggregate",
        &[
            "aggregat",
            "add up",
            "sum the",
            "totals by",
            "combine",
            "merge",
            "group by",
            "roll up",
            "count the",
            "tally",
        ],
    ),
    ("filter", &["filter", "select only", "keep only", "exclude", "remove all", "discard", "shortlist"]),
    ("enrich", &["enrich", "look up", "lookup", "augment", "append data", "add details", "fetch more"]),
    (
        "classify",
        &[
            "classif",
            "categori",
            "label the",
            "tag the",
            "sentiment",
            "which category",
            "risk level",
            "priority level",
            "bucket",
        ],
    ),
];

/// The leading verb of an instruction, the strongest evidence its wording
/// gives: instructions are imperatives ("Post the digest to #ops", "Count the
/// alerts per service"). Two-word verbs are matched before one-word verbs.
const LEADING_VERBS: [(&str, &[&str]); 11] = [
    (
        "send",
        &[
            "post", "email", "send", "notify", "submit", "share", "announce", "tell", "ping", "log", "message",
            "forward", "push", "upload",
        ],
    ),
    ("extract", &["extract", "pull", "list", "identify", "abstract", "capture", "parse", "find"]),
    ("summarize", &["summarize", "summarise", "sum up", "recap", "condense", "outline", "give a", "give the"]),
    (
        "generate",
        &[
            "write",
            "draft",
            "compose",
            "generate",
            "create",
            "reply",
            "prepare",
            "produce",
            "explain",
            "recommend",
            "suggest",
            "propose",
            "advise",
        ],
    ),
    (
        "validate",
        &[
            "check",
            "verify",
            "validate",
            "review",
            "ensure",
            "make sure",
            "fact-check",
            "assess",
            "audit",
            "confirm",
            "go over",
        ],
    ),
    (
        "filter",
        &[
            "keep",
            "filter",
            "remove",
            "drop",
            "exclude",
            "select",
            "pick out",
            "pick",
            "leave out",
            "discard",
            "shortlist",
            "flag",
        ],
    ),
    ("aggregate", &["count", "total", "sum", "group", "aggregate", "add up", "tally", "merge", "combine", "roll up"]),
    ("enrich", &["add", "look up", "lookup", "enrich", "append", "run", "attach"]),
    (
        "transform",
        &[
            "transform",
            "convert",
            "reshape",
            "turn",
            "put",
            "rewrite",
            "format",
            "map",
            "reformat",
            "redact",
            "mask",
            "anonymize",
            "anonymise",
            "pseudonymize",
            "de-identify",
            "scrub",
            "normalize",
            "restructure",
            "rename",
            "translate",
            "tidy",
        ],
    ),
    ("conditional", &["decide", "determine whether", "judge", "if"]),
    (
        "classify",
        &["classify", "categorize", "categorise", "label", "tag", "rate", "grade", "score", "triage", "bucket"],
    ),
];

/// Words that open a yes/no question, which asks for a decision.
const YES_NO_OPENERS: [&str; 14] =
    ["is", "are", "does", "do", "can", "should", "would", "will", "has", "have", "was", "were", "given", "based on"];

/// Words that make a yes/no question a conformance check (validate).
const CONFORMANCE_CUES: [&str; 18] = [
    "meet",
    "match",
    "comply",
    "compliant",
    "conform",
    "requirement",
    "standard",
    "checklist",
    "missing",
    "gap",
    "in line with",
    "valid",
    "criteria",
    "must-have",
    "criterion",
    "eligib",
    "pass",
    "against",
];

/// Words that open a question asking for facts the data holds.
const FACT_OPENERS: [&str; 6] = ["who", "what", "when", "where", "which dates", "how long"];

/// A relative clause after the quantifier states the condition ("everyone who logged...").
const RELATIVES: [&str; 4] = [" who ", " that ", " which ", " whose "];

/// Quantifiers that, with a condition, make "find"/"list" a selection of items.
const SELECTORS: [&str; 6] = ["every", "everyone", "all the", "any ", "each ", "those"];

/// What a summary is called when a step asks to "write" one.
const SUMMARY_NOUNS: [&str; 6] = ["summary", "recap", "digest", "overview", "tl;dr", "handover"];

/// Words that open a question asking which class something belongs to.
const CHOICE_OPENERS: [&str; 5] = ["which", "what category", "what type", "what kind", "what priority"];

/// The intent the instruction's main verb (or its question form, or the
/// shape of a verbless note) points to. A sentence that only sets the scene
/// ("It's 24 January.") has none: the instruction may start in the next one,
/// within the first [`INSTRUCTION_SENTENCES`] sentences of the opening.
fn leading_verb(prompt: &str) -> Option<(&'static str, String)> {
    let opening: String = prompt.trim_start().chars().take(INSTRUCTION_WINDOW).collect();
    let mut rest = opening.as_str();
    for _ in 0..INSTRUCTION_SENTENCES {
        if let Some(found) = sentence_intent(rest) {
            return Some(found);
        }
        let next = rest.find(['.', '!', '?', '\n']).map(|i| i + 1)?;
        rest = rest[next..].trim_start();
        if rest.is_empty() {
            return None;
        }
    }
    None
}

/// Sentences of the opening read for the instruction's verb.
const INSTRUCTION_SENTENCES: usize = 3;

/// The intent of the sentence `opening` starts with (the text after it is
/// read for a list of fields that a question or a verbless note asks for).
fn sentence_intent(opening: &str) -> Option<(&'static str, String)> {
    let opening = opening.trim_start();
    let lower = opening.to_lowercase();
    let end = opening.find(['.', '!', '\n', ':']).unwrap_or(opening.len());
    // A question runs to its `?`, past a colon that lists options ("asking for: a, b or c?").
    let question_end = opening.find('?').filter(|q| !opening[..*q].contains(['.', '!', '\n']));
    let sentence = opening[..question_end.unwrap_or(end)].trim().to_lowercase();
    let sentence = main_clause(&sentence);
    let starts =
        |verb: &str| sentence.strip_prefix(verb).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', ',']));
    // "Push the contacts into the CRM", "Open a ticket through the webhook": a delivery.
    if names_a_destination(sentence) {
        return Some(("send", "names a destination service".into()));
    }
    // "For each site: address, year built, sprinklers and TIV": the fields to pull out.
    let asks_for_fields = lists_fields(&lower);
    // "Say whether the application passes each guideline": a question put as an instruction.
    let reported_question = WHETHER_OPENERS.iter().any(|w| sentence.starts_with(w));
    if reported_question {
        if CONFORMANCE_CUES.iter().any(|cue| contains_word_prefix(&lower, cue)) {
            return Some(("validate", "asks whether the data conforms".into()));
        }
        return Some(("conditional", "asks whether".into()));
    }
    if question_end.is_some() {
        // "..., or do we have to hold it?": a choice between courses of action.
        if weighs_actions(sentence) {
            return Some(("conditional", "a question weighing courses of action".into()));
        }
        // "Is this billing, technical or account access?": a choice among the options it lists.
        if offers_options(sentence) {
            return Some(("classify", "a question offering options".into()));
        }
        // "Which RFIs are open? For each: number, owner, age": fields of the items asked about.
        if asks_for_fields && (starts("which") || starts("what")) {
            return Some(("extract", "a question, then the fields to give for each item".into()));
        }
        // "Which of them are still open?": picking items out of a list.
        if starts("which of") || starts("which ones") {
            return Some(("filter", "a which-of question".into()));
        }
        // "Which SKUs are below their reorder point?": the items of a list that meet a condition.
        if asks_which_items(sentence) {
            return Some(("filter", "asks which items meet a condition".into()));
        }
        // "Which team should handle this?", "What category is it?": a choice among classes.
        if CHOICE_OPENERS.iter().any(|w| starts(w)) {
            return Some(("classify", "a which-one question".into()));
        }
        // "How many tickets landed in each band?": counting.
        if starts("how many") || starts("how much") {
            return Some(("aggregate", "a how-many question".into()));
        }
        // "Who needs access, and by when?", "What dates are requested?": facts to pull out.
        if FACT_OPENERS.iter().any(|w| starts(w)) {
            return Some(("extract", "a question asking for facts".into()));
        }
        if YES_NO_OPENERS.iter().any(|w| starts(w)) {
            // "Does it meet the requirements? List what is missing." checks conformance.
            if CONFORMANCE_CUES.iter().any(|cue| contains_word_prefix(&lower, cue)) {
                return Some(("validate", "a question of conformance".into()));
            }
            return Some(("conditional", "a yes/no question".into()));
        }
    }
    let mut best: Option<(&'static str, &str)> = None;
    for (intent, verbs) in LEADING_VERBS {
        for verb in verbs {
            if starts(verb) && best.is_none_or(|(_, b)| verb.len() > b.len()) {
                best = Some((intent, verb));
            }
        }
    }
    // "Find everyone who logged more than 10 hours": picking items out.
    if best.is_some_and(|(intent, _)| intent == "extract") && selects_by_condition(sentence) {
        return Some(("filter", "asks for the items that meet a condition".into()));
    }
    // "Write a four-line summary for the channel" asks for a summary, whatever the verb.
    if best.is_some_and(|(intent, _)| intent == "generate")
        && SUMMARY_NOUNS.iter().any(|noun| contains_word_prefix(sentence, noun))
    {
        return Some(("summarize", "asks for a summary".into()));
    }
    if let Some((intent, verb)) = best {
        return Some((intent, format!("leading verb `{verb}`")));
    }
    verbless_note(sentence, &lower, asks_for_fields)
}

/// The clause that carries the instruction: past a polite opener and past a
/// lead-in that only says what to read ("Go through the report and list...").
fn main_clause(sentence: &str) -> &str {
    let sentence = sentence.strip_prefix("please ").unwrap_or(sentence);
    match sentence.find(" and ") {
        Some(and) if LEAD_INS.iter().any(|lead| sentence.starts_with(lead)) => sentence[and + 5..].trim_start(),
        _ => sentence,
    }
}

/// Instructions that put a yes/no question.
const WHETHER_OPENERS: [&str; 5] = ["say whether", "say if", "tell me whether", "tell me if", "find out whether"];

/// Openers that name what to read before the verb that says what to do.
const LEAD_INS: [&str; 6] = ["go through ", "look through ", "look at ", "read through ", "read ", "take "];

/// The intent of a note with no verb: "Bates, date and author for every
/// document", "Only the open reports, please", "Three lines for the owner",
/// "Daily kWh per meter".
fn verbless_note(sentence: &str, opening: &str, asks_for_fields: bool) -> Option<(&'static str, String)> {
    // "Half a page for the panel: the need, the budget, the risks" is a summary, not fields.
    if LENGTH_NOUNS.iter().any(|noun| contains_word_prefix(sentence, noun)) {
        return Some(("summarize", "asks for a few lines".into()));
    }
    if asks_for_fields {
        return Some(("extract", "lists the fields to give".into()));
    }
    // "A call on each document: privileged, partly privileged, or not privileged".
    let sentence_end = opening.find(['.', '?', '\n']).unwrap_or(opening.len());
    if opening[..sentence_end].split_once(':').is_some_and(|(_, list)| offers_options(list)) {
        return Some(("classify", "lists the classes to choose from".into()));
    }
    if ["only ", "just the ", "nothing but "].iter().any(|w| sentence.starts_with(w)) {
        return Some(("filter", "asks for only some of the items".into()));
    }
    if contains_word_prefix(sentence, "per") || contains_word_prefix(sentence, "by each") {
        return Some(("aggregate", "a figure per group".into()));
    }
    None
}

/// Lengths a short account is asked in ("a couple of sentences", "three lines", "half a page").
const LENGTH_NOUNS: [&str; 5] = ["sentences", "lines", "half a page", "a paragraph", "bullet points"];

/// Whether the text lists at least three fields to give, comma-separated
/// after a colon or after "give me" ("For each: number, subject, owner and
/// age"). A list ending in `or` offers options instead.
fn lists_fields(text: &str) -> bool {
    let sentence_end = text.find(['.', '?', '\n']).unwrap_or(text.len());
    let head = &text[..sentence_end];
    match head.find(':').map(|i| i + 1).or_else(|| head.find("give me ").map(|i| i + 8)) {
        Some(start) => is_field_list(&head[start..]),
        // A question first ("Which RFIs are still open?"), its fields in the next sentence.
        None if text[sentence_end..].starts_with('?') => lists_fields(text[sentence_end + 1..].trim_start()),
        None => false,
    }
}

fn is_field_list(list: &str) -> bool {
    if list.contains(" or ") {
        return false;
    }
    let items: Vec<&str> =
        list.split([',', ';']).flat_map(|i| i.split(" and ")).map(str::trim).filter(|i| !i.is_empty()).collect();
    items.len() >= 3 && items.iter().all(|i| i.split_whitespace().count() <= 6)
}

/// Whether a question's alternatives are courses of action ("can we write
/// it, or does it have to go to the senior underwriter?"): the last `or`
/// opens a clause with its own auxiliary and subject.
fn weighs_actions(question: &str) -> bool {
    let Some(or_at) = question.rfind(" or ") else { return false };
    let after = question[or_at + 4..].trim_start();
    ACTION_CLAUSES.iter().any(|clause| after.starts_with(clause))
}

const ACTION_CLAUSES: [&str; 12] = [
    "do we",
    "does it",
    "does this",
    "should we",
    "should it",
    "must we",
    "must it",
    "is it",
    "will it",
    "will we",
    "can we",
    "has it",
];

/// Whether an instruction names a service it delivers to: "to/into/in/
/// through/via (the) <service>".
fn names_a_destination(sentence: &str) -> bool {
    let words: Vec<&str> = sentence
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '#' | '\'' | '-')))
        .filter(|w| !w.is_empty())
        .collect();
    // The service may follow the preposition after an article and up to two
    // qualifying words: "through the service-desk webhook", "to our sales CRM".
    let names = |i: usize| {
        let after = &words[i + 1..words.len().min(i + 5)];
        let skip = usize::from(after.first().is_some_and(|w| ARTICLES.contains(w)));
        after.iter().skip(skip).take(3).any(|w| DESTINATIONS.contains(w))
    };
    (0..words.len()).any(|i| DESTINATION_PREPOSITIONS.contains(&words[i]) && names(i))
        || words.windows(2).any(|w| DESTINATION_PREPOSITIONS.contains(&w[0]) && w[1].starts_with('#'))
}

const ARTICLES: [&str; 8] = ["the", "a", "an", "our", "their", "this", "that", "its"];

/// "Find everyone who logged...", "List all the invoices that are overdue":
/// a quantifier over the items, then the condition as a relative clause
/// ("...and who raised each one" lists facts instead).
fn selects_by_condition(sentence: &str) -> bool {
    let selector = SELECTORS.iter().filter_map(|n| find_word_prefix(sentence, n)).min();
    let relative = RELATIVES.iter().filter_map(|n| sentence.find(n)).min();
    matches!((selector, relative), (Some(selector), Some(relative)) if selector < relative)
}

/// "Which SKUs are at or below...", "Which invoices have...": a plural noun
/// right after `which`, then a verb of state: items picked from a list.
fn asks_which_items(sentence: &str) -> bool {
    let mut words = sentence.split_whitespace();
    if words.next() != Some("which") {
        return false;
    }
    let rest: Vec<&str> = words.take(4).collect();
    rest.windows(2).any(|w| {
        let noun = w[0].trim_matches(|c: char| !c.is_alphanumeric());
        noun.len() > 3
            && noun.ends_with('s')
            && !noun.ends_with("ss")
            && ["are", "have", "were", "meet"].contains(&w[1])
    })
}

const DESTINATION_PREPOSITIONS: [&str; 5] = ["to", "into", "in", "through", "via"];
const DESTINATIONS: [&str; 7] = ["crm", "slack", "webhook", "teams", "salesforce", "hubspot", "service-desk"];

/// Whether a question lists options to choose from: a comma-separated list
/// ending in `or` ("A, B or C", "A, B, or C"), not "or not".
fn offers_options(question: &str) -> bool {
    let Some(or_at) = question.rfind(" or ") else { return false };
    let after = &question[or_at + 4..];
    // "..., or not?" asks yes or no; "or not privileged" is an option.
    after.trim_end_matches(['?', '.']).trim() != "not" && question[..or_at].contains(',')
}

/// Params keys that belong to one handler's contract, checked in order (the
/// first intent with a matching key wins: `validate` takes `schema` + `data`
/// before `extract` takes `schema` alone).
const PARAM_CONTRACTS: [(&str, &[&[&str]]); 11] = [
    ("validate", &[&["rules"], &["schema", "data"]]),
    ("extract", &[&["schema"]]),
    ("conditional", &[&["condition"], &["question"], &["then"], &["else"], &["branches"]]),
    ("aggregate", &[&["operations"], &["group_by"]]),
    ("filter", &[&["where"], &["criteria"]]),
    ("transform", &[&["mapping"], &["sort_by"], &["drop_empty"], &["select"], &["rename"]]),
    ("send", &[&["plugin"], &["channel"], &["to", "message"]]),
    ("enrich", &[&["source", "key"], &["source", "fields"]]),
    ("summarize", &[&["target_length"]]),
    ("generate", &[&["max_words"], &["type"]]),
    ("classify", &[&["labels"]]),
];

/// How an intent was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Explicit,
    Params,
    Pattern,
    /// The fast-tier model, asked about the steps the free tiers were unsure of.
    Llm,
    /// Cue words over the whole step, the workflow goal and the dependency graph.
    Context,
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
    /// No tier reached its acceptance threshold: the intent is a best guess.
    pub ambiguous: bool,
}

/// The LLM tier's answer is taken from this confidence (the seed's 0.7).
pub const LLM_ACCEPT: f32 = 0.7;
/// The context tier's answer is taken from this confidence (the seed's 0.6).
pub const CONTEXT_ACCEPT: f32 = 0.6;
/// At or below this, no tier's guess is trusted: the safe fallback intent
/// runs. Cue scoring gives at most 0.55 to a tie between two intents.
pub const GUESS_FLOOR: f32 = 0.55;

/// The intent whose params contract `params` follows, if any.
fn by_params(params: &serde_json::Value) -> Option<(&'static str, &'static [&'static str])> {
    let fields = params.as_object()?;
    PARAM_CONTRACTS.iter().find_map(|(intent, contracts)| {
        contracts.iter().find(|keys| keys.iter().all(|k| fields.contains_key(*k))).map(|keys| (*intent, *keys))
    })
}

/// The free tiers: explicit, params contract, then cue words in the step's
/// name and the opening of its prompt. Steps below the confidence threshold go
/// on to [`llm`] and [`context`]; see [`settle`].
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
pub(crate) fn verb_bonus(prompt: &str) -> Vec<(&'static str, f32, String)> {
    leading_verb(prompt).map(|(intent, why)| (intent, VERB_WEIGHT, why)).into_iter().collect()
}

/// The safe fallback: a plain model call on the prompt.
pub fn fallback(reasoning: String, alternatives: Vec<String>) -> Classification {
    Classification {
        intent: FALLBACK_INTENT.into(),
        confidence: 0.3,
        method: Method::Fallback,
        reasoning,
        alternatives,
        ambiguous: true,
    }
}

/// Text searched for cue words, and how much a match there counts.
pub(crate) struct Evidence {
    text: String,
    weight: f32,
}

impl Evidence {
    pub(crate) fn text(text: &str, weight: f32) -> Self {
        Evidence { text: text.to_lowercase(), weight }
    }
}

/// An intent's score: the sum of the weights of the evidence its cues matched.
pub(crate) struct Scored {
    intent: &'static str,
    score: f32,
    reasons: Vec<String>,
}

/// Scores every intent's cues over `evidence`, plus `bonus` points with their
/// reasons; best first, ties in the order of [`INTENTS`].
pub(crate) fn score_cues(evidence: &[Evidence], bonus: &[(&'static str, f32, String)]) -> Vec<Scored> {
    let mut scored: Vec<Scored> = CUES
        .iter()
        .map(|(intent, cues)| {
            let mut score = 0.0;
            let mut reasons = Vec::new();
            for cue in *cues {
                let hits: f32 = evidence.iter().filter(|e| contains_word_prefix(&e.text, cue)).map(|e| e.weight).sum();
                if hits > 0.0 {
                    score += hits;
                    reasons.push(format!("`{}`", cue.trim()));
                }
            }
            for (_, points, why) in bonus.iter().filter(|(i, _, _)| i == intent) {
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
pub(crate) fn from_cues(scored: &[Scored], method: Method, full: f32) -> Option<Classification> {
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

/// The answer for a step the free tiers were unsure of: the rules' answer,
/// the LLM tier's (when it gave one) and the context tier's, settled.
pub fn settle_unsure(
    rules: Classification,
    threshold: f32,
    model: Option<Classification>,
    step: &context::StepContext,
) -> Classification {
    let mut tried = vec![(rules, threshold)];
    if let Some(answer) = model {
        tried.push((answer, LLM_ACCEPT));
    }
    if let Some(c) = context::classify(step) {
        tried.push((c, CONTEXT_ACCEPT));
    }
    settle(tried)
}

/// The free tiers alone (rules, then the context tier where they are
/// unsure), with no model: how a step fares when no LLM tier runs.
pub fn without_model(params: &serde_json::Value, step: &context::StepContext, threshold: f32) -> Classification {
    let rules = classify(None, params, step.name, step.prompt);
    if is_unsure(&rules, threshold) { settle_unsure(rules, threshold, None, step) } else { rules }
}

/// Whether the free tiers' answer needs the LLM and context tiers.
pub fn is_unsure(c: &Classification, threshold: f32) -> bool {
    matches!(c.method, Method::Pattern | Method::Fallback) && c.confidence < threshold
}

/// The final answer from the tiers tried, in order: the first that reached
/// its acceptance threshold, else the most confident guess above
/// [`GUESS_FLOOR`] marked ambiguous, else the fallback intent.
pub fn settle(tried: Vec<(Classification, f32)>) -> Classification {
    let trail = tried
        .iter()
        .map(|(c, _)| format!("{:?} {} {:.2}", c.method, c.intent, c.confidence).to_lowercase())
        .collect::<Vec<_>>()
        .join("; ");
    if let Some((accepted, _)) = tried.iter().find(|(c, accept)| c.confidence >= *accept) {
        let mut c = accepted.clone();
        if tried.len() > 1 {
            c.reasoning = format!("{} (tiers: {trail})", c.reasoning);
        }
        return c;
    }
    let mut candidates: Vec<String> = Vec::new();
    for (c, _) in &tried {
        for intent in std::iter::once(&c.intent).chain(&c.alternatives) {
            if !candidates.contains(intent) {
                candidates.push(intent.clone());
            }
        }
    }
    let best = tried
        .into_iter()
        .map(|(c, _)| c)
        .filter(|c| c.method != Method::Fallback && c.confidence > GUESS_FLOOR)
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence));
    match best {
        Some(mut c) => {
            c.ambiguous = true;
            c.reasoning = format!("{}; no tier was sure (tiers: {trail})", c.reasoning);
            c.alternatives = candidates.into_iter().filter(|i| *i != c.intent).collect();
            c
        }
        None => fallback(format!("no tier was sure (tiers: {trail})"), candidates),
    }
}

/// Whether `cue` occurs in `text` starting at a word boundary.
fn contains_word_prefix(text: &str, cue: &str) -> bool {
    find_word_prefix(text, cue).is_some()
}

/// Where `cue` first occurs at a word start.
fn find_word_prefix(text: &str, cue: &str) -> Option<usize> {
    text.match_indices(cue)
        .map(|(at, _)| at)
        .find(|at| *at == 0 || !text[..*at].chars().next_back().is_some_and(char::is_alphanumeric))
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
        let c = classify(
            None,
            &json!({}),
            "Extract invoice fields",
            "Extract the invoice number and total from the text below.",
        );
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
    fn settle_takes_the_first_accepted_tier_else_the_best_guess_else_the_fallback() {
        let guess = |intent: &str, confidence: f32, method| Classification {
            intent: intent.into(),
            confidence,
            method,
            reasoning: "r".into(),
            alternatives: vec!["filter".into()],
            ambiguous: false,
        };
        let c = settle(vec![
            (guess("summarize", 0.6, Method::Pattern), 0.9),
            (guess("extract", 0.8, Method::Llm), LLM_ACCEPT),
        ]);
        assert_eq!((c.intent.as_str(), c.method, c.ambiguous), ("extract", Method::Llm, false));
        assert!(c.reasoning.contains("pattern summarize 0.60"), "{}", c.reasoning);

        let c = settle(vec![
            (guess("summarize", 0.58, Method::Pattern), 0.9),
            (guess("extract", 0.56, Method::Context), CONTEXT_ACCEPT),
        ]);
        assert_eq!((c.intent.as_str(), c.ambiguous), ("summarize", true));
        assert_eq!(c.alternatives, vec!["filter".to_string(), "extract".to_string()]);

        let c = settle(vec![(guess("summarize", 0.55, Method::Pattern), 0.9)]);
        assert_eq!((c.intent.as_str(), c.method, c.ambiguous), (FALLBACK_INTENT, Method::Fallback, true));
        assert_eq!(c.alternatives[0], "summarize");
    }

    /// Steps written after the cue and verb tables were tuned on
    /// `bench/corpus`, never used to tune them: how the free tiers generalize.
    const HELD_OUT: [(&str, &str, &str); 24] = [
        ("Notify finance", "Let the finance team know that the Q3 close is delayed by two days.", "send"),
        (
            "Customer details",
            "From the signup form below, capture the company name, seat count and billing country as JSON.",
            "extract",
        ),
        ("Thread summary", "Boil this email thread down to three bullet points for the account manager.", "summarize"),
        (
            "Apology",
            "Compose a short apology to the customer for the late delivery, offering a 10% voucher.",
            "generate",
        ),
        ("Schema check", "Confirm every record has a non-empty SKU and a positive price.", "validate"),
        ("High value only", "Only keep orders above EUR 500.", "filter"),
        ("Revenue by region", "Compute total revenue by region for October.", "aggregate"),
        (
            "Company info",
            "Look up each lead's company size and industry in Clearbit and attach it to the record.",
            "enrich",
        ),
        ("CSV to JSON", "Convert the CSV rows below into JSON objects keyed by column name.", "transform"),
        (
            "Escalate?",
            "Should this ticket be escalated to tier 2 given the customer's plan and the outage?",
            "conditional",
        ),
        ("Weekly digest", "Send the weekly metrics digest to ops@example.com.", "send"),
        ("Parse the PO", "Read the purchase order and return the PO number, vendor and line items.", "extract"),
        ("Standup notes", "Summarize yesterday's standup for people who missed it.", "summarize"),
        ("Job post", "Write a job post for a senior data engineer based in Lisbon.", "generate"),
        ("Duplicates", "Find the contacts that appear twice and drop the older copy.", "filter"),
        ("Spend per team", "Group the expenses by team and sum the amounts.", "aggregate"),
        ("Geo data", "Enrich each address with latitude and longitude from the geocoding service.", "enrich"),
        ("Dates to ISO", "Normalize all dates in the records to ISO 8601.", "transform"),
        ("Refund eligible?", "Is the order still within the 30-day refund window?", "conditional"),
        (
            "Contract check",
            "Verify that the contract has a signature date, both parties and a governing-law clause.",
            "validate",
        ),
        ("Incident brief", "Give the on-call lead a short overview of the incident so far.", "summarize"),
        (
            "Route by language",
            "Decide which regional queue gets this ticket based on the language it is written in.",
            "conditional",
        ),
        ("Teams alert", "Alert the on-call channel in Teams that the backup job failed.", "send"),
        ("Extract totals", "Extract subtotal, tax and total from the receipt.", "extract"),
    ];

    #[test]
    fn held_out_phrasings() {
        let mut misses = vec![];
        for (name, prompt, label) in HELD_OUT {
            let c = without_model(&json!({}), &context::StepContext { name, prompt, goal: None, reads: 1 }, 0.9);
            if c.intent != label {
                misses.push(format!("{name}: {label} classified {} ({:?} {:.2})", c.intent, c.method, c.confidence));
            }
        }
        let correct = HELD_OUT.len() - misses.len();
        println!("held-out free-tier accuracy {correct}/{}; misses: {misses:#?}", HELD_OUT.len());
        assert!(correct * 4 >= HELD_OUT.len() * 3, "below 75%: {misses:#?}");
    }

    /// The free tiers' intent for an instruction alone (no name, goal or params).
    fn intent(prompt: &str) -> String {
        without_model(&json!({}), &context::StepContext { name: "s", prompt, goal: None, reads: 0 }, 0.9).intent
    }

    #[test]
    fn grammar_of_selection_delivery_and_advice() {
        assert_eq!(intent("Which SKUs are at or below their reorder point?"), "filter");
        assert_eq!(intent("Which team should handle this?"), "classify");
        assert_eq!(intent("List the objections raised and who raised each one."), "extract");
        assert_eq!(intent("List every invoice that is overdue."), "filter");
        assert_eq!(intent("Open a ticket through the service-desk webhook with the details."), "send");
        assert_eq!(intent("Explain in plain words what the query counts."), "generate");
        assert_eq!(intent("Recommend one vendor with a short justification."), "generate");
    }

    #[test]
    fn grammar_of_lead_ins_notes_and_reported_questions() {
        // The verb after a lead-in that only says what to read.
        assert_eq!(intent("Read through the incident log and count the outages per region."), "aggregate");
        // A scene-setting sentence, then the instruction.
        assert_eq!(intent("Payroll closes on Friday. Verify each timesheet against the rota."), "validate");
        // Verbless notes: fields, a selection, a length, a figure per group, classes to choose from.
        assert_eq!(intent("For every parcel: tracking id, weight, sender and depot."), "extract");
        assert_eq!(intent("Give me the owner, plan, renewal date and seat count for each account."), "extract");
        assert_eq!(intent("Only the unpaid orders from March."), "filter");
        assert_eq!(intent("Two sentences for the duty manager on what broke overnight."), "summarize");
        assert_eq!(intent("Average wait time per clinic."), "aggregate");
        assert_eq!(intent("A call on each claim: covered, partly covered, or excluded."), "classify");
        // A question about items, then the fields wanted for each.
        assert_eq!(intent("Which permits expire this month? For each: site, holder, expiry date."), "extract");
        // Questions weighing courses of action decide a branch.
        assert_eq!(intent("Can the order ship from stock, or do we have to backorder it?"), "conditional");
        // A question put as an instruction.
        assert_eq!(intent("Say whether the supplier passes each audit clause."), "validate");
        assert_eq!(intent("Tell me if the refund went through."), "conditional");
        // Destinations named with a possessive or a determiner.
        assert_eq!(intent("Upload the batch to the lab's webhook."), "send");
        assert_eq!(intent("Attach the quote to this customer's CRM record."), "send");
        // "or not <class>" is an option; "or not?" is a yes/no question.
        assert_eq!(intent("Is this ticket billing, technical, or not support at all?"), "classify");
        assert_eq!(intent("Is the invoice complete or not?"), "conditional");
    }

    #[test]
    fn cues_match_at_word_starts_only() {
        // "resend" must not count as "send"; "unfiltered" must not count as "filter".
        let c = classify(None, &json!({}), "Step", "Look at the unfiltered resend queue");
        assert_eq!(c.method, Method::Fallback);
        assert_eq!(c.intent, FALLBACK_INTENT);
    }
}
