//! The host's capabilities, one folder each, in the shape of Spin's factors:
//! app-wide state shared by every store, a per-store context, and an
//! `add_to_linker` that links the capability's WIT interface.

pub mod agents;
pub mod audit;
pub mod database;
pub mod handlers;
pub mod import_log;
pub mod llm;
pub mod outbound_http;
pub mod plugins;
pub mod settings;
