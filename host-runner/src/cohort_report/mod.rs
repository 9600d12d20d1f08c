//! The cohort comparison of `pilot report` and the console: orchestrated
//! runs against normal ones (whose `orchestration_enabled` resolved off),
//! overall, by agent and by intent, from `token_usage` and `executions`
//! alone, so every figure is a sum an operator can check in SQL.
//!
//! Per-step tokens and cost count every usage row of a run, the
//! orchestrator's own calls and paid failed attempts included; by intent
//! only the steps of that intent. Their spread is that of a ratio estimator
//! over runs, and the saving's 95% interval follows from it.

mod stats;

use crate::storage::cohorts::{CohortRow, CohortRows};
use serde::Serialize;
use stats::{Cluster, quantile};
pub use stats::{PerStep, Saving};
use std::collections::BTreeMap;

/// Runs each cohort needs before a saving is worth acting on.
pub const MIN_RUNS: usize = 30;

/// One cohort's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CohortStats {
    pub runs: usize,
    /// Runs that ended `failed` (by intent: `None`, a failed step has no usage row).
    pub failed_runs: Option<usize>,
    pub failure_pct: Option<f64>,
    /// Steps that ran (a usage row of path `orchestrated` or `fallback`).
    pub steps: usize,
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
    /// no step), `too few runs`, `no clear difference` (its interval spans
    /// zero), `costs more` (the interval lies below zero) or `holds`.
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
}

impl Report {
    pub fn of(data: &CohortRows, window_seconds: u64) -> Report {
        let rows = &data.rows;
        let mut agents: Vec<&str> = rows.iter().map(|r| r.agent_id.as_str()).collect();
        agents.sort_unstable();
        agents.dedup();
        let mut intents: Vec<String> = rows.iter().filter_map(|r| step_intent(r).map(str::to_string)).collect();
        intents.sort_unstable();
        intents.dedup();
        Report {
            window_seconds,
            overall: compare(rows, |_| true, true),
            by_agent: agents
                .into_iter()
                .map(|a| Keyed { key: a.to_string(), comparison: compare(rows, |r| r.agent_id == a, true) })
                .collect(),
            by_intent: intents
                .into_iter()
                .map(|i| Keyed { comparison: compare(rows, |r| step_intent(r) == Some(i.as_str()), false), key: i })
                .collect(),
            runs_without_cohort: data.runs_without_cohort,
            min_runs: MIN_RUNS,
        }
    }
}

/// The intent of a step row; `None` for the orchestrator's own calls and failed attempts.
fn step_intent(row: &CohortRow) -> Option<&str> {
    let usage = row.usage.as_ref()?;
    is_step(&usage.model_info).then(|| usage.model_info["intent"].as_str()).flatten()
}

/// A row of a step that ran, on either path.
fn is_step(model_info: &serde_json::Value) -> bool {
    matches!(model_info["path"].as_str(), Some("orchestrated" | "fallback"))
}

/// Both cohorts over the rows `keep` selects; `whole_runs` when runs (and
/// their failures) are the unit, not the selected steps alone.
fn compare(rows: &[CohortRow], keep: impl Fn(&CohortRow) -> bool, whole_runs: bool) -> Comparison {
    let orchestrated = cohort(rows.iter().filter(|r| r.orchestrated && keep(r)), whole_runs, true);
    let normal = cohort(rows.iter().filter(|r| !r.orchestrated && keep(r)), whole_runs, false);
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
    } else if interval.is_some_and(|(_, high)| high < 0.0) {
        "costs more"
    } else if interval.is_none_or(|(low, _)| low <= 0.0) {
        "no clear difference"
    } else {
        "holds"
    };
    Comparison { orchestrated, normal, token_saving, cost_saving, verdict }
}

/// One cohort's figures from its rows, in run order.
fn cohort<'r>(rows: impl Iterator<Item = &'r CohortRow>, whole_runs: bool, orchestrated: bool) -> CohortStats {
    let mut runs: BTreeMap<&str, (Cluster, Cluster, bool)> = BTreeMap::new();
    let mut stats = CohortStats::default();
    let mut fallbacks = 0usize;
    let mut latencies = vec![];
    for row in rows {
        let run =
            runs.entry(&row.execution_id).or_insert((Cluster::default(), Cluster::default(), row.state == "failed"));
        let Some(usage) = &row.usage else { continue };
        let step = is_step(&usage.model_info);
        if step {
            stats.steps += 1;
            run.0.steps += 1.0;
            run.1.steps += 1.0;
            fallbacks += usize::from(usage.model_info["path"] == "fallback");
            latencies.extend(usage.model_info["time_ms"].as_f64());
        }
        stats.tokens += usage.tokens_used;
        stats.cost_usd += usage.cost;
        run.0.total += usage.tokens_used as f64;
        run.1.total += usage.cost;
    }
    stats.runs = runs.len();
    let pct = |n: usize, of: usize| (of > 0).then(|| 100.0 * n as f64 / of as f64);
    if whole_runs {
        let failed = runs.values().filter(|(_, _, failed)| *failed).count();
        stats.failed_runs = Some(failed);
        stats.failure_pct = pct(failed, stats.runs);
    }
    if orchestrated {
        stats.fallback_steps = Some(fallbacks);
        stats.fallback_pct = pct(fallbacks, stats.steps);
    }
    let tokens: Vec<Cluster> = runs.values().map(|(t, _, _)| *t).collect();
    let cost: Vec<Cluster> = runs.values().map(|(_, c, _)| *c).collect();
    stats.tokens_per_step = PerStep::of(&tokens);
    stats.cost_per_step = PerStep::of(&cost);
    stats.latency_p50_ms = quantile(&mut latencies, 0.5);
    stats.latency_p95_ms = quantile(&mut latencies, 0.95);
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::cohorts::CohortUsage;
    use serde_json::json;

    fn row(run: &str, agent: &str, orchestrated: bool, path: &str, intent: &str, tokens: u64, ms: f64) -> CohortRow {
        CohortRow {
            execution_id: run.into(),
            agent_id: agent.into(),
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
        let report = Report::of(&CohortRows { rows: rows.clone(), runs_without_cohort: 3 }, 7 * 86_400);
        let o = &report.overall.orchestrated;
        let tokens: u64 =
            rows.iter().filter(|r| r.orchestrated).filter_map(|r| r.usage.as_ref()).map(|u| u.tokens_used).sum();
        assert_eq!((o.runs, o.steps, o.tokens), (40, 80, tokens));
        assert_eq!((o.fallback_steps, o.failed_runs), (Some(4), Some(0)));
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
        assert_eq!(extract.orchestrated.tokens, (0..40).map(|i| 600 + i).sum::<u64>());
        // Agent b has one normal run and no orchestrated one: too few to say anything.
        let b = &report.by_agent.iter().find(|k| k.key == "agent-b").unwrap().comparison;
        assert_eq!((b.verdict, b.token_saving, b.normal.failure_pct), ("no data", None, Some(100.0)));
        assert_eq!(report.runs_without_cohort, 3);
    }
}
