//! Tests of [`compress`] as a whole, and the corpus check.

use super::*;
use serde_json::{Value, json};

/// Test counter: one token per word (a run of letters and digits) and one per
/// punctuation mark, whitespace free, like a tokenizer's pre-split. A
/// deterministic stand-in for the host's BPE tokenizer in tests only: it sees
/// dropped JSON fields and digests, and (like BPE, mostly) not whitespace.
pub(crate) struct Words;

impl TokenCounter for Words {
    fn count(&self, text: &str) -> u32 {
        let mut tokens = 0;
        let mut in_word = false;
        for c in text.chars() {
            if c.is_alphanumeric() {
                if !in_word {
                    tokens += 1;
                }
                in_word = true;
            } else {
                in_word = false;
                if !c.is_whitespace() {
                    tokens += 1;
                }
            }
        }
        tokens
    }
}

#[test]
fn test_counter_counts_words_and_punctuation() {
    assert_eq!(Words.count("Hello, INV-2024 {\"a\": 1}"), 12);
    assert_eq!(Words.count("  a   b \n\n c "), 3);
}

const FOOTER: &str = "CONFIDENTIALITY NOTICE: This message is confidential and may contain privileged information. It is intended only for the named recipient(s). If you have received this message in error, please notify the sender immediately and delete it from your system.";

/// A billing thread in the corpus's style: facts in the bodies, the same
/// signature and footer under every message.
fn thread() -> String {
    let customer = format!(
        "Kind regards,\nTomasz\n--\nTomasz Wieczorek\nHead of Finance Operations\nBrightwater Logistics GmbH\n\
         T: +49 40 555 7731 | E: t.wieczorek@brightwater-logistics.de\n{FOOTER}"
    );
    let agent = format!(
        "Best,\nPriya\n--\nPriya Natarajan\nCustomer Support Specialist, Tier 2\nLumenfield Analytics\n\
         T: +1 (415) 555-0142 | E: support@lumenfield.io\n{FOOTER}"
    );
    format!(
        "Ticket #TCK-20931 | Queue: Billing | Opened: 2024-09-16 08:12 UTC\n\n\
         --- Message 1 (customer, 2024-09-16 08:12 UTC) ---\nHello Lumenfield team,\n\n\
         Our card was charged twice for invoice INV-2024-08817 on September 14th: two charges of EUR 3,840.00 each, \
         references ch_3PzK81 and ch_3PzK94. The invoice lists 32 Analyst seats, but we only had 24 seats.\n\n{customer}\n\n\
         --- Message 2 (agent, 2024-09-16 10:47 UTC) ---\nHi Tomasz,\n\nI have asked billing to look at the seat count.\n\n{agent}\n\n\
         --- Message 3 (customer, 2024-09-17 07:30 UTC) ---\nHi Priya,\n\nWe need the corrected invoice before September 30th. \
         Please copy Lena Hofmann (l.hofmann@brightwater-logistics.de) on everything.\n\n{customer}\n\n\
         --- Message 4 (agent, 2024-09-17 15:02 UTC) ---\nHi Tomasz,\n\nBilling confirmed the duplicate charge ch_3PzK94 and started a refund.\n\n{agent}\n"
    )
}

const THREAD_FACTS: [&str; 8] = [
    "INV-2024-08817",
    "3,840.00",
    "ch_3PzK94",
    "32 Analyst seats",
    "September 30th",
    "l.hofmann@brightwater-logistics.de",
    "TCK-20931",
    "Lena Hofmann",
];

fn context() -> String {
    json!({
        "inputs": {
            "thread": thread(),
            "ticket_id": "TCK-20931",
            "account_id": "ACC-55102",
            "escalation_threshold_eur": 2500,
            "survey": [{"id": "S-1", "comment": null, "tags": []}, {"id": "S-2", "comment": "", "tags": ["x"]}],
        },
        "steps": {"facts": {"invoice": "INV-2024-08817", "cc": null}}
    })
    .to_string()
}

fn memory() -> String {
    let runs: Vec<Value> = (0..6)
        .map(|i| {
            json!({
                "run_id": format!("run-101-0{i}"), "date": format!("2024-09-{:02}", 16 - i),
                "summary": format!("Handled billing question {i} for ACC-55102."), "outcome": "resolved",
                "steps_completed": 4, "tokens_used": 9453, "model": "claude-sonnet-4-5", "duration_ms": 45581,
                "error": null, "reviewer_notes": "", "ticket": format!("TCK-2050{i}")
            })
        })
        .collect();
    json!({"user_context": {"customer_tier": "growth", "account_id": "ACC-55102", "csm": "Daniel Osei"}, "recent_runs": runs})
        .to_string()
}

/// The material of a step whose data is the thread (a params value), with
/// the context of [`context`] and `memory`.
fn assembled(prompt: &str, memory: &str) -> Vec<Piece> {
    let params = json!({"thread": thread()}).to_string();
    let data = crate::material::StepData { prompt, params: &params, context: &context(), memory };
    crate::material::assemble(&data, &[], &Words).pieces
}

fn run(pieces: &[Piece], intent: &str, policy: &Policy) -> MaterialOutcome {
    material(pieces, intent, policy, &MemoryCompressor::default(), &Words)
}

fn content<'a>(out: &'a MaterialOutcome, name: &str) -> &'a str {
    &out.pieces.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no piece {name}")).content
}

const EXTRACT: &str =
    "Extract the billing facts from the ticket thread: invoice number, amounts, seats, deadlines and who to copy.";

#[test]
fn extract_is_lossless_and_keeps_every_fact_and_every_footer() {
    let pieces = assembled(EXTRACT, &memory());
    let out = run(&pieces, "extract", &Policy::default_for("extract"));
    assert!(out.applied, "{:?}", out.notes);
    assert!(!out.quality_degraded);
    assert_eq!(out.pieces.len(), pieces.len(), "no piece dropped");
    let thread_sent = content(&out, "thread");
    for fact in THREAD_FACTS {
        assert!(thread_sent.contains(fact), "{fact} lost");
    }
    // Boilerplate is not removed from what an extract step reads.
    assert_eq!(thread_sent.matches("CONFIDENTIALITY NOTICE").count(), 4);
    assert_eq!(thread_sent.matches("Tomasz Wieczorek").count(), 2);
    assert_eq!(text::squash(thread_sent), text::squash(&thread()), "only whitespace may change");
    // JSON pieces: empty fields dropped, nothing else.
    let survey: Value = serde_json::from_str(content(&out, "survey")).unwrap();
    assert_eq!(survey, json!([{"id": "S-1"}, {"id": "S-2", "tags": ["x"]}]));
    let cut = out.cuts.iter().find(|c| c.piece == "survey").unwrap();
    assert!(cut.notes.iter().any(|n| n == "structural: dropped 3 empty field(s): comment, tags"), "{:?}", cut.notes);
    assert_eq!(content(&out, "account_id"), "ACC-55102");
    assert!(out.tokens_saved() > 0 && out.tokens_after + out.tokens_saved() == out.tokens_before);
    assert!(out.cuts.iter().all(|c| c.tokens_after < c.tokens_before));
}

#[test]
fn extract_and_validate_refuse_lossy_policies() {
    let mut lossy = Policy::default_for("summarize");
    lossy.strategy = Strategy::Truncate;
    lossy.target_ratio = 0.2;
    lossy.aggressiveness = Aggressiveness::High;
    let pieces = assembled(EXTRACT, "null");
    for intent in ["extract", "validate", "Validate"] {
        let out = run(&pieces, intent, &lossy);
        assert_eq!(out.strategy, Strategy::Structural, "{intent}");
        assert!(out.notes.iter().any(|n| n.contains("never lossy")), "{:?}", out.notes);
        let thread_sent = content(&out, "thread");
        for fact in THREAD_FACTS {
            assert!(thread_sent.contains(fact), "{intent}: {fact} lost");
        }
        assert_eq!(thread_sent.matches("CONFIDENTIALITY NOTICE").count(), 4);
        assert!(!thread_sent.contains("truncated"));
        assert_eq!(out.pieces.len(), pieces.len(), "no piece dropped for {intent}");
    }
}

#[test]
fn generate_removes_boilerplate_keeps_every_piece_and_digests_memory() {
    let prompt = "Write a reply to Tomasz (cc Lena Hofmann) confirming the refund. Keep it under 200 words.";
    let pieces = assembled(prompt, &memory());
    let out = run(&pieces, "generate", &Policy::default_for("generate"));
    assert!(out.applied && !out.quality_degraded, "{:?}", out.notes);
    let thread_sent = content(&out, "thread");
    for fact in THREAD_FACTS {
        assert!(thread_sent.contains(fact), "{fact} lost");
    }
    assert_eq!(thread_sent.matches("CONFIDENTIALITY NOTICE").count(), 1);
    assert!(thread_sent.contains("[repeated signature omitted: Kind regards, Tomasz]"), "{thread_sent}");
    let cut = out.cuts.iter().find(|c| c.piece == "thread").unwrap();
    assert!(cut.tokens_after * 10 < cut.tokens_before * 8, "{cut:?}");
    assert!(!cut.notes.is_empty());
    // Every context value still goes: compression never drops a piece.
    let names: Vec<&str> = out.pieces.iter().map(|p| p.name.as_str()).collect();
    for name in ["prompt", "thread", "account_id", "escalation_threshold_eur", "facts", "memory"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    // Memory: user context and two runs whole, older runs digested.
    let mem: Value = serde_json::from_str(content(&out, "memory")).unwrap();
    assert_eq!(mem["recent_runs"].as_array().unwrap().len(), 2);
    assert_eq!(mem["older_runs"].as_array().unwrap().len(), 4);
    assert!(out.quality >= 0.85 && out.tokens_saved() > 0);
    assert_eq!(out.tokens_after, out.pieces.iter().map(|p| p.tokens).sum::<u32>());
}

#[test]
fn low_quality_falls_back_to_the_original() {
    let notes = "Acme Robotics renews on 2025-01-31 for $45,000 (PO-4500219876). Dana Whitfield signs; Marcus Lee approves. \
        Invoice INV-2024-0042 covers 24 seats at EUR 120.00. Ticket OPS-7 tracks the SSO change for Formant.";
    let mut policy = Policy::default_for("generate");
    policy.strategy = Strategy::Truncate;
    policy.target_ratio = 0.3;
    policy.min_quality = 0.9;
    let step = |text: &str| {
        let params = json!({ "notes": text }).to_string();
        let data = crate::material::StepData {
            prompt: "Draft the renewal note.",
            params: &params,
            context: "{}",
            memory: &memory(),
        };
        crate::material::assemble(&data, &[], &Words).pieces
    };
    let pieces = step(notes);
    let out = run(&pieces, "generate", &policy);
    assert!(!out.applied);
    assert!(out.quality_degraded);
    assert!(out.quality < 0.9, "{}", out.quality);
    assert_eq!(out.pieces, pieces);
    assert_eq!((out.tokens_after, out.tokens_saved()), (out.tokens_before, 0));
    assert!(out.notes.iter().any(|n| n.contains("below the minimum")), "{:?}", out.notes);
    // The attempt is still reported per piece.
    let cut = out.cuts.iter().find(|c| c.piece == "notes").unwrap();
    assert!(cut.tokens_after < cut.tokens_before);

    // The same truncation passes when the tail holds no facts.
    let chatty = format!(
        "{notes}\n\n{}",
        "We really appreciate your continued partnership and look forward to the next year together. ".repeat(6)
    );
    policy.target_ratio = 0.5;
    let out = run(&step(&chatty), "generate", &policy);
    assert!(out.applied && !out.quality_degraded, "{:?}", out.notes);
    let sent = content(&out, "notes");
    assert!(sent.contains("[… truncated") && sent.contains("Formant"), "{sent}");
}

#[test]
fn strategy_none_and_nothing_to_save_return_the_original() {
    let mut policy = Policy::default_for("send");
    policy.strategy = Strategy::None;
    let pieces = assembled(EXTRACT, &memory());
    let out = run(&pieces, "send", &policy);
    assert!(!out.applied && !out.quality_degraded);
    assert_eq!((out.tokens_saved(), out.quality), (0, 1.0));
    assert_eq!(out.pieces, pieces);

    let data = crate::material::StepData {
        prompt: "Post the digest to #support-leads.",
        params: "{}",
        context: "{}",
        memory: "null",
    };
    let out = run(&crate::material::assemble(&data, &[], &Words).pieces, "send", &Policy::default_for("send"));
    assert!(!out.applied && !out.quality_degraded);
    assert!(out.notes.iter().any(|n| n.contains("no token saving")), "{:?}", out.notes);
}

#[test]
fn semantic_strategy_stops_before_the_model_call() {
    let pieces = assembled("Give the on-call lead a recap.", "null");
    let out = run(&pieces, "summarize", &Policy::default_for("summarize"));
    assert_eq!(out.strategy, Strategy::Semantic);
    let thread_sent = content(&out, "thread");
    assert!(out.applied && thread_sent.contains("[repeated signature omitted: "));
    // The caller then asks the model and checks the answer.
    let (_, user) = semantic_request(thread_sent, 60);
    assert!(user.contains("INV-2024-08817"));
    let refused = accept_semantic(thread_sent, "They want a refund.", &Policy::default_for("summarize"), &Words);
    assert!(!refused.applied && refused.text == thread_sent);
}

#[test]
fn settings_reach_the_outcome_and_preserved_pieces_go_as_they_are() {
    let get = |k: &str| match k {
        "orchestration_compression_send_strategy" => Some("shrink".to_string()),
        "orchestration_compression_send_preserve_fields" => Some("thread".to_string()),
        _ => None,
    };
    let policy = Policy::from_settings("send", get);
    let pieces = assembled("Post   the   recap   for TCK-20931.", "null");
    let out = run(&pieces, "send", &policy);
    assert!(out.notes[0].contains("unknown strategy `shrink`"), "{:?}", out.notes);
    assert_eq!(out.strategy, Strategy::Template);
    assert_eq!(content(&out, "thread"), thread(), "preserved");
    assert!(out.cuts.iter().all(|c| c.piece != "thread"));
}

/// One corpus step, resolved.
struct CorpusStep {
    file: String,
    id: String,
    intent: String,
    prompt: String,
    context: String,
    memory: String,
    key_facts: Vec<String>,
}

fn corpus() -> Vec<CorpusStep> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/corpus/contract");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut steps = Vec::new();
    for path in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let inputs = &doc["inputs"];
        let context = json!({"inputs": inputs, "steps": {}}).to_string();
        let memory = doc["memory_context"].to_string();
        for step in doc["steps"].as_array().unwrap() {
            let mut prompt = step["prompt"].as_str().unwrap().to_string();
            // Naive resolution of {{input.X}}: strings as they are, other values as compact JSON.
            while let Some(start) = prompt.find("{{input.") {
                let end = start + prompt[start..].find("}}").unwrap();
                let key = &prompt[start + 8..end];
                let value = match &inputs[key] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                prompt.replace_range(start..end + 2, &value);
            }
            steps.push(CorpusStep {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                id: step["id"].as_str().unwrap().to_string(),
                intent: step["labels"]["intent"].as_str().unwrap().to_string(),
                prompt,
                context: context.clone(),
                memory: memory.clone(),
                key_facts: step["labels"]["key_facts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap().to_string())
                    .collect(),
            });
        }
    }
    steps
}

#[derive(Default)]
struct Tally {
    steps: u32,
    applied: u32,
    degraded: u32,
    tokens: (u64, u64),
    facts: (u32, u32),
}

impl Tally {
    fn add(&mut self, out: &MaterialOutcome, facts_kept: u32, facts: u32) {
        self.steps += 1;
        self.applied += u32::from(out.applied);
        self.degraded += u32::from(out.quality_degraded);
        self.tokens.0 += u64::from(out.tokens_before);
        self.tokens.1 += u64::from(out.tokens_after);
        self.facts.0 += facts_kept;
        self.facts.1 += facts;
    }

    fn row(&self, name: &str) -> String {
        let (b, a) = self.tokens;
        let pct = if b == 0 { 0.0 } else { 100.0 * (b - a) as f64 / b as f64 };
        format!(
            "{name:<12} {:>5} {:>4}/{:<4} {:>8} -> {:<8} {:>5.1}%  {:>3}/{:<3}",
            self.steps, self.applied, self.degraded, b, a, pct, self.facts.0, self.facts.1,
        )
    }
}

/// Every corpus step's material through `material` with the default policy
/// of its labelled intent: every key fact must still be sent. Prints the
/// token reduction per intent (`cargo test -p orchestration corpus -- --nocapture`),
/// counted in words by the test counter.
#[test]
fn corpus_key_facts_survive_default_policies() {
    let steps = corpus();
    assert!(steps.len() >= 180, "corpus not found or incomplete: {} steps", steps.len());
    let mut by_intent: std::collections::BTreeMap<String, Tally> = Default::default();
    let mut total = Tally::default();
    let mut lost = Vec::new();
    for s in &steps {
        let policy = Policy::default_for(&s.intent);
        let data =
            crate::material::StepData { prompt: &s.prompt, params: "{}", context: &s.context, memory: &s.memory };
        let pieces = crate::material::assemble(&data, &[], &Words).pieces;
        let out = run(&pieces, &s.intent, &policy);
        assert_eq!(out.pieces.len(), pieces.len(), "{} {}: a piece was dropped", s.file, s.id);
        let sent: String = out.pieces.iter().map(|p| p.content.as_str()).collect::<Vec<_>>().join("\n");
        let mut kept = 0;
        for fact in &s.key_facts {
            if sent.contains(fact.as_str()) {
                kept += 1;
            } else {
                lost.push(format!("{} {} ({}): {fact:?}", s.file, s.id, s.intent));
            }
        }
        if policy.lossless {
            assert_eq!(
                text::squash(content(&out, "prompt")),
                text::squash(&s.prompt),
                "{} {}: lossless prompt changed",
                s.file,
                s.id
            );
        }
        by_intent.entry(s.intent.clone()).or_default().add(&out, kept, s.key_facts.len() as u32);
        total.add(&out, kept, s.key_facts.len() as u32);
    }
    println!("\n{:<12} {:>5} {:>9} {:>28} {:>7}", "intent", "steps", "app/degr", "material words", "facts");
    for (intent, t) in &by_intent {
        println!("{}", t.row(intent));
    }
    println!("{}", total.row("TOTAL"));
    assert!(lost.is_empty(), "key facts lost:\n{}", lost.join("\n"));
    assert!(total.tokens.1 < total.tokens.0);
}
