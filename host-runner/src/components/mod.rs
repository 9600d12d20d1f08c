//! Running components: the engine, per-store state, the handler registry,
//! handler sandboxes and the orchestrator session.

pub mod engine;
pub mod limits;
pub mod manifest;
pub mod orchestrator;
pub mod registry;
pub mod sandbox;
pub mod state;
