//! The word tables of the sentence rules, and how a word is matched (at a
//! word start, as a prefix). Each intent's own cue words, leading verbs and
//! params contracts are in its profile ([`crate::intents`]).

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
