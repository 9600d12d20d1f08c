//! Records as a table: a JSON array of objects that share their keys (an
//! export, a query result, a week of timesheets) repeats every key in every
//! record. Written as a header that names the columns once and one line per
//! record, it costs about half the tokens and loses nothing: every value is
//! kept as written, and a cell that could be misread is written as its JSON
//! lexeme (quoted strings, nested objects and arrays).
//!
//! ```text
//! 3 records, columns employee,date,hours:
//! Chidi Obi,2025-03-03,8.0
//! Maren Holt,2025-03-05,12.0
//! "Quintero, Rafael",2025-03-05,9.0
//! ```
//!
//! Records need not all carry every key (an optional `delivered` date, a
//! `notes` field only some rows have): the columns are the union of their
//! keys, and an empty cell means the record has no such key. An empty string
//! is written `""`, so the two never read alike.
//!
//! An object whose fields hold such arrays keeps its other fields first, one
//! `key: value` line each, then one table per array field.

use super::json::{self, Node, decode};

/// Fewest records worth a header.
pub const MIN_RECORDS: usize = 3;

/// Most columns a table gets: records wider than this, or so varied that
/// their keys add up to more, stay JSON (a row of mostly empty cells reads
/// worse than the records themselves).
pub const MAX_COLUMNS: usize = 32;

/// The text of a JSON document whose records are written as tables, or
/// `None` when it holds no array of at least [`MIN_RECORDS`] records with
/// the same keys.
pub fn encode(text: &str) -> Option<String> {
    let node = json::parse(text)?;
    match &node {
        Node::Arr(items) => {
            let keys = record_keys(items)?;
            let mut out = String::new();
            table(None, &keys, items, &mut out);
            Some(out)
        }
        Node::Obj(members) => {
            let tables: Vec<(&str, Vec<&str>, &[Node])> = members
                .iter()
                .filter_map(|(key, value)| match value {
                    Node::Arr(items) => record_keys(items).map(|keys| (key.as_str(), keys, items.as_slice())),
                    _ => None,
                })
                .collect();
            if tables.is_empty() {
                return None;
            }
            let mut out = String::new();
            for (key, value) in members.iter().filter(|(key, _)| tables.iter().all(|(k, ..)| k != key)) {
                out.push_str(&label(key));
                out.push_str(": ");
                cell(value, &mut out);
                out.push('\n');
            }
            for (key, keys, items) in &tables {
                table(Some(key), keys, items, &mut out);
            }
            Some(out)
        }
        _ => None,
    }
}

/// Numbered lines for items a handler lists itself (`[0] ...`), with the
/// header that names their columns; `None` unless the items (compact JSON
/// texts) are records with the same keys.
pub fn numbered_rows(items: &[String]) -> Option<(String, Vec<String>)> {
    let nodes: Vec<Node> = items.iter().map(|item| json::parse(item)).collect::<Option<_>>()?;
    let keys = record_keys(&nodes)?;
    let header = columns(&keys, &nodes);
    let rows = nodes.iter().map(|node| row(&keys, node)).collect();
    Some((header, rows))
}

/// The key lexemes of the records in first-seen order, when every item is a
/// non-empty object, there are enough of them, and their keys together make
/// at most [`MAX_COLUMNS`] columns.
fn record_keys(items: &[Node]) -> Option<Vec<&str>> {
    if items.len() < MIN_RECORDS {
        return None;
    }
    let mut keys: Vec<&str> = vec![];
    for item in items {
        let Node::Obj(members) = item else { return None };
        if members.is_empty() {
            return None;
        }
        for (key, _) in members {
            if !keys.contains(&key.as_str()) {
                if keys.len() == MAX_COLUMNS {
                    return None;
                }
                keys.push(key);
            }
        }
    }
    Some(keys)
}

fn table(name: Option<&str>, keys: &[&str], items: &[Node], out: &mut String) {
    if let Some(name) = name {
        out.push_str(&label(name));
        out.push_str(": ");
    }
    out.push_str(&format!("{} records, {}:\n", items.len(), columns(keys, items)));
    for item in items {
        out.push_str(&row(keys, item));
        out.push('\n');
    }
}

/// `columns a,b,c`, saying what an empty cell means when some record lacks a key.
fn columns(keys: &[&str], items: &[Node]) -> String {
    let names: Vec<String> = keys.iter().map(|k| label(k)).collect();
    let sparse = items.iter().any(|item| matches!(item, Node::Obj(m) if m.len() < keys.len()));
    let absent = if sparse { " (empty cell: no such key)" } else { "" };
    format!("columns {}{absent}", names.join(","))
}

fn row(keys: &[&str], record: &Node) -> String {
    let Node::Obj(members) = record else { return String::new() };
    let mut out = String::new();
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if let Some((_, value)) = members.iter().find(|(k, _)| k == key) {
            cell(value, &mut out);
        }
    }
    out
}

/// A key as a reader sees it: its text, or its lexeme when that is ambiguous.
fn label(key: &str) -> String {
    let text = decode(key);
    if plain(&text) { text } else { key.to_string() }
}

/// A value: a string's text when that cannot be misread, otherwise the lexeme.
fn cell(value: &Node, out: &mut String) {
    match value {
        Node::Str(raw) => {
            let text = decode(raw);
            out.push_str(if plain(&text) { &text } else { raw });
        }
        other => other.write(out),
    }
}

/// Text that reads back as the same string in a cell: not empty, no
/// separator, quote, escape or line break, no surrounding blanks, and not a
/// word or number that would read as another JSON type.
fn plain(text: &str) -> bool {
    !text.is_empty()
        && text.trim() == text
        && !text.contains([',', '"', '\\', '\n', '\r', '\t'])
        && !text.starts_with(['[', '{'])
        && !matches!(text, "null" | "true" | "false")
        && text.parse::<f64>().is_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Reads a table back (the reader a model is asked to be), to prove the
    /// encoding loses nothing.
    fn decode_table(text: &str) -> Value {
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let names = header.split_once("columns ").unwrap().1.trim_end_matches(':');
        let names = names.trim_end_matches(" (empty cell: no such key)");
        let columns: Vec<String> = split(names).iter().map(|c| read_key(c)).collect();
        Value::Array(
            lines
                .map(|line| {
                    let cells = split(line);
                    let present = columns.iter().zip(&cells).filter(|(_, cell)| !cell.is_empty());
                    Value::Object(present.map(|(name, cell)| (name.clone(), read_cell(cell))).collect())
                })
                .collect(),
        )
    }

    /// Splits on commas outside JSON lexemes.
    fn split(line: &str) -> Vec<String> {
        let (mut cells, mut current, mut depth, mut in_string, mut escaped) = (vec![], String::new(), 0, false, false);
        for c in line.chars() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '[' | '{' if !in_string => depth += 1,
                ']' | '}' if !in_string => depth -= 1,
                ',' if !in_string && depth == 0 => {
                    cells.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        cells.push(current);
        cells
    }

    fn read_cell(cell: &str) -> Value {
        serde_json::from_str(cell).unwrap_or_else(|_| Value::String(cell.to_string()))
    }

    fn read_key(cell: &str) -> String {
        serde_json::from_str(cell).unwrap_or_else(|_| cell.to_owned())
    }

    #[test]
    fn records_round_trip_through_the_table() {
        let records = json!([
            {"employee": "Chidi Obi", "hours": 8.0, "note": "late, again", "ok": true},
            {"employee": "12", "hours": 11.5, "note": "", "ok": null},
            {"employee": "true", "hours": 9, "note": {"by": "HR"}, "ok": false},
            {"employee": " padded", "hours": -1, "note": ["a", "b,c"], "ok": "yes: fine"},
            {"employee": "quote \" in", "hours": 0, "note": "line\nbreak", "ok": "null"}
        ]);
        let table = encode(&records.to_string()).expect("records become a table");
        assert!(table.starts_with("5 records, columns employee,hours,note,ok:\nChidi Obi,8.0,\"late, again\",true\n"));
        assert_eq!(decode_table(&table), records);
    }

    #[test]
    fn records_with_optional_keys_round_trip_with_empty_cells() {
        let records = json!([
            {"shipment": "SHP-1", "status": "delivered", "delivered": "2025-03-12"},
            {"shipment": "SHP-2", "status": "in_transit"},
            {"status": "exception", "shipment": "SHP-3", "note": ""},
            {"shipment": "SHP-4", "status": "booked", "note": "call first"}
        ]);
        let table = encode(&records.to_string()).expect("optional keys still make a table");
        // `json!` sorts keys: the columns are first seen in that order.
        assert!(table.starts_with("4 records, columns delivered,shipment,status,note (empty cell: no such key):\n"));
        assert!(table.contains("\n,SHP-2,in_transit,\n"), "absent keys are empty cells: {table}");
        assert!(table.contains("\n,SHP-3,exception,\"\"\n"), "an empty string is not an absent key: {table}");
        assert_eq!(decode_table(&table), records);
    }

    #[test]
    fn only_arrays_of_enough_objects_within_the_column_cap_become_tables() {
        assert_eq!(encode(r#"[{"a":1},{"a":2}]"#), None, "two records are not worth a header");
        assert_eq!(encode(r#"[{"a":1},{"a":2},3]"#), None, "not every item is a record");
        assert_eq!(encode(r#"[{"a":1},{},{"a":3}]"#), None, "an empty record");
        let wide: Vec<Value> = (0..3).map(|i| json!({ format!("k{i}"): (0..12).collect::<Vec<_>>() })).collect();
        assert!(encode(&Value::Array(wide).to_string()).is_some(), "3 columns");
        let varied: Vec<Value> = (0..40).map(|i| json!({ format!("k{i}"): i })).collect();
        assert_eq!(encode(&Value::Array(varied).to_string()), None, "40 columns");
        assert_eq!(encode(r#"[1,2,3]"#), None);
        assert_eq!(encode(r#"{"a":1}"#), None);
        assert_eq!(encode("not json"), None);
        assert!(encode(r#"[{"a":1,"b":2},{"b":3,"a":4},{"a":5,"b":6}]"#).unwrap().contains("\n4,3\n"));
    }

    #[test]
    fn an_object_keeps_its_fields_then_its_tables() {
        let text = r#"{"rows":[{"sku":"A-1","qty":3},{"sku":"B-2","qty":0},{"sku":"C-3","qty":7}],"week":"2025-W10","total":10}"#;
        assert_eq!(
            encode(text).unwrap(),
            "week: 2025-W10\ntotal: 10\nrows: 3 records, columns sku,qty:\nA-1,3\nB-2,0\nC-3,7\n"
        );
    }

    #[test]
    fn numbered_rows_name_their_columns() {
        let items: Vec<String> = (0..3).map(|i| json!({"name": format!("n{i}"), "v": i}).to_string()).collect();
        let (header, rows) = numbered_rows(&items).unwrap();
        assert_eq!(header, "columns name,v");
        assert_eq!(rows, ["n0,0", "n1,1", "n2,2"]);
        assert_eq!(numbered_rows(&items[..2]), None);
    }
}
