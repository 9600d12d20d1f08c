//! `{{input.NAME...}}` and `{{steps.ID.output...}}` references: parsing for
//! validation, and rendering with the values known at run time.

use serde_json::{Map, Value};
use std::collections::HashMap;

/// One `{{...}}` reference.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    /// `input.NAME.path...`
    Input(Vec<String>),
    /// `steps.ID.output.path...`
    StepOutput { step: String, path: Vec<String> },
}

/// Every reference in `text`, in order.
pub fn references(text: &str) -> Result<Vec<Reference>, String> {
    spans(text)?.into_iter().map(|(_, _, expr)| parse(expr)).collect()
}

/// `(start, end, expression)` of every `{{ expression }}`.
fn spans(text: &str) -> Result<Vec<(usize, usize, &str)>, String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| i + from) {
        let close = text[open..].find("}}").map(|i| i + open).ok_or_else(|| {
            format!("unclosed `{{{{` at byte {open}: `{}`", text[open..].chars().take(30).collect::<String>())
        })?;
        out.push((open, close + 2, text[open + 2..close].trim()));
        from = close + 2;
    }
    Ok(out)
}

fn parse(expr: &str) -> Result<Reference, String> {
    let parts: Vec<&str> = expr.split('.').map(str::trim).collect();
    let bad = || format!("unknown reference `{{{{{expr}}}}}`: use `{{{{input.NAME}}}}` or `{{{{steps.ID.output}}}}`");
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    match parts.as_slice() {
        ["input", path @ ..] if !path.is_empty() => Ok(Reference::Input(path.iter().map(|s| s.to_string()).collect())),
        ["steps", step, "output", path @ ..] => {
            Ok(Reference::StepOutput { step: step.to_string(), path: path.iter().map(|s| s.to_string()).collect() })
        }
        _ => Err(bad()),
    }
}

/// What references resolve against.
pub struct Scope<'a> {
    pub inputs: &'a Map<String, Value>,
    pub outputs: &'a HashMap<String, Value>,
}

impl Scope<'_> {
    pub fn lookup(&self, reference: &Reference) -> Result<Value, String> {
        let (root, path, name) = match reference {
            Reference::Input(path) => {
                let value = self.inputs.get(&path[0]).ok_or_else(|| format!("no input `{}`", path[0]))?;
                (value, &path[1..], format!("input `{}`", path[0]))
            }
            Reference::StepOutput { step, path } => {
                let value = self
                    .outputs
                    .get(step)
                    .ok_or_else(|| format!("step `{step}` has no output (skipped or not run)"))?;
                (value, &path[..], format!("step `{step}`'s output"))
            }
        };
        let mut value = root;
        for segment in path {
            value = match value {
                Value::Object(fields) => fields.get(segment),
                Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            }
            .ok_or_else(|| format!("{name} has no `{}`", path.join(".")))?;
        }
        Ok(value.clone())
    }

    /// Replaces every reference in `text`; strings go in as they are, other
    /// values as compact JSON.
    pub fn render(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (start, end, expr) in spans(text)? {
            out.push_str(&text[last..start]);
            match self.lookup(&parse(expr)?)? {
                Value::String(s) => out.push_str(&s),
                other => out.push_str(&other.to_string()),
            }
            last = end;
        }
        out.push_str(&text[last..]);
        Ok(out)
    }

    /// Renders every string in `value`; a string that is exactly one reference
    /// becomes the referenced value itself, keeping its JSON type.
    pub fn render_value(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => match spans(s)?.as_slice() {
                [(0, end, expr)] if *end == s.len() => self.lookup(&parse(expr)?)?,
                _ => Value::String(self.render(s)?),
            },
            Value::Array(items) => Value::Array(items.iter().map(|v| self.render_value(v)).collect::<Result<_, _>>()?),
            Value::Object(fields) => Value::Object(
                fields.iter().map(|(k, v)| Ok((k.clone(), self.render_value(v)?))).collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_references() {
        assert_eq!(
            references("A {{ input.ticket.body }} B {{steps.s1.output}} {{steps.s2.output.items.0}}").unwrap(),
            vec![
                Reference::Input(vec!["ticket".into(), "body".into()]),
                Reference::StepOutput { step: "s1".into(), path: vec![] },
                Reference::StepOutput { step: "s2".into(), path: vec!["items".into(), "0".into()] },
            ]
        );
        assert!(references("{{input}}").unwrap_err().contains("unknown reference"));
        assert!(references("{{steps.s1}}").unwrap_err().contains("unknown reference"));
        assert!(references("oops {{input.x").unwrap_err().contains("unclosed"));
    }

    #[test]
    fn renders_text_and_typed_values() {
        let inputs = json!({"name": "Ada", "n": 3}).as_object().unwrap().clone();
        let outputs = HashMap::from([("s1".to_string(), json!({"items": [{"id": 7}], "summary": "ok"}))]);
        let scope = Scope { inputs: &inputs, outputs: &outputs };
        assert_eq!(
            scope.render("Hi {{input.name}} x{{input.n}}: {{steps.s1.output.summary}}").unwrap(),
            "Hi Ada x3: ok"
        );
        assert_eq!(scope.render("{{steps.s1.output.items}}").unwrap(), r#"[{"id":7}]"#);
        let params = json!({"input": "{{steps.s1.output.items}}", "label": "for {{input.name}}"});
        assert_eq!(scope.render_value(&params).unwrap(), json!({"input": [{"id": 7}], "label": "for Ada"}));
        assert!(scope.render("{{steps.s1.output.missing}}").unwrap_err().contains("has no `missing`"));
    }
}
