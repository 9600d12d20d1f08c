//! Comparisons against a value an instruction states ("more than 30 days",
//! "orders over 500 eur"). Routing reads them as arithmetic, not judgment
//! (`routing::mechanical`); the classifier reads them as picking items out,
//! not pulling facts out (`classify::sentences`).

/// Comparators that, followed closely by a number, compare against a stated
/// value. A trailing `*` matches any ending (`exceed*`: `exceeds`, `exceeding`).
pub const COMPARATORS: [&str; 16] = [
    "more than",
    "less than",
    "fewer than",
    "greater than",
    "higher than",
    "lower than",
    "older than",
    "at least",
    "at most",
    "up to",
    "over",
    "under",
    "above",
    "below",
    "within",
    "exceed*",
];

/// How many words after a comparator the number may come (`more than $1,000`, `within the next 90 days`).
const NUMBER_REACH: usize = 3;

const NUMBER_WORDS: [&str; 16] = [
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "fifteen",
    "twenty", "thirty", "hundred",
];

/// One comparison found in a text: where its comparator starts and where the
/// number after it is, as word indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison<'a> {
    pub comparator: &'a str,
    pub at: usize,
    pub number_at: usize,
}

/// The comparisons of `words` (a whitespace-split, lower-cased text): one of
/// `comparators` followed within [`NUMBER_REACH`] words by a number.
pub fn comparisons<'a>(words: &[&str], comparators: &[&'a str]) -> Vec<Comparison<'a>> {
    let mut found = Vec::new();
    for comparator in comparators {
        let (stem, any_ending) = match comparator.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (*comparator, false),
        };
        let span = stem.split_whitespace().count();
        for at in 0..words.len().saturating_sub(span - 1) {
            let phrase = words[at..at + span].join(" ");
            let phrase = phrase.trim_end_matches(|c: char| !c.is_alphanumeric());
            let matches = if any_ending { phrase.starts_with(stem) } else { phrase == stem };
            if !matches {
                continue;
            }
            let after = at + span;
            if let Some(offset) = words.iter().skip(after).take(NUMBER_REACH).position(|w| is_number(w)) {
                found.push(Comparison { comparator, at, number_at: after + offset });
            }
        }
    }
    found
}

/// Whether a word is a number: digits anywhere in it (`$2,000`, `2-8`, `40%`) or a number word.
pub fn is_number(word: &str) -> bool {
    let word = word.trim_matches(|c: char| !c.is_alphanumeric());
    word.chars().any(|c| c.is_ascii_digit()) || NUMBER_WORDS.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&'static str> {
        let words: Vec<&str> = text.split_whitespace().collect();
        comparisons(&words, &COMPARATORS).iter().map(|c| c.comparator).collect()
    }

    #[test]
    fn a_comparator_needs_a_number_close_after_it() {
        assert_eq!(found("invoices more than 30 days overdue"), ["more than"]);
        assert_eq!(found("renewals within the next 90 days"), ["within"]);
        assert_eq!(found("readings that exceed 12 kwh"), ["exceed*"]);
        assert_eq!(found("orders over 500 eur"), ["over"]);
        assert!(found("go over the report and keep what matters").is_empty());
        assert!(found("more than anything, keep the angry ones").is_empty());
        assert!(found("over").is_empty(), "a comparator at the end has no number");
    }
}
