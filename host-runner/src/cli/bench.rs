//! `pilot bench`: the orchestration's own cost per step, measured with the
//! zero-latency simulated provider. A step's overhead is its wall time minus
//! the time spent in the provider; runs are repeated with orchestration off
//! (the normal path) and with every flag on.

use anyhow::Result;
use host_runner::host::Host;
use host_runner::runner::workflow::Workflow;
use host_runner::storage::settings;
use orchestration::settings as keys;
use serde::Serialize;
use std::time::Instant;

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
pub async fn bench(host: &Host, workflow: &Workflow, runs: usize, warmup: usize) -> Result<Vec<BenchResult>> {
    let mut results = Vec::new();
    for mode in MODES {
        for (key, value) in mode.flags {
            settings::set(&host.db().lock(), key, value)?;
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

/// The nearest-rank percentile (`q` in 0..=1) of `values`.
fn percentile(values: &mut [f64], q: f64) -> f64 {
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
