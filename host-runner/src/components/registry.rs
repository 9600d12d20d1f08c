//! The handler registry: components loaded from a directory, indexed by the
//! intents their `info()` declares. Readers take a snapshot (an `ArcSwap`
//! load), so a reload swaps the whole registry atomically while running
//! steps keep the handler they started with.
//!
//! A reload compiles and validates new or changed files off the hot path; a
//! file that fails keeps its previous version serving (if it had one) and is
//! listed as rejected with the reason; a removed file unregisters its intents.
//! A handler made active on baseline code is swapped for its optimized code
//! when that is ready, unless its file changed meanwhile.

use crate::bindings::handler::IntentHandlerPre;
use crate::components::code::Code;
use crate::components::compiled::ComponentBytes;
use crate::components::loaded::{LoadedHandler, RESERVED_IDENTITIES};
use crate::components::manifest::{self, Manifest};
use crate::components::sandbox;
use crate::components::shared::Shared;
use crate::components::worlds::intent_handler::HandlerState;
use crate::error::Error;
use crate::metrics::{Metrics, OutcomeLabel};
use crate::vocabulary::HostEvent;
use anyhow::{Context, Result, bail};
use arc_swap::ArcSwap;
use serde::Serialize;
use std::collections::BTreeMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// A file that failed validation, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub file: PathBuf,
    pub reason: String,
    pub at: SystemTime,
}

/// The handlers serving now, and the files refused by the last reload.
#[derive(Default)]
pub struct Snapshot {
    by_intent: BTreeMap<String, Arc<LoadedHandler>>,
    handlers: Vec<Arc<LoadedHandler>>,
    rejected: Vec<Rejected>,
}

impl Snapshot {
    pub fn handlers(&self) -> &[Arc<LoadedHandler>] {
        &self.handlers
    }

    pub fn rejected(&self) -> &[Rejected] {
        &self.rejected
    }

    /// The handler of `path` when the version at `fingerprint` serves.
    fn serving(&self, path: &Path, fingerprint: u64) -> Option<&Arc<LoadedHandler>> {
        self.handlers.iter().find(|h| h.path == path && h.fingerprint == fingerprint)
    }

    /// Adds a handler unless another one already has its name or serves one of its intents.
    fn admit(&mut self, handler: Arc<LoadedHandler>) -> Result<(), String> {
        if let Some(other) = self.handlers.iter().find(|h| h.info.name == handler.info.name) {
            return Err(format!(
                "handler name `{}` is claimed by both {} and {}",
                handler.info.name,
                other.path.display(),
                handler.path.display()
            ));
        }
        for intent in &handler.info.intents {
            if let Some(other) = self.by_intent.get(intent) {
                return Err(format!(
                    "intent `{intent}` is served by both {} and {}",
                    other.path.display(),
                    handler.path.display()
                ));
            }
        }
        for intent in &handler.info.intents {
            self.by_intent.insert(intent.clone(), handler.clone());
        }
        self.handlers.push(handler);
        Ok(())
    }

    /// This snapshot with the handler of `path` at `fingerprint` on `pre`'s
    /// optimized code; `None` when that version no longer serves.
    fn with_optimized(&self, path: &Path, fingerprint: u64, pre: IntentHandlerPre<HandlerState>) -> Option<Snapshot> {
        let old = self.serving(path, fingerprint)?;
        let new = Arc::new(old.optimized(pre));
        let swap = |h: &Arc<LoadedHandler>| if Arc::ptr_eq(h, old) { Arc::clone(&new) } else { Arc::clone(h) };
        Some(Snapshot {
            by_intent: self.by_intent.iter().map(|(i, h)| (i.clone(), swap(h))).collect(),
            handlers: self.handlers.iter().map(swap).collect(),
            rejected: self.rejected.clone(),
        })
    }
}

/// What a reload did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReloadReport {
    pub loaded: Vec<PathBuf>,
    pub replaced: Vec<PathBuf>,
    pub removed: Vec<PathBuf>,
    pub unchanged: usize,
    pub rejected: Vec<Rejected>,
}

/// Cheap to clone: clones share the snapshot (background optimizations swap it too).
#[derive(Default, Clone)]
pub struct Registry {
    current: Arc<ArcSwap<Snapshot>>,
    /// Reloads and swaps run one at a time; readers never wait for them.
    reloading: Arc<tokio::sync::Mutex<()>>,
}

impl Registry {
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    pub fn for_intent(&self, intent: &str) -> Option<Arc<LoadedHandler>> {
        self.current.load().by_intent.get(intent).cloned()
    }

    pub fn intents(&self) -> Vec<String> {
        self.current.load().by_intent.keys().cloned().collect()
    }

    /// The params keys the handler of `intent` reads as settings.
    pub fn control_params(&self, intent: &str) -> Vec<String> {
        self.for_intent(intent).map(|h| h.info.control_params.clone()).unwrap_or_default()
    }

    /// Rescans the handlers directory and swaps in the result atomically.
    pub async fn reload(&self, shared: &Shared, dir: &Path) -> Result<ReloadReport, Error> {
        let _one_at_a_time = self.reloading.lock().await;
        let previous = self.snapshot();
        let (next, report, baseline) = scan(shared, dir, &previous).await?;
        self.current.store(Arc::new(next));
        for (handler, bytes) in baseline {
            let (registry, still, metrics) = (self.clone(), self.clone(), shared.metrics.clone());
            let (path, fingerprint) = (handler.path.clone(), handler.fingerprint);
            shared.compilers.optimize_in_background(
                handler.id.clone(),
                bytes,
                move || still.serves(&path, fingerprint),
                move |pre| registry.swap_in_optimized(&handler, pre, &metrics),
            );
        }
        let metrics = &shared.metrics;
        count_loads(metrics, "loaded", report.loaded.len());
        count_loads(metrics, "replaced", report.replaced.len());
        count_loads(metrics, "removed", report.removed.len());
        count_loads(metrics, "rejected", report.rejected.len());
        Ok(report)
    }

    /// Whether the version of `path` at `fingerprint` serves now.
    fn serves(&self, path: &Path, fingerprint: u64) -> bool {
        self.current.load().serving(path, fingerprint).is_some()
    }

    /// Serves `handler`'s optimized code from now on, if its version still serves.
    /// Called from the optimizing thread, never from async code.
    fn swap_in_optimized(&self, handler: &LoadedHandler, pre: IntentHandlerPre<HandlerState>, metrics: &Metrics) {
        let _one_at_a_time = self.reloading.blocking_lock();
        match self.current.load().with_optimized(&handler.path, handler.fingerprint, pre) {
            Some(next) => {
                self.current.store(Arc::new(next));
                count_loads(metrics, "optimized", 1);
                tracing::info!(file = %handler.path.display(), "handler now runs optimized code");
            }
            None => tracing::debug!(file = %handler.path.display(), "optimized code discarded: the file changed"),
        }
    }
}

fn count_loads(metrics: &Metrics, outcome: &str, n: usize) {
    metrics.handler_loads.get_or_create(&OutcomeLabel { outcome: outcome.into() }).inc_by(n as u64);
}

/// Handlers loaded on baseline code, with the bytes to optimize.
type ToOptimize = Vec<(Arc<LoadedHandler>, Arc<ComponentBytes>)>;

/// Builds the next snapshot from the directory, reusing unchanged handlers.
async fn scan(shared: &Shared, dir: &Path, previous: &Snapshot) -> Result<(Snapshot, ReloadReport, ToOptimize), Error> {
    let mut next = Snapshot::default();
    let mut report = ReloadReport::default();
    let mut to_optimize = ToOptimize::new();
    let old: BTreeMap<&Path, &Arc<LoadedHandler>> = previous.handlers.iter().map(|h| (h.path.as_path(), h)).collect();
    let files = component_files(dir)?;
    for file in &files {
        let fingerprint = match fingerprint(file) {
            Ok(f) => f,
            Err(e) => {
                reject(shared, &mut next, &mut report, file, format!("{e:#}"), old.get(file.as_path()).copied());
                continue;
            }
        };
        if let Some(same) = old.get(file.as_path()).filter(|h| h.fingerprint == fingerprint) {
            match next.admit(Arc::clone(same)) {
                Ok(()) => report.unchanged += 1,
                Err(reason) => reject(shared, &mut next, &mut report, file, reason, None),
            }
            continue;
        }
        match load(shared, file, fingerprint).await {
            Ok((handler, bytes)) => {
                let handler = Arc::new(handler);
                match next.admit(Arc::clone(&handler)) {
                    Ok(()) => {
                        if handler.code == Code::Baseline && shared.compilers.optimizes_later() {
                            to_optimize.push((handler, bytes));
                        }
                        if old.contains_key(file.as_path()) {
                            report.replaced.push(file.clone());
                        } else {
                            report.loaded.push(file.clone());
                        }
                    }
                    Err(reason) => {
                        reject(shared, &mut next, &mut report, file, reason, old.get(file.as_path()).copied())
                    }
                }
            }
            Err(e) => reject(shared, &mut next, &mut report, file, format!("{e:#}"), old.get(file.as_path()).copied()),
        }
    }
    report.removed = old.keys().filter(|p| !files.iter().any(|f| f == *p)).map(|p| p.to_path_buf()).collect();
    for file in &report.loaded {
        tracing::info!(file = %file.display(), "handler loaded");
    }
    for file in &report.replaced {
        tracing::info!(file = %file.display(), "handler replaced");
    }
    for file in &report.removed {
        tracing::info!(file = %file.display(), "handler removed; its intents fall back");
    }
    Ok((next, report, to_optimize))
}

/// Records a refused file; its previous version, if any, keeps serving.
fn reject(
    shared: &Shared,
    next: &mut Snapshot,
    report: &mut ReloadReport,
    file: &Path,
    reason: String,
    previous: Option<&Arc<LoadedHandler>>,
) {
    tracing::warn!(file = %file.display(), %reason, "handler rejected");
    shared.capabilities.audit.host_event(&HostEvent::HandlerRejected {
        file: file.display().to_string(),
        reason: reason.clone(),
        previous_version_kept: previous.is_some(),
    });
    if let Some(previous) = previous {
        // Cannot conflict: it was admitted with the same intents before.
        let _ = next.admit(Arc::clone(previous));
    }
    let rejected = Rejected { file: file.to_path_buf(), reason, at: SystemTime::now() };
    next.rejected.push(rejected.clone());
    report.rejected.push(rejected);
}

/// The `.wasm` files of a directory, sorted.
pub fn component_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|cause| Error::HandlersDir { dir: dir.to_path_buf(), cause })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

fn fingerprint(file: &Path) -> Result<u64> {
    let mut hasher = DefaultHasher::new();
    std::fs::read(file).with_context(|| format!("handler {}: cannot read the file", file.display()))?.hash(&mut hasher);
    if let Ok(manifest) = std::fs::read(manifest::path_for(file)) {
        manifest.hash(&mut hasher);
    }
    Ok(hasher.finish())
}

/// Compiles (on a blocking thread) and validates one handler: it must be a
/// component of the `intent-handler` world whose `info()` answers with a name
/// and intents that agree with its manifest, if it has one. Returns its bytes
/// too, for optimizing later when it was compiled by the baseline compiler.
async fn load(shared: &Shared, path: &Path, fingerprint: u64) -> Result<(LoadedHandler, Arc<ComponentBytes>)> {
    let what = || format!("handler {}", path.display());
    let manifest = Manifest::load(path)?.unwrap_or_default();
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read the file", what()))?;
    if !wasmparser::Parser::is_component(&bytes) {
        let kind = if wasmparser::Parser::is_core_wasm(&bytes) { "a core module" } else { "not WebAssembly" };
        bail!("{}: not a component ({kind}); handlers are WASI 0.2 components of the `intent-handler` world", what());
    }
    let (compilers, bytes) = (shared.compilers.clone(), Arc::new(ComponentBytes::new(bytes)));
    let linked = {
        let bytes = Arc::clone(&bytes);
        tokio::task::spawn_blocking(move || compilers.compile(&bytes)).await?.with_context(what)?
    };
    let pre = linked.pre;
    let info = sandbox::probe_info(shared, &pre).await.with_context(|| format!("{}: `info()` failed", what()))?;
    if info.name.trim().is_empty() || info.intents.is_empty() || info.intents.iter().any(|i| i.trim().is_empty()) {
        bail!("{}: `info()` must give a name and at least one non-empty intent", what());
    }
    let id = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if let Some(reserved) = RESERVED_IDENTITIES.iter().find(|r| **r == id || **r == info.name) {
        bail!("{}: `{reserved}` is the host's own identity; a handler may not take it", what());
    }
    let grants = manifest
        .grants(shared.limits.defaults, &info.intents, &info.version)
        .with_context(|| format!("{}: manifest {}", what(), manifest::path_for(path).display()))?;
    let handler = LoadedHandler {
        id,
        info,
        path: path.to_path_buf(),
        loaded_at: SystemTime::now(),
        fingerprint,
        grants: Arc::new(grants),
        pre,
        code: linked.code,
    };
    Ok((handler, bytes))
}
