//! The wasmtime engines of a host. Both meter fuel and take epoch
//! interruptions (a ticker thread per engine advances its epoch).
//!
//! - The optimized engine (Cranelift) runs the orchestrator and every handler
//!   once its code is ready. Its instances come from a pre-reserved pool (the
//!   pooling allocator): every step still gets a fresh instance, but its
//!   memory is a recycled slot initialized copy-on-write from the module's
//!   image instead of new mappings.
//! - The baseline engine (Winch) compiles about 5x faster and runs slower
//!   code; `pilot serve` uses it for a handler it has no optimized code for
//!   yet, until Cranelift's code is swapped in (see `code`). Its instances
//!   are allocated on demand: it serves for seconds, so reserving a second
//!   pool is not worth the address space.

use super::limits::{EPOCH_TICK_MS, MAX_MEMORY_MB};
use crate::error::{Error, chain};
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy, Strategy};

/// Component instances alive at once (a run holds its orchestrator and one
/// handler; `pilot serve` runs at most 64 workflows together).
const POOLED_INSTANCES: u32 = 1_000;

/// How a host's engines are configured.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    /// Instances of the optimized engine come from the pooling allocator
    /// (default); off, they are allocated on demand.
    pub pooling: bool,
    /// Names guest functions in `perf` profiles (wasmtime writes
    /// /tmp/perf-PID.map); guest code is otherwise anonymous JIT. Off by default.
    pub perf_map: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions { pooling: true, perf_map: false }
    }
}

/// The Cranelift engine, pooled when `options` say so.
pub fn new_engine(options: &EngineOptions) -> Result<Engine, Error> {
    if !options.pooling {
        return engine(Strategy::Cranelift, false, options.perf_map);
    }
    // The pool reserves address space up front; where that is refused
    // (a ulimit on virtual memory), instances are allocated on demand.
    engine(Strategy::Cranelift, true, options.perf_map).or_else(|e| {
        tracing::warn!("pooling allocator unavailable, allocating instances on demand: {}", chain(&e));
        engine(Strategy::Cranelift, false, options.perf_map)
    })
}

/// The Winch engine, for code that must run soon rather than fast.
pub fn new_baseline_engine(options: &EngineOptions) -> Result<Engine, Error> {
    engine(Strategy::Winch, false, options.perf_map)
}

fn engine(compiler: Strategy, pooling: bool, perf_map: bool) -> Result<Engine, Error> {
    let mut config = Config::new();
    config.strategy(compiler).wasm_component_model(true).consume_fuel(true).epoch_interruption(true);
    if perf_map {
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
    let engine = Engine::new(&config).map_err(|e| Error::Engine(anyhow::Error::from(e).into()))?;
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
