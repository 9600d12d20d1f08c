//! `pilot eval --report FILE.html`: the evaluation as one self-contained
//! page (inline SVG and CSS, nothing fetched when it is viewed): per split,
//! bars of tokens and cost on both passes, the headline figures, the intent
//! confusion matrix, fallbacks by reason, misclassified and under-routed steps.

use super::EvalReport;
use std::collections::BTreeSet;
use std::fmt::Write;

const BAR_WIDTH: f64 = 420.0;

pub fn render(reports: &[EvalReport]) -> String {
    let mut page = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>pilot eval</title><style>\
         body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}\
         table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
         th{background:#f3f3f3}td.l,th.l{text-align:left}td.hit{background:#d8f0d8}td.miss{background:#f7d9d9}\
         h2{border-bottom:2px solid #444;margin-top:2em}.note{color:#666}\
         </style></head><body>\n<h1>pilot eval</h1>\n",
    );
    let provider = reports.first().map_or("", |r| r.provider.as_str());
    let _ = writeln!(
        page,
        "<p class=\"note\">Provider: {}. Baseline: every step the normal way on the powerful tier; orchestrated: \
         all three flags on.</p>",
        escape(provider)
    );
    for report in reports {
        split(&mut page, report);
    }
    page.push_str("</body></html>\n");
    page
}

fn split(page: &mut String, r: &EvalReport) {
    let _ = writeln!(page, "<h2>{}: {} workflows, {} steps</h2>", escape(&r.split), r.workflows, r.steps);
    let pct = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.1}%"));
    let fidelity = r.fidelity.as_ref().map_or("n/a".to_string(), |f| format!("{}/{}", f.present, f.facts));
    let rows = [
        ("intent accuracy", format!("{:.1}%", r.intent_accuracy)),
        ("free tiers alone", format!("{:.1}%", r.free_tier_accuracy)),
        ("fidelity (data facts that reached the model)", format!("{fidelity} ({})", pct(r.fidelity_pct))),
        ("fallback", format!("{:.1}%", r.fallback_pct)),
        ("token savings", format!("{:.1}%", r.token_savings_pct)),
        ("cost reduction", format!("{:.1}%", r.cost_reduction_pct)),
        ("under-routing", format!("{:.1}% ({} of {})", r.under_routing_pct, r.under_routed, r.routed_steps)),
        ("over-routing", format!("{:.1}% ({} of {})", r.over_routing_pct, r.over_routed, r.routed_steps)),
    ];
    page.push_str("<table>");
    for (name, value) in rows {
        let _ = write!(page, "<tr><th class=\"l\">{}</th><td>{}</td></tr>", escape(name), escape(&value));
    }
    page.push_str("</table>\n");
    bars(page, "tokens", r.baseline.tokens as f64, r.orchestrated.tokens as f64, |v| format!("{v:.0}"));
    bars(page, "cost (US$)", r.baseline.cost_usd, r.orchestrated.cost_usd, |v| format!("{v:.4}"));
    confusion(page, r);
    list(page, "Fallbacks by intent and reason", r.fallback_reasons.iter().map(|(why, n)| format!("{n} × {why}")));
    list(
        page,
        "Misclassified steps",
        r.misclassified.iter().map(|m| {
            format!(
                "{} / {}: labeled {}, classified {} ({:.2})",
                m.workflow, m.step, m.label, m.classified, m.confidence
            )
        }),
    );
    list(page, "Under-routed steps", r.under_routed_steps.iter().cloned());
}

/// Two horizontal bars, baseline and orchestrated, on one scale.
fn bars(page: &mut String, what: &str, baseline: f64, orchestrated: f64, label: impl Fn(f64) -> String) {
    let scale = if baseline.max(orchestrated) > 0.0 { BAR_WIDTH / baseline.max(orchestrated) } else { 0.0 };
    let _ = write!(page, "<svg width=\"720\" height=\"64\" role=\"img\" aria-label=\"{}\">", escape(what));
    for (row, (name, value, colour)) in
        [("baseline", baseline, "#9aa5b1"), ("orchestrated", orchestrated, "#2f7d4f")].into_iter().enumerate()
    {
        let y = 4 + row * 28;
        let _ = write!(
            page,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{} {}</text>\
             <rect x=\"170\" y=\"{y}\" width=\"{:.1}\" height=\"22\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"13\">{}</text>",
            y + 16,
            escape(what),
            name,
            value * scale,
            176.0 + value * scale,
            y + 16,
            escape(&label(value)),
        );
    }
    page.push_str("</svg>\n");
}

/// Rows: labeled intents; columns: classified intents; the diagonal is right.
fn confusion(page: &mut String, r: &EvalReport) {
    let labels: BTreeSet<&str> = r.confusion.iter().map(|c| c.label.as_str()).collect();
    let classified: BTreeSet<&str> = r.confusion.iter().map(|c| c.classified.as_str()).collect();
    page.push_str("<h3>Intent confusion (rows: label, columns: classified)</h3><table><tr><th></th>");
    for column in &classified {
        let _ = write!(page, "<th>{}</th>", escape(column));
    }
    page.push_str("</tr>");
    for row in &labels {
        let _ = write!(page, "<tr><th class=\"l\">{}</th>", escape(row));
        for column in &classified {
            let steps = r.confusion.iter().find(|c| c.label == *row && c.classified == *column).map_or(0, |c| c.steps);
            let class = match (steps, row == column) {
                (0, _) => "",
                (_, true) => " class=\"hit\"",
                (_, false) => " class=\"miss\"",
            };
            let cell = if steps == 0 { String::new() } else { steps.to_string() };
            let _ = write!(page, "<td{class}>{cell}</td>");
        }
        page.push_str("</tr>");
    }
    page.push_str("</table>\n");
}

fn list(page: &mut String, title: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    let _ = write!(page, "<h3>{} ({})</h3>", escape(title), items.len());
    if items.is_empty() {
        return;
    }
    page.push_str("<ul>");
    for item in items {
        let _ = write!(page, "<li>{}</li>", escape(&item));
    }
    page.push_str("</ul>\n");
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_is_escaped() {
        assert_eq!(super::escape("<b a=\"1\">&</b>"), "&lt;b a=&quot;1&quot;&gt;&amp;&lt;/b&gt;");
    }
}
