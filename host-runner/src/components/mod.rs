//! Running components: the engine, per-store state, the handler registry,
//! handler sandboxes and the orchestrator session.

pub mod engine;
pub mod limits;
pub mod loaded;
pub mod manifest;
pub mod orchestrator;
pub mod registry;
pub mod runtime;
pub mod sandbox;
pub mod shared;
pub mod state;
