//! Truncation: the beginning of the prompt (where instructions are written)
//! is kept up to a token budget, in whole sentences, and the cut is marked
//! with `[… truncated N tokens]`. Embedded JSON blocks are kept or cut whole.
//! Lossy: the quality score (facts of the cut tail) decides whether the
//! result may be used.

use super::Compressed;
use super::policy::Policy;
use super::quality::{is_abbreviation, score_with};
use super::text::{Segment, segments};
use crate::tokens::TokenCounter;

/// Truncates to `target_ratio × tokens_before` (at least one token).
pub fn compress(text: &str, policy: &Policy, counter: &dyn TokenCounter) -> Compressed {
    let before = counter.count(text);
    let budget = ((before as f32) * policy.target_ratio).ceil().max(1.0) as u32;
    to_budget(text, budget, counter)
}

/// Truncates to at most `budget` tokens, marker included. The first
/// paragraph (the instructions) is kept whole when it fits the budget, and at
/// least the first sentence always is, even if that alone exceeds it.
pub fn to_budget(text: &str, budget: u32, counter: &dyn TokenCounter) -> Compressed {
    let before = counter.count(text);
    let unchanged = |note: String| {
        let mut c = Compressed::unchanged(text, counter);
        c.notes.push(note);
        c
    };
    if before <= budget {
        return unchanged(format!("truncate: {before} tokens already within the budget of {budget}"));
    }
    let units = units(text);
    if units.len() < 2 {
        return unchanged("truncate: no sentence boundary to cut at".into());
    }
    let counts: Vec<u32> = units.iter().map(|u| counter.count(&text[u.start..u.end])).collect();
    let marker_cost = counter.count(&marker(before));
    let first_paragraph = units.iter().take_while(|u| u.paragraph == 0).count();
    let first_paragraph_tokens: u32 = counts[..first_paragraph].iter().sum();
    let min_units = if first_paragraph < units.len() && first_paragraph_tokens + marker_cost <= budget {
        first_paragraph
    } else {
        1
    };

    // The longest prefix of whole units that fits with the marker.
    let mut keep = min_units;
    let mut total: u32 = counts[..keep].iter().sum();
    while keep < units.len() && total + counts[keep] + marker_cost <= budget {
        total += counts[keep];
        keep += 1;
    }
    // Unit counts are an estimate of the joined text's count: check the real one.
    loop {
        if keep >= units.len() {
            return unchanged("truncate: nothing to cut".into());
        }
        let result = assemble(text, &units, keep, counter);
        if counter.count(&result.0) <= budget || keep <= min_units {
            let (out, removed_tokens) = result;
            let dropped_blocks = units[keep..].iter().filter(|u| u.json).count();
            let s = score_with(text, &out, dropped_blocks);
            let mut notes = vec![format!(
                "truncate: kept {keep} of {} sentences, cut {removed_tokens} tokens (budget {budget})",
                units.len()
            )];
            if counter.count(&out) > budget {
                notes.push("truncate: the instructions alone exceed the budget".into());
            }
            return Compressed {
                tokens_before: before,
                tokens_after: counter.count(&out),
                quality: s.quality,
                applied: true,
                text: out,
                notes,
            };
        }
        keep -= 1;
    }
}

fn marker(tokens: u32) -> String {
    format!("[… truncated {tokens} tokens]")
}

fn assemble(text: &str, units: &[Unit], keep: usize, counter: &dyn TokenCounter) -> (String, u32) {
    let cut = units[keep - 1].end;
    let removed = counter.count(&text[cut..]);
    (format!("{}\n{}", text[..cut].trim_end(), marker(removed)), removed)
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Unit {
    start: usize,
    /// End of the unit, the whitespace after it included.
    end: usize,
    json: bool,
    paragraph: usize,
}

/// Sentences, lines and JSON blocks of `text`, in order, covering it.
fn units(text: &str) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::new();
    let mut paragraph = 0;
    let mut offset = 0;
    let mut push = |out: &mut Vec<Unit>, start: usize, end: usize, json: bool| {
        if end > start {
            out.push(Unit { start, end, json, paragraph });
            // A blank line after the unit starts a new paragraph.
            if text[start..end].trim_end_matches([' ', '\t']).ends_with("\n\n")
                || (json && text[end..].starts_with("\n\n"))
            {
                paragraph += 1;
            }
        }
    };
    for segment in segments(text) {
        match segment {
            Segment::Json(_, raw) => {
                push(&mut out, offset, offset + raw.len(), true);
                offset += raw.len();
            }
            Segment::Text(t) => {
                let bytes = t.as_bytes();
                let mut start = 0;
                let mut i = 0;
                while i < bytes.len() {
                    let c = bytes[i];
                    let boundary = if c == b'\n' {
                        Some(i + 1)
                    } else if matches!(c, b'.' | b'!' | b'?') {
                        sentence_end(t, i)
                    } else {
                        None
                    };
                    if let Some(mut end) = boundary {
                        while end < bytes.len() && bytes[end].is_ascii_whitespace() {
                            end += 1;
                        }
                        push(&mut out, offset + start, offset + end, false);
                        start = end;
                        i = end;
                        continue;
                    }
                    i += 1;
                }
                push(&mut out, offset + start, offset + bytes.len(), false);
                offset += t.len();
            }
        }
    }
    out
}

/// Where a sentence ending with the punctuation at `at` ends (after closing
/// quotes or brackets), if it does: followed by a space and a capital, digit,
/// quote or bracket, and not an abbreviation such as `Dr.` or `e.g.`.
fn sentence_end(t: &str, at: usize) -> Option<usize> {
    let bytes = t.as_bytes();
    let mut end = at + 1;
    while end < bytes.len() && matches!(bytes[end], b'"' | b'\'' | b')' | b']') {
        end += 1;
    }
    if !matches!(bytes.get(end), Some(b' ' | b'\t')) {
        return None;
    }
    let next = t[end..].trim_start_matches([' ', '\t']).chars().next()?;
    if !(next.is_uppercase() || next.is_ascii_digit() || matches!(next, '"' | '\'' | '(' | '[' | '-' | '*' | '“')) {
        return None;
    }
    if bytes[at] == b'.' {
        let word_start = t[..at].rfind(char::is_whitespace).map_or(0, |p| p + 1);
        if is_abbreviation(&t[word_start..at]) {
            return None;
        }
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::super::tests::Words;
    use super::*;

    const PROMPT: &str = "Draft a reply to the customer. Keep it short.\n\n\
        The customer Tomasz wrote on 2024-09-16 about invoice INV-2024-08817. He was charged twice. \
        Dr. Collins from finance confirmed the refund of EUR 3,840.00. The seats are still wrong.\n\n\
        Lena Hofmann must be copied. The deadline is September 30th.";

    fn sentences_of(text: &str) -> Vec<String> {
        units(text).iter().map(|u| text[u.start..u.end].trim().to_string()).collect()
    }

    #[test]
    fn splits_sentences_not_abbreviations_or_decimals() {
        let s = sentences_of(PROMPT);
        assert_eq!(s[0], "Draft a reply to the customer.");
        assert_eq!(s[1], "Keep it short.");
        assert!(s.contains(&"Dr. Collins from finance confirmed the refund of EUR 3,840.00.".to_string()), "{s:?}");
        assert_eq!(s.len(), 8, "{s:?}");
        let joined: String = units(PROMPT).iter().map(|u| &PROMPT[u.start..u.end]).collect();
        assert_eq!(joined, PROMPT);
    }

    #[test]
    fn keeps_the_instructions_and_whole_sentences_within_budget() {
        let before = Words.count(PROMPT);
        let head = "Draft a reply to the customer. Keep it short.\n\nThe customer Tomasz wrote on 2024-09-16 about invoice INV-2024-08817.";
        // Room for the instructions, one sentence of data and the marker, not for the next sentence.
        let budget = Words.count(head) + Words.count(&marker(99)) + 2;
        let c = to_budget(PROMPT, budget, &Words);
        assert!(c.tokens_after <= budget, "{} > {budget}: {}", c.tokens_after, c.text);
        assert_eq!(c.text.rsplit_once('\n').unwrap().0, head);
        assert!(
            c.text.starts_with("Draft a reply to the customer. Keep it short.\n\nThe customer Tomasz wrote"),
            "{}",
            c.text
        );
        let (kept, marker) = c.text.rsplit_once('\n').unwrap();
        assert!(PROMPT.starts_with(kept) && kept.ends_with('.'), "cut inside a sentence: {kept:?}");
        let cut = Words.count(&PROMPT[kept.len()..]);
        assert_eq!(marker, format!("[… truncated {cut} tokens]"));
        assert_eq!(c.tokens_before, before);
        assert!(c.quality < 1.0, "facts of the tail are gone");
    }

    #[test]
    fn ratio_budget_and_no_op_cases() {
        let mut p = Policy::default_for("generate");
        p.target_ratio = 0.5;
        let c = compress(PROMPT, &p, &Words);
        assert!(c.tokens_after <= c.tokens_before.div_ceil(2), "{c:?}");
        let c = to_budget(PROMPT, 1_000, &Words);
        assert_eq!(c.text, PROMPT);
        assert!(!c.applied);
        let c = to_budget("one single sentence without an end", 2, &Words);
        assert!(!c.applied);
    }

    #[test]
    fn instructions_are_kept_even_over_budget() {
        let c = to_budget(PROMPT, 3, &Words);
        assert!(c.text.starts_with("Draft a reply to the customer.\n[… truncated"), "{}", c.text);
        assert!(c.notes.iter().any(|n| n.contains("exceed")));
    }

    #[test]
    fn json_blocks_are_kept_or_cut_whole() {
        let text = "Summarize the records.\n[{\"id\": \"R-1\", \"note\": \"first. Second sentence here.\"}, {\"id\": \"R-2\"}]\nThen say thanks. And more words follow here.";
        let c = to_budget(text, 6, &Words);
        assert_eq!(c.text.lines().next(), Some("Summarize the records."));
        assert!(!c.text.contains("R-1"));
        assert!(score_with(text, &c.text, 1).valid, "a JSON block cut whole is no validity failure");
        let with_block = "Summarize the records.\n[{\"id\": \"R-1\", \"note\": \"first. Second sentence here.\"}, {\"id\": \"R-2\"}]";
        let c = to_budget(text, Words.count(with_block) + Words.count(&marker(99)), &Words);
        assert_eq!(c.text.rsplit_once('\n').unwrap().0, with_block);
        assert!(c.text.contains("{\"id\": \"R-2\"}]"), "{}", c.text);
        assert!(serde_json::from_str::<serde_json::Value>(c.text.lines().nth(1).unwrap()).is_ok());
    }
}
