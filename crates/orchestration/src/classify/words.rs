//! The word tables the free tiers read: each intent's cue words and leading
//! verbs, the words of the sentence rules, the params contracts, and how a
//! word is matched (at a word start, as a prefix).

/// Cue words per intent; matched as whole words, case-insensitively, as prefixes
/// (so `extract` also matches `extracting`).
pub(super) const CUES: [(&str, &[&str]); 11] = [
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
pub(super) const LEADING_VERBS: [(&str, &[&str]); 11] = [
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
pub(super) const YES_NO_OPENERS: [&str; 14] =
    ["is", "are", "does", "do", "can", "should", "would", "will", "has", "have", "was", "were", "given", "based on"];

/// Words that make a yes/no question a conformance check (validate).
pub(super) const CONFORMANCE_CUES: [&str; 18] = [
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
pub(super) const FACT_OPENERS: [&str; 6] = ["who", "what", "when", "where", "which dates", "how long"];

/// A relative clause after the quantifier states the condition ("everyone who logged...").
pub(super) const RELATIVES: [&str; 4] = [" who ", " that ", " which ", " whose "];

/// Quantifiers that, with a condition, make "find"/"list" a selection of items.
pub(super) const SELECTORS: [&str; 6] = ["every", "everyone", "all the", "any ", "each ", "those"];

/// What a summary is called when a step asks to "write" one.
pub(super) const SUMMARY_NOUNS: [&str; 6] = ["summary", "recap", "digest", "overview", "tl;dr", "handover"];

/// Words that open a question asking which class something belongs to.
pub(super) const CHOICE_OPENERS: [&str; 5] = ["which", "what category", "what type", "what kind", "what priority"];

/// Instructions that put a yes/no question.
pub(super) const WHETHER_OPENERS: [&str; 5] =
    ["say whether", "say if", "tell me whether", "tell me if", "find out whether"];

/// Openers that name what to read before the verb that says what to do.
pub(super) const LEAD_INS: [&str; 6] = ["go through ", "look through ", "look at ", "read through ", "read ", "take "];

/// Lengths a short account is asked in ("a couple of sentences", "three lines", "half a page").
pub(super) const LENGTH_NOUNS: [&str; 5] = ["sentences", "lines", "half a page", "a paragraph", "bullet points"];

pub(super) const ACTION_CLAUSES: [&str; 12] = [
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

pub(super) const ARTICLES: [&str; 8] = ["the", "a", "an", "our", "their", "this", "that", "its"];

pub(super) const DESTINATION_PREPOSITIONS: [&str; 5] = ["to", "into", "in", "through", "via"];
pub(super) const DESTINATIONS: [&str; 7] =
    ["crm", "slack", "webhook", "teams", "salesforce", "hubspot", "service-desk"];

/// Params keys that belong to one handler's contract, checked in order (the
/// first intent with a matching key wins: `validate` takes `schema` + `data`
/// before `extract` takes `schema` alone).
pub(super) const PARAM_CONTRACTS: [(&str, &[&[&str]]); 11] = [
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

/// Whether `cue` occurs in `text` starting at a word boundary.
pub(super) fn contains_word_prefix(text: &str, cue: &str) -> bool {
    find_word_prefix(text, cue).is_some()
}

/// Where `cue` first occurs at a word start.
pub(super) fn find_word_prefix(text: &str, cue: &str) -> Option<usize> {
    text.match_indices(cue)
        .map(|(at, _)| at)
        .find(|at| *at == 0 || !text[..*at].chars().next_back().is_some_and(char::is_alphanumeric))
}
