//! The orchestrator's own logic on one workflow, natively: the same code
//! the `orchestrator-component` runs inside wasmtime, without the component
//! boundary, the handlers' instances or the host's rows. `pilot bench`
//! measures the same steps through the components; the difference between
//! the two is what the WebAssembly boundary and the sandboxes cost.
//!
//! The workflow is `examples/support-ticket-triage.json` with its templates
//! rendered as the host renders them. Handlers answer at once with fixed
//! outputs (a benchmark double, not a handler); tokens are counted by the
//! host's BPE, memoized per workflow as the host memoizes per store.
//!
//! Run: `cargo bench -p orchestration --bench session`.

use criterion::{Criterion, criterion_group, criterion_main};
use orchestration::budget::IntentUsage;
use orchestration::routing::AgentScores;
use orchestration::session::StepInput;
use orchestration::types::{DispatchFailure, Dispatched, Event, HandlerRequest, ModelAnswer, ModelCall, Step, Usage};
use orchestration::{Environment, Session, keys};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;

const EXAMPLE: &str = include_str!("../../../examples/support-ticket-triage.json");

/// Every flag on; the rest of the settings at their defaults.
struct BenchEnv {
    counted: RefCell<HashMap<String, u32>>,
}

impl Environment for &BenchEnv {
    fn setting(&self, key: &str) -> Option<String> {
        [keys::ORCHESTRATION_ENABLED, keys::COMPRESSION_ENABLED, keys::AIS_ROUTING_ENABLED]
            .contains(&key)
            .then(|| "true".into())
    }
    fn count_tokens(&self, text: &str) -> u32 {
        if let Some(n) = self.counted.borrow().get(text) {
            return *n;
        }
        let n = bpe_openai::cl100k_base().count(text) as u32;
        self.counted.borrow_mut().insert(text.to_string(), n);
        n
    }
    fn registered_intents(&self) -> Vec<String> {
        ["summarize", "extract", "transform"].map(String::from).to_vec()
    }
    fn control_params(&self, intent: &str) -> Vec<String> {
        match intent {
            "summarize" => vec!["target_length".into(), "style".into()],
            "extract" => vec!["schema".into()],
            "transform" => vec!["mapping".into(), "drop_empty".into()],
            _ => vec![],
        }
    }
    fn intent_description(&self, _intent: &str) -> Option<String> {
        None
    }
    fn dispatch(&self, request: &HandlerRequest) -> Result<Dispatched, DispatchFailure> {
        let output = match request.intent.as_str() {
            "extract" => FACTS.to_string(),
            _ => json!(format!("{} done", request.step.id)).to_string(),
        };
        Ok(Dispatched {
            output,
            handler: request.intent.clone(),
            handler_version: "1.0.0".into(),
            usage: Usage { input: 300, output: 60, total: 360 },
            cost_usd: 0.001,
            model: request.routed_model.clone(),
            llm_calls: 1,
            fuel_consumed: 0,
            provider_time_us: 0,
        })
    }
    fn emit(&self, event: Event) {
        black_box(event);
    }
    fn complete(&self, _call: &ModelCall) -> Result<ModelAnswer, String> {
        Err("no model in this benchmark".into())
    }
    fn agent_scores(&self, _agent_id: &str) -> Option<AgentScores> {
        None
    }
    fn record_run(&self, _agent_id: &str, scores: AgentScores) {
        black_box(scores);
    }
    fn intent_usage(&self, _agent_id: &str) -> Vec<IntentUsage> {
        vec![]
    }
}

const FACTS: &str = r#"{"customer":"Maria Gonzalez","email":"maria.gonzalez@example.com","account_id":"ACC-88213","amount":479.0,"priority":"high"}"#;

/// The example's steps, templates rendered, with what each step sees.
fn workflow() -> (Vec<Step>, Vec<StepInput>, String, String) {
    let doc: Value = serde_json::from_str(EXAMPLE).unwrap();
    let ticket = doc["inputs"]["ticket"].as_str().unwrap();
    let render = |text: &str| text.replace("{{input.ticket}}", ticket).replace("{{steps.facts.output}}", FACTS);
    let steps: Vec<Step> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Step {
            id: s["id"].as_str().unwrap().into(),
            name: s["name"].as_str().unwrap().into(),
            prompt: render(s["prompt"].as_str().unwrap()),
            intent: s["intent"].as_str().map(Into::into),
            params: render(&s["params"].to_string()),
            depends_on: s["depends_on"]
                .as_array()
                .map(|d| d.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                .unwrap_or_default(),
            critical: false,
        })
        .collect();
    let inputs = steps
        .iter()
        .map(|step| {
            let context = if step.depends_on.is_empty() {
                "{}".to_string()
            } else {
                json!({ "facts": serde_json::from_str::<Value>(FACTS).unwrap(), "summary": "summary done" }).to_string()
            };
            StepInput { step: step.clone(), params: step.params.clone(), context }
        })
        .collect();
    let memory = doc["memory_context"].to_string();
    let goal = doc["description"].as_str().unwrap().to_string();
    (steps, inputs, memory, goal)
}

fn one_workflow(c: &mut Criterion) {
    let (steps, inputs, memory, goal) = workflow();
    let plugins = vec!["helpdesk".to_string()];
    c.bench_function("support-ticket-triage, 3 steps, all flags on", |b| {
        b.iter(|| {
            // As a fresh orchestrator instance per workflow: nothing counted or scanned yet.
            orchestration::compress::quality::forget_originals();
            let env = BenchEnv { counted: RefCell::default() };
            let mut session = Session::initialize(&env, "bench", "agent-1", "user-1", &steps, Some(&goal));
            for input in &inputs {
                let id = input.step.id.clone();
                let result = session.execute_step(&id, input.clone(), &memory, &plugins);
                assert!(result.is_some(), "step {id} fell back");
            }
            black_box(session.complete())
        })
    });
}

criterion_group!(benches, one_workflow);
criterion_main!(benches);
