//! `pilot report`.

use super::table;
use host_runner::cohort_report::{CohortStats, Comparison, Keyed, Report};

pub fn report(r: &Report) {
    println!("orchestrated vs. normal runs started in the last {}", window(r.window_seconds));
    if r.runs_without_cohort > 0 {
        println!(
            "({} finished runs in the window have no cohort: started before cohorts were recorded, or ended before \
             their flags were decided)",
            r.runs_without_cohort
        );
    }
    println!("a saving is worth acting on from {} runs per cohort; intervals are 95%\n", r.min_runs);
    comparisons("overall", &[Keyed { key: "all".into(), comparison: r.overall.clone() }]);
    comparisons("by agent", &r.by_agent);
    comparisons("by intent (steps of that intent; failures are counted per run)", &r.by_intent);
}

fn comparisons(title: &str, rows: &[Keyed]) {
    println!("{title}:");
    let mut lines = vec![];
    for k in rows {
        let Comparison { orchestrated, normal, token_saving, cost_saving, verdict } = &k.comparison;
        lines.push(line(&k.key, "orchestrated", orchestrated));
        lines.push(line("", "normal", normal));
        lines.push(vec![
            String::new(),
            "saving".into(),
            String::new(),
            String::new(),
            pct_interval(token_saving.as_ref().map(|s| (s.pct, s.interval_pct))),
            pct_interval(cost_saving.as_ref().map(|s| (s.pct, s.interval_pct))),
            String::new(),
            String::new(),
            String::new(),
            verdict.to_string(),
        ]);
    }
    table(
        &[
            "key",
            "cohort",
            "runs",
            "steps",
            "tokens/step",
            "cost/step",
            "failed runs",
            "fallback",
            "p50 / p95 ms",
            "verdict",
        ],
        &lines,
    );
    println!();
}

fn line(key: &str, cohort: &str, s: &CohortStats) -> Vec<String> {
    let per_step = |p: Option<host_runner::cohort_report::PerStep>, digits: usize| {
        p.map_or("-".into(), |p| match p.std_error {
            Some(se) => format!("{:.digits$} ± {:.digits$}", p.value, 1.96 * se),
            None => format!("{:.digits$}", p.value),
        })
    };
    vec![
        key.to_string(),
        cohort.to_string(),
        s.runs.to_string(),
        s.steps.to_string(),
        per_step(s.tokens_per_step, 0),
        per_step(s.cost_per_step, 5),
        opt_pct(s.failure_pct),
        opt_pct(s.fallback_pct),
        match (s.latency_p50_ms, s.latency_p95_ms) {
            (Some(p50), Some(p95)) => format!("{p50:.0} / {p95:.0}"),
            _ => "-".into(),
        },
        String::new(),
    ]
}

fn opt_pct(p: Option<f64>) -> String {
    p.map_or("-".into(), |p| format!("{p:.1}%"))
}

fn pct_interval(s: Option<(f64, Option<(f64, f64)>)>) -> String {
    match s {
        Some((pct, Some((low, high)))) => format!("{pct:.1}% [{low:.1}, {high:.1}]"),
        Some((pct, None)) => format!("{pct:.1}%"),
        None => "-".into(),
    }
}

fn window(seconds: u64) -> String {
    match seconds {
        86_400 => "day".into(),
        3_600 => "hour".into(),
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3_600 == 0 => format!("{} hours", s / 3_600),
        s => format!("{s} s"),
    }
}
