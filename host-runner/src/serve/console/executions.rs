//! Executions: a filterable list, and one run's steps with what each did,
//! from `executions`, `token_usage` and the audit trail.

use super::layout::{esc, page, table, tag};
use super::transcripts;
use crate::host::Host;
use crate::storage::executions::{Execution, ExecutionFilter, Position};
use crate::storage::records::{AuditRow, UsageRow};
use axum::response::Html;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Runs a page lists.
const PAGE: u32 = 50;

/// The list's filters and page, from the query string.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub agent: String,
    /// Only runs that cost at least this many dollars.
    #[serde(default)]
    pub min_cost: String,
    /// The last run of the page before: its start and id.
    #[serde(default)]
    pub after_started: String,
    #[serde(default)]
    pub after_id: String,
}

impl Filters {
    /// The database's filter; a cost that is not a number is refused, saying so.
    fn to_filter(&self) -> Result<ExecutionFilter, String> {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let min_cost = match text(&self.min_cost) {
            None => None,
            Some(cost) => match cost.parse::<f64>() {
                Ok(c) if c.is_finite() && c >= 0.0 => Some(c),
                _ => return Err(format!("cost at least: `{cost}` is not an amount of dollars (such as 0.01)")),
            },
        };
        let after = match (text(&self.after_started), text(&self.after_id)) {
            (None, None) => None,
            (Some(started_at), Some(id)) if is_listed_time(&started_at) => Some(Position { started_at, id }),
            _ => return Err("the page's place is not one this list gave: start again from the newest runs".into()),
        };
        Ok(ExecutionFilter { state: text(&self.state), agent: text(&self.agent), min_cost, after, limit: PAGE })
    }

    fn first_page(&self) -> bool {
        self.after_started.trim().is_empty() && self.after_id.trim().is_empty()
    }

    /// This query string with the page moved to after `last`.
    fn next_page(&self, last: &Execution) -> String {
        let pairs = [
            ("state", self.state.as_str()),
            ("agent", self.agent.as_str()),
            ("min_cost", self.min_cost.as_str()),
            ("after_started", last.started_at.as_str()),
            ("after_id", last.id.as_str()),
        ];
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

pub fn list(host: &Host, filters: &Filters) -> anyhow::Result<Html<String>> {
    let db = host.db();
    let (runs, error) = match filters.to_filter() {
        Ok(filter) => (db.executions(&filter)?, None),
        Err(e) => (vec![], Some(e)),
    };
    let ids: Vec<String> = runs.iter().map(|run| run.id.clone()).collect();
    let totals = db.usage_totals(&ids)?;
    let states = ["", "queued", "running", "completed", "failed", "interrupted", "cancelled"];
    let options: String = states
        .iter()
        .map(|s| {
            let selected = if *s == filters.state { " selected" } else { "" };
            format!("<option value=\"{s}\"{selected}>{}</option>", if s.is_empty() { "any" } else { s })
        })
        .collect();
    let form = format!(
        "<form class=\"inline\" method=\"get\" action=\"/ui/executions\" id=\"filters\">\
         <label>State<select name=\"state\">{options}</select></label>\
         <label>Agent<input name=\"agent\" value=\"{}\" placeholder=\"agent id\"></label>\
         <label>Cost at least ($)<input name=\"min_cost\" value=\"{}\" inputmode=\"decimal\" size=\"8\"></label>\
         <button>Filter</button></form>",
        esc(&filters.agent),
        esc(&filters.min_cost)
    );
    let body: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let total = totals.get(&r.id).copied().unwrap_or_default();
            vec![
                format!("<a href=\"/ui/executions/{}\" data-run=\"{}\">{}</a>", esc(&r.id), esc(&r.id), esc(&r.id)),
                esc(&r.workflow_id),
                esc(&r.agent_id),
                tag(&r.state),
                cohort(r),
                total.tokens_used.to_string(),
                format!("${:.5}", total.cost),
                esc(&r.started_at),
            ]
        })
        .collect();
    let first_page = filters.first_page();
    let note = match &error {
        Some(e) => format!("<p class=\"err\" role=\"alert\">{}</p>", esc(e)),
        None => format!(
            "<p class=\"note\">{} runs{}, the most recent first.</p>",
            runs.len(),
            if first_page { "" } else { " after the page before" }
        ),
    };
    let list = table(
        &["execution", "workflow", "agent", "state", "orchestrated (by)", "tokens", "cost", "started"],
        &[5, 6],
        &body,
    );
    let more = match runs.last() {
        Some(last) if runs.len() as u32 == PAGE => {
            format!("<p><a href=\"/ui/executions?{}\" id=\"older\">Older runs →</a></p>", esc(&filters.next_page(last)))
        }
        _ => String::new(),
    };
    let newest = if first_page {
        String::new()
    } else {
        "<p><a href=\"/ui/executions\">← the most recent runs</a></p>".into()
    };
    Ok(page("Executions", "/ui/executions", &format!("{form}{note}{list}{more}{newest}")))
}

/// A start time as listings print it, `2026-12-06T21:16:20.009Z`: both
/// backends compare a page's place in that form.
fn is_listed_time(text: &str) -> bool {
    let shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    text.len() == shape.len()
        && text.chars().zip(shape.chars()).all(|(c, s)| if s == 'd' { c.is_ascii_digit() } else { c == s })
}

/// Whether the run was orchestrated, and which flag scope said so.
fn cohort(r: &Execution) -> String {
    r.cohort_label().map_or_else(|| "-".into(), |label| esc(&label))
}

/// What the audit trail says of one step.
#[derive(Default)]
struct StepEvents {
    handler_version: Option<String>,
    reason: Option<String>,
    path: Option<&'static str>,
}

fn events_by_step(audit: &[AuditRow]) -> BTreeMap<String, StepEvents> {
    let mut steps: BTreeMap<String, StepEvents> = BTreeMap::new();
    for e in audit {
        let Some(step) = &e.step_id else { continue };
        let entry = steps.entry(step.clone()).or_default();
        let text = |key: &str| e.metadata[key].as_str().map(str::to_string);
        match e.event_type.as_str() {
            "ORCHESTRATION_STEP_EXECUTED" => entry.handler_version = text("handler_version"),
            "WORKFLOW_STEP_EXECUTED" => entry.reason = text("reason"),
            "WORKFLOW_STEP_FAILED" => (entry.reason, entry.path) = (text("error"), Some("failed")),
            "WORKFLOW_STEP_SKIPPED" => (entry.reason, entry.path) = (text("reason"), Some("skipped")),
            _ => {}
        }
    }
    steps
}

pub fn run(host: &Host, token: &str, id: &str) -> anyhow::Result<Option<Html<String>>> {
    let db = host.db();
    let Some(run) = db.execution(id)? else { return Ok(None) };
    let usage = db.usage(id)?;
    let audit = db.audit(Some(id), 10_000)?;
    let events = events_by_step(&audit);
    let mut rows: Vec<Vec<String>> = usage.iter().map(|u| step_row(u, &events, run.orchestrated)).collect();
    // Steps with no usage row: failed or skipped.
    for (step, e) in
        events.iter().filter(|(s, e)| e.path.is_some() && !usage.iter().any(|u| u.step_id.as_ref() == Some(*s)))
    {
        rows.push(vec![
            esc(step),
            tag(e.path.unwrap_or("-")),
            "-".into(),
            "-".into(),
            "-".into(),
            "0".into(),
            "$0.00000".into(),
            format!("<span class=\"wrap\">{}</span>", esc(e.reason.as_deref().unwrap_or(""))),
        ]);
    }
    let (tokens, cost): (u64, f64) = (usage.iter().map(|u| u.tokens_used).sum(), usage.iter().map(|u| u.cost).sum());
    let facts = table(
        &["workflow", "agent", "user", "state", "orchestrated (by)", "tokens", "cost", "started", "ended"],
        &[5, 6],
        &[vec![
            esc(&run.workflow_id),
            esc(&run.agent_id),
            esc(&run.user_id),
            tag(&run.state),
            cohort(&run),
            format!("<span data-total-tokens>{tokens}</span>"),
            format!("<span data-total-cost>${cost:.5}</span>"),
            esc(&run.started_at),
            esc(run.ended_at.as_deref().unwrap_or("-")),
        ]],
    );
    let error = run.error.as_deref().map(|e| format!("<p class=\"err\">{}</p>", esc(e))).unwrap_or_default();
    let steps = table(
        &["step", "path", "intent", "handler (version)", "model", "tokens", "cost", "fallback or failure reason"],
        &[5, 6],
        &rows,
    );
    let sent = transcripts::section(host, token, id, usage.iter().filter_map(|u| u.step_id.as_deref()));
    let body =
        format!("{facts}{error}<h2>Steps</h2>{steps}{sent}<p><a href=\"/ui/executions\">← all executions</a></p>");
    Ok(Some(page(&format!("Execution {id}"), "/ui/executions", &body)))
}

/// A usage row as a line of the steps table: a step that ran, the
/// orchestrator's own calls, or a paid failed attempt. A step of a run that
/// was not orchestrated ran the normal way by design, not as a fallback.
fn step_row(u: &UsageRow, events: &BTreeMap<String, StepEvents>, orchestrated: Option<bool>) -> Vec<String> {
    let info = &u.model_info;
    let text = |key: &str| info[key].as_str().unwrap_or("-").to_string();
    let step = u.step_id.clone().unwrap_or_else(|| "(orchestrator)".into());
    let e = u.step_id.as_ref().and_then(|s| events.get(s));
    let handler = match (info["handler"].as_str(), e.and_then(|e| e.handler_version.as_deref())) {
        (Some(h), Some(v)) => format!("{} <span class=\"note\">{}</span>", esc(h), esc(v)),
        (Some(h), None) => esc(h),
        _ => "-".into(),
    };
    let reason = match info["path"].as_str() {
        Some("failed_attempt") => info["error"]["message"].as_str().map(str::to_string),
        _ => e.and_then(|e| e.reason.clone()),
    };
    vec![
        format!("<span data-step=\"{}\">{}</span>", esc(&step), esc(&step)),
        tag(match (info["path"].as_str(), orchestrated) {
            (Some("fallback"), Some(false)) => "normal",
            _ => info["path"].as_str().unwrap_or("-"),
        }),
        esc(&text("intent")),
        handler,
        esc(&text("model")),
        format!("<span data-tokens>{}</span>", u.tokens_used),
        format!("<span data-cost=\"{}\">${:.5}</span>", u.cost, u.cost),
        format!("<span class=\"wrap\">{}</span>", esc(reason.as_deref().unwrap_or(""))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_place_must_be_one_the_list_gave() {
        let page = |started: &str, id: &str| Filters {
            after_started: started.into(),
            after_id: id.into(),
            ..Filters::default()
        };
        let next = page("2026-12-06T21:16:20.009Z", "f8116b21").to_filter().unwrap();
        assert_eq!(next.after.unwrap().started_at, "2026-12-06T21:16:20.009Z");
        for (started, id) in [("yesterday", "x"), ("2026-12-06 21:16:20", "x"), ("2026-12-06T21:16:20.009Z", "")] {
            assert!(page(started, id).to_filter().is_err(), "{started} {id}");
        }
        assert!(page("", "").first_page() && !page("", "x").first_page());
        let cost = Filters { min_cost: "abc".into(), ..Filters::default() };
        assert!(cost.to_filter().unwrap_err().contains("`abc` is not an amount"));
    }
}
