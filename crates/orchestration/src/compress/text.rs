//! Text helpers shared by the strategies: splitting a prompt into plain text
//! and embedded JSON blocks, and normalising whitespace.

use super::json::{self, Node};

/// A piece of a prompt.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment<'a> {
    Text(&'a str),
    /// A JSON object or array that fills the rest of its line(s): a whole line,
    /// a pretty-printed block, the whole text, or a value after a label
    /// (`Facts: {...}`).
    Json(Node, &'a str),
}

/// A failed parse attempt longer than this skips the lines it covered.
const LONG_FAILED_PARSE: usize = 4096;

/// Splits `text` into text and JSON segments, in order; concatenating the
/// segments' source text gives `text` back.
pub(crate) fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut line_start = 0;
    while line_start < text.len() {
        let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
        let line = &text[line_start..line_end];
        if let Some(offset) = json_candidate(line) {
            let at = line_start + offset;
            match json::parse_prefix(&text[at..]) {
                Ok((node, len)) => {
                    let end = at + len;
                    let rest_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
                    if text[end..rest_end].trim().is_empty() {
                        if at > text_start {
                            out.push(Segment::Text(&text[text_start..at]));
                        }
                        out.push(Segment::Json(node, &text[at..end]));
                        text_start = end;
                        line_start = if rest_end < text.len() { rest_end + 1 } else { text.len() };
                        continue;
                    }
                }
                Err(failed) => {
                    // After a long failed attempt, go on from the line where it
                    // failed, so that no text is parsed over and over (a block
                    // starting in between is only missed for minification).
                    let failed_at = at + failed;
                    if failed > LONG_FAILED_PARSE && failed_at > line_end {
                        line_start = text[..failed_at].rfind('\n').map_or(line_end + 1, |i| i + 1);
                        continue;
                    }
                }
            }
        }
        line_start = line_end + 1;
    }
    if text_start < text.len() {
        out.push(Segment::Text(&text[text_start..]));
    }
    out
}

/// Where a JSON value may start on this line: at its first non-blank
/// character, or right after a `label:`.
fn json_candidate(line: &str) -> Option<usize> {
    let first = line.find(|c: char| !c.is_whitespace())?;
    if matches!(line.as_bytes()[first], b'{' | b'[') {
        return Some(first);
    }
    let open = line.find(['{', '['])?;
    line[..open].trim_end().ends_with(':').then_some(open)
}

/// Whitespace clean-up of plain text, lossless for a reader:
/// trailing blanks go, runs of blank lines become one, runs of spaces or tabs
/// inside a line become one space (three or more become two, so table columns
/// stay apart); indentation and fenced code blocks are kept as written.
pub(crate) fn normalize_whitespace(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0usize;
    let mut in_fence = false;
    for (i, line) in text.split('\n').enumerate() {
        let trimmed = line.trim_end();
        let is_fence = trimmed.trim_start().starts_with("```");
        // The first line may be the end of a line a JSON block started: it
        // does not count as a blank line.
        if trimmed.is_empty() && !in_fence && i > 0 {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else if !trimmed.is_empty() || in_fence {
            blank_run = 0;
        }
        if i > 0 {
            out.push('\n');
        }
        if in_fence || is_fence {
            out.push_str(trimmed);
        } else {
            let indent = trimmed.len() - trimmed.trim_start().len();
            out.push_str(&trimmed[..indent]);
            collapse_inline(&trimmed[indent..], &mut out);
        }
        if is_fence {
            in_fence = !in_fence;
        }
    }
    out
}

fn collapse_inline(line: &str, out: &mut String) {
    let mut run = 0usize;
    for c in line.chars() {
        if c == ' ' || c == '\t' {
            run += 1;
            continue;
        }
        match run {
            0 => {}
            1 | 2 => out.push(' '),
            _ => out.push_str("  "),
        }
        run = 0;
        out.push(c);
    }
}

/// Collapses all whitespace to single spaces and trims (for comparisons).
pub(crate) fn squash(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<String> {
        segments(text)
            .into_iter()
            .map(|s| match s {
                Segment::Text(t) => format!("T:{t}"),
                Segment::Json(n, _) => format!("J:{}", n.to_compact()),
            })
            .collect()
    }

    #[test]
    fn finds_whole_line_block_labelled_and_whole_text_json() {
        assert_eq!(kinds("{\"a\": 1}"), ["J:{\"a\":1}"]);
        assert_eq!(
            kinds("Check these:\n[\n  {\"id\": 1},\n  {\"id\": 2}\n]\nThanks."),
            ["T:Check these:\n", "J:[{\"id\":1},{\"id\":2}]", "T:\nThanks."]
        );
        assert_eq!(
            kinds("Facts: {\"total\": 12.50}\nRecap: none"),
            ["T:Facts: ", "J:{\"total\":12.50}", "T:\nRecap: none"]
        );
    }

    #[test]
    fn leaves_brackets_in_prose_and_logs_alone() {
        for text in [
            "[2024-10-14 02:03:11] ERROR pool exhausted",
            "Use {name} here",
            "[1] first point",
            "See the list {\"a\": 1} inline in a sentence.",
            "{\"a\": 1} trailing words",
        ] {
            assert_eq!(kinds(text), [format!("T:{text}")], "{text}");
        }
    }

    #[test]
    fn failed_candidates_do_not_make_segmentation_quadratic() {
        // Every line opens a value that is never closed.
        let text = "{\"a\": 1,\n".repeat(20_000);
        let started = std::time::Instant::now();
        assert_eq!(kinds(&text).len(), 1);
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
        // A block after a failed one is still found.
        assert_eq!(kinds("[1,\n{\"b\": 2}\nend"), ["T:[1,\n", "J:{\"b\":2}", "T:\nend"]);
    }

    #[test]
    fn segments_concatenate_back_to_the_input() {
        let text = "Intro\n  {\"a\": [1, 2]}  \n\nItems: [3]\nend";
        let joined: String = segments(text)
            .iter()
            .map(|s| match s {
                Segment::Text(t) => *t,
                Segment::Json(_, raw) => *raw,
            })
            .collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn whitespace_is_normalised_but_indentation_and_code_kept() {
        let text = "Title   \r\n\n\n\nA  b\tc     d\n    indented  line\n```\nx    =  1\n\n\n```\nend  ";
        assert_eq!(normalize_whitespace(text), "Title\n\nA b c  d\n    indented line\n```\nx    =  1\n\n\n```\nend");
    }
}
