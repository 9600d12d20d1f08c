//! The sentence rules: the intent an instruction's wording points to, read
//! from its leading verb, its question form or the shape of a verbless note.

use super::words::{
    ACTION_CLAUSES, ARTICLES, CHOICE_OPENERS, CONFORMANCE_CUES, DESTINATION_PREPOSITIONS, DESTINATIONS, FACT_OPENERS,
    LEAD_INS, LENGTH_NOUNS, RELATIVES, SELECTORS, SUMMARY_NOUNS, WHETHER_OPENERS, YES_NO_OPENERS, contains_word_prefix,
    find_word_prefix,
};
use crate::comparison::{COMPARATORS, comparisons};
use crate::intents::PROFILES;

/// A range that picks items by the values it states ("outside 2-8 degrees"), beside [`COMPARATORS`].
const RANGES: [&str; 1] = ["outside"];

/// Units of an answer's size: a number before one bounds the answer, not the items.
const ANSWER_UNITS: [&str; 10] =
    ["word", "bullet", "line", "sentence", "page", "paragraph", "item", "point", "character", "takeaway"];

/// Only the opening of a prompt is read for cues.
pub(super) const INSTRUCTION_WINDOW: usize = 240;

/// The intent the instruction's main verb (or its question form, or the
/// shape of a verbless note) points to, and whether a sentence before it may
/// have been the instruction. A sentence that only sets the scene ("It's 24
/// January.") has no verb the rules read: the instruction may start in the
/// next one, within the first [`INSTRUCTION_SENTENCES`] sentences of the
/// opening. But a skipped sentence may also be the instruction in words the
/// rules do not know ("Make the rooming list. ... If the block doesn't
/// stretch, say who's left over."), and then the verb found later is weaker
/// evidence. A greeting or a heading line is never the instruction.
pub(super) fn leading_verb(prompt: &str) -> Option<(&'static str, String, bool)> {
    let opening: String = prompt.trim_start().chars().take(INSTRUCTION_WINDOW).collect();
    let mut rest = opening.as_str();
    let mut skipped_a_sentence = false;
    for _ in 0..INSTRUCTION_SENTENCES {
        if let Some((intent, why)) = sentence_intent(rest) {
            return Some((intent, why, skipped_a_sentence));
        }
        let end = find_break(rest, &['.', '!', '?', '\n'])?;
        let line = rest.as_bytes()[end] == b'\n';
        let lower = rest.to_lowercase();
        let greeting = GREETINGS
            .iter()
            .any(|g| lower.strip_prefix(g).is_some_and(|after| !after.starts_with(|c: char| c.is_alphanumeric())));
        skipped_a_sentence |= !line && !greeting;
        rest = rest[end + 1..].trim_start();
        if rest.is_empty() {
            return None;
        }
    }
    None
}

/// Openings of a greeting, which never carries the instruction.
const GREETINGS: [&str; 6] = ["hi", "hello", "hey", "dear", "good morning", "thanks"];

/// Where the first of `marks` ends a sentence or clause in `text`: a `.` or
/// `:` between digits ("under 7.2", "at 10:30") is part of a number.
fn find_break(text: &str, marks: &[char]) -> Option<usize> {
    let bytes = text.as_bytes();
    let digit = |i: Option<usize>| i.and_then(|i| bytes.get(i)).is_some_and(u8::is_ascii_digit);
    text.match_indices(marks)
        .map(|(at, _)| at)
        .find(|&at| !(matches!(bytes[at], b'.' | b':') && digit(at.checked_sub(1)) && digit(Some(at + 1))))
}

/// Sentences of the opening read for the instruction's verb.
const INSTRUCTION_SENTENCES: usize = 3;

/// The intent of the sentence `opening` starts with (the text after it is
/// read for a list of fields that a question or a verbless note asks for).
fn sentence_intent(opening: &str) -> Option<(&'static str, String)> {
    let opening = opening.trim_start();
    let lower = opening.to_lowercase();
    let end = find_break(opening, &['.', '!', '\n', ':']).unwrap_or(opening.len());
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
        // "Which claims does the brief say we can make?": what a document states, pulled out
        // (but "What category does the ticket say it is?" still asks for a class).
        let names_a_class = CHOICE_OPENERS.iter().any(|w| w.contains(' ') && starts(w));
        if (starts("which") || starts("what")) && !names_a_class && asks_what_a_source_says(sentence) {
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
    let sentence_end = find_break(opening, &['.', '?', '\n']).unwrap_or(opening.len());
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
    let sentence_end = find_break(text, &['.', '?', '\n']).unwrap_or(text.len());
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
/// items compared with a number the instruction states. A bound on the
/// answer is not one: "in under 50 words", "no more than 3 takeaways", "up
/// to 10 action items", "at most 5" limit what is pulled out, not which
/// items; nor is a clause cited ("the obligations under 7.2 of the contract").
fn bounds_by_a_value(sentence: &str) -> bool {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    let mut found = comparisons(&words, &COMPARATORS);
    found.extend(comparisons(&words, &RANGES));
    found.iter().filter(|c| !matches!(c.comparator, "up to" | "at most")).any(|c| {
        let before = c.at.checked_sub(1).map(|i| words[i]);
        let word = |i: usize| words.get(i).map(|w| w.trim_matches(|ch: char| !ch.is_alphanumeric()));
        let next = word(c.number_at + 1);
        let counts_the_answer =
            (1..=2).any(|n| word(c.number_at + n).is_some_and(|w| ANSWER_UNITS.iter().any(|a| w.starts_with(a))));
        // The number right after the comparator: "over the last 3 months" names a period.
        let adjacent = c.number_at == c.at + c.comparator.split_whitespace().count();
        // "under 7.2 of the contract" cites a clause.
        let cites = next == Some("of");
        adjacent && !cites && !matches!(before, Some("no" | "in")) && !counts_the_answer
    })
}

/// "...does the brief say...", "...do the notes mention...": a question about
/// what a document states: its auxiliary, a subject that is not the reader
/// ("do we", "do you" ask for a decision), then a reporting verb.
fn asks_what_a_source_says(question: &str) -> bool {
    let words: Vec<&str> =
        question.split_whitespace().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric())).collect();
    let Some(at) = words.iter().position(|w| matches!(*w, "does" | "do" | "did")) else { return false };
    let reader = words.get(at + 1).is_some_and(|w| matches!(*w, "i" | "we" | "you" | "they"));
    !reader && words[at + 1..].iter().take(5).any(|w| matches!(*w, "say" | "mention" | "state" | "list" | "specify"))
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
