//! The console's page frame and HTML escaping. Everything is inline: no
//! CDN, no external font or script, so the console works offline and makes
//! no request beyond this server.

use axum::response::Html;

/// Text made safe for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The console's sections, in the navigation's order: (path, label).
const SECTIONS: [(&str, &str); 3] =
    [("/ui/executions", "Executions"), ("/ui/handlers", "Handlers"), ("/ui/rollout", "Rollout")];

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:center}
header strong{margin-right:.5rem}
header a{color:#cfd6e4;text-decoration:none}
header a.on{color:#fff;border-bottom:2px solid #6ea8fe}
main{padding:1rem;max-width:1200px;margin:0 auto}
h1{font-size:1.3rem;margin:.2rem 0 1rem}
h2{font-size:1.05rem;margin:1.4rem 0 .6rem}
h3{font-size:.95rem;margin:1rem 0 .4rem}
form.row-action{margin:0}
form.row-action button{padding:.05rem .5rem;font-size:.8rem}
.scroll{overflow-x:auto;background:#fff;border:1px solid #dde1e8;border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #eceef2;white-space:nowrap;vertical-align:top}
.wrap{display:inline-block;white-space:normal;min-width:16rem;max-width:40rem}
th{background:#f0f2f6;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
form.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:.6rem 0}
label{display:flex;flex-direction:column;font-size:.8rem;color:#4a5263}
input,select,button{font:inherit;padding:.35rem .5rem;border:1px solid #c4cad6;border-radius:4px;background:#fff}
button{background:#2f6fde;color:#fff;border-color:#2f6fde;cursor:pointer}
button.quiet{background:#fff;color:#2f6fde}
.note{color:#5b6476;font-size:.85rem}
.err{background:#fdecec;border:1px solid #f3b5b5;padding:.5rem .8rem;border-radius:6px}
.ok{background:#e9f7ee;border:1px solid #a9dcb8;padding:.5rem .8rem;border-radius:6px}
.tag{display:inline-block;padding:0 .4rem;border-radius:3px;font-size:.8rem;background:#eef1f6}
.tag.orchestrated,.tag.completed,.tag.active{background:#dff3e6}
.tag.fallback,.tag.queued,.tag.running{background:#fff3d6}
.tag.failed,.tag.rejected,.tag.interrupted{background:#fbe0e0}
pre{white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid #dde1e8;padding:.6rem;border-radius:6px;font-size:.8rem;max-height:24rem;overflow:auto}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:1rem}
figure{margin:0;background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:.6rem}
figcaption{font-size:.85rem;font-weight:600;margin-bottom:.3rem}
svg{width:100%;height:auto;display:block}
"#;

/// A whole page: the navigation (with `active` marked), the title and `body`.
pub fn page(title: &str, active: &str, body: &str) -> Html<String> {
    let nav: String = SECTIONS
        .iter()
        .map(|(path, label)| {
            let on = if *path == active { " class=\"on\"" } else { "" };
            format!("<a href=\"{path}\"{on}>{label}</a>")
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · pilot console</title><style>{STYLE}</style></head><body>\
         <header><strong>pilot console</strong>{nav}\
         <form method=\"post\" action=\"/ui/logout\" style=\"margin-left:auto\"><button class=\"quiet\">Sign out</button></form>\
         </header><main><h1>{title}</h1>{body}</main></body></html>",
        title = esc(title)
    ))
}

/// A table in a horizontally scrolling frame (narrow screens scroll it,
/// not the page). Cells are HTML already; `numeric` columns align right.
pub fn table(header: &[&str], numeric: &[usize], rows: &[Vec<String>]) -> String {
    let class = |i: usize| if numeric.contains(&i) { " class=\"num\"" } else { "" };
    let head: String = header.iter().enumerate().map(|(i, h)| format!("<th{}>{}</th>", class(i), esc(h))).collect();
    let body: String = rows
        .iter()
        .map(|r| {
            let cells: String = r.iter().enumerate().map(|(i, c)| format!("<td{}>{c}</td>", class(i))).collect();
            format!("<tr>{cells}</tr>")
        })
        .collect();
    format!("<div class=\"scroll\"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")
}

/// A state or path as a coloured tag.
pub fn tag(word: &str) -> String {
    format!("<span class=\"tag {}\">{}</span>", esc(word), esc(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_elements_and_attributes() {
        assert_eq!(
            esc(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        let html = table(&["a"], &[], &[vec![esc("<b>")]]).to_string();
        assert!(html.contains("&lt;b&gt;") && !html.contains("<b>"));
    }
}
