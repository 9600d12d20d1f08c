//! Workflows at model latency: independent steps run at once, a step waits
//! for what it depends on, racing steps share the workflow budget exactly,
//! and a template that misses at run time fails one step, not the run.

use host_runner::ProviderChoice;
use host_runner::Workflow;
use host_runner::runner::report::Path;
use host_runner::vocabulary::FailureKind;
use integration_tests::Sandbox;
use integration_tests::mock_anthropic::{MockAnthropic, Scripted};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn workflow(value: Value) -> Workflow {
    Workflow::parse(&value.to_string(), "inline").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_independent_orchestrated_steps_overlap() {
    let latency = Duration::from_millis(500);
    let answers = vec![Scripted::message("The pump failed.", 120, 12), Scripted::message("The spare came.", 120, 12)];
    let mock = MockAnthropic::start_with_latency(answers, latency).await;
    let sandbox = Sandbox::new(&["summarize"], &[]);
    sandbox.set("orchestration_enabled", "true");
    let host = sandbox.host_on(&mock).await;
    let started = Instant::now();
    let report = host
        .run(&workflow(json!({
            "id": "overlap", "agent_id": "agent-ops", "user_id": "user-1",
            "steps": [
                {"id": "night", "intent": "summarize", "prompt": "Summarize the night shift's note: the pump failed at 04:10 and was isolated."},
                {"id": "day", "intent": "summarize", "prompt": "Summarize the day shift's note: the spare pump arrived at 09:30 and runs."}
            ]
        })))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(report.steps.iter().all(|s| s.path == Path::Orchestrated), "{:?}", report.steps);
    assert_eq!(mock.received().len(), 2);
    assert!(elapsed < Duration::from_millis(900), "two 500 ms model calls took {elapsed:?} together");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_waits_for_its_dependencies_and_reads_their_outputs() {
    let latency = Duration::from_millis(300);
    let answers = vec![
        Scripted::message("north: 12 open", 80, 6),
        Scripted::message("south: 7 open", 80, 6),
        Scripted::message("19 open in all", 120, 6),
    ];
    let mock = MockAnthropic::start_with_latency(answers, latency).await;
    let sandbox = Sandbox::new(&[], &[]);
    let host = sandbox.host_on(&mock).await;
    let started = Instant::now();
    let report = host
        .run(&workflow(json!({
            "id": "fan-in", "agent_id": "agent-ops", "user_id": "user-1",
            "steps": [
                {"id": "north", "prompt": "Count the open tickets of the north site."},
                {"id": "south", "prompt": "Count the open tickets of the south site."},
                {"id": "total", "prompt": "Add {{steps.north.output}} and {{steps.south.output}}.", "depends_on": ["north", "south"]}
            ]
        })))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(report.steps.iter().all(|s| s.path == Path::Fallback), "{:?}", report.steps);
    assert_eq!(report.steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["north", "south", "total"]);
    assert!(elapsed >= 2 * latency, "the join ran after both: {elapsed:?}");
    assert!(elapsed < 3 * latency, "the first two overlapped: {elapsed:?}");
    let last = mock.received().last().unwrap().body["messages"][0]["content"].to_string();
    assert!(last.contains("north: 12 open") && last.contains("south: 7 open"), "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_steps_never_overspend_the_workflow_budget() {
    const BUDGET: u64 = 3_000;
    let sandbox = Sandbox::new(&[], &[]);
    sandbox.set("orchestration_enabled", "true");
    sandbox.set("orchestration_max_tokens_per_workflow", &BUDGET.to_string());
    sandbox.set("workflow_max_parallel_steps", "20");
    let host = sandbox.builder().provider(ProviderChoice::Simulated(Duration::from_millis(100))).build().await.unwrap();
    // No handler serves the intent: every step runs the normal way, on what the workflow budget leaves.
    let report_text = "The quarterly report lists revenue, churn, hiring and open incidents by region. ".repeat(25);
    let steps: Vec<Value> = (0..20)
        .map(|i| json!({"id": format!("s{i}"), "intent": "appraise", "prompt": format!("Appraise part {i}: {report_text}")}))
        .collect();
    let report = host
        .run(&workflow(json!({ "id": "race", "agent_id": "agent-fin", "user_id": "user-1", "steps": steps })))
        .await
        .unwrap();
    let usage = sandbox.db().usage(&report.execution_id).unwrap();
    let spent: u64 = usage.iter().filter(|u| u.step_id.is_some()).map(|u| u.tokens_used).sum();
    assert!(spent <= BUDGET, "20 racing steps spent {spent} of a {BUDGET} budget");
    let failed: Vec<_> = report.steps.iter().filter(|s| s.path == Path::Failed).collect();
    assert!(!failed.is_empty(), "the budget cannot carry all 20: {spent}");
    assert!(failed.iter().all(|s| s.failure_kind == Some(FailureKind::Budget)), "{failed:?}");
    assert!(report.steps.iter().any(|s| s.path == Path::Fallback), "some ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_miss_fails_its_step_and_the_independent_step_runs() {
    let sandbox = Sandbox::new(&[], &[]);
    let host = sandbox.host().await;
    let report = host.run(&workflow(template_miss())).await.expect("a step's failure is not the run's");
    let step = |id: &str| report.steps.iter().find(|s| s.id == id).unwrap();
    assert_eq!(step("count").path, Path::Fallback);
    let missed = step("total");
    assert_eq!((missed.path, missed.failure_kind), (Path::Failed, Some(FailureKind::Template)));
    assert!(missed.error.as_deref().unwrap().contains("step `total` prompt: step `count`'s output"), "{missed:?}");
    assert_eq!(step("notify").path, Path::Skipped, "its dependent is skipped");
    assert_eq!(step("greet").path, Path::Fallback, "the independent step ran");
    let run = sandbox.db().execution(&report.execution_id).unwrap().unwrap();
    assert_eq!(run.state.as_str(), "failed");
}

/// `total` reads a field `count`'s text answer does not have; `greet` is independent.
pub fn template_miss() -> Value {
    json!({
        "id": "template-miss", "agent_id": "agent-ops", "user_id": "user-1",
        "steps": [
            {"id": "count", "prompt": "Count the open tickets."},
            {"id": "total", "prompt": "Report {{steps.count.output.total}} tickets.", "depends_on": ["count"]},
            {"id": "notify", "prompt": "Tell the team: {{steps.total.output}}", "depends_on": ["total"]},
            {"id": "greet", "prompt": "Write a one-line greeting for the night shift."}
        ]
    })
}
