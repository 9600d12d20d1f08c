//! What every component store is built from: the host database, the
//! capabilities' app-wide state, the handler compilers and the default
//! limits; and the host's metrics.

use crate::capabilities::HostCapabilities;
use crate::components::code::HandlerCompilers;
use crate::components::limits::HandlerLimits;
use crate::metrics::Metrics;
use crate::storage::Db;
use std::sync::Arc;

/// Execution limits: the defaults of every component call (a handler's
/// manifest may override them for that handler) and stdio inheritance.
#[derive(Debug, Clone)]
pub struct Limits {
    pub defaults: HandlerLimits,
    pub inherit_stderr: bool,
}

/// App-wide state, shared by every store.
pub struct Shared {
    pub db: Db,
    pub capabilities: HostCapabilities,
    pub compilers: HandlerCompilers,
    pub limits: Limits,
    /// The host's metrics (its database's record writer counts into them too).
    pub metrics: Arc<Metrics>,
}

impl Shared {
    pub fn new(
        compilers: HandlerCompilers,
        db: Db,
        capabilities: HostCapabilities,
        limits: Limits,
        metrics: Arc<Metrics>,
    ) -> Shared {
        Shared { db, capabilities, compilers, limits, metrics }
    }
}
