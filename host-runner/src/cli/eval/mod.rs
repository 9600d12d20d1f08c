//! `pilot eval`: runs a labeled corpus twice through the real host and
//! components, once the normal way on the powerful tier (the baseline: every
//! step a direct call with its full prompt and context) and once orchestrated,
//! and compares them with the labels: intent accuracy, tokens, cost, whether
//! the text the models read on the orchestrated pass still held each step's
//! key facts, and fidelity: whether each step's data facts (strings that live
//! only in its data, never in its prompt) reached its model at all (when the
//! host keeps a transcript).

pub mod html;
pub mod oracle;
pub mod sink;

use anyhow::{Context, Result};
use host_runner::host::Host;
use host_runner::runner::report::{Path, RunReport};
use host_runner::runner::workflow::Workflow;
use orchestration::keys;
use orchestration::routing::{Tier, tier_models_from_settings};
use serde::Serialize;
use std::collections::BTreeMap;

/// The model of the baseline: the seed's normal path on its most capable tier.
pub const BASELINE_MODEL: &str = "claude-opus-4-5";

/// One step whose classified intent differs from its label.
#[derive(Debug, Clone, Serialize)]
pub struct Misclassified {
    pub workflow: String,
    pub step: String,
    pub label: String,
    pub classified: String,
    pub confidence: f32,
}

/// How one orchestrated model-calling step was routed, beside its labeled tier.
#[derive(Debug, Clone, Serialize)]
pub struct RoutedStep {
    pub workflow: String,
    pub step: String,
    pub intent: String,
    pub label_tier: String,
    pub tier: String,
    /// The routing score (0-10) and the router's reason, from `ORCHESTRATION_STEP_EXECUTED`.
    pub score: Option<f64>,
    pub reason: Option<String>,
}

/// How many labeled steps of one intent were classified as another (or the same).
#[derive(Debug, Clone, Serialize)]
pub struct ConfusionCell {
    pub label: String,
    pub classified: String,
    pub steps: usize,
}

/// Totals of one pass over the corpus.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pass {
    pub tokens: u64,
    /// Tokens compression removed from what handlers sent.
    pub tokens_saved: u64,
    pub cost_usd: f64,
    pub steps_orchestrated: u32,
    pub steps_fallback: u32,
    pub steps_skipped: u32,
    pub steps_failed: u32,
}

impl Pass {
    fn add(&mut self, report: &RunReport) {
        self.tokens += report.metrics.total_tokens;
        self.tokens_saved += report.metrics.tokens_saved;
        self.cost_usd += report.metrics.total_cost_usd;
        self.steps_orchestrated += report.metrics.steps_orchestrated;
        self.steps_fallback += report.metrics.steps_fallback;
        self.steps_skipped += report.metrics.steps_skipped;
        self.steps_failed += report.metrics.steps_failed;
    }
}

/// Key facts checked in what the models read. A fact counts where the
/// baseline's model call for the step read it (a label the step's own text
/// never held is not compression's loss) and the orchestrated step called a model.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyFacts {
    pub steps_checked: usize,
    pub facts: usize,
    pub retained: usize,
    /// `workflow / step: fact` for each fact lost.
    pub lost: Vec<String>,
    /// Labeled facts the baseline's model input did not hold either.
    pub not_in_baseline: usize,
}

impl KeyFacts {
    pub fn retention_pct(&self) -> f64 {
        if self.facts == 0 { 100.0 } else { 100.0 * self.retained as f64 / self.facts as f64 }
    }
}

/// Data facts found in what a pass's model calls were sent, over the steps
/// that called a model on that pass (orchestrated steps on the orchestrated
/// pass; every step on the baseline).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fidelity {
    pub steps_checked: usize,
    pub facts: usize,
    pub present: usize,
    /// `workflow / step: fact` for each fact the model never saw.
    pub missing: Vec<String>,
}

impl Fidelity {
    /// `None` when no fact was checked (no step called a model).
    pub fn pct(&self) -> Option<f64> {
        (self.facts > 0).then(|| 100.0 * self.present as f64 / self.facts as f64)
    }

    fn check(&mut self, workflow: &str, step: &str, facts: &[String], sent: &str) {
        self.steps_checked += 1;
        for fact in facts {
            self.facts += 1;
            if sent.contains(fact.as_str()) {
                self.present += 1;
            } else {
                self.missing.push(format!("{workflow} / {step}: {fact}"));
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// The corpus split: the name of its directory (`contract`, `free`).
    pub split: String,
    pub provider: String,
    pub workflows: usize,
    pub steps: usize,
    pub labeled_steps: usize,
    pub intent_accuracy: f64,
    /// Accuracy of the free tiers alone (cue words, then the context tier; no
    /// model) with declared intents and params withheld: how steps written
    /// without a handler's params contract fare.
    pub free_tier_accuracy: f64,
    /// Accuracy per classification method: `method -> [correct, total]`.
    pub accuracy_by_method: BTreeMap<String, [usize; 2]>,
    pub misclassified: Vec<Misclassified>,
    /// Steps per `(labeled intent, classified intent)`, `-` when unclassified.
    pub confusion: Vec<ConfusionCell>,
    pub baseline: Pass,
    pub orchestrated: Pass,
    /// Tokens the orchestrated pass did not spend, relative to the baseline.
    pub token_savings_pct: f64,
    /// Cost the orchestrated pass did not spend, relative to the all-powerful baseline.
    pub cost_reduction_pct: f64,
    /// `ORCHESTRATION_BUDGET_EXCEEDED` events in the orchestrated pass.
    pub budget_events: u64,
    /// Orchestrated steps that called a model, and those whose model's tier
    /// is below the step's labeled tier.
    pub routed_steps: usize,
    pub under_routed: usize,
    /// `workflow / step (intent): routed tier < labeled tier` for each under-routed step.
    pub under_routed_steps: Vec<String>,
    pub under_routing_pct: f64,
    /// Steps routed above their labeled tier (cost, not quality).
    pub over_routed: usize,
    pub over_routing_pct: f64,
    /// Every routed labeled step with its tier, labeled tier, score and reason.
    pub routed: Vec<RoutedStep>,
    /// `None` when the host keeps no transcript.
    pub key_facts: Option<KeyFacts>,
    pub key_fact_retention_pct: Option<f64>,
    /// Data facts that reached the models of orchestrated model-calling
    /// steps; `None` without a transcript.
    pub fidelity: Option<Fidelity>,
    pub fidelity_pct: Option<f64>,
    /// The same on the baseline pass (the normal path).
    pub baseline_fidelity: Option<Fidelity>,
    /// Orchestrated-pass steps that fell back, over all steps.
    pub fallback_pct: f64,
    /// Orchestrated-pass fallbacks by intent and reason (numbers elided), most frequent first.
    pub fallback_reasons: Vec<(String, usize)>,
    /// Requests the plugin sink (a loopback test double) answered, by plugin;
    /// empty when the evaluation ran without it.
    pub plugin_requests: BTreeMap<String, usize>,
    /// Labeled steps the free tiers (pattern, params, context) settled at or
    /// above the classification threshold with the wrong intent: the LLM tier
    /// is never asked about them, whatever model plays it.
    pub confident_wrong: usize,
    pub confident_wrong_pct: f64,
    pub confident_wrong_steps: Vec<String>,
    /// The LLM classification tier: who answered it, its share of labeled steps and what it cost.
    pub llm_tier: LlmTier,
}

/// What the LLM classification tier did in the orchestrated pass.
#[derive(Debug, Clone, Serialize)]
pub struct LlmTier {
    /// `perfect (labels)`, `simulated (cannot classify)` or `provider (not metered)`.
    pub answered_by: &'static str,
    /// Labeled steps whose intent came from it.
    pub steps: usize,
    pub share_pct: f64,
    /// Its calls and their tokens (input and output), when metered.
    pub spend: Option<oracle::TierSpend>,
}

/// A split's name and its workflows (file name, workflow).
pub type Split = (String, Vec<(String, Workflow)>);

/// The splits of a corpus: the directory itself when it holds workflow
/// files, otherwise each of its subdirectories that does (sorted), each
/// named by its directory.
pub fn splits(dir: &std::path::Path) -> Result<Vec<Split>> {
    let name = |d: &std::path::Path| {
        d.file_name().map_or_else(|| d.display().to_string(), |n| n.to_string_lossy().into_owned())
    };
    let own = corpus(dir)?;
    if !own.is_empty() {
        return Ok(vec![(name(dir), own)]);
    }
    let mut subdirs: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading corpus directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    let mut splits = vec![];
    for sub in subdirs {
        let workflows = corpus(&sub)?;
        if !workflows.is_empty() {
            splits.push((name(&sub), workflows));
        }
    }
    if splits.is_empty() {
        anyhow::bail!("{}: no workflow files (*.json), in it or in its subdirectories", dir.display());
    }
    Ok(splits)
}

/// The corpus files of a directory, sorted.
pub fn corpus(dir: &std::path::Path) -> Result<Vec<(String, Workflow)>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading corpus directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok((path.display().to_string(), Workflow::parse(&text, &path.display().to_string())?))
        })
        .collect()
}

/// Runs both passes. The host's database is an evaluation scratch database:
/// its settings are switched between the passes.
pub async fn evaluate(
    host: &Host,
    split: &str,
    workflows: &[(String, Workflow)],
    transcripts: Option<&std::path::Path>,
    oracle: Option<&oracle::ClassificationOracle>,
    progress: impl Fn(&str),
) -> Result<EvalReport> {
    let set = |key: &str, value: &str| host.db().set_setting(key, value);
    let mut baseline = Pass::default();
    let mut orchestrated = Pass::default();
    let mut misclassified = Vec::new();
    let mut by_method: BTreeMap<String, [usize; 2]> = BTreeMap::new();
    let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
    let (mut labeled, mut correct, mut budget_events) = (0usize, 0usize, 0u64);
    let mut free_correct = 0usize;
    let (mut routed_steps, mut under_routed, mut over_routed) = (0usize, 0usize, 0usize);
    let mut under_routed_steps = vec![];
    let mut routed = vec![];
    let mut key_facts = host.transcript().map(|_| KeyFacts::default());
    let mut fidelity = host.transcript().map(|_| Fidelity::default());
    let mut baseline_fidelity = host.transcript().map(|_| Fidelity::default());
    let mut fallback_reasons: BTreeMap<String, usize> = BTreeMap::new();
    let (mut confident_wrong, mut llm_steps) = (Vec::new(), 0usize);
    let threshold = host
        .db()
        .setting(keys::CLASSIFICATION_THRESHOLD)?
        .and_then(|v| v.parse::<f32>().ok())
        .unwrap_or(keys::DEFAULT_CLASSIFICATION_THRESHOLD);
    let spent_before = oracle.map(oracle::ClassificationOracle::spend);
    for (name, workflow) in workflows {
        progress(name);
        if let Some(oracle) = oracle {
            let labels = workflow.steps.iter().filter_map(|s| Some((s.id.clone(), s.labels.as_ref()?.intent.clone())));
            oracle.set_labels(labels.collect());
        }
        set(keys::ORCHESTRATION_ENABLED, "false")?;
        set(keys::DEFAULT_MODEL, BASELINE_MODEL)?;
        let base = host.run(workflow).await.with_context(|| format!("{name}: baseline pass"))?;
        baseline.add(&base);

        set(keys::ORCHESTRATION_ENABLED, "true")?;
        set(keys::COMPRESSION_ENABLED, "true")?;
        set(keys::AIS_ROUTING_ENABLED, "true")?;
        set(keys::DEFAULT_MODEL, keys::DEFAULT_MODEL_ID)?;
        let report = host.run(workflow).await.with_context(|| format!("{name}: orchestrated pass"))?;
        orchestrated.add(&report);
        budget_events += count_budget_events(host, &report.execution_id)?;
        for step in report.steps.iter().filter(|s| s.path == Path::Fallback) {
            let reason = elide_numbers(step.fallback_reason.as_deref().unwrap_or("declined"));
            *fallback_reasons.entry(format!("{}: {reason}", step.intent.as_deref().unwrap_or("-"))).or_default() += 1;
        }
        if let (Some(transcript), Some(tally)) = (host.transcript(), key_facts.as_mut()) {
            for step in &workflow.steps {
                let baseline_text = transcript.take(&base.execution_id, &step.id);
                let orchestrated_text = transcript.take(&report.execution_id, &step.id);
                if let Some(dir) = transcripts {
                    let dir = dir.join(&workflow.id);
                    write_sent(&dir, &step.id, "baseline", baseline_text.as_deref())?;
                    write_sent(&dir, &step.id, "orchestrated", orchestrated_text.as_deref())?;
                }
                let Some(label) = &step.labels else { continue };
                let ran = report.steps.iter().any(|s| s.id == step.id && s.path == Path::Orchestrated);
                if !label.data_facts.is_empty() {
                    if let (Some(sent), Some(f)) = (&baseline_text, baseline_fidelity.as_mut()) {
                        f.check(&workflow.id, &step.id, &label.data_facts, sent);
                    }
                    if let (Some(sent), Some(f), true) = (&orchestrated_text, fidelity.as_mut(), ran) {
                        f.check(&workflow.id, &step.id, &label.data_facts, sent);
                    }
                }
                let (Some(read_before), Some(read_after)) = (baseline_text, orchestrated_text) else {
                    continue;
                };
                if !ran || label.key_facts.is_empty() {
                    continue;
                }
                tally.steps_checked += 1;
                for fact in &label.key_facts {
                    if !read_before.contains(fact.as_str()) {
                        tally.not_in_baseline += 1;
                    } else if read_after.contains(fact.as_str()) {
                        tally.facts += 1;
                        tally.retained += 1;
                    } else {
                        tally.facts += 1;
                        tally.lost.push(format!("{} / {}: {fact}", workflow.id, step.id));
                    }
                }
            }
        }
        let models = tier_models_from_settings(|key| host.db().setting(key).ok().flatten());
        let routing = routing_records(host, &report.execution_id)?;
        for step in &workflow.steps {
            let Some(label) = &step.labels else { continue };
            labeled += 1;
            free_correct += usize::from(free_tiers(workflow, step) == label.intent);
            let ran =
                report.steps.iter().find(|s| s.id == step.id && s.path == Path::Orchestrated && !s.model.is_empty());
            if let Some(ran) = ran {
                routed_steps += 1;
                let used = models.tier_of(&ran.model);
                let wanted = Tier::ALL.into_iter().find(|t| t.as_str() == label.tier);
                if let (Some(used), Some(wanted)) = (used, wanted) {
                    if used < wanted {
                        under_routed += 1;
                        under_routed_steps
                            .push(format!("{} / {} ({}): {used} < {wanted}", workflow.id, step.id, label.intent));
                    }
                    over_routed += usize::from(used > wanted);
                    let record = routing.get(&step.id);
                    routed.push(RoutedStep {
                        workflow: workflow.id.clone(),
                        step: step.id.clone(),
                        intent: label.intent.clone(),
                        label_tier: wanted.to_string(),
                        tier: used.to_string(),
                        score: record.and_then(|r| r["score"].as_f64()),
                        reason: record.and_then(|r| r["reason"].as_str().map(str::to_string)),
                    });
                }
            }
            let classified = report.classifications.iter().find(|c| c.step_id == step.id);
            let tally = by_method.entry(classified.map_or_else(|| "none".into(), |c| c.method.clone())).or_default();
            tally[1] += 1;
            if classified.is_some_and(|c| c.intent == label.intent) {
                tally[0] += 1;
            }
            llm_steps += usize::from(classified.is_some_and(|c| c.method == "llm"));
            if classified.is_some_and(|c| {
                c.intent != label.intent
                    && c.confidence >= threshold
                    && matches!(c.method.as_str(), "pattern" | "params" | "context")
            }) {
                let c = classified.expect("checked above");
                confident_wrong.push(format!(
                    "{} / {}: {} settled as {} by {} ({:.2})",
                    workflow.id, step.id, label.intent, c.intent, c.method, c.confidence
                ));
            }
            let as_classified = classified.map_or_else(|| "-".to_string(), |c| c.intent.clone());
            *confusion.entry((label.intent.clone(), as_classified)).or_default() += 1;
            match classified {
                Some(c) if c.intent == label.intent => correct += 1,
                other => misclassified.push(Misclassified {
                    workflow: workflow.id.clone(),
                    step: step.id.clone(),
                    label: label.intent.clone(),
                    classified: other.map_or_else(|| "-".into(), |c| c.intent.clone()),
                    confidence: other.map_or(0.0, |c| c.confidence),
                }),
            }
        }
    }
    let pct = |saved: f64, of: f64| if of > 0.0 { 100.0 * saved / of } else { 0.0 };
    let steps: usize = workflows.iter().map(|(_, w)| w.steps.len()).sum();
    Ok(EvalReport {
        split: split.to_string(),
        provider: host.provider_name().to_string(),
        workflows: workflows.len(),
        steps,
        fallback_pct: pct(f64::from(orchestrated.steps_fallback), steps as f64),
        labeled_steps: labeled,
        intent_accuracy: pct(correct as f64, labeled as f64),
        free_tier_accuracy: pct(free_correct as f64, labeled as f64),
        accuracy_by_method: by_method,
        misclassified,
        confusion: confusion
            .into_iter()
            .map(|((label, classified), steps)| ConfusionCell { label, classified, steps })
            .collect(),
        token_savings_pct: pct(baseline.tokens as f64 - orchestrated.tokens as f64, baseline.tokens as f64),
        cost_reduction_pct: pct(baseline.cost_usd - orchestrated.cost_usd, baseline.cost_usd),
        baseline,
        orchestrated,
        budget_events,
        routed_steps,
        under_routed,
        under_routed_steps,
        under_routing_pct: pct(under_routed as f64, routed_steps as f64),
        over_routed,
        over_routing_pct: pct(over_routed as f64, routed_steps as f64),
        routed,
        key_fact_retention_pct: key_facts.as_ref().map(KeyFacts::retention_pct),
        key_facts,
        fidelity_pct: fidelity.as_ref().and_then(Fidelity::pct),
        fidelity,
        baseline_fidelity,
        plugin_requests: BTreeMap::new(),
        confident_wrong: confident_wrong.len(),
        confident_wrong_pct: pct(confident_wrong.len() as f64, labeled as f64),
        confident_wrong_steps: confident_wrong,
        llm_tier: LlmTier {
            answered_by: match oracle {
                Some(o) if o.perfect() => "perfect (labels)",
                Some(_) => "simulated (cannot classify)",
                None => "provider (not metered)",
            },
            steps: llm_steps,
            share_pct: pct(llm_steps as f64, labeled as f64),
            spend: oracle.zip(spent_before).map(|(o, before)| {
                let now = o.spend();
                oracle::TierSpend { calls: now.calls - before.calls, tokens: now.tokens - before.tokens }
            }),
        },
        fallback_reasons: {
            let mut reasons: Vec<(String, usize)> = fallback_reasons.into_iter().collect();
            reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            reasons
        },
    })
}

/// Writes what one pass's model calls of a step were sent (nothing when it called none).
fn write_sent(dir: &std::path::Path, step: &str, pass: &str, sent: Option<&str>) -> Result<()> {
    let Some(sent) = sent else { return Ok(()) };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join(format!("{step}.{pass}.txt"));
    std::fs::write(&file, sent).with_context(|| format!("writing {}", file.display()))
}

/// The intent the free tiers give a step from its name and prompt alone.
fn free_tiers(workflow: &Workflow, step: &host_runner::runner::workflow::StepSpec) -> String {
    step.free_tier_intent(&serde_json::Value::Null, workflow.description.as_deref())
}

/// A reason with its numbers replaced by `N`, so that reasons differing only
/// in counts, sizes or indices group together.
fn elide_numbers(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut in_number = false;
    for c in reason.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out.chars().take(160).collect()
}

/// The routing record of each step's last `ORCHESTRATION_STEP_EXECUTED` event in a run.
fn routing_records(host: &Host, execution_id: &str) -> Result<BTreeMap<String, serde_json::Value>> {
    let events = host.db().audit(Some(execution_id), u32::MAX)?;
    Ok(events
        .into_iter()
        .filter(|e| e.event_type == "ORCHESTRATION_STEP_EXECUTED")
        .filter_map(|e| Some((e.step_id?, e.metadata.get("routing")?.clone())))
        .collect())
}

fn count_budget_events(host: &Host, execution_id: &str) -> Result<u64> {
    let events = host.db().audit(Some(execution_id), u32::MAX)?;
    Ok(events.iter().filter(|e| e.event_type == "ORCHESTRATION_BUDGET_EXCEEDED").count() as u64)
}
