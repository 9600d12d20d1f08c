//! Rollout: the three flags with every scope (editable through the same
//! checks as `pilot flags set`), and the cohort comparison as charts and a table.

use super::charts::{Series, bars};
use super::layout::{esc, page, table};
use crate::cohort_report::{Keyed, Report};
use crate::host::Host;
use crate::storage::settings::listing;
use axum::response::Html;
use orchestration::rollout::{SCOPED_FLAGS, Scope};
use serde::Deserialize;
use std::time::Duration;

/// The window the console's comparison covers.
const WINDOW: Duration = Duration::from_secs(7 * 86_400);
const ORCHESTRATED_COLOUR: &str = "#2f6fde";
const NORMAL_COLOUR: &str = "#9aa4b5";

/// A change to one flag, from the rollout page's form.
#[derive(Debug, Deserialize)]
pub struct FlagChange {
    pub flag: String,
    /// `global`, `user`, `agent`, `agent_type` or `percent`.
    pub scope: String,
    #[serde(default)]
    pub id: String,
    /// `true`/`false`, or the percentage for `percent`.
    #[serde(default)]
    pub value: String,
    /// `set` or `unset`.
    pub action: String,
}

/// Applies a change as `pilot flags set|unset` would; the message to show.
pub fn apply(host: &Host, change: &FlagChange) -> Result<String, String> {
    if !SCOPED_FLAGS.contains(&change.flag.as_str()) {
        tracing::warn!(flag = %change.flag, "console: a write to a setting outside the rollout flags was refused");
        return Err(format!("the console changes only {}", SCOPED_FLAGS.join(", ")));
    }
    let id = change.id.trim().to_string();
    let scope = match change.scope.as_str() {
        "global" => Scope::Global,
        "user" => Scope::User(id),
        "agent" => Scope::Agent(id),
        "agent_type" => Scope::AgentType(id),
        "percent" => Scope::Percent,
        other => return Err(format!("unknown scope `{other}`")),
    };
    let key = scope.key(&change.flag);
    let db = host.db();
    match change.action.as_str() {
        "set" => db.set_setting(&key, change.value.trim()).map(|()| format!("{key} = {}", change.value.trim())),
        "unset" => db
            .unset_setting(&key)
            .map(|removed| if removed { format!("{key} removed") } else { format!("{key} was not set") }),
        other => return Err(format!("unknown action `{other}`")),
    }
    .map_err(|e| e.to_string())
}

pub fn show(host: &Host, message: Option<Result<String, String>>) -> anyhow::Result<Html<String>> {
    let db = host.db();
    let rows = listing(db.list_settings("orchestration_")?);
    let flag_rows: Vec<Vec<String>> = SCOPED_FLAGS
        .iter()
        .flat_map(|flag| {
            rows.iter()
                .filter(move |l| l.setting.key == *flag || l.overrides.as_ref().is_some_and(|o| o.flag == *flag))
                .map(|l| {
                    let scope = l.overrides.as_ref().map_or_else(|| "global".to_string(), |o| o.scope.to_string());
                    let value = match l.overrides.as_ref().map(|o| o.scope.kind()) {
                        Some("percent") => format!("on for {}% of workflows", esc(&l.setting.value)),
                        _ => esc(&l.setting.value),
                    };
                    vec![
                        esc(flag),
                        format!("<span data-scope>{}</span>", esc(&scope)),
                        value,
                        esc(&l.setting.updated_at),
                    ]
                })
        })
        .collect();
    let banner = match &message {
        Some(Ok(m)) => format!("<p class=\"ok\" role=\"status\">{}</p>", esc(m)),
        Some(Err(e)) => format!("<p class=\"err\" role=\"alert\">{}</p>", esc(e)),
        None => String::new(),
    };
    let flags = table(&["flag", "scope", "value", "updated"], &[], &flag_rows);
    let report = Report::of(&db.cohort_rows(WINDOW)?, WINDOW.as_secs());
    let body = format!(
        "{banner}<p class=\"note\">The most specific scope wins: user, agent, agent type, percent, global. \
         A percentage turns a flag on for that share of workflows (a stable hash of workflow and agent ids) \
         and leaves the rest to the global value.</p>{flags}{form}<h2>Orchestrated against normal runs, last 7 days</h2>{charts}{table}",
        form = change_form(),
        charts = charts(&report),
        table = comparison_table(&report),
    );
    Ok(page("Rollout", "/ui/rollout", &body))
}

fn change_form() -> String {
    let flags: String = SCOPED_FLAGS.iter().map(|f| format!("<option>{f}</option>")).collect();
    format!(
        "<form class=\"inline\" method=\"post\" action=\"/ui/rollout\" id=\"flag-form\">\
         <label>Flag<select name=\"flag\">{flags}</select></label>\
         <label>Scope<select name=\"scope\"><option value=\"agent\">agent</option><option value=\"user\">user</option>\
         <option value=\"agent_type\">agent type</option><option value=\"percent\">percent</option>\
         <option value=\"global\">global</option></select></label>\
         <label>Id (agent, user or type)<input name=\"id\" size=\"18\"></label>\
         <label>Value (true, false or 0-100)<input name=\"value\" size=\"8\"></label>\
         <button name=\"action\" value=\"set\">Set</button>\
         <button name=\"action\" value=\"unset\" class=\"quiet\">Remove override</button></form>"
    )
}

fn charts(report: &Report) -> String {
    let mut keyed = vec![Keyed { key: "all steps".into(), comparison: report.overall.clone() }];
    keyed.extend(report.by_intent.iter().cloned());
    let groups: Vec<String> = keyed.iter().map(|k| k.key.clone()).collect();
    let series = |per_step: fn(&crate::cohort_report::CohortStats) -> Option<f64>| {
        vec![
            Series {
                name: "orchestrated",
                colour: ORCHESTRATED_COLOUR,
                values: keyed.iter().map(|k| per_step(&k.comparison.orchestrated)).collect(),
            },
            Series {
                name: "normal",
                colour: NORMAL_COLOUR,
                values: keyed.iter().map(|k| per_step(&k.comparison.normal)).collect(),
            },
        ]
    };
    let tokens =
        bars("Tokens per step", "tokens per step", &groups, &series(|c| c.tokens_per_step.map(|p| p.value)), |v| {
            format!("{v:.0}")
        });
    let cost =
        bars("Cost per step", "US dollars per step", &groups, &series(|c| c.cost_per_step.map(|p| p.value)), |v| {
            format!("${v:.4}")
        });
    let latency = bars("Step latency, p50", "milliseconds", &groups, &series(|c| c.latency_p50_ms), |v| {
        if v < 10.0 { format!("{v:.1} ms") } else { format!("{v:.0} ms") }
    });
    format!("<div class=\"charts\">{tokens}{cost}{latency}</div>")
}

fn comparison_table(report: &Report) -> String {
    let mut keyed = vec![Keyed { key: "all".into(), comparison: report.overall.clone() }];
    keyed.extend(report.by_agent.iter().map(|k| Keyed { key: format!("agent {}", k.key), ..k.clone() }));
    keyed.extend(report.by_intent.iter().map(|k| Keyed { key: format!("intent {}", k.key), ..k.clone() }));
    let saving = |s: Option<crate::cohort_report::Saving>| match s {
        Some(s) => match s.interval_pct {
            Some((low, high)) => format!("{:.1}% <span class=\"note\">[{low:.1}, {high:.1}]</span>", s.pct),
            None => format!("{:.1}%", s.pct),
        },
        None => "-".into(),
    };
    let pct = |p: Option<f64>| p.map_or("-".into(), |p| format!("{p:.1}%"));
    let rows: Vec<Vec<String>> = keyed
        .iter()
        .map(|k| {
            let c = &k.comparison;
            vec![
                esc(&k.key),
                format!(
                    "<span data-runs-orchestrated>{}</span> / <span data-runs-normal>{}</span>",
                    c.orchestrated.runs, c.normal.runs
                ),
                format!("{} / {}", c.orchestrated.steps, c.normal.steps),
                saving(c.token_saving),
                saving(c.cost_saving),
                format!("{} / {}", pct(c.orchestrated.failure_pct), pct(c.normal.failure_pct)),
                pct(c.orchestrated.fallback_pct),
                esc(c.verdict),
            ]
        })
        .collect();
    let note = format!(
        "<p class=\"note\">Savings per step with their 95% interval; a verdict needs {} runs per cohort. \
         `pilot report --since 7d` prints the same figures.</p>",
        report.min_runs
    );
    format!(
        "{note}{}",
        table(
            &[
                "",
                "runs (orch. / normal)",
                "steps",
                "token saving",
                "cost saving",
                "failed runs",
                "fallback",
                "verdict"
            ],
            &[],
            &rows
        )
    )
}
