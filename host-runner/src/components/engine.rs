//! The one wasmtime `Engine` of a host: fuel metering on, compiled code cached
//! on disk so a restart does not recompile unchanged components.

use anyhow::{Context, Result};
use wasmtime::{Cache, CacheConfig, Config, Engine};

pub fn new_engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true).consume_fuel(true);
    // The cache is an optimization: a machine without a writable cache dir still runs.
    match Cache::new(CacheConfig::new()) {
        Ok(cache) => {
            config.cache(Some(cache));
        }
        Err(e) => tracing::warn!("compiled-code cache disabled: {e:#}"),
    }
    Engine::new(&config).map_err(anyhow::Error::from).context("creating the wasmtime engine")
}
