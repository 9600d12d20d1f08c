//! The host's two worlds, each said once: what a store of the world holds
//! (one per-store context per import), how a store's contexts are prepared
//! from the capabilities' app-wide state, and the list of what its linker
//! links.

pub mod intent_handler;
pub mod orchestrator_core;

use wasmtime::Engine;
use wasmtime::component::Linker;

/// Links one interface (or a set, like WASI's) into a linker.
type Link<T> = fn(&mut Linker<T>) -> wasmtime::Result<()>;

/// A linker on `engine` with every interface of a world's list.
fn linker<T>(engine: &Engine, links: &[Link<T>]) -> wasmtime::Result<Linker<T>> {
    let mut linker = Linker::new(engine);
    for link in links {
        link(&mut linker)?;
    }
    Ok(linker)
}
