//! Semantic compression: a model rewrites the text shorter (the seed used its
//! fast model). The call itself belongs to the caller (it costs tokens and is
//! made through the host's `llm` import); this module writes the request and
//! checks the answer.

use super::Compressed;
use super::policy::Policy;
use super::quality::{facts, score};
use crate::tokens::TokenCounter;

/// At most this many facts are listed in the request as must-keep.
const MAX_LISTED_FACTS: usize = 60;

const SYSTEM_PROMPT: &str = "You compress text that another AI model will read as its input. \
Rewrite the text shorter without changing what it says. Rules:\n\
- Keep the opening instructions (what the reader is asked to do) word for word.\n\
- Copy every name, identifier, number, amount, currency, date, time, email address and URL exactly as written.\n\
- Drop greetings, signatures, confidentiality footers, disclaimers, pleasantries and repetition.\n\
- Never add facts, opinions or instructions that are not in the text.\n\
- Answer with the compressed text only: no preamble, no comments, no code fences.";

/// The request for a model summary of `text` in about `target_tokens` tokens:
/// `(system_prompt, user_prompt)`. The user prompt lists the facts the
/// summary must keep verbatim (the ones [`accept_semantic`] will look for).
pub fn semantic_request(text: &str, target_tokens: u32) -> (String, String) {
    let found = facts(text);
    let mut user = format!("Compress the text between <text> and </text> to at most {target_tokens} tokens.\n");
    if !found.is_empty() {
        let listed: Vec<&str> = found.iter().take(MAX_LISTED_FACTS).map(String::as_str).collect();
        user.push_str("These must appear verbatim in your answer: ");
        user.push_str(&listed.join(" | "));
        user.push('\n');
    }
    user.push_str("<text>\n");
    user.push_str(text);
    user.push_str("\n</text>");
    (SYSTEM_PROMPT.to_string(), user)
}

/// Scores a model's `summary` of `original` and accepts it only when it is
/// shorter and its quality reaches `policy.min_quality`; otherwise the
/// result carries the original text (`applied == false`) with the reason and
/// the measured quality. Lossless policies never accept a summary.
pub fn accept_semantic(original: &str, summary: &str, policy: &Policy, counter: &dyn TokenCounter) -> Compressed {
    let summary = summary.trim();
    let before = counter.count(original);
    let after = counter.count(summary);
    let s = score(original, summary);
    let refuse = |reason: String| {
        let mut c = Compressed::unchanged(original, counter);
        c.quality = s.quality;
        c.notes.push(format!("semantic: summary refused, {reason}; the original is kept"));
        if !s.missing.is_empty() {
            let missing: Vec<&str> = s.missing.iter().take(10).map(String::as_str).collect();
            c.notes.push(format!("semantic: missing facts: {}", missing.join(", ")));
        }
        c
    };
    if policy.lossless {
        return refuse("this step must read its input unchanged".into());
    }
    if summary.is_empty() {
        return refuse("the summary is empty".into());
    }
    if after >= before {
        return refuse(format!("it is not shorter ({after} >= {before} tokens)"));
    }
    if s.quality < policy.min_quality {
        return refuse(format!(
            "quality {:.2} is below the minimum {:.2} ({} of {} facts kept)",
            s.quality,
            policy.min_quality,
            s.facts - s.missing.len(),
            s.facts
        ));
    }
    Compressed {
        text: summary.to_string(),
        tokens_before: before,
        tokens_after: after,
        quality: s.quality,
        applied: true,
        notes: vec![format!("semantic: summary accepted, quality {:.2}, {before} -> {after} tokens", s.quality)],
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::Words;
    use super::*;

    const ORIGINAL: &str = "Give the on-call lead a recap.\n\nHi Priya, thanks so much for getting back to me so quickly, I really appreciate it. \
        Billing confirmed the duplicate charge ch_3PzK94 and started a refund of EUR 3,840.00 for ACC-55102 on 2024-09-17. \
        Please copy Lena Hofmann on everything from now on, because I will be out of the office for a while.\n\nKind regards, Tomasz";

    #[test]
    fn request_lists_the_facts_and_carries_the_text() {
        let (system, user) = semantic_request(ORIGINAL, 40);
        assert!(system.contains("exactly as written"));
        assert!(user.contains("at most 40 tokens"));
        assert!(user.contains("ch_3PzK94 | ") && user.contains("Lena Hofmann"), "{user}");
        assert!(user.ends_with(&format!("<text>\n{ORIGINAL}\n</text>")));
    }

    #[test]
    fn accepts_a_faithful_shorter_summary() {
        let summary = "Give the on-call lead a recap.\nPriya: billing confirmed duplicate charge ch_3PzK94, refund EUR 3,840.00 for ACC-55102 started 2024-09-17. Copy Lena Hofmann. From Tomasz.";
        let c = accept_semantic(ORIGINAL, summary, &Policy::default_for("summarize"), &Words);
        assert!(c.applied, "{:?}", c.notes);
        assert_eq!(c.text, summary);
        assert!(c.tokens_after < c.tokens_before && c.quality >= 0.8);
    }

    #[test]
    fn refuses_a_summary_that_loses_facts() {
        let summary = "The customer got a refund and wants a colleague copied.";
        let c = accept_semantic(ORIGINAL, summary, &Policy::default_for("summarize"), &Words);
        assert!(!c.applied);
        assert_eq!(c.text, ORIGINAL);
        assert_eq!(c.tokens_after, c.tokens_before);
        assert!(c.quality < 0.5);
        assert!(c.notes[0].contains("below the minimum"), "{:?}", c.notes);
        assert!(c.notes[1].contains("ch_3PzK94"));
    }

    #[test]
    fn refuses_longer_empty_or_lossless() {
        let p = Policy::default_for("summarize");
        assert!(!accept_semantic(ORIGINAL, &format!("{ORIGINAL} extra"), &p, &Words).applied);
        assert!(!accept_semantic(ORIGINAL, "  ", &p, &Words).applied);
        let c = accept_semantic(ORIGINAL, "Recap.", &Policy::default_for("extract"), &Words);
        assert!(!c.applied && c.notes[0].contains("unchanged"));
    }
}
