//! Rollout: the three flags with every scope (editable through the same
//! checks as `pilot flags set`), and the cohort comparison as charts and a table.

use super::charts::{Series, bars};
use super::layout::{esc, page, table};
use crate::capabilities::settings::{self, Operator};
use crate::cohort_report::table::{HEADERS, ms, sections};
use crate::cohort_report::{Keyed, Report, window};
use crate::host::Host;
use crate::storage::settings::listing;
use axum::response::Html;
use orchestration::rollout::{SCOPED_FLAGS, Scope};
use serde::Deserialize;

/// The windows the page offers; any `pilot report --since` window works in the address.
const WINDOWS: [&str; 4] = ["24h", "7d", "30d", "90d"];
const DEFAULT_WINDOW: &str = "7d";
const ORCHESTRATED_COLOUR: &str = "#2f6fde";
const NORMAL_COLOUR: &str = "#9aa4b5";

/// The page's query: the comparison's window.
#[derive(Debug, Default, Deserialize)]
pub struct View {
    #[serde(default)]
    pub since: String,
    /// `percent`: only the runs a percentage rollout decided.
    #[serde(default)]
    pub runs: String,
}

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
    let value = change.value.trim();
    match change.action.as_str() {
        "set" => settings::change(db, &key, Some(value), Operator::Console).map(|_| format!("{key} = {value}")),
        "unset" => settings::change(db, &key, None, Operator::Console)
            .map(|removed| if removed { format!("{key} removed") } else { format!("{key} was not set") }),
        other => return Err(format!("unknown action `{other}`")),
    }
    .map_err(|e| e.to_string())
}

pub fn show(host: &Host, view: &View, message: Option<Result<String, String>>) -> anyhow::Result<Html<String>> {
    let db = host.db();
    let asked = Some(view.since.trim()).filter(|s| !s.is_empty()).unwrap_or(DEFAULT_WINDOW);
    let (since, window, message) = match window::parse(asked) {
        Ok(w) => (asked, w, message),
        Err(e) => (DEFAULT_WINDOW, window::parse(DEFAULT_WINDOW).expect("the default window parses"), Some(Err(e))),
    };
    let rows = listing(db.list_settings("orchestration_")?);
    let flag_rows: Vec<Vec<String>> = SCOPED_FLAGS
        .iter()
        .flat_map(|flag| {
            rows.iter()
                .filter(move |l| l.setting.key == *flag || l.overrides.as_ref().is_some_and(|o| o.flag == *flag))
                .map(|l| {
                    let scope = l.overrides.as_ref().map(|o| &o.scope);
                    let value = match scope.map(Scope::kind) {
                        Some("percent") => format!("on for {}% of workflows", esc(&l.setting.value)),
                        _ => esc(&l.setting.value),
                    };
                    vec![
                        esc(flag),
                        format!(
                            "<span data-scope>{}</span>",
                            esc(&scope.map_or_else(|| "global".into(), Scope::to_string))
                        ),
                        value,
                        esc(&l.setting.updated_at),
                        scope.map(|s| remove_button(flag, s)).unwrap_or_default(),
                    ]
                })
        })
        .collect();
    let banner = match &message {
        Some(Ok(m)) => format!("<p class=\"ok\" role=\"status\">{}</p>", esc(m)),
        Some(Err(e)) => format!("<p class=\"err\" role=\"alert\">{}</p>", esc(e)),
        None => String::new(),
    };
    let flags = table(&["flag", "scope", "value", "updated", ""], &[], &flag_rows);
    let percentage_only = view.runs == "percent";
    let report = Report::selected(db.cohort_rows(window)?, window.as_secs(), percentage_only);
    let body = format!(
        "{banner}<p class=\"note\">The most specific scope wins: user, agent, agent type, percent, global. \
         A percentage turns a flag on for that share of workflows (a stable hash of workflow and agent ids) \
         and leaves the rest to the global value. Every change is audited as <code>SETTING_CHANGED</code>.</p>\
         {flags}{form}<h2>Orchestrated against normal runs, last {named}</h2>{choice}{charts}{table}",
        form = change_form(),
        named = esc(&window::name(window.as_secs())),
        choice = window_choice(since, percentage_only),
        charts = charts(&report),
        table = comparison_table(&report),
    );
    Ok(page("Rollout", "/ui/rollout", &body))
}

/// A form that removes one override, as `pilot flags unset` would.
fn remove_button(flag: &str, scope: &Scope) -> String {
    let id = match scope {
        Scope::User(id) | Scope::Agent(id) | Scope::AgentType(id) => id.as_str(),
        Scope::Percent | Scope::Global => "",
    };
    format!(
        "<form method=\"post\" action=\"/ui/rollout\" class=\"row-action\">\
         <input type=\"hidden\" name=\"flag\" value=\"{}\"><input type=\"hidden\" name=\"scope\" value=\"{}\">\
         <input type=\"hidden\" name=\"id\" value=\"{}\">\
         <button name=\"action\" value=\"unset\" class=\"quiet\" aria-label=\"remove {} for {}\">Remove</button></form>",
        esc(flag),
        scope.kind(),
        esc(id),
        esc(flag),
        esc(&scope.to_string())
    )
}

/// Links to the offered windows and to the two selections of runs, the current ones marked.
fn window_choice(current: &str, percentage_only: bool) -> String {
    let link = |since: &str, percentage_only: bool| {
        let mut query = vec![("since", since)];
        if percentage_only {
            query.push(("runs", "percent"));
        }
        esc(&format!("/ui/rollout?{}", serde_urlencoded::to_string(query).unwrap_or_default()))
    };
    let windows: Vec<String> = WINDOWS
        .iter()
        .map(|w| {
            if *w == current {
                format!("<strong>{w}</strong>")
            } else {
                format!("<a href=\"{}\">{w}</a>", link(w, percentage_only))
            }
        })
        .collect();
    let selection = if percentage_only {
        format!(
            "<strong>only runs a percentage decided</strong> (percent against outside_percent) · \
             <a href=\"{}\">all runs</a>",
            link(current, false)
        )
    } else {
        format!(
            "<strong>all runs</strong> · <a href=\"{}\" id=\"percentage-only\">only runs a percentage decided</a> \
             (the randomised comparison)",
            link(current, true)
        )
    };
    format!(
        "<p class=\"note\">Window: {} (or <code>?since=</code> any window <code>pilot report --since</code> takes). \
         Runs: {selection}</p>",
        windows.join(" · ")
    )
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
            dollars(v)
        });
    let latency = |title: &str, quantile: fn(&crate::cohort_report::CohortStats) -> Option<f64>| {
        bars(title, "milliseconds", &groups, &series(quantile), |v| format!("{} ms", ms(v)))
    };
    let (p50, p95) =
        (latency("Step latency, p50", |c| c.latency_p50_ms), latency("Step latency, p95", |c| c.latency_p95_ms));
    format!("<div class=\"charts\">{tokens}{cost}{p50}{p95}</div>")
}

/// Dollars to four decimals without trailing zeros: `$0.0031`, `$0.001`, `$0`.
fn dollars(v: f64) -> String {
    let text = format!("{v:.4}");
    format!("${}", text.trim_end_matches('0').trim_end_matches('.'))
}

fn comparison_table(report: &Report) -> String {
    let mut out = format!(
        "<p class=\"note\">± and [low, high] are 95% intervals; a verdict needs {} runs and {} workflows per cohort \
         (a percentage buckets whole workflows). <code>pilot report --since</code> prints the same table.</p>",
        report.min_runs, report.min_workflows
    );
    for (title, lines) in sections(report) {
        let rows: Vec<Vec<String>> = lines
            .iter()
            .map(|line| {
                line.cells
                    .iter()
                    .enumerate()
                    .map(|(i, cell)| match (i, line.kind) {
                        (0, "orchestrated") if !cell.is_empty() => format!("<strong>{}</strong>", esc(cell)),
                        (2, "orchestrated") => format!("<span data-runs-orchestrated>{}</span>", esc(cell)),
                        (2, "normal") => format!("<span data-runs-normal>{}</span>", esc(cell)),
                        _ => esc(cell),
                    })
                    .collect()
            })
            .collect();
        out.push_str(&format!("<h3>{}</h3>{}", esc(title), table(&HEADERS, &[2, 3, 4, 5, 6, 7, 8, 9, 10], &rows)));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn window_links_carry_the_window_shown_encoded() {
        let html = super::window_choice("7d&runs=percent", false);
        assert!(html.contains("href=\"/ui/rollout?since=7d%26runs%3Dpercent&amp;runs=percent\""), "{html}");
        assert!(html.contains("href=\"/ui/rollout?since=30d\""), "{html}");
    }

    #[test]
    fn dollars_drop_trailing_zeros() {
        assert_eq!(super::dollars(0.0031), "$0.0031");
        assert_eq!(super::dollars(0.001), "$0.001");
        assert_eq!(super::dollars(0.0), "$0");
        assert_eq!(super::dollars(12.5), "$12.5");
    }
}
