//! A handler that passed validation: compiled, linked, its `info()` and
//! its manifest's grants checked.

use crate::bindings::handler::IntentHandlerPre;
use crate::bindings::handler::exports::workflowpilot::orchestration::handler::HandlerInfo;
use crate::components::code::Code;
use crate::components::manifest::Grants;
use crate::components::worlds::intent_handler::HandlerState;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

/// Identities the host and the runner use for themselves in audit and usage
/// rows; no handler may take one, by file name or by `info()` name.
pub const RESERVED_IDENTITIES: [&str; 3] = ["orchestrator", "host", "runner"];

/// A compiled, validated handler.
#[derive(Clone)]
pub struct LoadedHandler {
    /// Its host-side identity, the stem of its file: its database, audit
    /// source and usage rows are keyed by it, whatever `info()` claims.
    pub id: String,
    pub info: HandlerInfo,
    pub path: PathBuf,
    pub loaded_at: SystemTime,
    /// Hash of the component and manifest bytes: a reload skips unchanged files.
    pub fingerprint: u64,
    /// What its manifest grants (the defaults when it has none).
    pub grants: Arc<Grants>,
    pub pre: IntentHandlerPre<HandlerState>,
    /// The compiler `pre`'s code came from.
    pub code: Code,
}

impl LoadedHandler {
    /// The same handler on Cranelift's code for the same bytes.
    pub fn optimized(&self, pre: IntentHandlerPre<HandlerState>) -> LoadedHandler {
        LoadedHandler { pre, code: Code::Optimized, ..self.clone() }
    }
}
