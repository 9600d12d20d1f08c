//! The one wasmtime `Engine` of a host: fuel metering and epoch interruption
//! on (a ticker thread advances the epoch), compiled code cached on disk so a
//! restart does not recompile unchanged components.

use super::limits::EPOCH_TICK_MS;
use anyhow::{Context, Result};
use std::time::Duration;
use wasmtime::{Cache, CacheConfig, Config, Engine};

pub fn new_engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true).consume_fuel(true).epoch_interruption(true);
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
