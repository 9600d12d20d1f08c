//! The WorkflowPilot orchestrator's logic, free of any WebAssembly binding.
//!
//! [`Session`] is the seed's `WorkflowOrchestrator`: it classifies each step's
//! intent, allocates token budgets, dispatches steps to intent handlers and
//! keeps the metrics. Everything it needs from the outside world (settings,
//! handler dispatch, audit, token counting) comes through [`Environment`], so
//! the same code runs natively in tests and benchmarks and inside the
//! `orchestrator-component` behind the WIT imports.

pub mod budget;
pub mod catalogue;
pub mod classify;
pub mod comparison;
pub mod compress;
pub mod environment;
pub mod intents;
pub mod keys;
pub mod material;
pub mod pricing;
pub mod rollout;
pub mod routing;
pub mod session;
pub mod settings;
pub mod tokens;
pub mod types;

pub use environment::Environment;
pub use session::Session;
