//! The comparison as one table of text cells, the same for `pilot report`
//! and the console: per key, a line per cohort and a line of savings.

use super::{CohortStats, Comparison, Keyed, PerStep, Report, Saving};

/// The columns, in order.
pub const HEADERS: [&str; 12] = [
    "key",
    "cohort",
    "runs",
    "workflows",
    "steps",
    "tokens/step",
    "cost/step ($)",
    "failed runs",
    "failed steps",
    "fallback",
    "p50 / p95 ms",
    "verdict",
];

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// `orchestrated`, `normal`, or `saving`.
    pub kind: &'static str,
    pub cells: [String; 12],
}

/// A section's lines: three per key.
pub fn lines(rows: &[Keyed]) -> Vec<Line> {
    rows.iter().flat_map(|k| keyed(&k.key, &k.comparison)).collect()
}

/// The sections of a report: the overall line, by agent and by intent.
pub fn sections(r: &Report) -> [(&'static str, Vec<Line>); 3] {
    [
        ("overall", lines(&[Keyed { key: "all".into(), comparison: r.overall.clone() }])),
        ("by agent", lines(&r.by_agent)),
        ("by intent (steps of that intent; runs fail as a whole, so only failed steps)", lines(&r.by_intent)),
    ]
}

fn keyed(key: &str, c: &Comparison) -> [Line; 3] {
    let Comparison { orchestrated, normal, token_saving, cost_saving, verdict } = c;
    let saving = [
        String::new(),
        "saving".into(),
        String::new(),
        String::new(),
        String::new(),
        pct_interval(*token_saving),
        pct_interval(*cost_saving),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        verdict.to_string(),
    ];
    [
        Line { kind: "orchestrated", cells: cohort(key, "orchestrated", orchestrated) },
        Line { kind: "normal", cells: cohort("", "normal", normal) },
        Line { kind: "saving", cells: saving },
    ]
}

fn cohort(key: &str, name: &str, s: &CohortStats) -> [String; 12] {
    [
        key.to_string(),
        name.to_string(),
        s.runs.to_string(),
        s.workflows.to_string(),
        s.steps.to_string(),
        per_step(s.tokens_per_step, 0),
        per_step(s.cost_per_step, 5),
        pct(s.failure_pct),
        match s.step_failure_pct {
            Some(p) => format!("{} ({p:.1}%)", s.failed_steps),
            None => "-".into(),
        },
        pct(s.fallback_pct),
        match (s.latency_p50_ms, s.latency_p95_ms) {
            (Some(p50), Some(p95)) => format!("{} / {}", ms(p50), ms(p95)),
            _ => "-".into(),
        },
        String::new(),
    ]
}

/// A per-step figure with its 95% spread.
fn per_step(p: Option<PerStep>, digits: usize) -> String {
    p.map_or("-".into(), |p| match p.std_error {
        Some(se) => format!("{:.digits$} ± {:.digits$}", p.value, 1.96 * se),
        None => format!("{:.digits$}", p.value),
    })
}

fn pct(p: Option<f64>) -> String {
    p.map_or("-".into(), |p| format!("{p:.1}%"))
}

fn pct_interval(s: Option<Saving>) -> String {
    match s {
        Some(Saving { pct, interval_pct: Some((low, high)) }) => format!("{pct:.1}% [{low:.1}, {high:.1}]"),
        Some(Saving { pct, interval_pct: None }) => format!("{pct:.1}%"),
        None => "-".into(),
    }
}

/// Milliseconds, with a decimal below 10 (a simulated model answers in well under one).
pub fn ms(v: f64) -> String {
    if v < 10.0 { format!("{v:.1}") } else { format!("{v:.0}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_as_its_cohorts_and_their_saving() {
        let stats = |value: f64| CohortStats {
            runs: 40,
            workflows: 6,
            steps: 80,
            failed_steps: 2,
            step_failure_pct: Some(2.0 / 82.0 * 100.0),
            failure_pct: Some(2.5),
            tokens_per_step: Some(PerStep { value, std_error: Some(10.0) }),
            cost_per_step: Some(PerStep { value: value / 1e6, std_error: None }),
            latency_p50_ms: Some(0.42),
            latency_p95_ms: Some(1_250.0),
            ..CohortStats::default()
        };
        let comparison = Comparison {
            orchestrated: stats(200.0),
            normal: stats(600.0),
            token_saving: Some(Saving { pct: 66.7, interval_pct: Some((60.0, 73.3)) }),
            cost_saving: None,
            verdict: "holds",
        };
        let lines = lines(&[Keyed { key: "agent-a".into(), comparison }]);
        assert_eq!(lines.iter().map(|l| l.kind).collect::<Vec<_>>(), ["orchestrated", "normal", "saving"]);
        let o = &lines[0].cells;
        assert_eq!((o[0].as_str(), o[3].as_str(), o[5].as_str()), ("agent-a", "6", "200 ± 20"));
        assert_eq!((o[6].as_str(), o[8].as_str(), o[10].as_str()), ("0.00020", "2 (2.4%)", "0.4 / 1250"));
        assert_eq!((lines[2].cells[5].as_str(), lines[2].cells[6].as_str()), ("66.7% [60.0, 73.3]", "-"));
        assert_eq!(lines[2].cells[11], "holds");
    }
}
