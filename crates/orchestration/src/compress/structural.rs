//! Structural compression: clean-up that removes no information a step reads.
//!
//! - whitespace: trailing blanks, runs of blank lines, runs of spaces inside
//!   lines (indentation and fenced code are kept);
//! - JSON minification, for the whole text or any embedded block that fills
//!   its lines (key order, numbers and strings are kept exactly);
//! - `null`, `""`, `[]`, `{}` fields dropped (not for lossless prompts;
//!   always in context), except [`Policy::preserve_fields`];
//! - exact duplicate records in arrays removed (medium aggressiveness and up,
//!   never for lossless policies);
//! - context variables the step never references pruned ([`prune_context`]).

use super::json::{self, decode, Node};
use super::policy::{Aggressiveness, Policy, Strategy};
use super::quality::score;
use super::text::{contains_word, normalize_whitespace, segments, Segment};
use super::{Compressed, TokenCounter};
use std::collections::HashSet;

/// Top-level context objects whose members are the variables (the host's
/// context is `{"inputs": {...}, "steps": {...}}`).
pub const CONTEXT_NAMESPACES: [&str; 7] = ["inputs", "input", "steps", "outputs", "variables", "vars", "context"];

/// Marker for a context string the prompt already contains verbatim.
pub const IN_PROMPT_MARKER: &str = "[same text as in the prompt]";

/// Values at least this long (a string's text, a list's or record's compact
/// JSON) that the prompt contains verbatim are replaced by
/// [`IN_PROMPT_MARKER`] in the context.
const IN_PROMPT_MIN_CHARS: usize = 200;

#[derive(Debug, Default, Clone, Copy)]
struct Cleanup {
    json_blocks: usize,
    empty_fields: usize,
    duplicates: usize,
}

impl Cleanup {
    fn notes(&self, out: &mut Vec<String>) {
        if self.json_blocks > 0 {
            out.push(format!("structural: minified {} JSON block(s)", self.json_blocks));
        }
        if self.empty_fields > 0 {
            out.push(format!("structural: dropped {} empty field(s)", self.empty_fields));
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
                        stats.empty_fields += 1;
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

/// Drops the context variables `prompt` never references.
///
/// Variables are the top-level members of the context, or the members of a
/// namespace object ([`CONTEXT_NAMESPACES`], e.g. `inputs` and `steps`). A
/// variable is kept when it is preserved, when its name occurs in the prompt
/// as a word (`ticket_id` also as `ticket id`), or when one of its values
/// (a string of 4+ characters that is not a short lower-case word, or a
/// number of 3+ characters) occurs in the prompt (a one-word value as a
/// whole word, `INV-1` is not in `INV-12`). Kept variables are whole:
/// records are never split. With the structural and template strategies, a
/// long value the prompt already contains verbatim (a string's text, or a
/// list's or record's compact JSON, as templates insert them) is replaced by
/// [`IN_PROMPT_MARKER`] (not with truncate or semantic, which may cut it from
/// the prompt later).
///
/// The quality reported is the retention against the full context: pruning
/// is a relevance decision, so [`super::compress`] scores later steps against
/// the pruned context instead.
pub fn prune_context(context_json: &str, prompt: &str, policy: &Policy, counter: &dyn TokenCounter) -> Compressed {
    let Some(Node::Obj(members)) = json::parse(context_json.trim()) else {
        let mut c = Compressed::unchanged(context_json, counter);
        c.notes.push("prune: context is not a JSON object, left as is".into());
        return c;
    };
    let finder = References::new(prompt);
    let in_prompt = matches!(policy.strategy, Strategy::Structural | Strategy::Template);
    let mut pruned = Vec::new();
    let mut inlined = Vec::new();
    let mut keep = |name: &str, path: &str, value: Node, pruned: &mut Vec<String>| -> Option<Node> {
        if policy.preserves(name, path) {
            return Some(value);
        }
        if !finder.references(name, &value) {
            pruned.push(path.to_string());
            return None;
        }
        if in_prompt {
            // A string as its text, a list or record as its compact JSON (how templates insert it).
            let inline = match &value {
                Node::Str(_) => value.as_text().is_some_and(|t| t.chars().count() >= IN_PROMPT_MIN_CHARS && prompt.contains(t.as_str())),
                Node::Arr(_) | Node::Obj(_) => {
                    let compact = value.to_compact();
                    compact.len() >= IN_PROMPT_MIN_CHARS && prompt.contains(compact.as_str())
                }
                _ => false,
            };
            if inline {
                inlined.push(path.to_string());
                return Some(Node::string(IN_PROMPT_MARKER));
            }
        }
        Some(value)
    };
    let mut out = Vec::with_capacity(members.len());
    for (key, value) in members {
        let name = decode(&key);
        if CONTEXT_NAMESPACES.contains(&name.as_str())
            && !policy.preserves(&name, &name)
            && let Node::Obj(vars) = value
        {
            let vars = vars
                .into_iter()
                .filter_map(|(k, v)| {
                    let var = decode(&k);
                    keep(&var, &format!("{name}.{var}"), v, &mut pruned).map(|v| (k, v))
                })
                .collect();
            out.push((key, Node::Obj(vars)));
            continue;
        }
        if let Some(v) = keep(&name, &name, value, &mut pruned) {
            out.push((key, v));
        }
    }
    let text = Node::Obj(out).to_compact();
    let mut notes = Vec::new();
    if !pruned.is_empty() {
        notes.push(format!("prune: dropped {} unreferenced context variable(s): {}", pruned.len(), pruned.join(", ")));
    }
    if !inlined.is_empty() {
        notes.push(format!("prune: {} context string(s) already in the prompt: {}", inlined.len(), inlined.join(", ")));
    }
    finish(context_json, text, notes, counter)
}

struct References<'a> {
    prompt: &'a str,
    lower: String,
    /// The prompt's words, split at whitespace and quotes (so values inside
    /// compact JSON are words too), trimmed of punctuation.
    words: HashSet<&'a str>,
}

fn trim_word(word: &str) -> &str {
    word.trim_matches(|c: char| !c.is_alphanumeric())
}

impl<'a> References<'a> {
    fn new(prompt: &'a str) -> Self {
        let words = prompt.split(|c: char| c.is_whitespace() || c == '"').map(trim_word).filter(|w| !w.is_empty()).collect();
        References { prompt, lower: prompt.to_lowercase(), words }
    }

    fn references(&self, name: &str, value: &Node) -> bool {
        let name = name.to_lowercase();
        if contains_word(&self.lower, &name) {
            return true;
        }
        if name.contains(['_', '-']) && contains_word(&self.lower, &name.replace(['_', '-'], " ")) {
            return true;
        }
        let mut values = Vec::new();
        value.scalars(&mut values);
        values.iter().take(2_000).any(|v| self.mentions(v))
    }

    fn mentions(&self, value: &str) -> bool {
        let value = value.trim();
        let chars = value.chars().count();
        let is_number = value.parse::<f64>().is_ok();
        let distinctive = if is_number {
            chars >= 3
        } else {
            chars >= 4
                && (chars >= 8 || value.chars().any(|c| c.is_ascii_digit() || c.is_uppercase() || c.is_whitespace() || c == '@'))
        };
        if !distinctive {
            return false;
        }
        if !value.contains(char::is_whitespace) {
            // One word: it must be a whole word of the prompt (`INV-1` is not in `INV-12`).
            return self.words.contains(trim_word(value));
        }
        // A long text is referenced when its opening is in the prompt.
        let probe = match value.char_indices().nth(300) {
            Some((at, _)) => &value[..at],
            None => value,
        };
        self.prompt.contains(probe)
    }
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
        assert_eq!(c.text, "Reshape these rows.\n\nRows:\n[{\"id\":\"C-1\"},{\"id\":\"C-2\",\"phone\":\"+1 555\"}]\n\nThanks.");
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

    #[test]
    fn prunes_unreferenced_variables_keeping_whole_records() {
        let ctx = r#"{
            "inputs": {
                "ticket_id": "TCK-20931",
                "account_id": "ACC-55102",
                "order": {"order_id": "HK-104477", "items": [{"sku": "A"}]},
                "escalation_threshold_eur": 2500,
                "region": "EU",
                "status": "open",
                "old_ticket": "TCK-2093"
            },
            "steps": {"facts": {"invoice": "INV-1"}, "gist": "A recap"},
            "user": "Dana"
        }"#;
        let prompt = "Post the recap for ticket id TCK-20931 about order HK-104477 if more than 2500 EUR; open the facts.";
        let mut p = policy("send");
        p.preserve_fields = vec!["inputs.region".into()];
        let c = prune_context(ctx, prompt, &p, &Words);
        assert_eq!(
            c.text,
            r#"{"inputs":{"ticket_id":"TCK-20931","order":{"order_id":"HK-104477","items":[{"sku":"A"}]},"escalation_threshold_eur":2500,"region":"EU"},"steps":{"facts":{"invoice":"INV-1"}}}"#
        );
        let note = c.notes.iter().find(|n| n.contains("dropped")).unwrap();
        for pruned in ["inputs.account_id", "inputs.status", "inputs.old_ticket", "steps.gist", "user"] {
            assert!(note.contains(pruned), "{pruned} not pruned: {note}");
        }
    }

    #[test]
    fn long_strings_already_in_the_prompt_become_a_marker() {
        let thread = "Hello team, ".repeat(30);
        let ctx = serde_json::json!({"inputs": {"thread": thread, "id": "X-1"}}).to_string();
        let prompt = format!("Recap this thread:\n\n{thread}");
        let c = prune_context(&ctx, &prompt, &policy("generate"), &Words);
        assert!(c.text.contains(IN_PROMPT_MARKER), "{}", c.text);
        assert!(c.tokens_after < c.tokens_before / 2, "{c:?}");
        // Not with truncate: the prompt may lose the text later.
        let mut p = policy("generate");
        p.strategy = Strategy::Truncate;
        assert!(!prune_context(&ctx, &prompt, &p, &Words).text.contains(IN_PROMPT_MARKER));

        // A list inserted in the prompt as compact JSON, as templates do.
        let row = serde_json::json!({"expense_id": "EXP-24005", "amount": 579.64, "description": "Ride to airport"});
        let rows = serde_json::Value::Array(vec![row; 4]);
        let ctx = serde_json::json!({"inputs": {"expenses": rows, "period": "2024-09"}}).to_string();
        let prompt = format!("Does any of these look personal?\n\nExpenses:\n{rows}");
        let c = prune_context(&ctx, &prompt, &policy("conditional"), &Words);
        assert_eq!(c.text, format!("{{\"inputs\":{{\"expenses\":\"{IN_PROMPT_MARKER}\"}}}}"));
    }
}
