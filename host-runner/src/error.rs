//! The errors of the host's API: each variant says what failed and where;
//! its cause, when it has one, is its `source()`, so a report of the chain
//! (anyhow's `{:#}`, or [`chain`]) reads as before: `what: why: why`.

use std::net::SocketAddr;
use std::path::PathBuf;

pub use crate::causes::{Cause, chain};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The host database.
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
    /// A wasmtime engine could not be created.
    #[error("creating the wasmtime engine")]
    Engine(#[source] Cause),
    /// A world's interfaces could not be linked.
    #[error("linking the `{world}` world")]
    Linker {
        world: &'static str,
        #[source]
        cause: Cause,
    },
    /// The directory for compiled code cannot be created, or is not private to the user.
    #[error("compiled-code directory {}", dir.display())]
    CompiledCodeDir {
        dir: PathBuf,
        #[source]
        cause: Cause,
    },
    /// The orchestrator component is missing, does not compile, or is not of
    /// the `orchestrator-core` world.
    #[error("orchestrator {}", path.display())]
    Orchestrator {
        path: PathBuf,
        #[source]
        cause: Cause,
    },
    /// The model provider could not be set up.
    #[error("setting up the model provider")]
    Provider(#[source] Cause),
    /// The handlers directory cannot be read.
    #[error("reading handlers directory {}", dir.display())]
    HandlersDir {
        dir: PathBuf,
        #[source]
        cause: std::io::Error,
    },
    /// Handler files failed validation and the host was built strict: each file's reason.
    #[error("{}", .0.join("\n"))]
    HandlersRejected(Vec<String>),
    /// The server's address cannot be bound.
    #[error("binding {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        cause: std::io::Error,
    },
    /// A durable run's checkpoint cannot be read back.
    #[error("execution {execution_id}: the checkpoint of step `{step_id}` cannot be read: {message}")]
    Checkpoint { execution_id: String, step_id: String, message: String },
    /// A durable run's stored workflow no longer passes validation.
    #[error("execution {execution_id}: its stored workflow: {message}")]
    StoredWorkflow { execution_id: String, message: String },
    /// A durable run lost its replica at every lease (see `runner::durable::MAX_LEASES`).
    #[error(
        "execution {execution_id}: leased {leases} times without finishing (its replica stopped each time); not run again"
    )]
    LeasedTooOften { execution_id: String, leases: u32 },
    /// The handlers directory cannot be watched.
    #[error("watching {}", dir.display())]
    Watch {
        dir: PathBuf,
        #[source]
        cause: notify::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_reads_as_anyhow_shows_it() {
        let cause = anyhow::anyhow!("no such file").context("reading x.wasm");
        let error = Error::Orchestrator { path: "o.wasm".into(), cause: cause.into() };
        assert_eq!(chain(&error), "orchestrator o.wasm: reading x.wasm: no such file");
        assert_eq!(format!("{:#}", anyhow::Error::from(error)), "orchestrator o.wasm: reading x.wasm: no such file");
    }
}
