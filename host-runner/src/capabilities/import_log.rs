//! Import calls a component made that leave no other trace (an outbound
//! request, a database statement, a settings read), recorded when someone
//! asks: `pilot handlers test` shows them. Off (`None`) in a serving host.

use serde::Serialize;
use std::sync::{Arc, Mutex};

/// One import call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "import", rename_all = "snake_case")]
pub enum ImportCall {
    /// An outbound `wasi:http` request; `denied` says why it never left.
    Http { method: String, url: String, denied: Option<String> },
    /// A statement on the component's own database, and whether it ran.
    Database { statement: String, write: bool, error: Option<String> },
    /// A settings read: the key (or prefix), and whether the grant allowed it.
    Setting { key: String, granted: bool },
}

/// Where a store's contexts append their calls.
#[derive(Debug, Default)]
pub struct ImportLog {
    calls: Mutex<Vec<ImportCall>>,
}

impl ImportLog {
    pub fn record(log: &Option<Arc<ImportLog>>, call: impl FnOnce() -> ImportCall) {
        if let Some(log) = log {
            log.calls.lock().unwrap_or_else(|p| p.into_inner()).push(call());
        }
    }

    /// Every call so far, removed from the log.
    pub fn take(&self) -> Vec<ImportCall> {
        std::mem::take(&mut self.calls.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
