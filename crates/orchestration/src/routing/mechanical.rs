//! Work stated in words that is still mechanical.
//!
//! A step whose handler gets no structured params (no `where`, `operations`,
//! lookup or `mapping`) has its model do the work from the instruction. That
//! work is a judgment only when the model must decide on the merits. Counting
//! and totals, a comparison against a value the instruction states, a join
//! against reference data the step was given, and a format conversion are
//! computations: a fast model does them, whatever the domain. An instruction
//! that also hedges (`look like`, `seem`) or carries a reasoning cue asks for
//! a judgment, whatever numbers it quotes. A `conditional` is never
//! mechanical here, whatever it compares: its answer picks which steps run,
//! so a wrong one costs a whole branch, not one row.

use super::cues::{REASONING_CUES, STAKES_CUES, contains_cue};
use crate::comparison::{COMPARATORS, comparisons};
use serde_json::Value;

/// Points of mechanical work stated in words: the model computes, it does not judge.
pub(super) const MECHANICAL_IN_WORDS: f32 = 0.5;

/// Conversions from one format to another.
const CONVERSION_CUES: [&str; 5] = ["convert*", "normaliz*", "normalis*", "turn the", "turn these"];

/// Reference data named in the instruction as the source of what is added.
const LOOKUP_CUES: [&str; 6] = ["look up", "lookup", "matching on", "from our", "from the", "using the"];

/// Hedges: the criterion is a resemblance, which only judgment settles.
const HEDGES: [&str; 9] =
    ["look like", "looks like", "seem*", "appear*", "suspicious*", "likely", "might", "may be", "sound*"];

/// Why the work the instruction states is mechanical, or `None` when it is
/// (or may be) a judgment. `text` is the lower-cased instruction.
pub(super) fn mechanical_in_words(intent: &str, params: &Value, text: &str) -> Option<&'static str> {
    let judged = |cue: &&str| contains_cue(text, cue);
    if HEDGES.iter().any(judged) || REASONING_CUES.iter().chain(&STAKES_CUES).map(|(cue, _)| cue).any(judged) {
        return None;
    }
    match intent {
        "aggregate" => Some("counts and totals stated in words"),
        "enrich" if reference_data(params) || LOOKUP_CUES.iter().any(|c| contains_cue(text, c)) => {
            Some("a join against reference data the step was given")
        }
        "filter" if compares_to_a_stated_value(text) => Some("a comparison against a stated value"),
        "transform" if CONVERSION_CUES.iter().any(|c| contains_cue(text, c)) => Some("a format conversion"),
        _ => None,
    }
}

/// Whether the params carry two or more data values: the records to enrich
/// and the reference data to enrich them from.
fn reference_data(params: &Value) -> bool {
    params.as_object().is_some_and(|map| map.values().filter(|v| !v.is_null()).count() >= 2)
}

/// Whether a comparator is followed closely by a number ([`crate::comparison`]).
fn compares_to_a_stated_value(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    !comparisons(&words, &COMPARATORS).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_comparison_needs_a_number_close_after_its_comparator() {
        for text in [
            "keep only invoices more than 30 days overdue",
            "anyone paying more than $2,000 a month",
            "shipments more than two days past their promised date",
            "weekly actives fell by more than 40%",
            "renewals within the next 90 days",
            "orders over 500 eur",
            "readings that exceed 12 kwh",
        ] {
            assert!(compares_to_a_stated_value(text), "{text}");
        }
        for text in [
            "which of these people can move in before june?",
            "go over the report and keep what matters",
            "keep the tickets under review",
            "more than anything, keep the angry ones",
            "keep logins from addresses outside 10.0.0.0/8",
        ] {
            assert!(!compares_to_a_stated_value(text), "{text}");
        }
    }

    #[test]
    fn judgment_in_words_is_not_mechanical() {
        let none = json!({});
        assert_eq!(mechanical_in_words("filter", &none, "keep the complaints that sound urgent"), None);
        assert_eq!(mechanical_in_words("transform", &none, "mask the customer emails"), None);
        assert_eq!(mechanical_in_words("enrich", &json!({"leads": []}), "add what you know about each lead"), None);
        assert_eq!(mechanical_in_words("classify", &none, "count the positive reviews"), None);
        assert_eq!(mechanical_in_words("conditional", &none, "is any order over 500 eur?"), None, "it picks a branch");
        let hedged = "flag deposits that look like structuring: several cash deposits just under $10,000";
        assert_eq!(mechanical_in_words("filter", &none, hedged), None);
        let reasoned = "would the acquisition require consent under section 14? consider the net worth test";
        assert_eq!(mechanical_in_words("conditional", &none, reasoned), None);
    }

    #[test]
    fn computations_in_words_are_mechanical() {
        let none = json!({});
        assert!(mechanical_in_words("aggregate", &none, "how many per street?").is_some());
        let join = json!({"leads": "{{input.leads}}", "unit": {"rent": 1200}});
        assert!(mechanical_in_words("enrich", &join, "add the unit's rent to each lead").is_some());
        assert!(mechanical_in_words("enrich", &none, "add the owner from the account list").is_some());
        assert!(mechanical_in_words("transform", &none, "convert the ratings into gradebook rows").is_some());
    }
}
