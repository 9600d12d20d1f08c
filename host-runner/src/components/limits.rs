//! Execution limits of one component call: fuel, a wall-clock deadline,
//! memory and table caps, instance counts and output size. The limiter
//! records which cap was hit, so a failure carries its typed reason.

use serde::Deserialize;
use wasmtime::ResourceLimiter;

/// How often the host advances the engine's epoch; deadlines are counted in these ticks.
pub const EPOCH_TICK_MS: u64 = 10;

/// The limits one handler runs under.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandlerLimits {
    /// Fuel of one call (roughly one unit per wasm instruction).
    pub fuel: u64,
    /// Wall-clock deadline of one call, host calls included.
    pub deadline_ms: u64,
    /// Linear memory cap, bytes.
    pub memory_bytes: u64,
    /// Elements of all tables together.
    pub table_elements: u64,
    /// Core instances, tables and memories a component may create.
    pub instances: u64,
    /// Largest output accepted, bytes.
    pub max_output_bytes: u64,
}

impl Default for HandlerLimits {
    fn default() -> Self {
        HandlerLimits {
            fuel: 2_000_000_000,
            deadline_ms: 120_000,
            memory_bytes: 256 << 20,
            table_elements: 100_000,
            instances: 32,
            max_output_bytes: 1 << 20,
        }
    }
}

/// The largest linear memory a handler may have (a manifest's `memory_mb`
/// above it is refused): the size of one slot of the instance pool.
pub const MAX_MEMORY_MB: u64 = 1_024;

/// Per-handler overrides, from the `[limits]` table of a manifest.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    pub fuel: Option<u64>,
    pub deadline_ms: Option<u64>,
    pub memory_mb: Option<u64>,
    pub table_elements: Option<u64>,
    pub instances: Option<u64>,
    pub max_output_bytes: Option<u64>,
}

impl HandlerLimits {
    pub fn with(self, o: &LimitOverrides) -> HandlerLimits {
        HandlerLimits {
            fuel: o.fuel.unwrap_or(self.fuel),
            deadline_ms: o.deadline_ms.unwrap_or(self.deadline_ms),
            memory_bytes: o.memory_mb.map_or(self.memory_bytes, |mb| mb << 20),
            table_elements: o.table_elements.unwrap_or(self.table_elements),
            instances: o.instances.unwrap_or(self.instances),
            max_output_bytes: o.max_output_bytes.unwrap_or(self.max_output_bytes),
        }
    }

    /// Epoch ticks of the deadline, rounded up.
    pub fn deadline_ticks(&self) -> u64 {
        self.deadline_ms.div_ceil(EPOCH_TICK_MS).max(1)
    }
}

/// Which cap a call ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapHit {
    Memory,
    Table,
}

/// The store's `ResourceLimiter`: refuses growth past the caps and remembers it.
pub struct Limiter {
    limits: HandlerLimits,
    pub hit: Option<CapHit>,
}

impl Limiter {
    pub fn new(limits: HandlerLimits) -> Self {
        Limiter { limits, hit: None }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.limits.memory_bytes {
            self.hit = Some(CapHit::Memory);
            wasmtime::bail!("memory cap of {} bytes reached (asked for {desired})", self.limits.memory_bytes);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.limits.table_elements {
            self.hit = Some(CapHit::Table);
            wasmtime::bail!("table cap of {} elements reached (asked for {desired})", self.limits.table_elements);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.limits.instances as usize
    }

    fn tables(&self) -> usize {
        self.limits.instances as usize
    }

    fn memories(&self) -> usize {
        self.limits.instances as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_name() {
        let limits =
            HandlerLimits::default().with(&LimitOverrides { fuel: Some(5), memory_mb: Some(2), ..Default::default() });
        assert_eq!((limits.fuel, limits.memory_bytes), (5, 2 << 20));
        assert_eq!(limits.deadline_ms, HandlerLimits::default().deadline_ms);
    }

    #[test]
    fn the_limiter_refuses_and_remembers() {
        let mut limiter = Limiter::new(HandlerLimits { memory_bytes: 1 << 20, ..Default::default() });
        assert!(limiter.memory_growing(0, 1 << 20, None).unwrap());
        assert!(limiter.memory_growing(1 << 20, 2 << 20, None).is_err());
        assert_eq!(limiter.hit, Some(CapHit::Memory));
    }

    #[test]
    fn deadlines_round_up_to_ticks() {
        let limits = HandlerLimits { deadline_ms: 25, ..Default::default() };
        assert_eq!(limits.deadline_ticks(), 3);
    }
}
