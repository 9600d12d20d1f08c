//! Handlers: every loaded component with its version, state and code tier,
//! and every rejected file with its reason.

use super::layout::{esc, page, table, tag};
use crate::host::Host;
use crate::serve::handler_list::handlers_json;
use axum::response::Html;

pub fn list(host: &Host) -> Html<String> {
    let listed = handlers_json(host);
    let rows: Vec<Vec<String>> = listed
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|h| {
            let text = |key: &str| esc(h[key].as_str().unwrap_or("-"));
            let intents = h["intents"]
                .as_array()
                .map(|i| i.iter().filter_map(|v| v.as_str()).map(esc).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            let when = h["loaded_at"].as_f64().or(h["rejected_at"].as_f64()).map_or("-".into(), unix_time);
            // The directory is named above the table: the file's name is enough, the path its tooltip.
            let path = h["file"].as_str().unwrap_or("-");
            let file = std::path::Path::new(path).file_name().map_or(path.into(), |n| n.to_string_lossy());
            vec![
                format!("<span title=\"{}\">{}</span>", esc(path), esc(&file)),
                text("name"),
                text("version"),
                tag(h["state"].as_str().unwrap_or("-")),
                text("code"),
                intents,
                esc(&when),
                format!("<span class=\"wrap\">{}</span>", text("reason")),
            ]
        })
        .collect();
    let note = format!(
        "<p class=\"note\">Handlers hot-load from <code>{}</code>: drop a component and its manifest there, \
         or POST <code>/v1/handlers/reload</code>. Code tier: <code>baseline</code> runs at once, \
         <code>optimized</code> replaces it when compiled.</p>",
        esc(&host.handlers_dir().display().to_string())
    );
    let body =
        table(&["file", "name", "version", "state", "code", "intents", "last load or rejection", "reason"], &[], &rows);
    page("Handlers", "/ui/handlers", &format!("{note}{body}"))
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
fn unix_time(seconds: f64) -> String {
    let secs = seconds as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3_600, rem % 3_600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn unix_times_are_civil_dates() {
        assert_eq!(super::unix_time(0.0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::unix_time(1_796_558_400.0), "2026-12-06 12:00:00 UTC");
    }
}
