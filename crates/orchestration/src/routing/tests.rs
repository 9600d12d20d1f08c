use super::complexity::BATCH_LABELS;
use super::*;
use crate::budget;
use serde_json::Value;
use serde_json::json;
use std::collections::HashMap;

fn input<'a>(
    intent: &'a str,
    name: &'a str,
    prompt: &'a str,
    params: &'a Value,
    models: &'a TierModels,
) -> RouteInput<'a> {
    RouteInput {
        intent,
        step_name: name,
        prompt,
        goal: None,
        params,
        prompt_tokens: 100,
        agent: None,
        budget_remaining: None,
        critical: false,
        previous_failures: 0,
        thresholds: Thresholds::default(),
        models,
    }
}

fn settings(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |key: &str| map.get(key).cloned()
}

#[test]
fn routing_tier_escalates_and_de_escalates_saturating() {
    assert_eq!(Tier::Fast.escalate(), Tier::Balanced);
    assert_eq!(Tier::Balanced.escalate(), Tier::Powerful);
    assert_eq!(Tier::Powerful.escalate(), Tier::Powerful);
    assert_eq!(Tier::Powerful.de_escalate(), Tier::Balanced);
    assert_eq!(Tier::Fast.de_escalate(), Tier::Fast);
    assert_eq!(serde_json::to_string(&Tier::Balanced).unwrap(), "\"balanced\"");
    assert_eq!(serde_json::from_str::<Tier>("\"powerful\"").unwrap(), Tier::Powerful);
    assert_eq!(Tier::ALL.map(Tier::index), [0, 1, 2]);
}

#[test]
fn routing_default_models_and_cost() {
    let m = TierModels::default();
    assert_eq!(
        (m.fast.model.as_str(), m.fast.input_price_per_mtok, m.fast.output_price_per_mtok),
        ("claude-haiku-4-5", 1.0, 5.0)
    );
    assert_eq!(
        (m.balanced.model.as_str(), m.balanced.input_price_per_mtok, m.balanced.output_price_per_mtok),
        ("claude-sonnet-4-5", 3.0, 15.0)
    );
    assert_eq!(
        (m.powerful.model.as_str(), m.powerful.input_price_per_mtok, m.powerful.output_price_per_mtok),
        ("claude-opus-4-5", 5.0, 25.0)
    );
    assert!(Tier::ALL.iter().all(|t| m.get(*t).provider == "anthropic"));
    assert!((cost_usd(&m.fast, 1_000_000, 1_000_000) - 6.0).abs() < 1e-9);
    assert!((cost_usd(&m.powerful, 2_000, 300) - (0.010 + 0.0075)).abs() < 1e-12);
    assert_eq!(cost_usd(&m.balanced, 0, 0), 0.0);
}

#[test]
fn routing_tier_models_from_settings_override_and_fall_back() {
    let get = settings(&[
        ("orchestration_tier_fast_model", " claude-3-5-haiku "),
        ("orchestration_tier_fast_max_tokens", "1024"),
        ("orchestration_tier_fast_input_price", "0.8"),
        ("orchestration_tier_balanced_provider", "simulated"),
        ("orchestration_tier_balanced_temperature", "0.7"),
        ("orchestration_tier_powerful_max_tokens", "-5"),
        ("orchestration_tier_powerful_temperature", "3"),
        ("orchestration_tier_powerful_output_price", "NaN"),
        ("orchestration_tier_powerful_model", "   "),
    ]);
    let m = tier_models_from_settings(get);
    assert_eq!(m.fast.model, "claude-3-5-haiku");
    assert_eq!(m.fast.max_tokens, 1024);
    assert_eq!(m.fast.input_price_per_mtok, 0.8);
    assert_eq!(m.fast.output_price_per_mtok, 5.0);
    assert_eq!(m.balanced.provider, "simulated");
    assert_eq!(m.balanced.temperature, 0.7);
    assert_eq!(m.powerful, ModelConfig::default_for(Tier::Powerful), "bad values keep the defaults");
    assert_eq!(tier_models_from_settings(|_| None), TierModels::default());
}

#[test]
fn routing_thresholds_from_settings() {
    assert_eq!(thresholds_from_settings(|_| None), Thresholds { fast_below: 3.0, powerful_above: 6.0 });
    let t = thresholds_from_settings(settings(&[(FAST_THRESHOLD_KEY, "2.5"), (POWERFUL_THRESHOLD_KEY, "7")]));
    assert_eq!(t, Thresholds { fast_below: 2.5, powerful_above: 7.0 });
    let t = thresholds_from_settings(settings(&[(FAST_THRESHOLD_KEY, "abc"), (POWERFUL_THRESHOLD_KEY, "12")]));
    assert_eq!(t, Thresholds::default(), "unreadable or out of range");
    let t = thresholds_from_settings(settings(&[(FAST_THRESHOLD_KEY, "8")]));
    assert_eq!(t, Thresholds::default(), "fast threshold above the powerful one");
    let t = Thresholds::default();
    assert_eq!(
        (t.tier(2.99), t.tier(3.0), t.tier(6.0), t.tier(6.01)),
        (Tier::Fast, Tier::Balanced, Tier::Balanced, Tier::Powerful)
    );
}

#[test]
fn routing_structured_params_go_fast_and_fuzzy_ones_need_a_model() {
    let models = TierModels::default();
    let where_ = json!({"input": [], "where": [{"field": "/severity", "op": "eq", "value": "critical"}]});
    let d = route(&input("filter", "Critical only", "Keep only the critical alerts.", &where_, &models));
    assert_eq!(d.tier, Tier::Fast, "{}", d.reason);
    assert_eq!(d.model.model, "claude-haiku-4-5");

    let criteria = json!({"input": [], "criteria": "complaints about a concrete problem"});
    let d = route(&input("filter", "Complaints", "Pick out the responses that complain.", &criteria, &models));
    assert_eq!(d.tier, Tier::Balanced, "{}", d.reason);
    assert!(d.reason.contains("fuzzy params (criteria)"), "{}", d.reason);

    let condition = json!({"condition": {"field": "/total", "op": "gt", "value": 5000}});
    assert_eq!(
        route(&input("conditional", "Approval", "If the total is above 5000, ask.", &condition, &models)).tier,
        Tier::Fast
    );

    let rules =
        json!({"rules": [{"field": "/a", "check": "required"}, {"field": "/b", "check": "pattern", "value": "^x"}]});
    assert_eq!(route(&input("validate", "Checks", "Check the record.", &rules, &models)).tier, Tier::Fast);
}

#[test]
fn routing_hard_steps_go_powerful() {
    let models = TierModels::default();
    let code = json!({"type": "code", "max_words": 1500});
    let d = route(&input("generate", "Migration SQL", "Write the PostgreSQL migration script.", &code, &models));
    assert_eq!(d.tier, Tier::Powerful, "{}", d.reason);
    assert_eq!(d.model.model, "claude-opus-4-5");

    let legal = json!({"rules": [{"field": "/residuals", "check": "judgment", "value": "no residuals clause"},
                                {"field": "/survival", "check": "judgment", "value": ">= 5 years"}]});
    let d = route(&input(
        "validate",
        "Compare to our NDA standards",
        "Go clause by clause and mark each as acceptable, negotiate or reject.\n\nNDA text: lorem",
        &legal,
        &models,
    ));
    assert_eq!(d.tier, Tier::Powerful, "{}", d.reason);
    assert!(d.reason.contains("`nda`") && d.reason.contains("`clause`"), "{}", d.reason);
}

#[test]
fn routing_cues_come_from_the_instructions_only() {
    let params = json!({"target_length": 100});
    let plain = step_complexity("summarize", "Recap", "Recap the thread.", None, &params, 100);
    let data = "indemnification liability governing law clause NDA ".repeat(20);
    let with_data = step_complexity("summarize", "Recap", &format!("Recap the thread.\n\n{data}"), None, &params, 100);
    assert_eq!(plain.score, with_data.score, "{:?}", with_data.contributions);
    let with_cue = step_complexity("summarize", "Recap", "Recap the root cause analysis.", None, &params, 100);
    assert!(with_cue.score > plain.score);
}

#[test]
fn routing_contributions_add_up_to_the_score() {
    let params = json!({"schema": {"type": "object", "properties": {
        "a": {"type": "string"}, "b": {"type": "array", "items": {"type": "object", "properties": {"x": {}, "y": {}}}}}}});
    let c = step_complexity(
        "extract",
        "Clause extraction",
        "Pull the indemnity terms, compare them, list them.",
        None,
        &params,
        700,
    );
    let sum: f32 = c.contributions.iter().map(|c| c.points).sum();
    assert_eq!(c.score, sum.clamp(0.0, 10.0));
    let factors: Vec<Factor> = c.contributions.iter().map(|c| c.factor).collect();
    for f in [Factor::Intent, Factor::Output, Factor::InputSize, Factor::Cues] {
        assert!(factors.contains(&f), "{f:?} missing from {:?}", c.contributions);
    }
    // Scores stay within 0-10 whatever piles up.
    let send =
        step_complexity("send", "Notify", "Notify, copy, list, forward, format.", None, &json!({"plugin": "slack"}), 0);
    assert_eq!(send.score, 0.0);
    let many = "legal clause indemnity liability nda lease gdpr assess reconcile weigh judge sql script terraform";
    let huge = step_complexity("generate", many, many, None, &json!({"type": "code", "max_words": 5000}), 50_000);
    assert_eq!(huge.score, 10.0);
}

#[test]
fn routing_unknown_intent_is_a_plain_model_call() {
    let models = TierModels::default();
    let d = route(&input("shout", "Shout", "Upper-case this.", &Value::Null, &models));
    assert_eq!(d.tier, Tier::Balanced);
    assert!(d.reason.contains("unknown"), "{}", d.reason);
}

#[test]
fn routing_agent_execution_score_nudges() {
    let models = TierModels::default();
    let params = json!({"target_length": 100});
    let mut i = input("summarize", "Recap", "Recap the thread for the team.", &params, &models);
    let alone = route(&i);
    assert_eq!(alone.score, alone.step_complexity);
    assert_eq!(alone.agent_execution, None);

    i.agent = Some(AgentScores { creation: 1.0, execution: 9.0, combined: 5.0 });
    let nudged = route(&i);
    assert!((nudged.score - (0.75 * alone.step_complexity + 0.25 * 9.0)).abs() < 1e-6);
    assert!(nudged.reason.contains("agent execution score 9.0"), "{}", nudged.reason);

    // An intense agent cannot drag a structured step out of the fast tier on its own.
    let where_ = json!({"where": []});
    let mut i = input("filter", "Keep", "Keep the open tickets.", &where_, &models);
    i.agent = Some(AgentScores { creation: 10.0, execution: 10.0, combined: 10.0 });
    assert_eq!(route(&i).tier, Tier::Fast);
}

#[test]
fn routing_previous_failures_escalate_one_tier_each() {
    let models = TierModels::default();
    let where_ = json!({"where": []});
    let mut i = input("filter", "Keep", "Keep the open tickets.", &where_, &models);
    i.previous_failures = 1;
    let d = route(&i);
    assert_eq!((d.score_tier, d.tier), (Tier::Fast, Tier::Balanced));
    assert!(d.reason.contains("escalated fast -> balanced after 1 previous failure"), "{}", d.reason);
    i.previous_failures = 2;
    assert_eq!(route(&i).tier, Tier::Powerful);
    i.previous_failures = 7;
    assert_eq!(route(&i).tier, Tier::Powerful);
}

#[test]
fn a_critical_step_of_judgment_goes_one_tier_up_and_mechanical_work_does_not() {
    let models = TierModels::default();
    let none = Value::Null;
    let prompt = "Helicopter now, or carry him off the hill?";
    let mut i = input("conditional", "heli", prompt, &none, &models);
    let plain = route(&i);
    assert_eq!(plain.tier, Tier::Balanced, "{}", plain.reason);
    i.critical = true;
    let critical = route(&i);
    assert_eq!((critical.score_tier, critical.tier), (Tier::Balanced, Tier::Powerful));
    assert_eq!(critical.score, plain.score, "the score is the step's; criticality moves the tier");
    assert!(critical.reason.contains("a critical step of judgment: balanced -> powerful"), "{}", critical.reason);
    // A failure escalates from the critical tier, and the top tier holds.
    i.previous_failures = 1;
    let retried = route(&i);
    assert_eq!(retried.tier, Tier::Powerful);
    assert!(retried.reason.contains("already at the top tier after 1 previous failure"), "{}", retried.reason);

    // Structured params, mechanical work in words and intents without judgment stay where their score puts them.
    let where_ = json!({"where": [{"field": "/status", "op": "eq", "value": "open"}]});
    let sum = input("aggregate", "totals", "Count the tickets per team and total the hours.", &none, &models);
    let transform = json!({"mapping": {"name": "/customer"}});
    for step in [
        input("filter", "open", "Keep the open tickets.", &where_, &models),
        sum,
        input("send", "post", "Post it to #ops.", &json!({"plugin": "slack"}), &models),
        input("transform", "shape", "Map it.", &transform, &models),
    ] {
        let plain = route(&step).tier;
        let critical = route(&RouteInput { critical: true, ..step });
        assert_eq!(critical.tier, plain, "{}", critical.reason);
    }
}

#[test]
fn routing_budget_steps_down_when_the_step_cannot_be_covered() {
    let models = TierModels::default();
    let code = json!({"type": "code"});
    let mut i = input("generate", "Terraform monitors", "Generate Terraform for the monitors.", &code, &models);
    i.prompt_tokens = 1_000;
    i.budget_remaining = Some(100_000);
    assert_eq!(route(&i).tier, Tier::Powerful);

    // A generate step needs its prompt plus ~1,200 output tokens on any tier:
    // 6,000 left covers it, so the tier stays.
    i.budget_remaining = Some(6_000);
    assert_eq!(route(&i).tier, Tier::Powerful);

    // 1,500 left cannot: the answer will be cut by the budget whatever the
    // tier, so the cheapest tier takes it.
    i.budget_remaining = Some(1_500);
    let d = route(&i);
    assert_eq!((d.score_tier, d.tier), (Tier::Powerful, Tier::Fast));
    assert!(
        d.reason.contains("stepped down powerful -> fast: 1500 tokens left cannot cover powerful's 2200"),
        "{}",
        d.reason
    );
    assert!(d.reason.contains("even fast needs 2200 tokens"), "{}", d.reason);
    assert_eq!(d.model.model, "claude-haiku-4-5");
}

#[test]
fn routing_expected_cost_uses_the_chosen_model() {
    let models = TierModels::default();
    let where_ = json!({"where": []});
    let mut i = input("filter", "Keep", "Keep the open tickets.", &where_, &models);
    i.prompt_tokens = 1_000;
    let d = route(&i);
    let expected = cost_usd(&models.fast, 1_000, budget::expected_output_tokens("filter"));
    assert!((d.expected_cost_usd - expected).abs() < 1e-12);
}

#[test]
fn routing_execution_score_is_an_ema_of_run_intensity() {
    let all_powerful = RunOutcome { steps: 4, failures: 0, avg_tier_used: 2.0, tokens: 4 * 250 };
    assert_eq!(run_intensity(&all_powerful), Some(6.0));
    let all_fast = RunOutcome { steps: 4, failures: 0, avg_tier_used: 0.0, tokens: 0 };
    assert_eq!(run_intensity(&all_fast), Some(0.0));
    let failing = RunOutcome { steps: 2, failures: 2, avg_tier_used: 2.0, tokens: 2 * 8_000 };
    assert_eq!(run_intensity(&failing), Some(10.0));

    // First run: the row starts at the run's intensity.
    let first = updated_execution_score(None, &all_powerful).unwrap();
    assert_eq!((first.creation, first.execution, first.combined), (6.0, 6.0, 6.0));

    // Later runs move execution 30% of the way; creation stays.
    let prev = AgentScores { creation: 4.0, execution: 5.0, combined: 4.5 };
    let next = updated_execution_score(Some(prev), &all_fast).unwrap();
    assert!((next.execution - 3.5).abs() < 1e-6, "{next:?}");
    assert_eq!(next.creation, 4.0);
    assert!((next.combined - 3.75).abs() < 1e-6);

    // Repeated identical runs converge on their intensity.
    let mut s = Some(prev);
    for _ in 0..40 {
        s = updated_execution_score(s, &all_powerful);
    }
    assert!((s.unwrap().execution - 6.0).abs() < 1e-3);

    // A run without steps changes nothing.
    let empty = RunOutcome { steps: 0, failures: 0, avg_tier_used: 0.0, tokens: 0 };
    assert_eq!(updated_execution_score(Some(prev), &empty), Some(prev));
    assert_eq!(updated_execution_score(None, &empty), None);
}

// ---------------------------------------------------------------------------
// Calibration on bench/corpus
// ---------------------------------------------------------------------------

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/corpus/contract");
/// Output tokens assumed per step for the cost comparison.
const ASSUMED_OUTPUT: u32 = 300;

/// `{{input.X}}` replaced by the input (strings as they are, anything else as
/// compact JSON); other templates stay as written.
fn resolve_inputs(prompt: &str, inputs: &Value) -> String {
    let mut out = String::new();
    let mut rest = prompt;
    while let Some(start) = rest.find("{{input.") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{{input.".len()..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        match inputs.get(after[..end].trim()) {
            Some(Value::String(s)) => out.push_str(s),
            Some(v) => out.push_str(&v.to_string()),
            None => out.push_str(&rest[start..start + "{{input.".len() + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn tier_of(label: &str) -> Tier {
    serde_json::from_value(Value::String(label.into())).unwrap_or_else(|_| panic!("bad tier label {label}"))
}

/// One labelled corpus step, ready to route.
struct CorpusStep {
    id: String,
    name: String,
    declared_intent: Option<String>,
    label_intent: String,
    label: Tier,
    prompt: String,
    prompt_tokens: u32,
    params: Value,
}

fn load_corpus() -> (usize, Vec<CorpusStep>) {
    let mut files: Vec<_> = std::fs::read_dir(CORPUS)
        .expect("bench/corpus")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut steps = Vec::new();
    for file in &files {
        let workflow: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        for step in workflow["steps"].as_array().unwrap() {
            let prompt = resolve_inputs(step["prompt"].as_str().unwrap(), &workflow["inputs"]);
            steps.push(CorpusStep {
                id: format!("{stem}/{}", step["id"].as_str().unwrap()),
                name: step["name"].as_str().unwrap().to_string(),
                declared_intent: step.get("intent").and_then(Value::as_str).map(str::to_string),
                label_intent: step["labels"]["intent"].as_str().unwrap().to_string(),
                label: tier_of(step["labels"]["tier"].as_str().unwrap()),
                prompt_tokens: prompt.split_whitespace().count() as u32,
                prompt,
                params: step.get("params").cloned().unwrap_or(Value::Null),
            });
        }
    }
    (files.len(), steps)
}

/// How routing did on the corpus under one set of assumptions.
struct Evaluation {
    matrix: [[u32; 3]; 3], // [label][routed]
    steps: u32,
    cost_routed: f64,
    cost_powerful: f64,
    /// Cost had every step run on its labelled tier.
    cost_labelled: f64,
    /// Steps whose score lies within 0.25 of a tier boundary.
    near_boundary: Vec<String>,
    misses: Vec<String>,
}

impl Evaluation {
    fn under(&self) -> u32 {
        (0..3).map(|l| (0..l).map(|p| self.matrix[l][p]).sum::<u32>()).sum()
    }
    fn over(&self) -> u32 {
        (0..3).map(|l| (l + 1..3).map(|p| self.matrix[l][p]).sum::<u32>()).sum()
    }
    fn routed(&self, t: Tier) -> u32 {
        (0..3).map(|l| self.matrix[l][t as usize]).sum()
    }
    fn pct(&self, n: u32) -> f64 {
        100.0 * f64::from(n) / f64::from(self.steps)
    }
    fn saving(&self) -> f64 {
        100.0 * (1.0 - self.cost_routed / self.cost_powerful)
    }
    fn one_line(&self) -> String {
        format!(
            "under {} ({:.1}%), over {}, fast/balanced/powerful {}/{}/{}, cost {:.1}% below all-powerful",
            self.under(),
            self.pct(self.under()),
            self.over(),
            self.routed(Tier::Fast),
            self.routed(Tier::Balanced),
            self.routed(Tier::Powerful),
            self.saving()
        )
    }
}

/// Routes every corpus step; `intent_of` picks the intent, `token_scale`
/// stretches the word count (BPE tokens run about 1.3 per English word).
fn evaluate(steps: &[CorpusStep], intent_of: impl Fn(&CorpusStep) -> String, token_scale: f32) -> Evaluation {
    let models = TierModels::default();
    let t = Thresholds::default();
    let mut e = Evaluation {
        matrix: [[0; 3]; 3],
        steps: 0,
        cost_routed: 0.0,
        cost_powerful: 0.0,
        cost_labelled: 0.0,
        near_boundary: vec![],
        misses: vec![],
    };
    for s in steps {
        let intent = intent_of(s);
        let prompt_tokens = (s.prompt_tokens as f32 * token_scale).round() as u32;
        let mut i = input(&intent, &s.name, &s.prompt, &s.params, &models);
        i.prompt_tokens = prompt_tokens;
        let d = route(&i);
        e.steps += 1;
        e.matrix[s.label as usize][d.tier as usize] += 1;
        e.cost_routed += cost_usd(&d.model, prompt_tokens, ASSUMED_OUTPUT);
        e.cost_powerful += cost_usd(&models.powerful, prompt_tokens, ASSUMED_OUTPUT);
        e.cost_labelled += cost_usd(models.get(s.label), prompt_tokens, ASSUMED_OUTPUT);
        if (d.score - t.fast_below).abs() <= 0.25 || (d.score - t.powerful_above).abs() <= 0.25 {
            e.near_boundary.push(format!("{} {:.2} ({})", s.id, d.score, s.label));
        }
        if d.tier != s.label {
            let kind = if d.tier < s.label { "UNDER" } else { "over " };
            e.misses.push(format!(
                "  {kind} {} ({intent}): label {}, routed {} at {:.2}: {}",
                s.id, s.label, d.tier, d.score, d.reason
            ));
        }
    }
    e
}

#[test]
fn routing_corpus_calibration() {
    let (files, steps) = load_corpus();
    assert_eq!(steps.len(), 189, "corpus size changed");
    let e = evaluate(&steps, |s| s.label_intent.clone(), 1.0);

    println!("\nrouting calibration on {files} workflows, {} steps (intent = labels.intent, tokens = words)", e.steps);
    println!("{:>16} {:>8} {:>9} {:>9}", "label \\ routed", "fast", "balanced", "powerful");
    for t in Tier::ALL {
        let row = e.matrix[t as usize];
        println!("{:>16} {:>8} {:>9} {:>9}", t.as_str(), row[0], row[1], row[2]);
    }
    let exact: u32 = (0..3).map(|l| e.matrix[l][l]).sum();
    println!(
        "exact {exact} ({:.1}%), over-routed {} ({:.1}%), under-routed {} ({:.1}%), within 0.25 of a boundary {}",
        e.pct(exact),
        e.over(),
        e.pct(e.over()),
        e.under(),
        e.pct(e.under()),
        e.near_boundary.len()
    );
    for t in Tier::ALL {
        let labelled: u32 = e.matrix[t as usize].iter().sum();
        println!(
            "share {:>9}: routed {:>3} ({:>4.1}%), labelled {labelled:>3} ({:>4.1}%)",
            t.as_str(),
            e.routed(t),
            e.pct(e.routed(t)),
            e.pct(labelled)
        );
    }
    println!(
        "cost (input = prompt words, output = {ASSUMED_OUTPUT} per step): routed ${:.4} vs all-powerful ${:.4}: {:.1}% less",
        e.cost_routed,
        e.cost_powerful,
        e.saving()
    );
    println!(
        "labelled tiers as an oracle: ${:.4}, {:.1}% less than all-powerful",
        e.cost_labelled,
        100.0 * (1.0 - e.cost_labelled / e.cost_powerful)
    );
    println!("misrouted steps:\n{}", e.misses.join("\n"));
    println!("near a boundary (score, label): {}", e.near_boundary.join("; "));

    // Sensitivity, printed only: the same router under other assumptions.
    let scaled = evaluate(&steps, |s| s.label_intent.clone(), 1.3);
    println!("sensitivity: tokens = 1.3 x words: {}", scaled.one_line());
    let classified = evaluate(
        &steps,
        |s| crate::classify::classify(s.declared_intent.as_deref(), &s.params, &s.name, &s.prompt).intent,
        1.0,
    );
    println!("sensitivity: intent from classify() instead of the label: {}", classified.one_line());

    assert!(
        e.pct(e.under()) <= 5.0,
        "under-routing {} of {} steps ({:.1}%) exceeds 5%",
        e.under(),
        e.steps,
        e.pct(e.under())
    );
}

#[test]
fn routing_resolve_inputs_is_naive_but_complete() {
    let inputs = json!({"a": "text", "n": 5, "list": [1, {"k": null}]});
    assert_eq!(
        resolve_inputs("x {{input.a}} {{input.n}} {{input.list}} {{input.zz}} {{steps.s.output}}", &inputs),
        "x text 5 [1,{\"k\":null}] {{input.zz}} {{steps.s.output}}"
    );
}

#[test]
fn a_costly_domain_raises_judgment_but_not_mechanical_work() {
    let models = TierModels::default();
    let none = json!({});
    let prompt = "Rate the risk of this claim as low, medium or high.";
    let plain = route(&input("classify", "risk", prompt, &none, &models));
    let goal = Some("Read a home-insurance claim form and score the fraud risk.");
    let insured = route(&RouteInput { goal, ..input("classify", "risk", prompt, &none, &models) });
    assert!(insured.score > plain.score, "{} vs {}", insured.score, plain.score);
    assert!(
        insured.reason.contains("domain stakes") || insured.contributions.iter().any(|c| c.factor == Factor::Domain)
    );
    // Delivery and structured work are not harder in a costly domain.
    let send = route(&RouteInput { goal, ..input("send", "post", "Post it to #claims.", &none, &models) });
    assert!(send.contributions.iter().all(|c| c.factor != Factor::Domain));
    let structured = json!({"where": [{"field": "/amount", "op": "gt", "value": 100}]});
    let filter = route(&RouteInput { goal, ..input("filter", "big", "Keep large items.", &structured, &models) });
    assert!(filter.contributions.iter().all(|c| c.factor != Factor::Domain));
}

#[test]
fn labelling_every_item_of_a_batch_is_harder_than_one_label() {
    let models = TierModels::default();
    let none = json!({});
    let one = route(&input("classify", "tag", "Tag this comment with one theme.", &none, &models));
    let batch = route(&input("classify", "tag", "Tag each comment with one theme.", &none, &models));
    assert_eq!(batch.score - one.score, BATCH_LABELS);
}
