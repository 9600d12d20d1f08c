//! Machine code kept on disk, so a restart or a file seen before is not
//! compiled again: each component's code, serialized by wasmtime, under
//! `$XDG_CACHE_HOME/pilot/compiled` (or `~/.cache/pilot/compiled`), named by
//! the SHA-256 of the component's bytes and a hash of the engine's settings.
//!
//! The host keeps these files itself, rather than through wasmtime's own
//! cache, because it must know before compiling whether optimized code
//! exists: a miss is served first by the baseline compiler (see `code`).
//!
//! Loading a file maps its code and runs it unchecked
//! (`Component::deserialize_file`), so the directory is as trusted as the
//! binary: it is created private to the user, and refused (nothing kept) when
//! it exists owned by someone else or writable by others; only regular files
//! owned by the user are loaded; files enter it only by an atomic rename, and
//! none is ever rewritten in place (a mapped file stays valid when a newer
//! one replaces its name).

use crate::error::{Cause, Error, chain};
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Past this many bytes of code on disk, the least recently used files go.
const MAX_BYTES: u64 = 2 << 30;

/// A temporary file this old was left by a process that stopped mid-write.
const ABANDONED_AFTER: Duration = Duration::from_secs(600);

/// A component's bytes, and their SHA-256 once a lookup or a write needed it:
/// hashed once however many times its code is looked up and kept.
pub struct ComponentBytes {
    bytes: Vec<u8>,
    sha256: OnceLock<String>,
}

impl ComponentBytes {
    pub fn new(bytes: Vec<u8>) -> ComponentBytes {
        ComponentBytes { bytes, sha256: OnceLock::new() }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn sha256(&self) -> &str {
        self.sha256.get_or_init(|| hex(&Sha256::digest(&self.bytes)))
    }
}

/// Where compiled components are kept; `None` keeps nothing.
#[derive(Debug, Clone)]
pub struct CompiledStore {
    dir: Option<PathBuf>,
}

impl CompiledStore {
    /// The user's cache directory; without one (no `HOME`, not creatable, or
    /// not private to the user), nothing is kept.
    pub fn user_default() -> CompiledStore {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")));
        match base.map(|b| b.join("pilot").join("compiled")) {
            Some(dir) => match CompiledStore::at(dir.clone()) {
                Ok(store) => store,
                Err(e) => {
                    tracing::warn!("compiled-code store disabled: {}", chain(&e));
                    CompiledStore { dir: None }
                }
            },
            None => CompiledStore { dir: None },
        }
    }

    /// Keeps code in `dir`, created if missing; refused unless private to the user.
    pub fn at(dir: PathBuf) -> Result<CompiledStore, Error> {
        let refused = |cause: Cause| Error::CompiledCodeDir { dir: dir.clone(), cause };
        create_private_dir(&dir).map_err(|e| refused(anyhow::Error::from(e).context("cannot be created").into()))?;
        let meta =
            std::fs::metadata(&dir).map_err(|e| refused(anyhow::Error::from(e).context("cannot be read").into()))?;
        if meta.uid() != effective_uid() || meta.mode() & 0o022 != 0 {
            return Err(refused(
                format!(
                    "compiled code there would run unchecked, but the directory is owned by uid {} with mode {:o}; \
                     it must be owned by this user and writable by no one else",
                    meta.uid(),
                    meta.mode() & 0o7777
                )
                .into(),
            ));
        }
        Ok(CompiledStore { dir: Some(dir) })
    }

    /// The code of `component` for `engine`, when it was compiled before.
    pub fn lookup(&self, engine: &Engine, component: &ComponentBytes) -> Option<Component> {
        let path = self.path_for(engine, component)?;
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if !meta.file_type().is_file() || meta.uid() != effective_uid() {
            tracing::warn!(file = %path.display(), "compiled code not loaded: not a regular file of this user");
            return None;
        }
        // SAFETY: files in this directory are written only by `compile` below,
        // from wasmtime's own serialization, and renamed in whole (module docs).
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => {
                // Recently used files survive eviction.
                let _ =
                    std::fs::File::options().append(true).open(&path).and_then(|f| f.set_modified(SystemTime::now()));
                Some(component)
            }
            Err(e) => {
                let e = anyhow::Error::from(e);
                // Not code for this engine (another wasmtime build): compile
                // anew, and replace it. A failure to read leaves it be.
                if !e.chain().any(|cause| cause.is::<std::io::Error>()) {
                    let _ = std::fs::remove_file(&path);
                }
                tracing::debug!(file = %path.display(), "compiled code not usable: {e:#}");
                None
            }
        }
    }

    /// Compiles `component` with `engine` and keeps the code for next time.
    /// Keeping it is best effort: a full disk still returns the component.
    pub fn compile(&self, engine: &Engine, component: &ComponentBytes) -> Result<Component> {
        let code = engine.precompile_component(component.bytes()).map_err(anyhow::Error::from)?;
        if let Some(path) = self.path_for(engine, component) {
            match keep(&path, &code) {
                // SAFETY: the file was just written from `precompile_component`'s output.
                Ok(()) => {
                    if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
                        self.evict();
                        return Ok(component);
                    }
                }
                Err(e) => tracing::warn!(file = %path.display(), "compiled code not kept: {e:#}"),
            }
        }
        // SAFETY: `code` is `precompile_component`'s output for this engine.
        unsafe { Component::deserialize(engine, &code) }.map_err(anyhow::Error::from)
    }

    /// The code of `component` for `engine`: kept, or compiled now and kept.
    pub fn load(&self, engine: &Engine, component: &ComponentBytes) -> Result<Component> {
        match self.lookup(engine, component) {
            Some(code) => Ok(code),
            None => self.compile(engine, component),
        }
    }

    fn path_for(&self, engine: &Engine, component: &ComponentBytes) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let mut settings = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut settings);
        let settings = hex(&settings.0.finalize()[..8]);
        Some(dir.join(format!("{}-{settings}.cwasm", component.sha256())))
    }

    /// Removes the least recently used files while the store holds more than
    /// [`MAX_BYTES`], and temporary files abandoned by a stopped process.
    fn evict(&self) {
        let Some(dir) = &self.dir else { return };
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut files: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        for entry in entries.filter_map(|e| e.ok()) {
            let (path, Ok(meta)) = (entry.path(), entry.metadata()) else { continue };
            let Ok(modified) = meta.modified() else { continue };
            let extension = path.extension().and_then(|x| x.to_str()).unwrap_or_default();
            if extension == "cwasm" {
                files.push((modified, meta.len(), path));
            } else if extension.starts_with("tmp-") && modified.elapsed().is_ok_and(|age| age > ABANDONED_AFTER) {
                let _ = std::fs::remove_file(&path);
            }
        }
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        files.sort();
        for (_, len, path) in files {
            if total <= MAX_BYTES {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}

/// Writes `code` beside `path` and renames it in: readers see all of it or nothing.
fn keep(path: &Path, code: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()));
    let written = std::fs::write(&tmp, code)
        .with_context(|| format!("writing {}", tmp.display()))
        .and_then(|()| std::fs::rename(&tmp, path).with_context(|| format!("renaming it to {}", path.display())));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Feeds a `Hash` value to SHA-256: stable across Rust releases, unlike `DefaultHasher`.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        unreachable!("read through `finalize`")
    }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPONENT: &str = r#"(component (core module (func (export "f"))))"#;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).unwrap()
    }

    #[test]
    fn code_compiled_once_is_found_again_and_a_bad_file_is_replaced() {
        let dir = std::env::temp_dir().join(format!("pilot-compiled-{}", uuid::Uuid::new_v4()));
        let store = CompiledStore::at(dir.clone()).unwrap();
        let (engine, bytes) = (engine(), &ComponentBytes::new(COMPONENT.as_bytes().to_vec()));
        assert!(store.lookup(&engine, bytes).is_none());
        store.compile(&engine, bytes).unwrap();
        assert!(store.lookup(&engine, bytes).is_some());
        // Another engine's settings name another file.
        let mut other = wasmtime::Config::new();
        other.wasm_component_model(true).consume_fuel(true);
        assert!(store.lookup(&Engine::new(&other).unwrap(), bytes).is_none());
        // A file that is not code is refused and removed, never run.
        let path = store.path_for(&engine, bytes).unwrap();
        std::fs::write(&path, b"not code").unwrap();
        assert!(store.lookup(&engine, bytes).is_none());
        assert!(!path.exists());
        // Nor is a link to a file elsewhere.
        store.compile(&engine, bytes).unwrap();
        let elsewhere = dir.with_extension("elsewhere");
        std::fs::rename(&path, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert!(store.lookup(&engine, bytes).is_none());
        std::fs::remove_file(elsewhere).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pilot-compiled-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let refused = chain(&CompiledStore::at(dir.clone()).unwrap_err());
        assert!(refused.contains("writable by no one else"), "{refused}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
