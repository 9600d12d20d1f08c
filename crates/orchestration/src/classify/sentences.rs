//! The sentence rules: the intent an instruction's wording points to, read
//! from its leading verb, its question form or the shape of a verbless note.

use super::words::{
    ACTION_CLAUSES, ARTICLES, CHOICE_OPENERS, CONFORMANCE_CUES, DESTINATION_PREPOSITIONS, DESTINATIONS, FACT_OPENERS,
    LEAD_INS, LENGTH_NOUNS, RELATIVES, SELECTORS, SUMMARY_NOUNS, WHETHER_OPENERS, YES_NO_OPENERS, contains_word_prefix,
    find_word_prefix,
};
use crate::intents::PROFILES;

/// Only the opening of a prompt is read for cues.
pub(super) const INSTRUCTION_WINDOW: usize = 240;

/// The intent the instruction's main verb (or its question form, or the
/// shape of a verbless note) points to, and the sentence it was read in
/// (0 for the first). A sentence that only sets the scene ("It's 24
/// January.") has none: the instruction may start in the next one, within
/// the first [`INSTRUCTION_SENTENCES`] sentences of the opening.
pub(super) fn leading_verb(prompt: &str) -> Option<(&'static str, String, usize)> {
    let opening: String = prompt.trim_start().chars().take(INSTRUCTION_WINDOW).collect();
    let mut rest = opening.as_str();
    for sentence in 0..INSTRUCTION_SENTENCES {
        if let Some((intent, why)) = sentence_intent(rest) {
            return Some((intent, why, sentence));
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
        // "Which claims does the brief say we can make?": what a document states, pulled out.
        if (starts("which") || starts("what")) && asks_what_a_source_says(sentence) {
            return Some(("extract", "asks what the data says".into()));
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
    for profile in &PROFILES {
        for verb in profile.recognition.leading_verbs {
            if starts(verb) && best.is_none_or(|(_, b)| verb.len() > b.len()) {
                best = Some((profile.intent, verb));
            }
        }
    }
    // "Find everyone who logged more than 10 hours", "Pull out the readings outside 2-8 degrees": picking items out.
    if best.is_some_and(|(intent, _)| intent == "extract")
        && (selects_by_condition(sentence) || bounds_by_a_value(sentence))
    {
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

/// "Find everyone who logged...", "List all the invoices that are overdue":
/// a quantifier over the items, then the condition as a relative clause
/// ("...and who raised each one" lists facts instead).
fn selects_by_condition(sentence: &str) -> bool {
    let selector = SELECTORS.iter().filter_map(|n| find_word_prefix(sentence, n)).min();
    let relative = RELATIVES.iter().filter_map(|n| sentence.find(n)).min();
    matches!((selector, relative), (Some(selector), Some(relative)) if selector < relative)
}

/// "Pull out the readings outside 2-8 degrees", "List the orders above 500":
/// a comparison against a number the instruction states, right after the
/// comparison word ("over the last 3 months" names a period instead).
fn bounds_by_a_value(sentence: &str) -> bool {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    words.iter().enumerate().any(|(i, word)| {
        let value_at = match *word {
            "above" | "below" | "over" | "under" | "outside" | "between" | "exceeding" => i + 1,
            "more" | "less" | "greater" | "fewer" | "older" | "higher" | "lower"
                if words.get(i + 1) == Some(&"than") =>
            {
                i + 2
            }
            _ => return false,
        };
        words
            .get(value_at)
            .is_some_and(|value| value.trim_start_matches(['$', '€', '£']).starts_with(|c: char| c.is_ascii_digit()))
    })
}

/// "...does the brief say...", "...do the notes mention...": a question about
/// what a document states, its auxiliary then a reporting verb.
fn asks_what_a_source_says(question: &str) -> bool {
    let words: Vec<&str> = question.split_whitespace().collect();
    let auxiliary = words.iter().position(|w| matches!(*w, "does" | "do" | "did"));
    auxiliary.is_some_and(|at| {
        words[at + 1..]
            .iter()
            .take(5)
            .any(|w| matches!(*w, "say" | "mention" | "state" | "list" | "specify" | "name" | "give"))
    })
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

/// Whether a question lists options to choose from: a comma-separated list
/// ending in `or` ("A, B or C", "A, B, or C"), not "or not".
fn offers_options(question: &str) -> bool {
    let Some(or_at) = question.rfind(" or ") else { return false };
    let after = &question[or_at + 4..];
    // "..., or not?" asks yes or no; "or not privileged" is an option.
    after.trim_end_matches(['?', '.']).trim() != "not" && question[..or_at].contains(',')
}
