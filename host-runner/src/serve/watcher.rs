//! Watches the handlers directory; changes are debounced, then trigger a reload.

use crate::error::{Error, chain};
use crate::host::Host;
use notify::{RecursiveMode, Watcher};
use std::time::Duration;

/// Events closer together than this are one change (a copy writes many
/// times). Short: an atomic rename (the documented way to deploy) is one
/// event, and a file caught half-copied is rejected, then loaded whole on
/// the next event, while the previous version keeps serving.
const DEBOUNCE: Duration = Duration::from_millis(60);

/// Starts watching; the returned watcher stops when dropped.
pub fn watch(host: Host) -> Result<notify::RecommendedWatcher, Error> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let unwatchable = |cause| Error::Watch { dir: host.handlers_dir().to_path_buf(), cause };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = tx.send(());
        }
    })
    .map_err(unwatchable)?;
    watcher.watch(host.handlers_dir(), RecursiveMode::NonRecursive).map_err(unwatchable)?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Swallow the rest of the burst before reloading.
            while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {}
            match host.reload_handlers().await {
                Ok(report) => tracing::info!(
                    loaded = report.loaded.len(),
                    replaced = report.replaced.len(),
                    removed = report.removed.len(),
                    rejected = report.rejected.len(),
                    "handlers reloaded"
                ),
                Err(e) => tracing::error!("reloading handlers failed: {}", chain(&e)),
            }
        }
    });
    Ok(watcher)
}
