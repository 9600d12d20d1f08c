//! Quality of a compression: how many of the original's facts survive, and
//! whether JSON still parses.
//!
//! A "fact" is what a step typically needs verbatim: numbers and amounts
//! (`3,840.00`, `$612,000`, `99.95%`), ids (`INV-2024-0042`, `OPS-7`,
//! `ch_3PzK94`, `#8812`), dates and times (`2024-09-16`, `September 30th`,
//! `02:03:11`), emails, URLs, acronyms (`SCIM`, `EUR`), identifiers
//! (`order_items_cart_id_idx`) and capitalised names (`Lena Hofmann`,
//! `Brightwater Logistics GmbH`). They are found by a small hand-written
//! scanner. Inside JSON only values are scanned: keys are structure, so a
//! dropped empty field loses no fact.

use super::json::Node;
use super::text::{Segment, segments, squash};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

/// Originals whose facts are remembered: every strategy tried on a piece,
/// and the pipeline after them, score against the same original.
const REMEMBERED_ORIGINALS: usize = 4;

thread_local! {
    static FACTS_OF_ORIGINALS: RefCell<Vec<(String, Rc<Vec<String>>)>> = const { RefCell::new(Vec::new()) };
}

/// Forgets the originals remembered: a fresh orchestrator instance starts
/// with none, and a benchmark repeating a workflow in one process models it.
pub fn forget_originals() {
    FACTS_OF_ORIGINALS.with_borrow_mut(Vec::clear);
}

/// [`facts`] of `original`, scanned once for the strategies that score against it.
fn facts_of_original(original: &str) -> Rc<Vec<String>> {
    FACTS_OF_ORIGINALS.with_borrow_mut(|remembered| {
        if let Some((_, found)) = remembered.iter().find(|(text, _)| text == original) {
            return Rc::clone(found);
        }
        let found = Rc::new(facts(original));
        if remembered.len() == REMEMBERED_ORIGINALS {
            remembered.remove(0);
        }
        remembered.push((original.to_string(), Rc::clone(&found)));
        found
    })
}

/// The score of one compression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// `retention` when the JSON is still valid, otherwise 0.
    pub quality: f32,
    /// Share of the original's facts still present (1 when it had none).
    pub retention: f32,
    /// The whole text, if it was JSON, still parses; and no JSON block was lost
    /// beyond those a truncation reported.
    pub valid: bool,
    pub facts: usize,
    /// Facts of the original missing from the compressed text.
    pub missing: Vec<String>,
}

/// Scores `compressed` against `original`.
pub fn score(original: &str, compressed: &str) -> Score {
    score_with(original, compressed, 0)
}

/// As [`score`], allowing `dropped_json_blocks` embedded JSON blocks to be
/// gone (a truncation that cut them whole).
pub fn score_with(original: &str, compressed: &str, dropped_json_blocks: usize) -> Score {
    let facts = facts_of_original(original);
    let haystack = plain_view(compressed);
    let missing: Vec<String> = facts.iter().filter(|f| !haystack.contains(f.as_str())).cloned().collect();
    let retention = if facts.is_empty() { 1.0 } else { (facts.len() - missing.len()) as f32 / facts.len() as f32 };
    let valid = json_valid(original, compressed, dropped_json_blocks);
    Score { quality: if valid { retention } else { 0.0 }, retention, valid, facts: facts.len(), missing }
}

fn json_valid(original: &str, compressed: &str, dropped: usize) -> bool {
    let was_json = serde_json::from_str::<serde::de::IgnoredAny>(original).is_ok();
    if was_json && serde_json::from_str::<serde::de::IgnoredAny>(compressed).is_err() {
        return false;
    }
    json_blocks(compressed) + dropped >= json_blocks(original)
}

/// Embedded JSON blocks in a text (the whole text, if it is JSON, counts as one).
pub(crate) fn json_blocks(text: &str) -> usize {
    segments(text).iter().filter(|s| matches!(s, Segment::Json(..))).count()
}

/// The text as a reader sees its content: plain text with whitespace squashed
/// line by line, JSON blocks replaced by their values (one per line).
pub(crate) fn plain_view(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for segment in segments(text) {
        match segment {
            Segment::Text(t) => push_lines(&mut out, t),
            Segment::Json(node, _) => {
                let mut values = Vec::new();
                node.scalars(&mut values);
                for v in values {
                    push_lines(&mut out, &v);
                }
            }
        }
    }
    out
}

fn push_lines(out: &mut String, text: &str) {
    for line in text.lines() {
        let line = squash(line);
        if !line.is_empty() {
            out.push_str(&line);
            out.push('\n');
        }
    }
}

/// The facts of a text, each once, in order of first appearance.
pub fn facts(text: &str) -> Vec<String> {
    let view = plain_view(text);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for line in view.lines() {
        scan_line(line, &mut |fact: String| {
            if line.contains(fact.as_str()) && seen.insert(fact.clone()) {
                out.push(fact);
            }
        });
    }
    out
}

/// Facts extracted from JSON values (for callers holding a parsed tree).
pub(crate) fn node_text(node: &Node) -> String {
    let mut values = Vec::new();
    node.scalars(&mut values);
    values.join("\n")
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Capitalised words that are not names on their own.
const STOP: [&str; 48] = [
    "The", "This", "That", "These", "Those", "There", "Then", "Our", "We", "You", "Your", "It", "Its", "If", "And",
    "But", "Or", "For", "In", "On", "At", "To", "Of", "By", "As", "An", "Please", "Thanks", "Thank", "Hi", "Hello",
    "Dear", "Best", "Regards", "Kind", "Subject", "From", "Re", "Fwd", "Yes", "No", "Not", "All", "Any", "Also", "He",
    "She", "They",
];

/// Words ending in a period that do not end a sentence.
const ABBREVIATIONS: [&str; 22] = [
    "Mr", "Mrs", "Ms", "Dr", "Prof", "St", "Sr", "Jr", "Inc", "Ltd", "Co", "Corp", "No", "vs", "etc", "e.g", "i.e",
    "approx", "Sec", "Sept", "Jan", "Feb",
];

pub(crate) fn is_abbreviation(word: &str) -> bool {
    let w = word.trim_end_matches('.');
    ABBREVIATIONS.iter().any(|a| a.eq_ignore_ascii_case(w))
        || (w.chars().count() == 1 && w.chars().all(char::is_uppercase))
}

struct Word<'a> {
    core: &'a str,
    /// Punctuation before the word: a run of capitalised words stops before it.
    opens: bool,
    /// Punctuation after the word ends a run of capitalised words.
    breaks: bool,
    ends_sentence: bool,
}

fn split_word(raw: &str) -> Word<'_> {
    const OPEN: &[char] = &['(', '[', '{', '<', '"', '\'', '“', '‘', '*', '`'];
    const CLOSE: &[char] = &[')', ']', '}', '>', '"', '\'', '”', '’', ',', ';', ':', '.', '!', '?', '*', '`'];
    let stripped = raw.trim_end_matches(CLOSE);
    let tail = &raw[stripped.len()..];
    let core = stripped.trim_start_matches(OPEN);
    let ends_sentence = tail.contains(['.', '!', '?']) && !(tail.starts_with('.') && is_abbreviation(core));
    Word { core, opens: core.len() < stripped.len(), breaks: !tail.is_empty(), ends_sentence }
}

fn is_capitalized(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase) && word.chars().any(char::is_lowercase)
}

fn is_acronym(word: &str) -> bool {
    word.chars().filter(|c| c.is_alphabetic()).count() >= 2
        && word.chars().all(|c| c.is_uppercase() || matches!(c, '-' | '&' | '/' | '.'))
}

fn scan_line(line: &str, emit: &mut dyn FnMut(String)) {
    let words: Vec<Word> = line.split_whitespace().map(split_word).filter(|w| !w.core.is_empty()).collect();
    let mut sentence_start = true;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let core = w.core;
        if core.chars().any(|c| c.is_ascii_digit())
            || (core.contains('@') && core.rsplit('@').next().is_some_and(|d| d.contains('.')))
            || core.contains("://")
            || core.starts_with("www.")
            || (core.contains('_') && core.chars().any(char::is_alphanumeric))
            || is_acronym(core)
        {
            emit(core.to_string());
            sentence_start = w.ends_sentence;
            i += 1;
            continue;
        }
        if is_capitalized(core) {
            // A run of capitalised words, ended by punctuation or a lower-case word.
            let mut j = i;
            while j < words.len() && is_capitalized(words[j].core) && (j == i || !words[j].opens) {
                j += 1;
                if words[j - 1].breaks {
                    break;
                }
            }
            let mut run: Vec<&str> = words[i..j].iter().map(|w| w.core).collect();
            // The first word of a sentence is capitalised anyway: it is no
            // evidence of a name, so only the words after it count.
            if sentence_start || STOP.contains(&run[0]) {
                run.remove(0);
                while run.first().is_some_and(|w| STOP.contains(w)) {
                    run.remove(0);
                }
            }
            if MONTHS.contains(&core)
                && j == i + 1
                && !w.breaks
                && let Some(day) =
                    words.get(j).filter(|d| d.core.len() <= 4 && d.core.starts_with(|c: char| c.is_ascii_digit()))
            {
                emit(format!("{core} {}", day.core));
            }
            match run.len() {
                0 => {}
                1 if run[0].chars().count() < 2 || is_abbreviation(run[0]) => {}
                _ => emit(run.join(" ")),
            }
            sentence_start = words[j - 1].ends_sentence;
            i = j;
            continue;
        }
        sentence_start = w.ends_sentence;
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(facts: &[String], f: &str) -> bool {
        facts.iter().any(|x| x == f)
    }

    #[test]
    fn finds_ids_amounts_dates_emails_and_names() {
        let text = "Hello Lumenfield team,\nOur card was charged twice for invoice INV-2024-08817 on September 14th: two charges of EUR 3,840.00 each (ref ch_3PzK94). \
                    Please copy Lena Hofmann (l.hofmann@brightwater-logistics.de) before September 30th. See OPS-7 and https://status.example.com/x. \
                    Index order_items_cart_id_idx was missing; SCIM sync added 8 seats at 99.95% uptime, $612,000 ARR.";
        let f = facts(text);
        for expected in [
            "INV-2024-08817",
            "September 14th",
            "EUR",
            "3,840.00",
            "ch_3PzK94",
            "Lena Hofmann",
            "l.hofmann@brightwater-logistics.de",
            "September 30th",
            "OPS-7",
            "https://status.example.com/x",
            "order_items_cart_id_idx",
            "SCIM",
            "8",
            "99.95%",
            "$612,000",
            "Lumenfield",
        ] {
            assert!(has(&f, expected), "missing {expected:?} in {f:?}");
        }
        // Sentence-initial common words are not names.
        assert!(!has(&f, "Please") && !has(&f, "Our") && !has(&f, "Hello") && !has(&f, "Index"), "{f:?}");
    }

    #[test]
    fn json_values_are_facts_keys_are_not() {
        let f =
            facts(r#"{"custom_field_17": null, "invoice": "INV-1", "total": 7196.50, "note": "Call Dana Whitfield"}"#);
        assert!(has(&f, "INV-1") && has(&f, "7196.50") && has(&f, "Dana Whitfield"), "{f:?}");
        assert!(!has(&f, "custom_field_17"), "{f:?}");
    }

    #[test]
    fn score_measures_retention_and_validity() {
        let original = "Invoice INV-2024-0042 from Acme Robotics totals $1,200.00, due 2024-10-01.";
        assert_eq!(score(original, original).quality, 1.0);
        let s = score(original, "Invoice from Acme Robotics totals $1,200.00.");
        assert_eq!(s.facts, 4);
        assert_eq!(s.missing, ["INV-2024-0042", "2024-10-01"]);
        assert!((s.quality - 0.5).abs() < 1e-6);

        let json = r#"{"a": "INV-1", "b": [1, 2]}"#;
        let broken = score(json, r#"{"a":"INV-1","b":[1,2"#);
        assert!(!broken.valid);
        assert_eq!(broken.quality, 0.0);
        assert!(score(json, r#"{"a":"INV-1","b":[1,2]}"#).valid);

        let with_block = "Rows:\n[{\"id\": \"R-1\"}]\nEnd.";
        assert!(!score(with_block, "Rows:\nEnd.").valid);
        assert!(score_with(with_block, "Rows:\nEnd.", 1).valid);
    }

    #[test]
    fn whitespace_and_json_formatting_do_not_count_as_loss() {
        let original = "Ask  Lena   Hofmann\n\n\nabout  {\"x\" : 1}\n[ {\"id\" : \"C-9\"} ]";
        let compressed = "Ask Lena Hofmann\n\nabout  {\"x\" : 1}\n[{\"id\":\"C-9\"}]";
        let s = score(original, compressed);
        assert_eq!(s.quality, 1.0, "{s:?}");
    }

    #[test]
    fn abbreviations_do_not_end_sentences() {
        let f = facts("Met with Dr. Collins and Mr. Park today.");
        assert!(has(&f, "Collins") && has(&f, "Park"), "{f:?}");
    }
}
