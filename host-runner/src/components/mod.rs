//! Running components: the engines, compiled code kept on disk and which
//! code handlers run (baseline or optimized), per-store state and the two
//! worlds' imports, the handler registry, handler sandboxes and the
//! orchestrator session.

pub mod code;
pub mod compiled;
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
pub mod worlds;
