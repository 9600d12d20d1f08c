//! The cohort comparison of `pilot report` and the console: orchestrated
//! runs against normal ones (whose `orchestration_enabled` resolved off),
//! overall, by agent and by intent, from `token_usage`, `executions` and the
//! failed steps' audit events alone, so every figure is a sum an operator can
//! check in SQL.
//!
//! Per-step tokens and cost count every usage row of a run, the
//! orchestrator's own calls and paid failed attempts included; by intent
//! only the steps of that intent and their paid failed attempts. A
//! percentage buckets whole workflows (of one agent), so runs of one
//! workflow are not independent samples: the spread is that of a ratio
//! estimator over workflows, the saving's 95% interval follows from it, and
//! a verdict needs a few workflows per cohort.

mod stats;
pub mod table;
pub mod window;

use crate::storage::cohorts::{CohortRow, CohortRows, CohortUsage};
use serde::Serialize;
use stats::{Cluster, quantile};
pub use stats::{PerStep, Saving};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Runs each cohort needs before a saving is worth acting on.
pub const MIN_RUNS: usize = 30;

/// Distinct workflows each cohort needs before a saving is worth acting on.
pub const MIN_WORKFLOWS: usize = 5;

/// One cohort's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CohortStats {
    pub runs: usize,
    /// Distinct workflows among the runs.
    pub workflows: usize,
    /// Runs that ended `failed` (by intent: `None`, runs fail as a whole).
    pub failed_runs: Option<usize>,
    pub failure_pct: Option<f64>,
    /// Steps that ran (a usage row of path `orchestrated` or `fallback`).
    pub steps: usize,
    /// Steps neither path could run (`WORKFLOW_STEP_FAILED`), and their share
    /// of the steps that ran or failed.
    pub failed_steps: usize,
    pub step_failure_pct: Option<f64>,
    /// Of an orchestrated run's steps, those run the normal way instead (`None` for normal runs).
    pub fallback_steps: Option<usize>,
    pub fallback_pct: Option<f64>,
    pub tokens: u64,
    pub cost_usd: f64,
    pub tokens_per_step: Option<PerStep>,
    pub cost_per_step: Option<PerStep>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
}

/// Orchestrated against normal runs, and what that saves per step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub orchestrated: CohortStats,
    pub normal: CohortStats,
    pub token_saving: Option<Saving>,
    pub cost_saving: Option<Saving>,
    /// Whether the sample supports the token saving: `no data` (a cohort ran
    /// no step), `too few runs`, `too few workflows`, `no clear difference`
    /// (its interval spans zero), `costs more` (the interval lies below zero)
    /// or `holds`.
    pub verdict: &'static str,
}

/// A comparison for one agent or intent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Keyed {
    pub key: String,
    #[serde(flatten)]
    pub comparison: Comparison,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub window_seconds: u64,
    pub overall: Comparison,
    pub by_agent: Vec<Keyed>,
    pub by_intent: Vec<Keyed>,
    /// Runs in the window without a cohort (started before cohorts were recorded).
    pub runs_without_cohort: u64,
    pub min_runs: usize,
    pub min_workflows: usize,
    /// Only the runs a percentage rollout decided ([`CohortRows::percentage_rollout_only`]).
    pub percentage_rollout_only: bool,
}

/// What one entry adds to its cohort.
enum What<'r> {
    Usage(&'r CohortUsage),
    FailedStep,
    /// A run without usage rows: counted as a run, nothing else.
    Nothing,
}

/// A usage row or a failed step, with its run's facts and its step's intent.
struct Entry<'r> {
    run: &'r CohortRow,
    intent: Option<&'r str>,
    what: What<'r>,
}

impl Report {
    /// The report over `data`, or over the runs of it a percentage decided.
    pub fn selected(data: CohortRows, window_seconds: u64, percentage_rollout_only: bool) -> Report {
        if !percentage_rollout_only {
            return Report::of(&data, window_seconds);
        }
        Report { percentage_rollout_only, ..Report::of(&data.percentage_rollout_only(), window_seconds) }
    }

    pub fn of(data: &CohortRows, window_seconds: u64) -> Report {
        let entries = entries(data);
        let agents: BTreeSet<&str> = entries.iter().map(|e| e.run.agent_id.as_str()).collect();
        let intents: BTreeSet<&str> = entries.iter().filter_map(|e| e.intent).collect();
        Report {
            window_seconds,
            overall: compare(&entries, |_| true, true),
            by_agent: agents
                .into_iter()
                .map(|a| Keyed { key: a.to_string(), comparison: compare(&entries, |e| e.run.agent_id == a, true) })
                .collect(),
            by_intent: intents
                .into_iter()
                .map(|i| Keyed { key: i.to_string(), comparison: compare(&entries, |e| e.intent == Some(i), false) })
                .collect(),
            runs_without_cohort: data.runs_without_cohort,
            min_runs: MIN_RUNS,
            min_workflows: MIN_WORKFLOWS,
            percentage_rollout_only: false,
        }
    }
}

/// Every usage row and failed step, each with the intent of its step: a
/// paid failed attempt takes the intent of the step it was made for (from
/// the step's row, or its failure's event), and a step with a row of a step
/// that ran (a durable run's step that failed under one lease and ran under
/// another) is not failed.
fn entries(data: &CohortRows) -> Vec<Entry<'_>> {
    let mut runs: HashMap<&str, &CohortRow> = HashMap::new();
    let mut step_intents: HashMap<(&str, &str), Option<&str>> = HashMap::new();
    for row in &data.rows {
        runs.entry(row.execution_id.as_str()).or_insert(row);
        if let Some(u) = &row.usage
            && is_step(&u.model_info)
            && let Some(step) = &u.step_id
        {
            step_intents.insert((&row.execution_id, step), u.model_info["intent"].as_str());
        }
    }
    let failed_intents: HashMap<(&str, &str), Option<&str>> = data
        .failed_steps
        .iter()
        .map(|f| ((f.execution_id.as_str(), f.step_id.as_str()), f.intent.as_deref()))
        .collect();
    let mut entries: Vec<Entry> = data
        .rows
        .iter()
        .map(|run| match &run.usage {
            None => Entry { run, intent: None, what: What::Nothing },
            Some(u) => {
                let intent = match u.model_info["path"].as_str() {
                    _ if is_step(&u.model_info) => u.model_info["intent"].as_str(),
                    Some("failed_attempt") => u.step_id.as_deref().and_then(|step| {
                        let key = (run.execution_id.as_str(), step);
                        step_intents.get(&key).or_else(|| failed_intents.get(&key)).copied().flatten()
                    }),
                    _ => None,
                };
                Entry { run, intent, what: What::Usage(u) }
            }
        })
        .collect();
    for failed in &data.failed_steps {
        let ran_later = step_intents.contains_key(&(failed.execution_id.as_str(), failed.step_id.as_str()));
        if let (Some(run), false) = (runs.get(failed.execution_id.as_str()), ran_later) {
            entries.push(Entry { run, intent: failed.intent.as_deref(), what: What::FailedStep });
        }
    }
    entries
}

/// A row of a step that ran, on either path.
fn is_step(model_info: &serde_json::Value) -> bool {
    matches!(model_info["path"].as_str(), Some("orchestrated" | "fallback"))
}

/// Both cohorts over the entries `keep` selects; `whole_runs` when runs (and
/// their failures) are the unit, not the selected steps alone.
fn compare(entries: &[Entry], keep: impl Fn(&Entry) -> bool, whole_runs: bool) -> Comparison {
    let orchestrated = cohort(entries.iter().filter(|e| e.run.orchestrated && keep(e)), whole_runs, true);
    let normal = cohort(entries.iter().filter(|e| !e.run.orchestrated && keep(e)), whole_runs, false);
    let saving = |f: fn(&CohortStats) -> Option<PerStep>| {
        f(&orchestrated).zip(f(&normal)).and_then(|(t, c)| Saving::between(t, c))
    };
    let token_saving = saving(|c| c.tokens_per_step);
    let cost_saving = saving(|c| c.cost_per_step);
    let interval = token_saving.and_then(|s| s.interval_pct);
    let verdict = if token_saving.is_none() {
        "no data"
    } else if orchestrated.runs < MIN_RUNS || normal.runs < MIN_RUNS {
        "too few runs"
    } else if orchestrated.workflows < MIN_WORKFLOWS || normal.workflows < MIN_WORKFLOWS {
        "too few workflows"
    } else if interval.is_some_and(|(_, high)| high < 0.0) {
        "costs more"
    } else if interval.is_none_or(|(low, _)| low <= 0.0) {
        "no clear difference"
    } else {
        "holds"
    };
    Comparison { orchestrated, normal, token_saving, cost_saving, verdict }
}

/// One cohort's figures from its entries; the spread is over workflows.
fn cohort<'r>(entries: impl Iterator<Item = &'r Entry<'r>>, whole_runs: bool, orchestrated: bool) -> CohortStats {
    // Per run: whether it failed. Per workflow (of one agent, the rollout's unit): tokens and cost.
    let mut runs: BTreeMap<&str, bool> = BTreeMap::new();
    let mut workflows: BTreeMap<(&str, &str), (Cluster, Cluster)> = BTreeMap::new();
    let mut stats = CohortStats::default();
    let mut fallbacks = 0usize;
    let mut latencies = vec![];
    for entry in entries {
        let row = entry.run;
        runs.entry(&row.execution_id).or_insert(row.state == "failed");
        let workflow = workflows.entry((&row.workflow_id, &row.agent_id)).or_default();
        let usage = match entry.what {
            What::Usage(usage) => usage,
            What::FailedStep => {
                stats.failed_steps += 1;
                continue;
            }
            What::Nothing => continue,
        };
        if is_step(&usage.model_info) {
            stats.steps += 1;
            workflow.0.steps += 1.0;
            workflow.1.steps += 1.0;
            fallbacks += usize::from(usage.model_info["path"] == "fallback");
            latencies.extend(usage.model_info["time_ms"].as_f64());
        }
        stats.tokens += usage.tokens_used;
        stats.cost_usd += usage.cost;
        workflow.0.total += usage.tokens_used as f64;
        workflow.1.total += usage.cost;
    }
    stats.runs = runs.len();
    stats.workflows = workflows.keys().map(|(workflow, _)| *workflow).collect::<BTreeSet<_>>().len();
    let pct = |n: usize, of: usize| (of > 0).then(|| 100.0 * n as f64 / of as f64);
    if whole_runs {
        let failed = runs.values().filter(|failed| **failed).count();
        stats.failed_runs = Some(failed);
        stats.failure_pct = pct(failed, stats.runs);
    }
    stats.step_failure_pct = pct(stats.failed_steps, stats.steps + stats.failed_steps);
    if orchestrated {
        stats.fallback_steps = Some(fallbacks);
        stats.fallback_pct = pct(fallbacks, stats.steps);
    }
    let tokens: Vec<Cluster> = workflows.values().map(|(t, _)| *t).collect();
    let cost: Vec<Cluster> = workflows.values().map(|(_, c)| *c).collect();
    stats.tokens_per_step = PerStep::of(&tokens);
    stats.cost_per_step = PerStep::of(&cost);
    stats.latency_p50_ms = quantile(&mut latencies, 0.5);
    stats.latency_p95_ms = quantile(&mut latencies, 0.95);
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::cohorts::{CohortUsage, FailedStep};
    use serde_json::json;

    fn row(run: &str, agent: &str, orchestrated: bool, path: &str, intent: &str, tokens: u64, ms: f64) -> CohortRow {
        CohortRow {
            execution_id: run.into(),
            // Eight workflows, each run by several runs.
            workflow_id: format!("wf-{}", run.bytes().map(usize::from).sum::<usize>() % 8),
            agent_id: agent.into(),
            flag_scope: if orchestrated { "percent".into() } else { "outside_percent".into() },
            state: "completed".into(),
            orchestrated,
            usage: Some(CohortUsage {
                step_id: Some(format!("{run}-{intent}")),
                tokens_used: tokens,
                cost: tokens as f64 / 1e6,
                model_info: json!({"path": path, "intent": intent, "time_ms": ms}),
            }),
        }
    }

    /// A paid failed attempt by `handler` at the orchestrated run's step `{run}-{handler}`.
    fn attempt(run: &str, handler: &str, tokens: u64) -> CohortRow {
        CohortRow {
            usage: Some(CohortUsage {
                step_id: Some(format!("{run}-{handler}")),
                tokens_used: tokens,
                cost: tokens as f64 / 1e6,
                model_info: json!({"path": "failed_attempt", "handler": handler}),
            }),
            ..row(run, "agent-a", true, "x", "x", 0, 0.0)
        }
    }

    #[test]
    fn figures_are_sums_over_the_rows() {
        let mut rows = vec![];
        for i in 0..40 {
            let run = format!("o{i}");
            rows.push(row(&run, "agent-a", true, "orchestrated", "extract", 600 + i, 900.0));
            rows.push(row(
                &run,
                "agent-a",
                true,
                if i % 10 == 0 { "fallback" } else { "orchestrated" },
                "summarize",
                400,
                1100.0,
            ));
            // The orchestrator's own classification call: counted in tokens, not as a step.
            rows.push(CohortRow {
                usage: Some(CohortUsage {
                    step_id: None,
                    tokens_used: 50,
                    cost: 50.0 / 1e6,
                    model_info: json!({"path": "orchestrator", "calls": 1}),
                }),
                ..row(&run, "agent-a", true, "x", "x", 0, 0.0)
            });
            let run = format!("n{i}");
            rows.push(row(&run, "agent-a", false, "fallback", "extract", 1_000 + 2 * i, 1_000.0));
            rows.push(row(&run, "agent-a", false, "fallback", "summarize", 800, 1_200.0));
        }
        rows.push(CohortRow {
            state: "failed".into(),
            usage: None,
            ..row("n-failed", "agent-b", false, "x", "x", 0, 0.0)
        });
        // A paid failed attempt before o0's extract step ran: its intent's tokens, not a step.
        rows.push(attempt("o0", "extract", 70));
        // A paid attempt at a step that then failed: its failure's intent.
        rows.push(attempt("o1", "classify", 30));
        let failed_steps = vec![
            FailedStep { execution_id: "o1".into(), step_id: "o1-classify".into(), intent: Some("classify".into()) },
            FailedStep { execution_id: "n-failed".into(), step_id: "s".into(), intent: Some("classify".into()) },
            // Failed under one lease, ran under the next: not a failed step.
            FailedStep { execution_id: "o2".into(), step_id: "o2-extract".into(), intent: Some("extract".into()) },
        ];
        let data = CohortRows { rows: rows.clone(), failed_steps, runs_without_cohort: 3 };
        let report = Report::of(&data, 7 * 86_400);
        let o = &report.overall.orchestrated;
        let tokens: u64 =
            rows.iter().filter(|r| r.orchestrated).filter_map(|r| r.usage.as_ref()).map(|u| u.tokens_used).sum();
        assert_eq!((o.runs, o.workflows, o.steps, o.tokens), (40, 8, 80, tokens));
        assert_eq!((o.fallback_steps, o.failed_runs, o.failed_steps), (Some(4), Some(0), 1));
        assert_eq!(o.step_failure_pct, Some(100.0 / 81.0));
        assert_eq!(o.tokens_per_step.unwrap().value, tokens as f64 / 80.0);
        let n = &report.overall.normal;
        assert_eq!((n.runs, n.steps, n.failed_runs, n.fallback_steps), (41, 80, Some(1), None));
        assert_eq!((n.latency_p50_ms, n.latency_p95_ms), (Some(1_000.0), Some(1_200.0)));
        let saving = report.overall.token_saving.unwrap();
        let expected = 100.0 * (1.0 - o.tokens_per_step.unwrap().value / n.tokens_per_step.unwrap().value);
        assert!((saving.pct - expected).abs() < 1e-9);
        let (low, high) = saving.interval_pct.unwrap();
        assert!(low < saving.pct && saving.pct < high && low > 0.0, "{low} {high}");
        assert_eq!(report.overall.verdict, "holds");
        // By intent: that intent's steps only, the overhead rows left out.
        let extract = &report.by_intent.iter().find(|k| k.key == "extract").unwrap().comparison;
        assert_eq!((extract.orchestrated.steps, extract.orchestrated.failed_runs), (40, None));
        assert_eq!(extract.orchestrated.tokens, (0..40).map(|i| 600 + i).sum::<u64>() + 70);
        assert_eq!(extract.orchestrated.failed_steps, 0);
        // An intent whose steps only failed: counted per cohort, no saving to show.
        let classify = &report.by_intent.iter().find(|k| k.key == "classify").unwrap().comparison;
        assert_eq!((classify.orchestrated.failed_steps, classify.normal.failed_steps), (1, 1));
        assert_eq!(classify.orchestrated.tokens, 30, "the failed step's paid attempt");
        assert_eq!((classify.normal.step_failure_pct, classify.verdict), (Some(100.0), "no data"));
        // Agent b has one normal run and no orchestrated one: too few to say anything.
        let b = &report.by_agent.iter().find(|k| k.key == "agent-b").unwrap().comparison;
        assert_eq!((b.verdict, b.token_saving, b.normal.failure_pct), ("no data", None, Some(100.0)));
        assert_eq!(report.runs_without_cohort, 3);

        // The randomised comparison leaves out runs an operator chose.
        let mut chosen = data.clone();
        chosen.rows.push(CohortRow {
            flag_scope: "agent:agent-c".into(),
            ..row("c1", "agent-c", true, "orchestrated", "extract", 5, 1.0)
        });
        chosen.failed_steps.push(FailedStep { execution_id: "c1".into(), step_id: "x".into(), intent: None });
        let all = Report::of(&chosen, 60);
        let randomised = Report::of(&chosen.percentage_rollout_only(), 60);
        assert_eq!((all.overall.orchestrated.runs, randomised.overall.orchestrated.runs), (41, 40));
        assert_eq!(randomised.overall.orchestrated.failed_steps, 1);
        assert!(randomised.by_agent.iter().all(|k| k.key != "agent-c"));
    }
}
