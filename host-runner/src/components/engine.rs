//! The one wasmtime `Engine` of a host: fuel metering and epoch interruption
//! on (a ticker thread advances the epoch), compiled code cached on disk so a
//! restart does not recompile unchanged components, and instances taken
//! from a pre-reserved pool (the pooling allocator): every step still gets a
//! fresh instance, but its memory is a recycled slot initialized
//! copy-on-write from the module's image instead of new mappings.

use super::limits::{EPOCH_TICK_MS, MAX_MEMORY_MB};
use anyhow::{Context, Result};
use std::time::Duration;
use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy,
};

/// Component instances alive at once (a run holds its orchestrator and one
/// handler; `pilot serve` runs at most 64 workflows together).
const POOLED_INSTANCES: u32 = 1_000;

pub fn new_engine() -> Result<Engine> {
    if std::env::var("PILOT_POOLING").is_ok_and(|v| v == "0") {
        return engine(false);
    }
    // The pool reserves address space up front; where that is refused
    // (a ulimit on virtual memory), instances are allocated on demand.
    engine(true).or_else(|e| {
        tracing::warn!("pooling allocator unavailable, allocating instances on demand: {e:#}");
        engine(false)
    })
}

fn engine(pooling: bool) -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true).consume_fuel(true).epoch_interruption(true);
    // `PILOT_PROFILER=perfmap` names guest functions in `perf` profiles
    // (wasmtime writes /tmp/perf-PID.map); guest code is otherwise anonymous JIT.
    if std::env::var("PILOT_PROFILER").is_ok_and(|v| v == "perfmap") {
        config.profiler(ProfilingStrategy::PerfMap);
    }
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(POOLED_INSTANCES)
            .total_core_instances(POOLED_INSTANCES * 8)
            .total_memories(POOLED_INSTANCES * 2)
            .total_tables(POOLED_INSTANCES * 4)
            .total_stacks(POOLED_INSTANCES)
            .max_core_instances_per_component(32)
            .max_memories_per_component(4)
            .max_tables_per_component(8)
            .max_memory_size((MAX_MEMORY_MB << 20) as usize);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    // The cache is an optimization: a machine without a writable cache dir still runs.
    match Cache::new(CacheConfig::new()) {
        Ok(cache) => {
            config.cache(Some(cache));
        }
        Err(e) => tracing::warn!("compiled-code cache disabled: {e:#}"),
    }
    let engine = Engine::new(&config).map_err(anyhow::Error::from).context("creating the wasmtime engine")?;
    start_epoch_ticker(&engine);
    Ok(engine)
}

/// Advances the epoch every tick until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("pilot-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(Duration::from_millis(EPOCH_TICK_MS));
            }
        })
        .expect("spawning the epoch ticker thread");
}
