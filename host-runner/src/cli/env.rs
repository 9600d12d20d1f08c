//! Host settings the environment gives, read here and handed to the library
//! as options (the library reads none of these itself). Names and defaults:
//!
//! - `PILOT_POOLING=0`: no pooling allocator (instances allocated on demand);
//! - `PILOT_PROFILER=perfmap`: guest functions named in `perf` profiles;
//! - `PILOT_BASELINE=0`: `pilot serve` waits for Cranelift's code instead of
//!   serving Winch's first;
//! - `PILOT_PROVIDER_TIMEOUT_S`: the bound on one model call's total time,
//!   retries included, whole seconds from 1 to 3600 (default 120);
//! - `PILOT_STALE_AFTER_S`: how old a running execution's heartbeat may get
//!   before it is marked `interrupted`, whole seconds from 1 (default 15).

use anyhow::{Result, bail};
use host_runner::components::code::CodePolicy;
use host_runner::components::engine::EngineOptions;
use std::time::Duration;

fn is(name: &str, value: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == value)
}

/// `PILOT_POOLING` and `PILOT_PROFILER`.
pub fn engine_options() -> EngineOptions {
    EngineOptions { pooling: !is("PILOT_POOLING", "0"), perf_map: is("PILOT_PROFILER", "perfmap") }
}

/// The code `pilot serve` gives handlers: baseline first, unless `PILOT_BASELINE=0`.
pub fn serve_code_policy() -> CodePolicy {
    if is("PILOT_BASELINE", "0") { CodePolicy::Optimized } else { CodePolicy::BaselineFirst }
}

/// `PILOT_PROVIDER_TIMEOUT_S`, if set.
pub fn provider_timeout() -> Result<Option<Duration>> {
    seconds("PILOT_PROVIDER_TIMEOUT_S", 1..=3600, "from 1 to 3600")
}

/// `PILOT_STALE_AFTER_S`, if set.
pub fn stale_after() -> Result<Option<Duration>> {
    // At most a day: Postgres intervals (and leases) need a bounded one.
    seconds("PILOT_STALE_AFTER_S", 1..=86_400, "from 1 to 86400")
}

/// A variable of whole seconds within `range`, if set.
fn seconds(name: &str, range: std::ops::RangeInclusive<u64>, said: &str) -> Result<Option<Duration>> {
    let Ok(value) = std::env::var(name) else { return Ok(None) };
    match value.trim().parse::<u64>() {
        Ok(s) if range.contains(&s) => Ok(Some(Duration::from_secs(s))),
        _ => bail!("{name} takes whole seconds {said}, got `{value}`"),
    }
}
