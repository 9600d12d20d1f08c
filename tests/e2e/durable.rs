//! Durable runs as clients and operators meet them: asynchronous submission
//! with an idempotency key, progress as Server-Sent Events, a replica killed
//! or drained mid-load with its runs finished elsewhere from their
//! checkpoints, and `pilot runs cancel|resume`.

use super::replicas::{Replica, TOKEN, example_workflow, handlers_dir, open, scratch, set_flag};
use host_runner::storage::Db;
use host_runner::storage::executions::Execution;
use host_runner::storage::runs::StepState;
use host_runner::storage::throwaway::ThrowawayPostgres;
use integration_tests::pilot;
use integration_tests::simulated_messages_api::SimulatedMessagesApi;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::process::Command;
use std::time::{Duration, Instant};

/// The triage example with a reference of its own, so each run's prompts differ from every other run's.
fn ticket(n: usize) -> String {
    let mut workflow: Value = serde_json::from_str(&example_workflow()).unwrap();
    let ticket = workflow["inputs"]["ticket"].as_str().unwrap().to_string();
    workflow["inputs"]["ticket"] = json!(format!("Reference: RUN-{n:04}\n{ticket}"));
    workflow.to_string()
}

/// Three steps one after another, each calling the model.
fn chain(n: usize) -> String {
    json!({
        "id": "three-summaries",
        "agent_id": "agent-chain",
        "user_id": "user-chain",
        "inputs": { "text": format!("Reference: CHAIN-{n}. The quarterly report shows revenue up 12 percent, costs flat, and a new office opening in Lisbon in May. Hiring continues in support and sales.") },
        "steps": [
            { "id": "first", "prompt": "Summarize this report in one sentence.\n\n{{input.text}}" },
            { "id": "second", "prompt": "Summarize this summary for an executive.\n\n{{steps.first.output}}", "depends_on": ["first"] },
            { "id": "third", "prompt": "Summarize this for a newsletter headline.\n\n{{steps.second.output}}", "depends_on": ["second"] }
        ]
    })
    .to_string()
}

struct Submitted {
    status: u16,
    body: Value,
    location: Option<String>,
}

async fn submit(client: &reqwest::Client, base: &str, workflow: String, key: Option<&str>) -> Submitted {
    let mut request =
        client.post(format!("{base}/v1/workflows")).bearer_auth(TOKEN).header("prefer", "respond-async").body(workflow);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    Submitted { status, body: response.json().await.unwrap_or(Value::Null), location }
}

/// Submits `workflows`, each to one of `bases` in turn; their execution ids.
async fn submit_all(bases: &[String], workflows: Vec<String>) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for (n, workflow) in workflows.into_iter().enumerate() {
        let submitted = submit(&client, &bases[n % bases.len()], workflow, None).await;
        assert_eq!(submitted.status, 202, "{}", submitted.body);
        ids.push(submitted.body["execution_id"].as_str().unwrap().to_string());
    }
    ids
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

async fn executions(db: &Db) -> Vec<Execution> {
    let db = db.clone();
    blocking(move || db.executions(&host_runner::storage::executions::ExecutionFilter::recent(None, 100_000)).unwrap())
        .await
}

/// Polls until `done` holds for the executions, or fails after `limit`.
async fn wait_for(db: &Db, limit: Duration, what: &str, done: impl Fn(&[Execution]) -> bool) -> Vec<Execution> {
    let deadline = Instant::now() + limit;
    loop {
        let runs = executions(db).await;
        if done(&runs) {
            return runs;
        }
        let states: BTreeMap<&str, usize> = runs.iter().fold(BTreeMap::new(), |mut m, r| {
            *m.entry(r.state.as_str()).or_default() += 1;
            m
        });
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}; states {states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn all_completed(n: usize) -> impl Fn(&[Execution]) -> bool {
    move |runs| runs.len() == n && runs.iter().all(|r| r.state == "completed")
}

/// Each step of each run: `(execution, step)` -> (checkpoint state, starts).
async fn checkpoints(db: &Db, ids: &[String]) -> BTreeMap<(String, String), (StepState, u32)> {
    let (db, ids) = (db.clone(), ids.to_vec());
    blocking(move || {
        let mut all = BTreeMap::new();
        for id in &ids {
            for c in db.checkpoints(id).unwrap() {
                all.insert((id.clone(), c.step_id), (c.state, c.starts));
            }
        }
        all
    })
    .await
}

fn kill(replica: &mut Replica) {
    assert!(Command::new("kill").args(["-9", &replica.pid()]).status().unwrap().success());
    let _ = replica.child.wait();
}

fn cli(database: &str, args: &[&str]) -> std::process::Output {
    Command::new(pilot()).args(args).env("PILOT_DB", database).output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_async_submission_is_acknowledged_once_per_key_and_streams_its_progress() {
    let database = scratch("async").join("pilot.db").display().to_string();
    set_flag(&database, "orchestration_enabled", "true");
    let replica = Replica::start(&database, handlers_dir(), &[], &[("PILOT_SIMULATED_LATENCY_MS", "150")]);
    let client = reqwest::Client::new();
    let base = replica.base.clone();

    // The same key twice at once: one execution.
    let (one, two) = tokio::join!(
        submit(&client, &base, ticket(1), Some("order-7781")),
        submit(&client, &base, ticket(1), Some("order-7781")),
    );
    assert_eq!((one.status, two.status), (202, 202), "{} {}", one.body, two.body);
    let id = one.body["execution_id"].as_str().unwrap().to_string();
    assert_eq!(two.body["execution_id"], id.as_str(), "one execution per key");
    assert_eq!(one.location.as_deref(), Some(format!("/v1/executions/{id}").as_str()));
    assert_ne!(one.body["replayed"], two.body["replayed"], "one of the two was the replay");
    // The key reused for another workflow, and a key without `Prefer: respond-async`.
    let reused = submit(&client, &base, ticket(2), Some("order-7781")).await;
    assert_eq!(reused.status, 422, "{}", reused.body);
    assert!(reused.body["error"].as_str().unwrap().contains(&id), "{}", reused.body);
    let no_prefer = client
        .post(format!("{base}/v1/workflows"))
        .bearer_auth(TOKEN)
        .header("idempotency-key", "k")
        .body(ticket(3))
        .send()
        .await
        .unwrap();
    assert_eq!(no_prefer.status().as_u16(), 400);
    let bad = submit(&client, &base, "{\"id\": 1}".into(), None).await;
    assert_eq!(bad.status, 400, "an invalid workflow is refused before it is queued: {}", bad.body);

    // Its progress as Server-Sent Events, to the end of the run.
    let stream = client.get(format!("{base}/v1/executions/{id}/events")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let text = stream.text().await.unwrap();
    let events: Vec<(String, Value)> = text
        .split("\n\n")
        .filter_map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((name.to_string(), serde_json::from_str(data).unwrap()))
        })
        .collect();
    let count = |name: &str| events.iter().filter(|(n, _)| n == name).count();
    assert_eq!((count("step_started"), count("step_finished")), (3, 3), "{text}");
    let (last, data) = events.last().unwrap();
    assert_eq!((last.as_str(), data["state"].as_str()), ("run_finished", Some("completed")), "{text}");

    // Its state and each finished step's result.
    let run: Value =
        client.get(format!("{base}/v1/executions/{id}")).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(run["execution"]["state"], "completed");
    assert_eq!(run["execution"]["durable"], true);
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{run}");
    assert!(steps.iter().all(|s| s["path"] == "orchestrated" && !s["output"].is_null()), "{run}");
    assert_eq!(run["steps_in_flight"], json!([]));

    // The replica counts what it leased.
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    for line in ["pilot_runs_leased_total 1", "pilot_runs_resumed_total 0", "pilot_steps_rerun_total 0"] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    assert!(metrics.contains("pilot_runs_queued "), "{metrics}");

    // The synchronous call stays as it was.
    let sync = client.post(format!("{base}/v1/workflows")).bearer_auth(TOKEN).body(ticket(4)).send().await.unwrap();
    assert_eq!(sync.status().as_u16(), 200);
    let db = open(&database).await;
    let runs = executions(&db).await;
    assert_eq!(runs.len(), 2, "one durable run and one synchronous run");
    let tally = blocking(move || db.tally().unwrap()).await;
    assert_eq!((tally.step_usage_rows, tally.distinct_steps), (6, 6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_sqlite_host_finishes_its_runs_after_a_restart_and_runs_no_finished_step_again() {
    const RUNS: usize = 50;
    let database = scratch("sqlite-kill").join("pilot.db").display().to_string();
    set_flag(&database, "orchestration_enabled", "true");
    let env = [("PILOT_SIMULATED_LATENCY_MS", "400"), ("PILOT_STALE_AFTER_S", "2")];
    let mut host = Replica::start(&database, handlers_dir(), &[], &env);
    let ids = submit_all(std::slice::from_ref(&host.base), (0..RUNS).map(chain).collect()).await;
    let db = open(&database).await;
    // Kill it with some steps finished and others in flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let finished = checkpoints(&db, &ids).await.values().filter(|(s, _)| *s == StepState::Finished).count();
        if finished >= RUNS {
            break;
        }
        assert!(Instant::now() < deadline, "no progress: {finished} steps finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    kill(&mut host);
    let at_kill = checkpoints(&db, &ids).await;
    let finished: HashSet<_> =
        at_kill.iter().filter(|(_, (s, _))| *s == StepState::Finished).map(|(k, _)| k.clone()).collect();
    let in_flight: HashSet<_> =
        at_kill.iter().filter(|(_, (s, _))| *s == StepState::Started).map(|(k, _)| k.clone()).collect();
    assert!(!in_flight.is_empty(), "the kill caught steps in flight");

    let _restarted = Replica::start(&database, handlers_dir(), &[], &env);
    let runs =
        wait_for(&db, Duration::from_secs(90), "every run completes after the restart", all_completed(RUNS)).await;
    let after = checkpoints(&db, &ids).await;
    for key in &finished {
        assert_eq!(after[key], at_kill[key], "{key:?} finished before the kill and never ran again");
    }
    for key in &in_flight {
        assert_eq!(after[key], (StepState::Finished, 2), "{key:?} was in flight: run again once");
    }
    assert_eq!(runs.iter().map(|r| r.rerun_steps as usize).sum::<usize>(), in_flight.len());
    assert!(runs.iter().all(|r| r.leases >= 1));
    let tally = blocking(move || (db.tally().unwrap(), db.check_integrity().unwrap())).await;
    assert_eq!((tally.0.step_usage_rows, tally.0.distinct_steps), ((RUNS * 3) as u64, (RUNS * 3) as u64));
    assert_eq!(tally.0.events.get("WORKFLOW_STEP_RERUN").copied().unwrap_or(0), in_flight.len() as u64);
    assert!(tally.1.is_empty(), "{:?}", tally.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_finish_500_runs_when_one_is_killed_and_pay_twice_only_for_steps_in_flight() {
    const RUNS: usize = 500;
    let model = SimulatedMessagesApi::start(Duration::from_millis(200)).await;
    let database = ThrowawayPostgres::shared().unwrap().create_database().unwrap();
    set_flag(&database, "orchestration_enabled", "true");
    let env = [
        ("ANTHROPIC_BASE_URL", model.base_url.as_str()),
        ("ANTHROPIC_API_KEY", "sk-ant-test-double"),
        ("PILOT_STALE_AFTER_S", "2"),
    ];
    // 50 runs at once each, so the load lasts long enough to kill a replica in the middle of it.
    let slots = ["--max-in-flight", "50"];
    let mut a = Replica::start_on("anthropic", &database, handlers_dir(), &slots, &env);
    let b = Replica::start_on("anthropic", &database, handlers_dir(), &slots, &env);
    let ids = submit_all(&[a.base.clone(), b.base.clone()], (0..RUNS).map(ticket).collect()).await;
    let db = open(&database).await;
    let a_pid = format!("{}-", a.pid());
    // Kill A mid-load: a third of the runs done.
    wait_for(&db, Duration::from_secs(120), "a third of the runs completed", |runs| {
        runs.iter().filter(|r| r.state == "completed").count() >= RUNS / 3
    })
    .await;
    kill(&mut a);
    let at_kill = executions(&db).await;
    let on_a: Vec<String> = at_kill
        .iter()
        .filter(|r| r.state == "running" && r.replica.starts_with(&a_pid))
        .map(|r| r.id.clone())
        .collect();
    let open_at_kill: HashSet<String> =
        at_kill.iter().filter(|r| r.state != "completed").map(|r| r.id.clone()).collect();
    let in_flight_on_a =
        checkpoints(&db, &on_a).await.values().filter(|(state, _)| *state == StepState::Started).count();
    assert!(in_flight_on_a > 0, "the kill caught steps in flight on A");

    let runs = wait_for(&db, Duration::from_secs(180), "every run completes", all_completed(RUNS)).await;
    // Runs open at the kill finished on the survivor.
    let b_pid = format!("{}-", b.pid());
    for run in runs.iter().filter(|r| open_at_kill.contains(&r.id)) {
        assert!(run.replica.starts_with(&b_pid), "{} ended on {}", run.id, run.replica);
    }
    // Every step in flight on A at the kill is re-run once and marked so. Paid twice: at most those
    // steps. A step whose start was committed but whose request had not reached the model when A
    // died is re-run yet paid once, so the repeated calls may be fewer than the re-runs.
    let rerun: usize = runs.iter().map(|r| r.rerun_steps as usize).sum();
    assert_eq!(rerun, in_flight_on_a);
    let (repeated, most) = model.repeated();
    eprintln!("durable: {in_flight_on_a} steps in flight on the killed replica, {repeated} model calls repeated");
    assert!(repeated <= rerun, "{repeated} model calls repeated, more than the {rerun} steps re-run");
    assert!(most <= 2, "a prompt was paid for {most} times: once on A, once on the survivor at most");
    let checked = blocking(move || {
        let tally = db.tally().unwrap();
        assert_eq!((tally.step_usage_rows, tally.distinct_steps), ((RUNS * 3) as u64, (RUNS * 3) as u64));
        assert_eq!(tally.events.get("WORKFLOW_STEP_RERUN").copied(), Some(rerun as u64));
        let budget: u64 = db.setting("orchestration_max_tokens_per_workflow").unwrap().unwrap().parse().unwrap();
        for id in &ids {
            let spent: u64 = db.usage(id).unwrap().iter().map(|u| u.tokens_used).sum();
            assert!(spent <= budget, "execution {id} spent {spent} of {budget}");
        }
        db.check_integrity().unwrap()
    });
    let problems = checked.await;
    assert!(problems.is_empty(), "amcheck: {problems:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drained_replica_leaves_its_queued_runs_to_another() {
    const RUNS: usize = 100;
    let database = ThrowawayPostgres::shared().unwrap().create_database().unwrap();
    set_flag(&database, "orchestration_enabled", "true");
    let env = [("PILOT_SIMULATED_LATENCY_MS", "300"), ("PILOT_STALE_AFTER_S", "2")];
    let mut a = Replica::start(&database, handlers_dir(), &["--max-in-flight", "4", "--drain-timeout", "3"], &env);
    submit_all(std::slice::from_ref(&a.base), (0..RUNS).map(ticket).collect()).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let sent = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &a.pid()]).status().unwrap().success());
    let status = a.child.wait().unwrap();
    let took = sent.elapsed();
    assert!(status.success(), "a drained replica exits 0: {:?}", a.logs());
    assert!(took < Duration::from_secs(5), "exited within the drain deadline (3 s), took {took:?}");
    let db = open(&database).await;
    let left = executions(&db).await.iter().filter(|r| r.state != "completed").count();
    assert!(left > RUNS / 2, "most runs were still queued: {left}");
    assert!(
        executions(&db).await.iter().all(|r| r.state != "running"),
        "nothing is left leased by the drained replica"
    );

    let _b = Replica::start(&database, handlers_dir(), &[], &env);
    wait_for(&db, Duration::from_secs(60), "another replica finishes them", all_completed(RUNS)).await;
    let tally = blocking(move || db.tally().unwrap()).await;
    assert_eq!((tally.step_usage_rows, tally.distinct_steps), ((RUNS * 3) as u64, (RUNS * 3) as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resuming_a_run_at_its_last_step_calls_the_model_for_that_step_only() {
    let model = SimulatedMessagesApi::start(Duration::from_millis(400)).await;
    let database = scratch("resume-cost").join("pilot.db").display().to_string();
    let env = [
        ("ANTHROPIC_BASE_URL", model.base_url.as_str()),
        ("ANTHROPIC_API_KEY", "sk-ant-test-double"),
        ("PILOT_STALE_AFTER_S", "2"),
    ];
    let mut host = Replica::start_on("anthropic", &database, handlers_dir(), &[], &env);
    let id = submit_all(std::slice::from_ref(&host.base), vec![chain(1)]).await.remove(0);
    let db = open(&database).await;
    // Killed while the last step's call is with the model.
    let deadline = Instant::now() + Duration::from_secs(30);
    while model.received().len() < 3 {
        assert!(Instant::now() < deadline, "the last step never called the model");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill(&mut host);
    let before = model.received();
    assert_eq!(before.len(), 3, "one call per step before the kill");

    let _restarted = Replica::start_on("anthropic", &database, handlers_dir(), &[], &env);
    wait_for(&db, Duration::from_secs(30), "the run completes", all_completed(1)).await;
    let after = &model.received()[before.len()..];
    assert_eq!(after.len(), 1, "only the last step's call: {after:?}");
    assert_eq!(after[0], before[2], "the step in flight, sent again");
    let run = blocking({
        let (db, id) = (db.clone(), id.clone());
        move || db.execution(&id).unwrap().unwrap()
    })
    .await;
    assert_eq!((run.leases, run.rerun_steps), (2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_cancels_a_run_at_a_step_boundary_and_resumes_it() {
    let database = scratch("cancel").join("pilot.db").display().to_string();
    let env = [("PILOT_SIMULATED_LATENCY_MS", "700"), ("PILOT_STALE_AFTER_S", "2")];
    let host = Replica::start(&database, handlers_dir(), &[], &env);
    let id = submit_all(std::slice::from_ref(&host.base), vec![chain(2)]).await.remove(0);
    let db = open(&database).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while checkpoints(&db, std::slice::from_ref(&id)).await.is_empty() {
        assert!(Instant::now() < deadline, "the first step never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = cli(&database, &["runs", "cancel", &id]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("next step boundary"));
    let runs =
        wait_for(&db, Duration::from_secs(30), "the run is cancelled", |runs| runs[0].state == "cancelled").await;
    assert_eq!(runs[0].error.as_deref(), Some("cancelled by an operator"));
    let done = checkpoints(&db, std::slice::from_ref(&id)).await;
    assert!(!done.contains_key(&(id.clone(), "third".to_string())), "no step started after the cancel: {done:?}");
    let events = blocking({
        let (db, id) = (db.clone(), id.clone());
        move || db.audit(Some(&id), 100).unwrap()
    })
    .await;
    assert!(events.iter().any(|e| e.event_type == "WORKFLOW_STEP_SKIPPED" && e.metadata["kind"] == "cancelled"));
    let again = cli(&database, &["runs", "cancel", &id, "--json"]);
    assert_eq!(again.status.code(), Some(1), "nothing left to cancel");
    let answer: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(answer["cancel"], json!({ "outcome": "already_ended", "state": "cancelled" }));

    let out = cli(&database, &["runs", "resume", &id]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    wait_for(&db, Duration::from_secs(30), "the resumed run completes", all_completed(1)).await;
    let after = checkpoints(&db, std::slice::from_ref(&id)).await;
    assert_eq!(after[&(id.clone(), "first".to_string())], (StepState::Finished, 1), "finished before: not run again");
    assert_eq!(after.len(), 3);
    assert_eq!(cli(&database, &["runs", "resume", &id]).status.code(), Some(1), "a completed run is not resumed");
}

/// A run that loses its replica at every lease (a step that kills the
/// process, say) ends `failed` after five leases instead of crash-looping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_keeps_losing_its_replica_ends_failed() {
    use host_runner::storage::executions::{ExecutionStart, Finish, State};
    use host_runner::storage::runs::Submission;
    let sandbox = integration_tests::Sandbox::standard();
    let host = sandbox.host().await;
    let db = host.db().clone();
    let start = ExecutionStart {
        id: "crashy".into(),
        workflow_id: "three-summaries".into(),
        agent_id: "agent-chain".into(),
        user_id: "user-chain".into(),
        replica: db.replica().into(),
    };
    db.submit_run(&Submission { start, workflow: chain(3), idempotency_key: None }).unwrap();
    // Five leases whose replica died (a hand-back is not counted).
    rusqlite::Connection::open(db.location())
        .unwrap()
        .execute("UPDATE executions SET leases = 5 WHERE id = 'crashy'", [])
        .unwrap();
    let leased = db.lease_runs(1).unwrap().remove(0);
    assert_eq!(leased.leases, 6);
    let error = host.run_leased(&leased).await.unwrap_err().to_string();
    assert!(error.contains("leased 5 times without finishing"), "{error}");
    let run = db.execution("crashy").unwrap().unwrap();
    assert_eq!(run.state, "failed");
    assert!(db.lease_runs(1).unwrap().is_empty(), "not leased again");
    // An operator who resumes it starts its count over.
    assert_eq!(db.requeue_run("crashy").unwrap(), host_runner::storage::runs::Requeue::Queued);
    assert_eq!(db.lease_runs(1).unwrap()[0].leases, 1);
    db.finish_execution("crashy", Finish { state: State::Queued, error: None });
    db.records().flush().await;
    assert_eq!(db.execution("crashy").unwrap().unwrap().leases, 0, "a hand-back is not counted");
}
