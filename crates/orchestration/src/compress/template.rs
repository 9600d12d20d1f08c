//! Template compression: recurring boilerplate is kept once.
//!
//! Email threads repeat the same signature, confidentiality footer or legal
//! disclaimer under every message; ticket exports repeat them in every
//! record. A line is *seen* once it has occurred; a run of consecutive seen
//! lines (blank lines inside allowed) of at least
//! [`Aggressiveness::min_boilerplate_tokens`](super::Aggressiveness::min_boilerplate_tokens)
//! tokens is replaced by a marker such as `[repeated footer omitted]` (a
//! signature's marker names its opening words, so who wrote stays visible), and
//! identical runs that follow each other collapse into one marker with a
//! count (`[repeated block omitted ×3]`). The first occurrence always stays,
//! so every fact is still in the text once. Inside JSON, multi-line string
//! values are treated the same way (the JSON stays valid); keys are untouched.

use super::Compressed;
use super::json::{self, Node};
use super::policy::Policy;
use super::quality::score;
use super::text::{Segment, segments, squash};
use crate::tokens::TokenCounter;
use std::collections::HashSet;

/// Replaces repeated boilerplate in prompt text (and in the strings of its
/// embedded JSON blocks).
pub fn compress(text: &str, policy: &Policy, counter: &dyn TokenCounter) -> Compressed {
    let mut dedup = Dedup::new(policy, counter);
    let mut out = String::with_capacity(text.len());
    for segment in segments(text) {
        match segment {
            Segment::Text(t) => out.push_str(&dedup.lines(t)),
            Segment::Json(node, raw) => {
                let before = dedup.omitted;
                let node = dedup.node(node);
                if dedup.omitted > before {
                    node.write(&mut out);
                } else {
                    out.push_str(raw);
                }
            }
        }
    }
    finish(text, out, &dedup, counter)
}

/// Replaces repeated boilerplate inside the string values of a JSON document.
/// Text that is not JSON is handled as text.
pub fn compress_json(json_text: &str, policy: &Policy, counter: &dyn TokenCounter) -> Compressed {
    let Some(node) = json::parse(json_text.trim()) else {
        return compress(json_text, policy, counter);
    };
    let mut dedup = Dedup::new(policy, counter);
    let node = dedup.node(node);
    let out = if dedup.omitted > 0 { node.to_compact() } else { json_text.to_string() };
    finish(json_text, out, &dedup, counter)
}

fn finish(original: &str, text: String, dedup: &Dedup, counter: &dyn TokenCounter) -> Compressed {
    let mut notes = Vec::new();
    if dedup.omitted > 0 {
        let mut kinds: Vec<String> = dedup.kinds.iter().map(|k| k.to_string()).collect();
        kinds.sort();
        notes.push(format!("template: omitted {} repeated block(s) ({})", dedup.omitted, kinds.join(", ")));
    }
    Compressed {
        tokens_before: counter.count(original),
        tokens_after: counter.count(&text),
        quality: score(original, &text).quality,
        applied: text != original,
        text,
        notes,
    }
}

/// A signature's marker names its first two lines, up to this many words
/// (`[repeated signature omitted: Kind regards, Tomasz]`).
const SIGNATURE_WORDS: usize = 6;

struct Dedup<'c> {
    seen: HashSet<String>,
    min_tokens: u32,
    counter: &'c dyn TokenCounter,
    omitted: usize,
    kinds: HashSet<&'static str>,
}

enum Item<'a> {
    Line(&'a str),
    Marker { kind: &'static str, key: String, count: usize },
}

impl<'c> Dedup<'c> {
    fn new(policy: &Policy, counter: &'c dyn TokenCounter) -> Self {
        Dedup {
            seen: HashSet::new(),
            min_tokens: policy.aggressiveness.min_boilerplate_tokens(),
            counter,
            omitted: 0,
            kinds: HashSet::new(),
        }
    }

    fn node(&mut self, node: Node) -> Node {
        match node {
            Node::Str(raw) => {
                let text = json::decode(&raw);
                let before = self.omitted;
                let out = self.lines(&text);
                if self.omitted > before { Node::string(&out) } else { Node::Str(raw) }
            }
            Node::Arr(items) => Node::Arr(items.into_iter().map(|i| self.node(i)).collect()),
            Node::Obj(members) => Node::Obj(members.into_iter().map(|(k, v)| (k, self.node(v))).collect()),
            other => other,
        }
    }

    /// The text with later occurrences of seen runs replaced by markers.
    fn lines(&mut self, text: &str) -> String {
        let lines: Vec<&str> = text.split('\n').collect();
        let norms: Vec<String> = lines.iter().map(|l| squash(l)).collect();
        let mut items: Vec<Item> = Vec::with_capacity(lines.len());
        let mut i = 0;
        while i < lines.len() {
            if norms[i].is_empty() || !self.seen.contains(&norms[i]) {
                if !norms[i].is_empty() {
                    self.seen.insert(norms[i].clone());
                }
                items.push(Item::Line(lines[i]));
                i += 1;
                continue;
            }
            // A run of seen lines; blank lines inside it belong to it.
            let mut last = i;
            let mut j = i;
            while j < lines.len() && (norms[j].is_empty() || self.seen.contains(&norms[j])) {
                if !norms[j].is_empty() {
                    last = j;
                }
                j += 1;
            }
            let run = &lines[i..=last];
            let tokens = self.counter.count(&run.join("\n"));
            if tokens < self.min_tokens {
                items.push(Item::Line(lines[i]));
                i += 1;
                continue;
            }
            let content: Vec<&str> = norms[i..=last].iter().filter(|n| !n.is_empty()).map(String::as_str).collect();
            // The same block several times in a row counts as repetitions of one block.
            let period = (1..=content.len())
                .find(|p| content.len().is_multiple_of(*p) && content.chunks(*p).all(|c| c == &content[..*p]))
                .unwrap_or(content.len());
            let repeats = content.len() / period;
            let key = content[..period].join("\n");
            let kind = kind_of(&key, period > 1);
            self.omitted += repeats;
            self.kinds.insert(kind);
            // Same block again right after its marker (blank lines between): count it.
            let mut back = items.len();
            while back > 0 && matches!(&items[back - 1], Item::Line(l) if l.trim().is_empty()) {
                back -= 1;
            }
            if let Some(Item::Marker { key: k, count, .. }) = back.checked_sub(1).map(|b| &mut items[b])
                && *k == key
            {
                *count += repeats;
                items.truncate(back);
                i = last + 1;
                continue;
            }
            items.push(Item::Marker { kind, key, count: repeats });
            i = last + 1;
        }
        let mut out = String::with_capacity(text.len());
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                out.push('\n');
            }
            match item {
                Item::Line(l) => out.push_str(l),
                Item::Marker { kind, key, count } => {
                    out.push_str(&format!("[repeated {kind} omitted"));
                    if *count > 1 {
                        out.push_str(&format!(" ×{count}"));
                    }
                    // Who signed stays visible: the signature's opening words.
                    if *kind == "signature" {
                        let opening: Vec<&str> = key
                            .lines()
                            .filter(|l| l.chars().any(char::is_alphanumeric))
                            .take(2)
                            .flat_map(str::split_whitespace)
                            .take(SIGNATURE_WORDS)
                            .collect();
                        out.push_str(": ");
                        out.push_str(&opening.join(" "));
                    }
                    out.push(']');
                }
            }
        }
        out
    }
}

/// What a repeated block looks like, for its marker.
fn kind_of(block: &str, multi_line: bool) -> &'static str {
    let lower = block.to_lowercase();
    let has = |cues: &[&str]| cues.iter().any(|c| lower.contains(c));
    if has(&["disclaimer", "does not constitute", "not be liable", "no liability", "for informational purposes"]) {
        "disclaimer"
    } else if has(&["regards", "sincerely", "cheers", "\n--", "best,", "thanks,", "sent from my"])
        || (multi_line && has(&["@", "tel", "t:", "phone"]))
    {
        "signature"
    } else if has(&[
        "confidential",
        "privileged",
        "intended only",
        "intended recipient",
        "unsubscribe",
        "notice:",
        "copyright",
        "all rights reserved",
    ]) {
        "footer"
    } else if multi_line {
        "block"
    } else {
        "line"
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::Words;
    use super::*;
    use crate::compress::Aggressiveness;

    const FOOTER: &str = "CONFIDENTIALITY NOTICE: This message is confidential and may contain privileged information. It is intended only for the named recipient(s).";

    fn thread() -> String {
        let sig = "Kind regards,\nTomasz\n--\nTomasz Wieczorek\nHead of Finance Operations\nBrightwater Logistics GmbH\nT: +49 40 555 7731 | E: t.wieczorek@brightwater-logistics.de";
        let agent = "Best,\nPriya\n--\nPriya Natarajan\nCustomer Support Specialist, Tier 2\nLumenfield Analytics\nT: +1 (415) 555-0142 | E: support@lumenfield.io";
        format!(
            "Summarize the dispute.\n\n--- Message 1 ---\nHello, invoice INV-2024-08817 was charged twice (EUR 3,840.00).\n\n{sig}\n{FOOTER}\n\n\
             --- Message 2 ---\nHi Tomasz,\nBilling is checking ch_3PzK94.\n\n{agent}\n{FOOTER}\n\n\
             --- Message 3 ---\nPlease copy Lena Hofmann (l.hofmann@brightwater-logistics.de).\n\n{sig}\n{FOOTER}\n\n\
             --- Message 4 ---\nHi Tomasz,\nRefund started.\n\n{agent}\n{FOOTER}\n"
        )
    }

    #[test]
    fn later_signatures_and_footers_become_markers() {
        let text = thread();
        let c = compress(&text, &Policy::default_for("summarize"), &Words);
        assert_eq!(c.text.matches("Tomasz Wieczorek").count(), 1, "{}", c.text);
        assert_eq!(c.text.matches("Priya Natarajan").count(), 1);
        assert_eq!(c.text.matches("CONFIDENTIALITY NOTICE").count(), 1);
        assert_eq!(c.text.matches("[repeated signature omitted: Kind regards, Tomasz]").count(), 1, "{}", c.text);
        assert_eq!(c.text.matches("[repeated signature omitted: Best, Priya]").count(), 1, "{}", c.text);
        // Short repeated lines (greetings) stay.
        assert_eq!(c.text.matches("Hi Tomasz,").count(), 2);
        for fact in [
            "INV-2024-08817",
            "3,840.00",
            "ch_3PzK94",
            "Lena Hofmann",
            "l.hofmann@brightwater-logistics.de",
            "Refund started.",
        ] {
            assert!(c.text.contains(fact), "{fact}");
        }
        assert_eq!(c.quality, 1.0);
        assert!(c.tokens_after * 10 < c.tokens_before * 7, "{} -> {}", c.tokens_before, c.tokens_after);
    }

    #[test]
    fn adjacent_repeats_collapse_into_one_counted_marker() {
        let text = format!("Log:\n{FOOTER}\n{FOOTER}\n\n{FOOTER}\n{FOOTER}\nend");
        let c = compress(&text, &Policy::default_for("generate"), &Words);
        assert_eq!(c.text, format!("Log:\n{FOOTER}\n[repeated footer omitted ×3]\nend"));
    }

    #[test]
    fn small_repeats_depend_on_aggressiveness() {
        let line = "Please reply by Friday to confirm the order.";
        let text = format!("{line}\nA\n{line}\nB");
        let mut p = Policy::default_for("generate");
        assert_eq!(compress(&text, &p, &Words).text, text, "8 words is below medium's 12 tokens");
        p.aggressiveness = Aggressiveness::High;
        assert_eq!(compress(&text, &p, &Words).text, format!("{line}\nA\n[repeated line omitted]\nB"));
    }

    #[test]
    fn json_string_values_are_deduplicated_and_stay_valid() {
        let body = |s: &str| format!("Hi team,\n\n{s}\n\nBest regards,\nLea Fischer\nNordlicht Media\n{FOOTER}");
        let doc = serde_json::json!([
            {"ticket_id": "TCK-21400", "body": body("Webhooks delayed by 2 hours.")},
            {"ticket_id": "TCK-21401", "body": body("Invoice shows wrong VAT number.")},
        ])
        .to_string();
        let c = compress_json(&doc, &Policy::default_for("summarize"), &Words);
        let v: serde_json::Value = serde_json::from_str(&c.text).unwrap();
        let second = v[1]["body"].as_str().unwrap();
        assert!(
            second.contains("Invoice shows wrong VAT number.")
                && second.contains("[repeated signature omitted: Best regards, Lea Fischer]"),
            "{second}"
        );
        assert!(v[0]["body"].as_str().unwrap().contains("CONFIDENTIALITY NOTICE"));
        assert_eq!(c.quality, 1.0);
        assert!(c.tokens_after < c.tokens_before);
    }

    #[test]
    fn nothing_repeated_leaves_the_text_alone() {
        let text = "One line.\nAnother line.\n";
        let c = compress(text, &Policy::default_for("send"), &Words);
        assert_eq!(c.text, text);
        assert!(!c.applied && c.notes.is_empty());
    }
}
