//! The agent's memory context (the seed's `MemoryCompressor`).
//!
//! Memory looks like `{"user_context": {...}, "recent_runs": [{...}, ...]}`
//! with runs newest first. `user_context` and the N most recent runs are kept
//! (empty fields dropped); each older run becomes a one-line digest under
//! `older_runs` (date, outcome, summary and the run's own result fields;
//! bookkeeping such as `run_id`, `tokens_used`, `model` or `duration_ms` is
//! left out). Over the token target, digests shrink to date and outcome, then
//! the oldest are dropped. Other shapes are only minified.

use super::Compressed;
use super::json::{self, Node, decode};
use super::policy::Policy;
use super::quality::{node_text, score};
use super::structural::{clean_tree, compress_json};
use crate::tokens::TokenCounter;

pub const RECENT_RUNS_KEY: &str = "orchestration_memory_recent_runs";
pub const TARGET_TOKENS_KEY: &str = "orchestration_memory_target_tokens";
pub const DEFAULT_RECENT_RUNS: usize = 2;
pub const DEFAULT_TARGET_TOKENS: u32 = 800;

const DATE_FIELDS: [&str; 7] = ["date", "run_date", "run_at", "started_at", "created_at", "completed_at", "timestamp"];
const OUTCOME_FIELDS: [&str; 5] = ["outcome", "status", "result", "verdict", "decision"];
const SUMMARY_FIELDS: [&str; 3] = ["summary", "description", "notes"];
/// Run bookkeeping, left out of digests.
const BOOKKEEPING_FIELDS: [&str; 9] = [
    "run_id",
    "id",
    "steps_completed",
    "tokens_used",
    "model",
    "duration_ms",
    "reviewer_notes",
    "cost_usd",
    "workflow_id",
];

/// Settings of memory compression.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryCompressor {
    /// Runs kept whole (newest first).
    pub recent_runs: usize,
    /// Token target for the whole memory.
    pub target_tokens: u32,
    /// Settings that could not be used.
    pub notes: Vec<String>,
}

impl Default for MemoryCompressor {
    fn default() -> Self {
        MemoryCompressor { recent_runs: DEFAULT_RECENT_RUNS, target_tokens: DEFAULT_TARGET_TOKENS, notes: vec![] }
    }
}

impl MemoryCompressor {
    /// Reads `orchestration_memory_recent_runs` and
    /// `orchestration_memory_target_tokens`; absent or unusable values keep the
    /// defaults (2 and 800), the unusable ones noted.
    pub fn from_settings(get: impl Fn(&str) -> Option<String>) -> Self {
        let mut m = MemoryCompressor::default();
        if let Some(v) = get(RECENT_RUNS_KEY).filter(|v| !v.trim().is_empty()) {
            match v.trim().parse::<usize>() {
                Ok(n) if n <= 50 => m.recent_runs = n,
                _ => m
                    .notes
                    .push(format!("{RECENT_RUNS_KEY}: `{v}` is not a count in 0-50, using {DEFAULT_RECENT_RUNS}")),
            }
        }
        if let Some(v) = get(TARGET_TOKENS_KEY).filter(|v| !v.trim().is_empty()) {
            match v.trim().parse::<u32>() {
                Ok(n) if n >= 50 => m.target_tokens = n,
                _ => m.notes.push(format!(
                    "{TARGET_TOKENS_KEY}: `{v}` is not a token count of 50 or more, using {DEFAULT_TARGET_TOKENS}"
                )),
            }
        }
        m
    }

    /// Compresses a memory context. The quality is measured on what is meant
    /// to be kept in full (everything but the older runs).
    pub fn compress(&self, memory_json: &str, policy: &Policy, counter: &dyn TokenCounter) -> Compressed {
        let trimmed = memory_json.trim();
        if trimmed.is_empty() || trimmed == "null" || trimmed == "{}" {
            return Compressed::unchanged(memory_json, counter);
        }
        let parsed = json::parse(trimmed);
        let Some(Node::Obj(members)) = parsed else {
            let mut c = compress_json(memory_json, policy, counter);
            c.notes.insert(0, "memory: not an object, minified only".into());
            return c;
        };
        let Some(runs) = members.iter().find_map(|(k, v)| match v {
            Node::Arr(items) if decode(k) == "recent_runs" => Some(items.clone()),
            _ => None,
        }) else {
            let mut c = compress_json(memory_json, policy, counter);
            c.notes.insert(0, "memory: no recent_runs list, minified only".into());
            return c;
        };

        let runs = newest_first(runs);
        let keep = self.recent_runs.min(runs.len());
        let (recent, older) = runs.split_at(keep);
        let recent: Vec<Node> = recent.iter().map(|r| clean_tree(r.clone(), policy)).collect();
        let mut digests: Vec<(String, String)> = older.iter().map(|r| (digest(r, true), digest(r, false))).collect();

        let build = |digests: &[String]| -> String {
            let mut out = Vec::with_capacity(members.len() + 1);
            for (key, value) in &members {
                if decode(key) == "recent_runs" {
                    out.push((key.clone(), Node::Arr(recent.clone())));
                    if !digests.is_empty() {
                        out.push((
                            "\"older_runs\"".to_string(),
                            Node::Arr(digests.iter().map(|d| Node::string(d)).collect()),
                        ));
                    }
                } else {
                    let cleaned = clean_tree(value.clone(), policy);
                    if !cleaned.is_empty_value() {
                        out.push((key.clone(), cleaned));
                    }
                }
            }
            Node::Obj(out).to_compact()
        };

        let mut notes = self.notes.clone();
        let full: Vec<String> = digests.iter().map(|d| d.0.clone()).collect();
        let mut text = build(&full);
        if !older.is_empty() {
            notes.push(format!("memory: kept {keep} recent run(s), {} older run(s) as one-line digests", older.len()));
        }
        if counter.count(&text) > self.target_tokens && !digests.is_empty() {
            let short: Vec<String> = digests.iter().map(|d| d.1.clone()).collect();
            text = build(&short);
            notes.push("memory: digests shortened to date and outcome".into());
            let mut dropped = 0;
            while counter.count(&text) > self.target_tokens && !digests.is_empty() {
                digests.pop();
                dropped += 1;
                let short: Vec<String> = digests.iter().map(|d| d.1.clone()).collect();
                text = build(&short);
            }
            if dropped > 0 {
                notes.push(format!(
                    "memory: dropped the {dropped} oldest run digest(s) to fit {} tokens",
                    self.target_tokens
                ));
            }
        }
        let after = counter.count(&text);
        if after > self.target_tokens {
            notes.push(format!(
                "memory: {after} tokens with user context and {keep} recent run(s), above the target of {}",
                self.target_tokens
            ));
        }
        // What is meant to survive in full: everything but the older runs.
        let scope_members: Vec<(String, Node)> = members
            .iter()
            .map(|(k, v)| {
                if decode(k) == "recent_runs" {
                    (k.clone(), Node::Arr(runs[..keep].to_vec()))
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        let scope = node_text(&Node::Obj(scope_members));
        let s = score(&scope, &json::parse(&text).map(|n| node_text(&n)).unwrap_or_default());
        let valid = serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok();
        Compressed {
            tokens_before: counter.count(memory_json),
            tokens_after: after,
            quality: if valid { s.retention } else { 0.0 },
            applied: text != memory_json,
            text,
            notes,
        }
    }
}

/// Runs sorted newest first by their date field when every run has one
/// (ISO dates sort as text); otherwise the given order, which the corpus and
/// the seed write newest first.
fn newest_first(mut runs: Vec<Node>) -> Vec<Node> {
    let dates: Option<Vec<String>> = runs.iter().map(|r| field(r, &DATE_FIELDS).and_then(|v| v.as_text())).collect();
    if let Some(dates) = dates {
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by(|a, b| dates[*b].cmp(&dates[*a]));
        let mut taken: Vec<Option<Node>> = runs.drain(..).map(Some).collect();
        return order.into_iter().filter_map(|i| taken[i].take()).collect();
    }
    runs
}

fn field<'a>(run: &'a Node, names: &[&str]) -> Option<&'a Node> {
    let Node::Obj(members) = run else { return None };
    names.iter().find_map(|n| members.iter().find(|(k, v)| decode(k) == *n && !v.is_empty_value()).map(|(_, v)| v))
}

fn scalar_text(node: &Node) -> Option<String> {
    match node {
        Node::Str(_) => node.as_text().map(|t| t.split_whitespace().collect::<Vec<_>>().join(" ")),
        Node::Num(n) => Some(n.clone()),
        Node::Bool(b) => Some(b.to_string()),
        Node::Arr(items) => {
            let parts: Vec<String> = items.iter().filter_map(scalar_text).collect();
            (!parts.is_empty() && parts.len() == items.len()).then(|| parts.join(", "))
        }
        _ => None,
    }
}

/// One line for an older run: `2024-08-25 resolved: Drafted a reply. (ticket: TCK-19877)`;
/// `full == false` gives date and outcome only.
fn digest(run: &Node, full: bool) -> String {
    let Node::Obj(members) = run else {
        return scalar_text(run).unwrap_or_else(|| run.to_compact());
    };
    let date = field(run, &DATE_FIELDS).and_then(scalar_text);
    let outcome = field(run, &OUTCOME_FIELDS).and_then(scalar_text);
    let mut line = [date.as_deref(), outcome.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if !full {
        return if line.is_empty() { "run".into() } else { line };
    }
    if let Some(summary) = field(run, &SUMMARY_FIELDS).and_then(scalar_text) {
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&summary);
    }
    let used: Vec<&str> =
        DATE_FIELDS.iter().chain(&OUTCOME_FIELDS).chain(&SUMMARY_FIELDS).chain(&BOOKKEEPING_FIELDS).copied().collect();
    let mut extras = Vec::new();
    for (key, value) in members {
        let name = decode(key);
        if used.contains(&name.as_str()) || value.is_empty_value() {
            continue;
        }
        if let Some(v) = scalar_text(value) {
            extras.push(format!("{name}: {v}"));
        }
    }
    if !extras.is_empty() {
        line.push_str(&format!(" ({})", extras.join("; ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::super::tests::Words;
    use super::*;
    use serde_json::{Value, json};
    use std::collections::HashMap;

    fn run(i: u32, date: &str) -> Value {
        json!({
            "run_id": format!("run-101-0{i}"), "date": date, "summary": format!("Handled ticket number {i}."),
            "outcome": "resolved", "steps_completed": 4, "tokens_used": 9453, "model": "claude-sonnet-4-5",
            "duration_ms": 45581, "error": null, "reviewer_notes": "", "ticket": format!("TCK-2050{i}"), "csat": 5
        })
    }

    fn memory(n: u32) -> String {
        let runs: Vec<Value> = (0..n).map(|i| run(i, &format!("2024-09-{:02}", 20 - i))).collect();
        json!({"user_context": {"customer_tier": "growth", "account_id": "ACC-55102", "csm": "Daniel Osei", "notes": ""}, "recent_runs": runs})
            .to_string()
    }

    #[test]
    fn keeps_user_context_and_two_recent_runs_and_digests_the_rest() {
        let c = MemoryCompressor::default().compress(&memory(6), &Policy::default_for("generate"), &Words);
        let v: Value = serde_json::from_str(&c.text).unwrap();
        assert_eq!(
            v["user_context"],
            json!({"customer_tier": "growth", "account_id": "ACC-55102", "csm": "Daniel Osei"})
        );
        let recent = v["recent_runs"].as_array().unwrap();
        assert_eq!(recent.len(), 2);
        assert_eq!(recent[0]["date"], "2024-09-20");
        assert!(recent[0].get("error").is_none() && recent[0].get("reviewer_notes").is_none());
        let older = v["older_runs"].as_array().unwrap();
        assert_eq!(older.len(), 4);
        assert_eq!(older[0], "2024-09-18 resolved: Handled ticket number 2. (csat: 5; ticket: TCK-20502)");
        assert_eq!(c.quality, 1.0);
        assert!(c.tokens_after < c.tokens_before);
    }

    #[test]
    fn fits_the_target_by_shortening_then_dropping_digests() {
        let mem = memory(8);
        // Counted in words: the compact JSON has few spaces, so 11 forces drops.
        let m = MemoryCompressor { target_tokens: 11, ..Default::default() };
        let c = m.compress(&mem, &Policy::default_for("generate"), &Words);
        let v: Value = serde_json::from_str(&c.text).unwrap();
        assert_eq!(v["recent_runs"].as_array().unwrap().len(), 2, "recent runs are never dropped");
        let older = v.get("older_runs").and_then(Value::as_array).cloned().unwrap_or_default();
        assert!(older.len() < 6);
        assert!(older.iter().all(|d| d.as_str().unwrap().split(' ').count() == 2), "{older:?}");
        assert!(c.notes.iter().any(|n| n.contains("dropped the")), "{:?}", c.notes);
    }

    #[test]
    fn sorts_runs_by_date_when_given_oldest_first() {
        let runs = vec![run(1, "2024-01-01"), run(2, "2024-03-01"), run(3, "2024-02-01")];
        let mem = json!({"user_context": {}, "recent_runs": runs}).to_string();
        let c = MemoryCompressor { recent_runs: 1, ..Default::default() }.compress(
            &mem,
            &Policy::default_for("send"),
            &Words,
        );
        let v: Value = serde_json::from_str(&c.text).unwrap();
        assert_eq!(v["recent_runs"][0]["date"], "2024-03-01");
        assert!(v["older_runs"][0].as_str().unwrap().starts_with("2024-02-01"));
        assert!(v.get("user_context").is_none(), "empty user context dropped");
    }

    #[test]
    fn other_shapes_are_minified_only() {
        let c = MemoryCompressor::default().compress(
            "{\n  \"facts\": [1, 2],\n  \"x\": null\n}",
            &Policy::default_for("send"),
            &Words,
        );
        assert_eq!(c.text, "{\"facts\":[1,2]}");
        assert!(c.notes[0].contains("no recent_runs"));
        for empty in ["null", "", "{}"] {
            assert!(!MemoryCompressor::default().compress(empty, &Policy::default_for("send"), &Words).applied);
        }
    }

    #[test]
    fn settings_are_read_and_bad_values_noted() {
        let map: HashMap<&str, &str> = [(RECENT_RUNS_KEY, "3"), (TARGET_TOKENS_KEY, "lots")].into();
        let m = MemoryCompressor::from_settings(|k| map.get(k).map(|v| v.to_string()));
        assert_eq!((m.recent_runs, m.target_tokens), (3, DEFAULT_TARGET_TOKENS));
        assert_eq!(m.notes.len(), 1);
        assert_eq!(MemoryCompressor::from_settings(|_| None), MemoryCompressor::default());
    }
}
