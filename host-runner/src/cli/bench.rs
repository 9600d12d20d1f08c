//! `pilot bench`: the orchestration's own cost per step, measured with the
//! zero-latency simulated provider. A step's overhead is its wall time minus
//! the time spent in the provider; runs are repeated with orchestration off
//! (the normal path) and with every flag on.

use anyhow::{Context, Result};
use host_runner::host::Host;
use host_runner::runner::workflow::Workflow;
use orchestration::keys;
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

/// One configuration of the flags.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub name: &'static str,
    pub flags: [(&'static str, &'static str); 3],
}

pub const MODES: [Mode; 2] = [
    Mode {
        name: "orchestration off",
        flags: [
            (keys::ORCHESTRATION_ENABLED, "false"),
            (keys::COMPRESSION_ENABLED, "false"),
            (keys::AIS_ROUTING_ENABLED, "false"),
        ],
    },
    Mode {
        name: "all flags on",
        flags: [
            (keys::ORCHESTRATION_ENABLED, "true"),
            (keys::COMPRESSION_ENABLED, "true"),
            (keys::AIS_ROUTING_ENABLED, "true"),
        ],
    },
];

#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub mode: &'static str,
    pub runs: usize,
    pub steps: usize,
    pub overhead_p50_ms: f64,
    pub overhead_p99_ms: f64,
    pub step_p50_ms: f64,
    pub run_p50_ms: f64,
    pub steps_per_second: f64,
}

/// Runs `workflow` `warmup + runs` times per mode; only the last `runs` count.
/// Steps run one at a time here, so a step's wall time is its own work: with
/// a zero-latency model, independent steps at once would only interleave
/// their CPU work and each would count the other's (`--model-latency-ms`
/// measures what running them at once buys).
pub async fn bench(host: &Host, workflow: &Workflow, runs: usize, warmup: usize) -> Result<Vec<BenchResult>> {
    host.db().set_setting(orchestration::keys::MAX_PARALLEL_STEPS, "1")?;
    let mut results = Vec::new();
    for mode in MODES {
        for (key, value) in mode.flags {
            host.db().set_setting(key, value)?;
        }
        for _ in 0..warmup {
            host.run(workflow).await?;
        }
        let (mut overheads, mut steps, mut run_times) = (Vec::new(), Vec::new(), Vec::new());
        let started = Instant::now();
        for _ in 0..runs {
            let report = host.run(workflow).await?;
            run_times.push(report.metrics.total_time_ms);
            for step in &report.steps {
                overheads.push((step.time_ms - step.provider_ms).max(0.0));
                steps.push(step.time_ms);
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        results.push(BenchResult {
            mode: mode.name,
            runs,
            steps: steps.len(),
            overhead_p50_ms: percentile(&mut overheads, 0.50),
            overhead_p99_ms: percentile(&mut overheads, 0.99),
            step_p50_ms: percentile(&mut steps, 0.50),
            run_p50_ms: percentile(&mut run_times, 0.50),
            steps_per_second: steps.len() as f64 / elapsed,
        });
    }
    Ok(results)
}

/// What `--concurrency` measures: the serve path, over loopback HTTP.
#[derive(Debug, Clone, Serialize)]
pub struct ServeResult {
    pub mode: &'static str,
    pub concurrency: usize,
    pub workflows: usize,
    pub steps: usize,
    pub steps_per_second: f64,
    pub workflow_p50_ms: f64,
    pub workflow_p99_ms: f64,
    /// Steps the database holds a `token_usage` row for: every one, or the run is not counted as served.
    pub usage_rows: u64,
}

/// Serves `host` the way `pilot serve` does (same accept loop, limits and
/// router) on a loopback port, and posts `runs` workflows from `concurrency`
/// clients at once, per mode.
pub async fn bench_serve(
    host: &Host,
    workflow_text: &str,
    runs: usize,
    concurrency: usize,
    token: &str,
    other_replicas: &[String],
) -> Result<Vec<ServeResult>> {
    use host_runner::serve::{Limits, router, serve_listener};
    let token = token.to_string();
    let limits = Limits::for_machine(Some(concurrency.max(1)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut urls = vec![format!("http://{}/v1/workflows", listener.local_addr()?)];
    urls.extend(other_replicas.iter().map(|base| format!("{base}/v1/workflows")));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_listener(
        listener,
        router(host.clone(), token.clone(), limits, Default::default()),
        limits,
        async {
            let _ = stopped.await;
        },
    ));
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let mut results = Vec::new();
    for mode in MODES {
        for (key, value) in mode.flags {
            host.db().set_setting(key, value)?;
        }
        if !other_replicas.is_empty() {
            // Other processes see a change within their settings snapshot's lifetime.
            tokio::time::sleep(host_runner::storage::settings::SNAPSHOT_TTL + Duration::from_millis(200)).await;
        }
        let rows_before = usage_rows(host)?;
        let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let clients: Vec<_> = (0..concurrency)
            .map(|n| {
                let url = urls[n % urls.len()].clone();
                let (client, token, body, next) =
                    (client.clone(), token.clone(), workflow_text.to_string(), next.clone());
                tokio::spawn(async move {
                    let mut timings = Vec::new();
                    let mut steps = 0usize;
                    while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < runs {
                        let sent = Instant::now();
                        let response = client.post(&url).bearer_auth(&token).body(body.clone()).send().await?;
                        let status = response.status();
                        let report: serde_json::Value = response.json().await?;
                        anyhow::ensure!(status.is_success(), "the server answered {status}: {report}");
                        timings.push(sent.elapsed().as_secs_f64() * 1e3);
                        steps += report["steps"].as_array().map_or(0, Vec::len);
                    }
                    anyhow::Ok((timings, steps))
                })
            })
            .collect();
        let (mut timings, mut steps) = (Vec::new(), 0);
        for client in clients {
            let (t, s) = client.await??;
            timings.extend(t);
            steps += s;
        }
        let elapsed = started.elapsed().as_secs_f64();
        results.push(ServeResult {
            mode: mode.name,
            concurrency,
            workflows: timings.len(),
            steps,
            steps_per_second: steps as f64 / elapsed,
            workflow_p50_ms: percentile(&mut timings, 0.50),
            workflow_p99_ms: percentile(&mut timings, 0.99),
            usage_rows: usage_rows(host)? - rows_before,
        });
    }
    let _ = stop.send(());
    server.await?;
    Ok(results)
}

/// `pilot serve` processes beside this one on the same database, stopped on drop.
pub struct Replicas {
    children: Vec<std::process::Child>,
    /// Their base URLs.
    pub urls: Vec<String>,
}

impl Replicas {
    /// `count` processes whose simulated model answers after `latency_ms`.
    pub fn start(
        components: &Path,
        handlers: &Path,
        database: &str,
        token: &str,
        count: usize,
        latency_ms: u64,
    ) -> Result<Replicas> {
        use std::io::BufRead;
        let mut replicas = Replicas { children: vec![], urls: vec![] };
        for _ in 0..count {
            let mut child = std::process::Command::new(std::env::current_exe()?)
                .args(["--provider", "simulated", "serve", "--listen", "127.0.0.1:0", "--no-watch", "--token", token])
                .env("PILOT_DB", database)
                .env("PILOT_SIMULATED_LATENCY_MS", latency_ms.to_string())
                .env("PILOT_COMPONENTS", components)
                .env("PILOT_HANDLERS", handlers)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .context("starting a pilot serve replica")?;
            let stderr = child.stderr.take().context("the replica's stderr")?;
            replicas.children.push(child);
            let mut lines = std::io::BufReader::new(stderr).lines();
            let address = lines
                .by_ref()
                .map_while(Result::ok)
                .find_map(|l| {
                    l.split("listening on http://").nth(1).and_then(|r| r.split_whitespace().next()).map(String::from)
                })
                .context("a replica exited before listening")?;
            // Keep reading its stderr, so a full pipe never blocks it.
            std::thread::spawn(move || lines.for_each(drop));
            replicas.urls.push(format!("http://{address}"));
        }
        Ok(replicas)
    }
}

impl Replicas {
    /// Their process ids, in start order.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(std::process::Child::id).collect()
    }
}

impl Drop for Replicas {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn usage_rows(host: &Host) -> Result<u64> {
    Ok(host.db().tally()?.step_usage_rows)
}

/// The nearest-rank percentile (`q` in 0..=1) of `values`.
pub fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.5), 50.0);
        assert_eq!(percentile(&mut v, 0.99), 99.0);
        assert_eq!(percentile(&mut [3.0], 0.99), 3.0);
        assert_eq!(percentile(&mut [], 0.5), 0.0);
    }
}
