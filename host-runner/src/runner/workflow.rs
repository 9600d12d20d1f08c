//! Workflow files: parsing with locations, and validation of ids,
//! dependencies (unknown, cycles) and template references before anything runs.

use super::template::{self, Reference, Scope};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// A workflow as written in its JSON file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub agent_id: String,
    pub user_id: String,
    /// The kind of agent (`support`, `sales`...): a scope of the orchestration flags.
    #[serde(default)]
    pub agent_type: Option<String>,
    /// Values `{{input.KEY}}` references read.
    #[serde(default)]
    pub inputs: Map<String, Value>,
    /// The agent's memory of earlier runs, passed to every step.
    #[serde(default)]
    pub memory_context: Value,
    /// Plugins steps may use (e.g. webhooks for `send`).
    #[serde(default)]
    pub available_plugins: Vec<String>,
    pub steps: Vec<StepSpec>,
}

/// One step as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The instruction; may be left out when the step declares its `intent`
    /// and gives its data in `params`.
    #[serde(default)]
    pub prompt: String,
    #[serde(default)]
    pub intent: Option<String>,
    #[serde(default = "empty_object")]
    pub params: Value,
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// A critical step gets a larger token budget (`orchestration_budget_critical_multiplier`).
    #[serde(default)]
    pub critical: bool,
    /// Ground truth for evaluation corpora (`bench/corpus/`); ignored when running.
    #[serde(default)]
    pub labels: Option<StepLabels>,
}

/// What a step should be classified and routed as, and what its prompt must keep.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepLabels {
    /// The intent the step really has.
    pub intent: String,
    /// The lowest model tier that does the step well: `fast`, `balanced` or `powerful`.
    pub tier: String,
    /// Names, numbers and ids the step's prompt must still contain after compression.
    #[serde(default)]
    pub key_facts: Vec<String>,
    /// Strings that occur only in the step's data (params, the inputs it
    /// reads), never in its prompt: what its model calls must carry.
    #[serde(default)]
    pub data_facts: Vec<String>,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl StepSpec {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    /// The intent the free tiers (rules on `params`, the name and prompt,
    /// then the context tier with the workflow's `goal`) give the step, without a model.
    pub fn free_tier_intent(&self, params: &Value, goal: Option<&str>) -> String {
        let context = orchestration::classify::context::StepContext {
            name: self.display_name(),
            prompt: &self.prompt,
            goal,
            reads: self.depends_on.len(),
        };
        let threshold = orchestration::keys::DEFAULT_CLASSIFICATION_THRESHOLD;
        orchestration::classify::without_model(params, &context, threshold).intent
    }

    /// What the step's templates (prompt and params) name: `None` when it
    /// has none, else the workflow inputs they name (maybe none: it reads
    /// only earlier outputs). Validated workflows only.
    pub fn referenced_inputs(&self) -> Option<BTreeSet<String>> {
        let mut texts = vec![("prompt".to_string(), self.prompt.as_str())];
        collect_strings(&self.params, "params", &mut texts);
        let references: Vec<Reference> =
            texts.iter().flat_map(|(_, text)| template::references(text).unwrap_or_default()).collect();
        if references.is_empty() {
            return None;
        }
        Some(
            references
                .into_iter()
                .filter_map(|reference| match reference {
                    Reference::Input(path) => path.first().cloned(),
                    Reference::StepOutput { .. } => None,
                })
                .collect(),
        )
    }
}

/// A workflow that failed to parse or validate; the message says what and where.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct WorkflowError {
    pub source_name: String,
    pub message: String,
}

impl Workflow {
    /// Who the run is, as the flags' scopes see it.
    pub fn subject(&self) -> orchestration::rollout::Subject {
        orchestration::rollout::Subject {
            workflow_id: self.id.clone(),
            agent_id: self.agent_id.clone(),
            user_id: self.user_id.clone(),
            agent_type: self.agent_type.clone(),
        }
    }

    /// Parses and validates a workflow; `source_name` (a path) prefixes errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Workflow, WorkflowError> {
        let fail = |message: String| WorkflowError { source_name: source_name.to_string(), message };
        let workflow: Workflow = serde_json::from_str(text).map_err(|e| {
            fail(format!("line {} column {}: {}", e.line(), e.column(), strip_position(&e.to_string())))
        })?;
        workflow.validate().map_err(fail)?;
        Ok(workflow)
    }

    /// Step indices in an order where every step follows its dependencies
    /// (declaration order among independent steps).
    pub fn execution_order(&self) -> Vec<usize> {
        topological_order(self).expect("validated workflows have no cycles")
    }

    fn validate(&self) -> Result<(), String> {
        if self.steps.is_empty() {
            return Err("the workflow has no steps".into());
        }
        if self.steps.len() > MAX_STEPS {
            return Err(format!("the workflow has {} steps; at most {MAX_STEPS} are accepted", self.steps.len()));
        }
        for (field, value) in [("id", &self.id), ("agent_id", &self.agent_id), ("user_id", &self.user_id)] {
            if value.trim().is_empty() {
                return Err(format!("`{field}` is empty"));
            }
        }
        let mut index = HashMap::new();
        for (i, step) in self.steps.iter().enumerate() {
            if step.id.trim().is_empty() {
                return Err(format!("steps[{i}]: `id` is empty"));
            }
            if index.insert(step.id.as_str(), i).is_some() {
                return Err(format!("steps[{i}]: duplicate step id `{}`", step.id));
            }
            if !step.params.is_object() {
                return Err(format!("step `{}`: `params` must be a JSON object", step.id));
            }
            if step.prompt.trim().is_empty() && step.intent.is_none() {
                return Err(format!("step `{}`: `prompt` is required unless the step declares its `intent`", step.id));
            }
        }
        for step in &self.steps {
            for dep in &step.depends_on {
                if !index.contains_key(dep.as_str()) {
                    return Err(format!("step `{}` depends on unknown step `{dep}`", step.id));
                }
            }
        }
        topological_order(self)?;
        let no_outputs = HashMap::new();
        let inputs = Scope { inputs: &self.inputs, outputs: &no_outputs };
        for step in &self.steps {
            // Computed only for a step reading an output it does not depend on directly.
            let mut ancestors: Option<BTreeSet<&str>> = None;
            let mut texts = vec![("prompt".to_string(), step.prompt.as_str())];
            collect_strings(&step.params, "params", &mut texts);
            for (field, text) in texts {
                for reference in template::references(text).map_err(|e| format!("step `{}` {field}: {e}", step.id))? {
                    match reference {
                        Reference::Input(ref path) => {
                            let key = path.first().map(String::as_str).unwrap_or("");
                            if !self.inputs.contains_key(key) {
                                return Err(format!(
                                    "step `{}` {field}: `{{{{input.{}}}}}` names no workflow input (inputs: {})",
                                    step.id,
                                    path.join("."),
                                    self.inputs.keys().cloned().collect::<Vec<_>>().join(", ")
                                ));
                            }
                            // Inputs are known now: a path into one must resolve before anything runs.
                            if let Err(e) = inputs.lookup(&reference) {
                                return Err(format!(
                                    "step `{}` {field}: `{{{{input.{}}}}}`: {e}",
                                    step.id,
                                    path.join(".")
                                ));
                            }
                        }
                        Reference::StepOutput { step: dep, .. } => {
                            if !index.contains_key(dep.as_str()) {
                                return Err(format!("step `{}` {field}: references unknown step `{dep}`", step.id));
                            }
                            let direct = step.depends_on.contains(&dep);
                            if !direct
                                && !ancestors
                                    .get_or_insert_with(|| self::ancestors(self, &index, &step.id))
                                    .contains(dep.as_str())
                            {
                                return Err(format!(
                                    "step `{}` {field}: reads the output of `{dep}` but does not depend on it (add it to depends_on)",
                                    step.id
                                ));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Steps a workflow may have: real workflows have tens; the bound keeps
/// validation and the per-step records of one request small.
pub const MAX_STEPS: usize = 1_000;

/// serde_json appends " at line L column C"; the location is given up front instead.
fn strip_position(message: &str) -> &str {
    message.rfind(" at line ").map_or(message, |at| &message[..at])
}

fn topological_order(workflow: &Workflow) -> Result<Vec<usize>, String> {
    let index: HashMap<&str, usize> = workflow.steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let n = workflow.steps.len();
    let mut indegree = vec![0usize; n];
    let mut dependents = vec![Vec::new(); n];
    for (i, step) in workflow.steps.iter().enumerate() {
        for dep in &step.depends_on {
            let d = index[dep.as_str()];
            indegree[i] += 1;
            dependents[d].push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|i| indegree[*i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &j in &dependents[i] {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.insert(j);
            }
        }
    }
    if order.len() < n {
        let stuck: Vec<&str> = (0..n).filter(|i| indegree[*i] > 0).map(|i| workflow.steps[i].id.as_str()).collect();
        return Err(format!("dependency cycle among steps {}", stuck.join(", ")));
    }
    Ok(order)
}

fn ancestors<'a>(workflow: &'a Workflow, index: &HashMap<&str, usize>, id: &str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = workflow.steps[index[id]].depends_on.iter().map(String::as_str).collect();
    while let Some(dep) = stack.pop() {
        let step = &workflow.steps[index[dep]];
        if seen.insert(step.id.as_str()) {
            stack.extend(step.depends_on.iter().map(String::as_str));
        }
    }
    seen
}

fn collect_strings<'a>(value: &'a Value, at: &str, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(s) => out.push((at.to_string(), s)),
        Value::Array(items) => {
            items.iter().enumerate().for_each(|(i, v)| collect_strings(v, &format!("{at}[{i}]"), out))
        }
        Value::Object(fields) => fields.iter().for_each(|(k, v)| collect_strings(v, &format!("{at}.{k}"), out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Workflow, String> {
        Workflow::parse(text, "wf.json").map_err(|e| e.to_string())
    }

    const BASE: &str = r#"{"id":"w","agent_id":"a","user_id":"u","inputs":{"ticket":"hi"},"steps":[
        {"id":"s1","prompt":"Summarize {{input.ticket}}"},
        {"id":"s2","prompt":"Use {{steps.s1.output.summary}}","depends_on":["s1"]}]}"#;

    #[test]
    fn parses_and_orders() {
        let w = parse(BASE).unwrap();
        assert_eq!(w.execution_order(), vec![0, 1]);
    }

    #[test]
    fn malformed_json_says_where() {
        let err = parse("{\"id\": \"w\",\n \"steps\": [}").unwrap_err();
        assert!(err.starts_with("wf.json: line 2 column"), "{err}");
        let err = parse(r#"{"id":"w","agent_id":"a","user_id":"u","steps":[{"id":"s","promt":"x"}]}"#).unwrap_err();
        assert!(err.contains("unknown field `promt`"), "{err}");
    }

    #[test]
    fn dependency_errors() {
        let unknown = BASE.replace(r#""depends_on":["s1"]"#, r#""depends_on":["nope"]"#);
        assert!(parse(&unknown).unwrap_err().contains("step `s2` depends on unknown step `nope`"));
        let cycle = r#"{"id":"w","agent_id":"a","user_id":"u","steps":[
            {"id":"a","prompt":"x","depends_on":["b"]},{"id":"b","prompt":"y","depends_on":["a"]},{"id":"c","prompt":"z"}]}"#;
        assert!(parse(cycle).unwrap_err().contains("dependency cycle among steps a, b"));
        let dup = BASE.replace(r#""id":"s2""#, r#""id":"s1""#);
        assert!(parse(&dup).unwrap_err().contains("duplicate step id `s1`"));
    }

    #[test]
    fn prompt_is_optional_only_with_a_declared_intent() {
        let explicit = r#"{"id":"w","agent_id":"a","user_id":"u","inputs":{"t":"x"},"steps":[
            {"id":"s","intent":"summarize","params":{"transcript":"{{input.t}}"}}]}"#;
        let w = parse(explicit).unwrap();
        assert_eq!(w.steps[0].prompt, "");
        assert_eq!(w.steps[0].referenced_inputs().unwrap().into_iter().collect::<Vec<_>>(), ["t"]);
        assert_eq!(parse(BASE).unwrap().steps[1].referenced_inputs(), Some(BTreeSet::new()), "reads an output only");
        let none = explicit.replace("{{input.t}}", "literal");
        assert_eq!(parse(&none).unwrap().steps[0].referenced_inputs(), None);
        let neither = explicit.replace(r#""intent":"summarize","#, "");
        assert!(
            parse(&neither)
                .unwrap_err()
                .contains("step `s`: `prompt` is required unless the step declares its `intent`")
        );
        let blank = explicit.replace(r#""intent":"summarize","#, r#""prompt":"  ","#);
        assert!(parse(&blank).unwrap_err().contains("`prompt` is required"));
    }

    #[test]
    fn template_reference_errors() {
        let bad_input = BASE.replace("{{input.ticket}}", "{{input.tickt}}");
        assert!(parse(&bad_input).unwrap_err().contains("`{{input.tickt}}` names no workflow input"));
        let not_dep = BASE.replace(r#","depends_on":["s1"]"#, "");
        assert!(parse(&not_dep).unwrap_err().contains("reads the output of `s1` but does not depend on it"));
        let unknown_root = BASE.replace("{{input.ticket}}", "{{env.HOME}}");
        assert!(parse(&unknown_root).unwrap_err().contains("step `s1` prompt"));
        // A path into an input is resolved before anything runs.
        let nested = BASE.replace("{{input.ticket}}", "{{input.ticket.body}}");
        let err = parse(&nested).unwrap_err();
        assert!(err.contains("`{{input.ticket.body}}`: input `ticket` has no `body`"), "{err}");
    }

    #[test]
    fn step_count_is_bounded_and_a_full_chain_validates() {
        let chain = |n: usize| {
            let steps: Vec<String> = (0..n)
                .map(|i| match i {
                    0 => r#"{"id":"s0","prompt":"start"}"#.to_string(),
                    _ => format!(
                        r#"{{"id":"s{i}","prompt":"go on from {{{{steps.s{}.output}}}}","depends_on":["s{}"]}}"#,
                        i - 1,
                        i - 1
                    ),
                })
                .collect();
            format!(r#"{{"id":"w","agent_id":"a","user_id":"u","steps":[{}]}}"#, steps.join(","))
        };
        assert_eq!(parse(&chain(MAX_STEPS)).unwrap().steps.len(), MAX_STEPS);
        let err = parse(&chain(MAX_STEPS + 1)).unwrap_err();
        assert!(err.contains("1001 steps; at most 1000"), "{err}");
    }
}
