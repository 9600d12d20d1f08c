//! Structural compression: clean-up that removes no information a step reads.
//!
//! - whitespace: trailing blanks, runs of blank lines, runs of spaces inside
//!   lines (indentation and fenced code are kept);
//! - JSON minification, for the whole text or any embedded block that fills
//!   its lines (key order, numbers and strings are kept exactly);
//! - `null`, `""`, `[]`, `{}` fields dropped (not for lossless prompts;
//!   always in context), except [`Policy::preserve_fields`];
//! - exact duplicate records in arrays removed (medium aggressiveness and up,
//!   never for lossless policies).

use super::Compressed;
use super::json::{self, Node, decode};
use super::policy::Policy;
use super::quality::score;
use super::strategy::Aggressiveness;
use super::text::{Segment, normalize_whitespace, segments};
use crate::tokens::TokenCounter;
use std::collections::HashSet;

/// Dropped fields named in a note, at most; the rest are counted.
const NAMED_FIELDS: usize = 12;

#[derive(Debug, Default, Clone)]
struct Cleanup {
    json_blocks: usize,
    /// Paths of the empty fields dropped (`inputs.cc`, `lines.note`).
    empty_fields: Vec<String>,
    duplicates: usize,
}

impl Cleanup {
    fn notes(&self, out: &mut Vec<String>) {
        if self.json_blocks > 0 {
            out.push(format!("structural: minified {} JSON block(s)", self.json_blocks));
        }
        if !self.empty_fields.is_empty() {
            let mut seen = HashSet::new();
            let mut named: Vec<&str> =
                self.empty_fields.iter().map(String::as_str).filter(|f| seen.insert(*f)).collect();
            let more = named.len().saturating_sub(NAMED_FIELDS);
            named.truncate(NAMED_FIELDS);
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            out.push(format!(
                "structural: dropped {} empty field(s): {}{more}",
                self.empty_fields.len(),
                named.join(", ")
            ));
        }
        if self.duplicates > 0 {
            out.push(format!("structural: removed {} exact duplicate record(s)", self.duplicates));
        }
    }
}

struct Rules<'p> {
    policy: &'p Policy,
    drop_empty: bool,
    dedupe: bool,
}

impl Rules<'_> {
    fn clean(&self, node: Node, path: &str, stats: &mut Cleanup) -> Node {
        match node {
            Node::Obj(members) => {
                let mut kept = Vec::with_capacity(members.len());
                for (key, value) in members {
                    let name = decode(&key);
                    let child_path = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                    if self.policy.preserves(&name, &child_path) {
                        kept.push((key, value));
                        continue;
                    }
                    let value = self.clean(value, &child_path, stats);
                    if self.drop_empty && value.is_empty_value() {
                        stats.empty_fields.push(child_path);
                        continue;
                    }
                    kept.push((key, value));
                }
                Node::Obj(kept)
            }
            Node::Arr(items) => {
                let mut items: Vec<Node> = items.into_iter().map(|i| self.clean(i, path, stats)).collect();
                if self.dedupe && items.len() > 1 && items.iter().all(|i| matches!(i, Node::Obj(_))) {
                    let mut seen = HashSet::new();
                    let before = items.len();
                    items.retain(|i| seen.insert(i.to_compact()));
                    stats.duplicates += before - items.len();
                }
                Node::Arr(items)
            }
            other => other,
        }
    }
}

fn dedupe_allowed(policy: &Policy) -> bool {
    !policy.lossless && policy.aggressiveness >= Aggressiveness::Medium
}

/// Structural clean-up of prompt text with embedded JSON blocks.
pub fn compress_text(text: &str, policy: &Policy, counter: &dyn TokenCounter) -> Compressed {
    let rules = Rules { policy, drop_empty: !policy.lossless, dedupe: dedupe_allowed(policy) };
    let normalized = text.replace("\r\n", "\n");
    let mut stats = Cleanup::default();
    let mut out = String::with_capacity(normalized.len());
    for segment in segments(&normalized) {
        match segment {
            Segment::Text(t) => out.push_str(&normalize_whitespace(t)),
            Segment::Json(node, _) => {
                stats.json_blocks += 1;
                rules.clean(node, "", &mut stats).write(&mut out);
            }
        }
    }
    let out = out.trim_start_matches('\n').trim_end().to_string();
    let mut notes = Vec::new();
    stats.notes(&mut notes);
    finish(text, out, notes, counter)
}

/// Structural clean-up of a JSON document (a step's context): minified, empty
/// fields dropped, duplicate records removed where the policy allows. Text
/// that is not JSON gets the text clean-up.
pub fn compress_json(json_text: &str, policy: &Policy, counter: &dyn TokenCounter) -> Compressed {
    let trimmed = json_text.trim();
    if trimmed.is_empty() || trimmed == "null" {
        return Compressed::unchanged(json_text, counter);
    }
    let Some(node) = json::parse(trimmed) else {
        let mut c = compress_text(json_text, policy, counter);
        c.notes.insert(0, "structural: not JSON, text clean-up only".into());
        return c;
    };
    let rules = Rules { policy, drop_empty: true, dedupe: dedupe_allowed(policy) };
    let mut stats = Cleanup::default();
    let out = rules.clean(node, "", &mut stats).to_compact();
    let mut notes = Vec::new();
    stats.notes(&mut notes);
    finish(json_text, out, notes, counter)
}

/// Cleans a parsed tree with the context rules (used for memory).
pub(crate) fn clean_tree(node: Node, policy: &Policy) -> Node {
    let rules = Rules { policy, drop_empty: true, dedupe: dedupe_allowed(policy) };
    rules.clean(node, "", &mut Cleanup::default())
}

fn finish(original: &str, text: String, notes: Vec<String>, counter: &dyn TokenCounter) -> Compressed {
    let s = score(original, &text);
    Compressed {
        tokens_before: counter.count(original),
        tokens_after: counter.count(&text),
        quality: s.quality,
        applied: text != original,
        text,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::Words;
    use super::*;

    fn policy(intent: &str) -> Policy {
        Policy::default_for(intent)
    }

    #[test]
    fn minifies_whole_and_embedded_json_and_cleans_whitespace() {
        let text = "Reshape  these rows.   \n\n\n\nRows:\n[\n  {\"id\": \"C-1\", \"phone\": null, \"tags\": []},\n  {\"id\": \"C-2\", \"phone\": \"+1 555\"}\n]\n\n\nThanks.";
        let c = compress_text(text, &policy("transform"), &Words);
        assert_eq!(
            c.text,
            "Reshape these rows.\n\nRows:\n[{\"id\":\"C-1\"},{\"id\":\"C-2\",\"phone\":\"+1 555\"}]\n\nThanks."
        );
        assert_eq!(c.quality, 1.0);
        assert!(c.tokens_after < c.tokens_before);
        assert!(c.notes.iter().any(|n| n.contains("2 empty field")), "{:?}", c.notes);
    }

    #[test]
    fn lossless_prompts_keep_empty_fields_and_duplicates() {
        let text = "Extract fields.\n[{\"id\": \"A-1\", \"note\": null}, {\"id\": \"A-1\", \"note\": null}]";
        let c = compress_text(text, &policy("extract"), &Words);
        assert_eq!(c.text, "Extract fields.\n[{\"id\":\"A-1\",\"note\":null},{\"id\":\"A-1\",\"note\":null}]");
    }

    #[test]
    fn context_drops_empties_and_duplicate_records_but_keeps_preserved_fields() {
        let mut p = policy("transform");
        p.preserve_fields = vec!["cc".into()];
        let ctx = r#"{"rows": [{"id": 1, "x": ""}, {"id": 1}, {"id": 2}], "cc": "", "meta": {"a": null, "b": {}}, "n": 0, "f": false}"#;
        let c = compress_json(ctx, &p, &Words);
        assert_eq!(c.text, r#"{"rows":[{"id":1},{"id":2}],"cc":"","n":0,"f":false}"#);
        assert!(c.notes.iter().any(|n| n.contains("1 exact duplicate")), "{:?}", c.notes);

        // Aggregate counts records: duplicates stay.
        let c = compress_json(r#"[{"id": 1}, {"id": 1}]"#, &policy("aggregate"), &Words);
        assert_eq!(c.text, r#"[{"id":1},{"id":1}]"#);
        // Extract context: empties go, duplicates stay.
        let c = compress_json(r#"[{"id": 1, "x": null}, {"id": 1}]"#, &policy("extract"), &Words);
        assert_eq!(c.text, r#"[{"id":1},{"id":1}]"#);
    }

    #[test]
    fn non_json_context_gets_text_cleanup() {
        let c = compress_json("plain  context\n\n\n\nhere", &policy("filter"), &Words);
        assert_eq!(c.text, "plain context\n\nhere");
        assert!(c.notes[0].contains("not JSON"));
        assert!(!compress_json("null", &policy("filter"), &Words).applied);
    }
}
