//! A small JSON tree that keeps what the compressors must not change.
//!
//! `serde_json::Value` (built here without `preserve_order`) sorts object keys
//! and re-formats numbers (`7196.50` becomes `7196.5`). A prompt is text a
//! model reads, so minification must only remove insignificant whitespace:
//! this tree keeps object members in document order and every number and
//! string exactly as written (escapes included). Only strings the template
//! strategy rewrites are re-encoded.

/// A parsed JSON value. Numbers, strings and keys keep their source lexeme.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    /// The number as written, e.g. `7196.50`.
    Num(String),
    /// The string lexeme with its quotes and escapes, e.g. `"a\nb"`.
    Str(String),
    Arr(Vec<Node>),
    /// Members in document order; keys are raw lexemes with quotes.
    Obj(Vec<(String, Node)>),
}

/// Nesting limit: deeper documents are treated as text (keeps the stack small in wasm).
const MAX_DEPTH: usize = 128;

/// Parses a whole document (surrounding whitespace allowed).
pub(crate) fn parse(text: &str) -> Option<Node> {
    let mut p = Parser { s: text, b: text.as_bytes(), i: 0 };
    let node = p.value(0)?;
    p.ws();
    (p.i == p.b.len()).then_some(node)
}

/// Parses one object or array at the start of `text`; returns it and the byte
/// length it spans, or the byte offset where parsing failed. Whatever follows
/// the value is not looked at.
pub(crate) fn parse_prefix(text: &str) -> Result<(Node, usize), usize> {
    if !matches!(text.as_bytes().first(), Some(b'{' | b'[')) {
        return Err(0);
    }
    let mut p = Parser { s: text, b: text.as_bytes(), i: 0 };
    match p.value(0) {
        Some(node) => Ok((node, p.i)),
        None => Err(p.i.min(text.len())),
    }
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.b.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.eat(b'}') {
                    return Some(Node::Obj(members));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(b':') {
                        return None;
                    }
                    let value = self.value(depth + 1)?;
                    members.push((key, value));
                    self.ws();
                    if self.eat(b',') {
                        continue;
                    }
                    return self.eat(b'}').then_some(Node::Obj(members));
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b']') {
                    return Some(Node::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b',') {
                        continue;
                    }
                    return self.eat(b']').then_some(Node::Arr(items));
                }
            }
            b'"' => self.string().map(Node::Str),
            b't' => self.literal("true").then_some(Node::Bool(true)),
            b'f' => self.literal("false").then_some(Node::Bool(false)),
            b'n' => self.literal("null").then_some(Node::Null),
            b'-' | b'0'..=b'9' => self.number().map(Node::Num),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str) -> bool {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Option<String> {
        let start = self.i;
        self.eat(b'-');
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat(b'.') && self.digits() == 0 {
            return None;
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(self.s[start..self.i].to_string())
    }

    /// A string lexeme, quotes included, validated but not decoded.
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        if !self.eat(b'"') {
            return None;
        }
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(self.s[start..self.i].to_string());
                }
                b'\\' => {
                    self.i += 1;
                    match *self.b.get(self.i)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => {
                            let hex = self.b.get(self.i + 1..self.i + 5)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.i += 5;
                        }
                        _ => return None,
                    }
                }
                c if c < 0x20 => return None,
                _ => self.i += 1,
            }
        }
    }
}

impl Node {
    /// Compact serialization: no whitespace between tokens, lexemes as parsed.
    pub(crate) fn write(&self, out: &mut String) {
        match self {
            Node::Null => out.push_str("null"),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Num(n) => out.push_str(n),
            Node::Str(s) => out.push_str(s),
            Node::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Node::Obj(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(key);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }

    pub(crate) fn to_compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    /// `null`, `""`, `[]` or `{}`.
    pub(crate) fn is_empty_value(&self) -> bool {
        match self {
            Node::Null => true,
            Node::Str(s) => s == "\"\"",
            Node::Arr(items) => items.is_empty(),
            Node::Obj(members) => members.is_empty(),
            _ => false,
        }
    }

    /// A string node for `text`, encoded by serde_json.
    pub(crate) fn string(text: &str) -> Node {
        Node::Str(serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into()))
    }

    /// The decoded content of a string node.
    pub(crate) fn as_text(&self) -> Option<String> {
        match self {
            Node::Str(raw) => Some(decode(raw)),
            _ => None,
        }
    }

    /// Decoded strings and number lexemes under this node, in document order
    /// (keys, booleans and nulls excluded).
    pub(crate) fn scalars<'a>(&'a self, out: &mut Vec<std::borrow::Cow<'a, str>>) {
        match self {
            Node::Num(n) => out.push(std::borrow::Cow::Borrowed(n)),
            Node::Str(raw) => out.push(decode_cow(raw)),
            Node::Arr(items) => items.iter().for_each(|i| i.scalars(out)),
            Node::Obj(members) => members.iter().for_each(|(_, v)| v.scalars(out)),
            Node::Null | Node::Bool(_) => {}
        }
    }
}

/// The text of a string lexeme (or of a raw key).
pub(crate) fn decode(raw: &str) -> String {
    decode_cow(raw).into_owned()
}

fn decode_cow(raw: &str) -> std::borrow::Cow<'_, str> {
    let inner = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(raw);
    if !inner.contains('\\') {
        return std::borrow::Cow::Borrowed(inner);
    }
    std::borrow::Cow::Owned(serde_json::from_str::<String>(raw).unwrap_or_else(|_| inner.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minifies_without_reordering_or_reformatting() {
        let text = "{\n  \"zeta\": 7196.50,\n  \"alpha\": [1, 2.0e3, -0.5],\n  \"name\": \"Tom\\u00e1s \\\"T\\\"\"\n}";
        let node = parse(text).unwrap();
        assert_eq!(node.to_compact(), r#"{"zeta":7196.50,"alpha":[1,2.0e3,-0.5],"name":"Tom\u00e1s \"T\""}"#);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&node.to_compact()).unwrap()["name"], "Tomás \"T\"");
    }

    #[test]
    fn rejects_invalid_documents() {
        for bad in ["{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\u{1}\"", "{'a': 1}", "[1] x", "nul", "\"\\x\""] {
            assert!(parse(bad).is_none(), "{bad:?} must not parse");
        }
        let deep = "[".repeat(MAX_DEPTH + 5) + &"]".repeat(MAX_DEPTH + 5);
        assert!(parse(&deep).is_none());
    }

    #[test]
    fn prefix_parses_one_value_and_reports_its_length() {
        let (node, len) = parse_prefix("[1, {\"a\": null}] and then text").unwrap();
        assert_eq!(len, 16);
        assert_eq!(node.to_compact(), "[1,{\"a\":null}]");
        assert_eq!(parse_prefix("[2024-10-14 02:03:11] log line").unwrap_err(), 5);
        assert!(parse_prefix("plain").is_err());
    }

    #[test]
    fn scalars_are_decoded_values_only() {
        let node = parse(r#"{"id": "INV-1", "n": 42, "ok": true, "x": null, "nested": {"t": "a\nb"}}"#).unwrap();
        let mut out = Vec::new();
        node.scalars(&mut out);
        assert_eq!(out, vec!["INV-1", "42", "a\nb"]);
    }
}
