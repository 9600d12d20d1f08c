//! `pilot serve` as operators run it: replicas on one Postgres (the tests'
//! throwaway server), metrics scraped, a replica killed or drained.

use host_runner::storage::Db;
use host_runner::storage::throwaway::ThrowawayPostgres;
use integration_tests::{components, pilot, repo};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) const TOKEN: &str = "replica-token-51c2";

/// One `pilot serve` process on its own handlers directory.
pub(crate) struct Replica {
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) handlers: PathBuf,
    /// Its working directory (the components' own databases land there).
    cwd: PathBuf,
    stderr: Arc<std::sync::Mutex<Vec<String>>>,
}

pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pilot-replica-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A handlers directory with the three production handlers of the vertical slice.
pub(crate) fn handlers_dir() -> PathBuf {
    let dir = scratch("handlers");
    for name in ["summarize", "extract", "transform"] {
        std::fs::copy(components().join(format!("handlers/{name}.wasm")), dir.join(format!("{name}.wasm"))).unwrap();
    }
    dir
}

impl Replica {
    pub(crate) fn start(database: &str, handlers: PathBuf, extra: &[&str], env: &[(&str, &str)]) -> Replica {
        Replica::start_on("simulated", database, handlers, extra, env)
    }

    /// A replica whose model is `provider` (its base URL and key in `env`).
    pub(crate) fn start_on(
        provider: &str,
        database: &str,
        handlers: PathBuf,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Replica {
        let cwd = scratch("cwd");
        let mut child = Command::new(pilot())
            .args(["--provider", provider, "serve", "--listen", "127.0.0.1:0", "--token", TOKEN])
            .args(extra)
            .env("PILOT_DB", database)
            .env("PILOT_COMPONENTS", components())
            .env("PILOT_HANDLERS", &handlers)
            .envs(env.iter().copied())
            .current_dir(&cwd)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (found, address) = std::sync::mpsc::channel();
        let stderr = Arc::new(std::sync::Mutex::new(Vec::new()));
        let lines = BufReader::new(child.stderr.take().unwrap());
        let kept = stderr.clone();
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = found.send(rest.split_whitespace().next().unwrap_or_default().to_string());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let address = address.recv_timeout(Duration::from_secs(60)).expect("the replica said where it listens");
        Replica { child, base: format!("http://{address}"), handlers, cwd, stderr }
    }

    pub(crate) fn pid(&self) -> String {
        self.child.id().to_string()
    }

    pub(crate) fn logs(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.handlers);
        let _ = std::fs::remove_dir_all(&self.cwd);
    }
}

pub(crate) fn example_workflow() -> String {
    std::fs::read_to_string(repo().join("examples/support-ticket-triage.json")).unwrap()
}

async fn post(client: &reqwest::Client, base: &str, body: String) -> Result<(u16, Value), reqwest::Error> {
    let r = client.post(format!("{base}/v1/workflows")).bearer_auth(TOKEN).body(body).send().await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

pub(crate) fn set_flag(database: &str, key: &str, value: &str) {
    let out = Command::new(pilot()).args(["flags", "set", key, value]).env("PILOT_DB", database).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn install(from: &Path, to: &Path) {
    let staging = to.with_extension("staging");
    std::fs::copy(from, &staging).unwrap();
    std::fs::rename(&staging, to).unwrap();
}

/// `Db::open` and its queries block: off the test's async workers.
pub(crate) async fn open(database: &str) -> Db {
    let database = database.to_string();
    tokio::task::spawn_blocking(move || Db::open(&database).unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_one_postgres_count_every_step_once() {
    const RUNS: usize = 500;
    let database = ThrowawayPostgres::shared().unwrap().create_database().unwrap();
    set_flag(&database, "orchestration_enabled", "true");
    let a = Replica::start(&database, handlers_dir(), &[], &[]);
    let b = Replica::start(&database, handlers_dir(), &[], &[]);
    let client = reqwest::Client::new();
    let workflow = example_workflow();
    // All at once: a replica with every run slot busy answers 503 with
    // Retry-After before running anything, and the client tries again.
    let runs: Vec<_> = (0..RUNS)
        .map(|n| {
            let (client, workflow) = (client.clone(), workflow.clone());
            let base = if n % 2 == 0 { a.base.clone() } else { b.base.clone() };
            tokio::spawn(async move {
                loop {
                    let (status, report) = post(&client, &base, workflow.clone()).await.unwrap();
                    if status != 503 {
                        return (status, report);
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        })
        .collect();
    // One replica swaps summarize between versions under the load.
    let target = a.handlers.join("summarize.wasm");
    for round in 0..6 {
        let from = if round % 2 == 0 { "test-guests/summarize-v2.wasm" } else { "handlers/summarize.wasm" };
        install(&components().join(from), &target);
        let r = client.post(format!("{}/v1/handlers/reload", a.base)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    let mut executions = Vec::new();
    for run in runs {
        let (status, report) = run.await.unwrap();
        assert_eq!(status, 200, "{report}");
        assert!(report["steps"].as_array().unwrap().iter().all(|s| s["path"] == "orchestrated"), "{report}");
        executions.push(report["execution_id"].as_str().unwrap().to_string());
    }

    let db = open(&database).await;
    let checked = tokio::task::spawn_blocking(move || {
        let tally = db.tally().unwrap();
        assert_eq!((tally.step_usage_rows, tally.distinct_steps), ((RUNS * 3) as u64, (RUNS * 3) as u64));
        assert_eq!(tally.events["ORCHESTRATION_INITIALIZED"], RUNS as u64);
        assert_eq!(tally.events["ORCHESTRATION_STEP_EXECUTED"], (RUNS * 3) as u64);
        assert_eq!(tally.events["ORCHESTRATION_COMPLETED"], RUNS as u64);
        assert_eq!(tally.executions.get("completed").copied(), Some(RUNS as u64));
        // Both replicas served, and no run used more than its workflow budget.
        let budget: u64 = db.setting("orchestration_max_tokens_per_workflow").unwrap().unwrap().parse().unwrap();
        let mut replicas = BTreeMap::new();
        for id in &executions {
            *replicas.entry(db.execution(id).unwrap().unwrap().replica).or_insert(0) += 1;
            let spent: u64 = db.usage(id).unwrap().iter().map(|u| u.tokens_used).sum();
            assert!(spent <= budget, "execution {id} spent {spent} of {budget}");
        }
        assert_eq!(replicas.values().copied().collect::<Vec<_>>(), [RUNS / 2, RUNS / 2], "{replicas:?}");
        assert!(db.check_integrity().unwrap().is_empty());
    });
    checked.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_mid_load_leaves_interrupted_runs_and_the_other_serves_on() {
    let database = ThrowawayPostgres::shared().unwrap().create_database().unwrap();
    set_flag(&database, "orchestration_enabled", "true");
    let slow = [("PILOT_SIMULATED_LATENCY_MS", "1000"), ("PILOT_STALE_AFTER_S", "2")];
    let mut a = Replica::start(&database, handlers_dir(), &[], &slow);
    let b = Replica::start(&database, handlers_dir(), &[], &slow);
    let client = reqwest::Client::new();
    let send = |base: String| {
        let (client, workflow) = (client.clone(), example_workflow());
        tokio::spawn(async move { post(&client, &base, workflow).await })
    };
    let on_a: Vec<_> = (0..10).map(|_| send(a.base.clone())).collect();
    let on_b: Vec<_> = (0..10).map(|_| send(b.base.clone())).collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(Command::new("kill").args(["-9", &a.pid()]).status().unwrap().success());
    let _ = a.child.wait();
    for run in on_a {
        assert!(run.await.unwrap().is_err(), "the killed replica answered nothing");
    }
    for run in on_b {
        let (status, report) = run.await.unwrap().unwrap();
        assert_eq!(status, 200, "the other replica serves on: {report}");
    }
    // The killed replica comes back; its runs are found by their stopped heartbeat.
    let _a_again = Replica::start(&database, handlers_dir(), &[], &slow);
    let db = open(&database).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let tally = loop {
        let db = db.clone();
        let tally = tokio::task::spawn_blocking(move || db.tally().unwrap()).await.unwrap();
        if !tally.executions.contains_key("running") || Instant::now() > deadline {
            break tally;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(tally.executions.get("running"), None, "{tally:?}");
    assert_eq!(tally.executions.get("interrupted"), Some(&10), "{tally:?}");
    assert_eq!(tally.executions.get("completed"), Some(&10), "{tally:?}");
    // Nothing half-written: every usage row belongs to a step, once; the indexes agree with the tables.
    assert_eq!(tally.step_usage_rows, tally.distinct_steps);
    let problems = tokio::task::spawn_blocking(move || db.check_integrity().unwrap()).await.unwrap();
    assert!(problems.is_empty(), "{problems:?}");
}

/// `name{labels} value` lines of a Prometheus text page.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_string(), value.parse().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_agree_with_the_database_and_a_drained_replica_finishes_its_runs() {
    let dir = integration_tests::Dir::new();
    let database = dir.0.join("pilot.db").display().to_string();
    set_flag(&database, "orchestration_enabled", "true");
    let env = [("PILOT_SIMULATED_LATENCY_MS", "400"), ("RUST_LOG", "info")];
    let mut server =
        Replica::start(&database, handlers_dir(), &["--log-format", "json", "--drain-timeout", "20"], &env);
    let client = reqwest::Client::new();
    let ready = client.get(format!("{}/ready", server.base)).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    for _ in 0..4 {
        let (status, report) = post(&client, &server.base, example_workflow()).await.unwrap();
        assert_eq!(status, 200, "{report}");
    }

    let text = client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    let metrics = parse_metrics(&text);
    let tally = {
        let db = open(&database).await;
        tokio::task::spawn_blocking(move || db.tally().unwrap()).await.unwrap()
    };
    for (event, rows) in &tally.events {
        if event == "SETTING_CHANGED" {
            continue; // written by the `pilot flags` processes above, not by this server
        }
        assert_eq!(metrics[&format!("pilot_audit_events_total{{event_type=\"{event}\"}}")], *rows as f64, "{event}");
    }
    assert_eq!(metrics["pilot_workflows_total{state=\"completed\"}"], tally.executions["completed"] as f64);
    assert_eq!(metrics["pilot_steps_total{path=\"orchestrated\",intent=\"summarize\"}"], 4.0);
    assert_eq!(metrics["pilot_step_duration_seconds_count{path=\"orchestrated\"}"], tally.step_usage_rows as f64);
    assert_eq!(metrics["pilot_handler_loads_total{outcome=\"loaded\"}"], 3.0);

    // Taken out of the pool while a run is in flight: /ready turns it away at
    // once, new runs are refused, the run in flight finishes, the process exits.
    let in_flight = tokio::spawn({
        let (client, base) = (client.clone(), server.base.clone());
        async move { post(&client, &base, example_workflow()).await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(Command::new("kill").args(["-TERM", &server.pid()]).status().unwrap().success());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ready = client.get(format!("{}/ready", server.base)).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let (status, refused) = post(&client, &server.base, example_workflow()).await.unwrap();
    assert_eq!((status, refused["error"].as_str().unwrap()), (503, "this replica is draining; retry on another"));
    let (status, report) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{report}");
    assert!(server.child.wait().unwrap().success(), "a drained replica exits cleanly");
    let db = open(&database).await;
    let id = report["execution_id"].as_str().unwrap().to_string();
    let run = tokio::task::spawn_blocking(move || db.execution(&id).unwrap().unwrap()).await.unwrap();
    assert_eq!(run.state, "completed");

    // JSON logs: one object per line, step lines inside their run's span.
    let logs = server.logs();
    let step_lines: Vec<Value> = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "step ended")
        .collect();
    assert_eq!(step_lines.len(), 15, "{logs:?}");
    assert!(step_lines.iter().all(|l| l["spans"][0]["execution_id"].is_string() && l["fields"]["step_id"].is_string()));
}
