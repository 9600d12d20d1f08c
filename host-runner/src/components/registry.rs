//! The handler registry: components loaded from a directory, indexed by the
//! intents their `info()` declares. Readers take a snapshot (an `ArcSwap`
//! load), so a reload swaps the whole registry atomically while running
//! steps keep the handler they started with.

use crate::bindings::handler::exports::workflowpilot::orchestration::handler::HandlerInfo;
use crate::bindings::handler::IntentHandlerPre;
use crate::components::manifest::{Grants, Manifest};
use crate::components::sandbox;
use crate::components::state::HandlerState;
use crate::host::Runtime;
use anyhow::{bail, Context, Result};
use arc_swap::ArcSwap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use wasmtime::component::Component;

/// A compiled, validated handler.
pub struct LoadedHandler {
    pub info: HandlerInfo,
    pub path: PathBuf,
    pub loaded_at: SystemTime,
    /// What its manifest grants (the defaults when it has none).
    pub grants: Arc<Grants>,
    pub pre: IntentHandlerPre<HandlerState>,
}

/// The handlers serving now.
#[derive(Default)]
pub struct Snapshot {
    by_intent: BTreeMap<String, Arc<LoadedHandler>>,
    handlers: Vec<Arc<LoadedHandler>>,
}

impl Snapshot {
    /// Builds a snapshot; two handlers claiming one intent is an error naming both files.
    pub fn new(handlers: Vec<Arc<LoadedHandler>>) -> Result<Snapshot> {
        let mut by_intent: BTreeMap<String, Arc<LoadedHandler>> = BTreeMap::new();
        for handler in &handlers {
            for intent in &handler.info.intents {
                if let Some(other) = by_intent.insert(intent.clone(), handler.clone()) {
                    bail!(
                        "intent `{intent}` is served by both {} and {}",
                        other.path.display(),
                        handler.path.display()
                    );
                }
            }
        }
        Ok(Snapshot { by_intent, handlers })
    }

    pub fn handlers(&self) -> &[Arc<LoadedHandler>] {
        &self.handlers
    }
}

#[derive(Default)]
pub struct Registry {
    current: ArcSwap<Snapshot>,
}

impl Registry {
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    pub fn replace(&self, snapshot: Snapshot) {
        self.current.store(Arc::new(snapshot));
    }

    pub fn for_intent(&self, intent: &str) -> Option<Arc<LoadedHandler>> {
        self.current.load().by_intent.get(intent).cloned()
    }

    pub fn intents(&self) -> Vec<String> {
        self.current.load().by_intent.keys().cloned().collect()
    }
}

/// The `.wasm` files of a directory, sorted.
pub fn component_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading handlers directory {}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Compiles and validates one handler: it must be a component of the
/// `intent-handler` world whose `info()` answers with a name and intents
/// that agree with its manifest, if it has one.
pub async fn load(runtime: &Runtime, path: &Path) -> Result<LoadedHandler> {
    let what = || format!("handler {}", path.display());
    let manifest = Manifest::load(path)?.unwrap_or_default();
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read the file", what()))?;
    if !wasmparser::Parser::is_component(&bytes) {
        let kind = if wasmparser::Parser::is_core_wasm(&bytes) { "a core module" } else { "not WebAssembly" };
        bail!("{}: not a component ({kind}); handlers are WASI 0.2 components of the `intent-handler` world", what());
    }
    let component = Component::new(&runtime.engine, &bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{}: does not compile", what()))?;
    let pre = runtime
        .handler_linker
        .instantiate_pre(&component)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{}: imports something the host does not provide", what()))?;
    let pre = IntentHandlerPre::new(pre)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{}: does not export the `handler` interface of the `intent-handler` world", what()))?;
    let info = sandbox::probe_info(runtime, &pre).await.with_context(|| format!("{}: `info()` failed", what()))?;
    if info.name.trim().is_empty() || info.intents.is_empty() || info.intents.iter().any(|i| i.trim().is_empty()) {
        bail!("{}: `info()` must give a name and at least one non-empty intent", what());
    }
    let grants = manifest
        .grants(runtime.limits.defaults, &info.intents, &info.version)
        .with_context(|| format!("{}: manifest {}", what(), crate::components::manifest::path_for(path).display()))?;
    Ok(LoadedHandler { info, path: path.to_path_buf(), loaded_at: SystemTime::now(), grants: Arc::new(grants), pre })
}
