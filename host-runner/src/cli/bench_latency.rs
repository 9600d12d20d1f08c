//! `pilot bench --model-latency-ms N --in-flight M`: the serve path at model
//! latency. A `pilot serve` process whose simulated model (a labeled test
//! double) answers after N ms gets M clients posting at once; the same
//! build's zero-latency throughput is measured first, in the same run, so
//! the share of it that survives the wait is a ratio of two figures taken
//! minutes apart on one machine. The server runs in its own process so its
//! memory is its own.

use super::bench::{Replicas, percentile};
use anyhow::Result;
use host_runner::storage::Db;
use host_runner::storage::executions::ExecutionFilter;
use host_runner::storage::throwaway::ThrowawayPostgres;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Clients of the zero-latency reference: enough to keep 2 cores busy.
const REFERENCE_CLIENTS: usize = 32;
/// How long a refused or reset client waits before it tries again.
const RETRY_AFTER: Duration = Duration::from_millis(500);

#[derive(Debug, Serialize)]
pub struct LatencyResult {
    pub model_latency_ms: u64,
    pub in_flight: usize,
    /// Submitted as durable runs (answered 202, checkpointed step by step).
    pub durable: bool,
    pub replicas: usize,
    pub database: &'static str,
    pub workflows: usize,
    pub workflows_per_second: f64,
    /// The same build's serve path with a zero-latency model, measured first.
    pub zero_latency_workflows_per_second: f64,
    /// `workflows_per_second / zero_latency_workflows_per_second`.
    pub share_of_zero_latency: f64,
    pub workflow_p50_ms: f64,
    pub workflow_p99_ms: f64,
    /// 503 answers (every slot busy, or memory short), each retried.
    pub refusals: u64,
    /// Connections refused or reset, each retried.
    pub resets: u64,
    /// The servers' resident memory before the load, and its peak under it (summed over replicas).
    pub rss_idle_mb: f64,
    pub rss_peak_mb: f64,
    /// Usage rows committed, and the steps that ran (on either path): equal when every row is written once.
    pub usage_rows: u64,
    pub steps_run: u64,
}

/// Where the servers find their components, the workflow the clients post,
/// and how many `pilot serve` replicas share one database.
pub struct Setup<'a> {
    pub components: &'a Path,
    pub handlers: &'a Path,
    pub workflow: &'a str,
    pub replicas: usize,
    /// A fresh database per measurement: a scratch SQLite file, or a database
    /// of a Postgres server (replicas need one).
    pub postgres: Option<&'a ThrowawayPostgres>,
    /// Submit the measured runs asynchronously, as durable runs.
    pub durable: bool,
}

pub async fn measure(setup: &Setup<'_>, latency_ms: u64, in_flight: usize, runs: usize) -> Result<LatencyResult> {
    // The clients hold one descriptor per connection too.
    host_runner::serve::capacity::raise_file_limit();
    let reference_runs = runs.clamp(100, 1_000);
    eprintln!("reference: zero-latency model, {REFERENCE_CLIENTS} clients, {reference_runs} workflows");
    let reference = drive(setup, 0, REFERENCE_CLIENTS.min(in_flight), reference_runs, false).await?;
    let how = if setup.durable { "durable runs" } else { "workflows" };
    eprintln!("measured: {latency_ms} ms model, {in_flight} clients at once, {runs} {how}");
    let loaded = drive(setup, latency_ms, in_flight, runs, setup.durable).await?;
    Ok(LatencyResult {
        model_latency_ms: latency_ms,
        in_flight,
        durable: setup.durable,
        replicas: setup.replicas,
        database: if setup.postgres.is_some() { "postgres" } else { "sqlite" },
        workflows: loaded.timings.len(),
        workflows_per_second: loaded.per_second(),
        zero_latency_workflows_per_second: reference.per_second(),
        share_of_zero_latency: loaded.per_second() / reference.per_second(),
        workflow_p50_ms: percentile(&mut loaded.timings.clone(), 0.50),
        workflow_p99_ms: percentile(&mut loaded.timings.clone(), 0.99),
        refusals: loaded.refusals,
        resets: loaded.resets,
        rss_idle_mb: loaded.rss_idle as f64 / (1 << 20) as f64,
        rss_peak_mb: loaded.rss_peak as f64 / (1 << 20) as f64,
        usage_rows: loaded.usage_rows,
        steps_run: loaded.steps_run,
    })
}

struct Driven {
    timings: Vec<f64>,
    elapsed: Duration,
    refusals: u64,
    resets: u64,
    rss_idle: u64,
    rss_peak: u64,
    usage_rows: u64,
    steps_run: u64,
}

impl Driven {
    fn per_second(&self) -> f64 {
        self.timings.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// One `pilot serve` on a fresh database with every flag on, `clients`
/// posting until `runs` workflows were answered (or, `durable`, submitted
/// and then ended).
async fn drive(setup: &Setup<'_>, latency_ms: u64, clients: usize, runs: usize, durable: bool) -> Result<Driven> {
    let scratch = tempfile_path();
    let database = match setup.postgres {
        Some(server) => server.create_database()?,
        None => scratch.display().to_string(),
    };
    let db = Db::open(&database)?;
    for flag in ["orchestration_enabled", "orchestration_compression_enabled", "orchestration_ais_routing_enabled"] {
        db.set_setting(flag, "true")?;
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    let servers = Replicas::start(setup.components, setup.handlers, &database, &token, setup.replicas, latency_ms)?;
    let pids = servers.pids();
    let urls: Vec<String> = servers.urls.iter().map(|base| format!("{base}/v1/workflows")).collect();
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    // Warm: the first requests compile nothing (code is kept), but fill caches.
    const WARM_RUNS: usize = 3;
    let warm_runs = WARM_RUNS * urls.len();
    for url in &urls {
        for _ in 0..WARM_RUNS {
            client.post(url).bearer_auth(&token).body(setup.workflow.to_string()).send().await?.error_for_status()?;
        }
    }
    let rss = move || pids.iter().filter_map(|&pid| resident_bytes(pid)).sum::<u64>();
    let rss_idle = rss();
    let (rows_before, steps_before) = {
        let tally = db.tally()?;
        (tally.step_usage_rows, tally.distinct_steps)
    };
    let rss_peak = Arc::new(AtomicU64::new(rss_idle));
    let sampler = tokio::spawn({
        let rss_peak = rss_peak.clone();
        async move {
            loop {
                rss_peak.fetch_max(rss(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let next = Arc::new(AtomicUsize::new(0));
    let (refusals, resets) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|n| {
            let url = urls[n % urls.len()].clone();
            let (client, token, body) = (client.clone(), token.clone(), setup.workflow.to_string());
            let (next, refusals, resets) = (next.clone(), refusals.clone(), resets.clone());
            tokio::spawn(async move {
                let mut timings = Vec::new();
                let mut ran = 0u64;
                while next.fetch_add(1, Ordering::Relaxed) < runs {
                    let sent = Instant::now();
                    loop {
                        let mut request = client.post(&url).bearer_auth(&token).body(body.clone());
                        if durable {
                            request = request.header("prefer", "respond-async");
                        }
                        match request.send().await {
                            Ok(response) if response.status().as_u16() == 503 => {
                                refusals.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(response) if durable => {
                                let status = response.status();
                                anyhow::ensure!(status.as_u16() == 202, "the server answered {status} to a submission");
                                break;
                            }
                            Ok(response) => {
                                let status = response.status();
                                let report: serde_json::Value = response.json().await?;
                                anyhow::ensure!(status.is_success(), "the server answered {status}: {report}");
                                let steps = report["steps"].as_array().map_or(&[][..], Vec::as_slice);
                                let ran_here =
                                    |s: &&serde_json::Value| s["path"] == "orchestrated" || s["path"] == "fallback";
                                ran += steps.iter().filter(ran_here).count() as u64;
                                break;
                            }
                            Err(_) => {
                                resets.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        tokio::time::sleep(RETRY_AFTER).await;
                    }
                    timings.push(sent.elapsed().as_secs_f64() * 1e3);
                }
                anyhow::Ok((timings, ran))
            })
        })
        .collect();
    let (mut timings, mut steps_run) = (Vec::new(), 0);
    for task in tasks {
        let (t, ran) = task.await??;
        timings.extend(t);
        steps_run += ran;
    }
    let mut elapsed = started.elapsed();
    if durable {
        let ended = durable_runs_ended(&db, runs, warm_runs).await?;
        (timings, elapsed) = (ended.timings, ended.elapsed);
        steps_run = db.tally()?.distinct_steps - steps_before;
    }
    sampler.abort();
    drop(servers);
    let usage_rows = db.tally()?.step_usage_rows - rows_before;
    drop(db);
    let _ = std::fs::remove_file(&scratch);
    Ok(Driven {
        timings,
        elapsed,
        refusals: refusals.load(Ordering::Relaxed),
        resets: resets.load(Ordering::Relaxed),
        rss_idle,
        rss_peak: rss_peak.load(Ordering::Relaxed),
        usage_rows,
        steps_run,
    })
}

/// Durable runs as their `executions` rows say they went.
struct Ended {
    /// Submission to end, per run.
    timings: Vec<f64>,
    /// First submission to last end.
    elapsed: Duration,
}

/// Waits until no durable run is queued or running, then reads the times
/// of the `runs` that ended (besides `warm_runs` synchronous ones) once.
async fn durable_runs_ended(db: &Db, runs: usize, warm_runs: usize) -> Result<Ended> {
    // Two indexed looks, not a scan: the poll must not load the machine it measures.
    while db.queued_runs()? > 0 || !db.executions(&ExecutionFilter::recent(Some("running"), 1))?.is_empty() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ended = |r: &host_runner::storage::executions::Execution| r.durable && r.ended_at.is_some();
    let rows = db.executions(&ExecutionFilter::recent(None, (runs + warm_runs + 100) as u32))?;
    let spans: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| ended(r))
        .filter_map(|r| Some((unix_seconds(&r.started_at)?, unix_seconds(r.ended_at.as_deref()?)?)))
        .collect();
    anyhow::ensure!(spans.len() >= runs, "durable runs with unreadable timestamps");
    let first = spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let last = spans.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
    Ok(Ended {
        timings: spans.iter().map(|(start, end)| (end - start) * 1e3).collect(),
        elapsed: Duration::from_secs_f64((last - first).max(1e-3)),
    })
}

/// Seconds since the Unix epoch of a stored timestamp (`2026-12-06T13:24:46.775Z`, UTC).
fn unix_seconds(stamp: &str) -> Option<f64> {
    let (date, time) = stamp.strip_suffix('Z')?.split_once('T')?;
    let mut ymd = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (ymd.next()??, ymd.next()??, ymd.next()??);
    let mut hms = time.splitn(3, ':');
    let (h, min, s): (f64, f64, f64) =
        (hms.next()?.parse().ok()?, hms.next()?.parse().ok()?, hms.next()?.parse().ok()?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + h * 3_600.0 + min * 60.0 + s)
}

fn tempfile_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("pilot-bench-latency-{}.db", uuid::Uuid::new_v4()))
}

/// A process's resident memory, from `/proc/<pid>/status` (`VmRSS`).
fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The reading for people.
pub fn print(r: &LatencyResult) {
    println!(
        "serve path at model latency ({} ms simulated model, all flags on, {} clients, {} replica(s) on {}{})",
        r.model_latency_ms,
        r.in_flight,
        r.replicas,
        r.database,
        if r.durable { ", durable runs timed submission to end" } else { "" }
    );
    println!(
        "  {:.1} workflows/s = {:.0}% of the same build's zero-latency {:.1} workflows/s",
        r.workflows_per_second,
        r.share_of_zero_latency * 100.0,
        r.zero_latency_workflows_per_second
    );
    println!(
        "  workflow p50 {:.0} ms, p99 {:.0} ms over {} workflows",
        r.workflow_p50_ms, r.workflow_p99_ms, r.workflows
    );
    println!("  refusals (503) {}, connection resets {}", r.refusals, r.resets);
    println!("  server RSS {:.0} MB idle, {:.0} MB peak", r.rss_idle_mb, r.rss_peak_mb);
    println!("  usage rows {} for {} steps run", r.usage_rows, r.steps_run);
}

#[cfg(test)]
mod tests {
    use super::unix_seconds;

    #[test]
    fn stored_timestamps_read_as_unix_seconds() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00.000Z"), Some(0.0));
        assert_eq!(unix_seconds("2000-03-01T00:00:01.500Z"), Some(951_868_801.5));
        assert_eq!(unix_seconds("2026-12-06T13:24:46.775Z").map(|s| s.round()), Some(1_796_563_487.0));
        assert_eq!(unix_seconds("yesterday"), None);
    }
}
