//! Typed bindings of the two worlds, generated from `wit/` by wasmtime's `bindgen!`.
//! The shared interfaces are generated once, with the handler world, and reused
//! by the orchestrator world.

/// The `intent-handler` world: imports llm, audit, database, settings,
/// plugins, `wasi:http/outgoing-handler` and the guest runtime's WASI
/// (linked from wasmtime-wasi); exports `handler`.
pub mod handler {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "workflowpilot:orchestration/intent-handler",
        imports: {
            "workflowpilot:orchestration/llm.complete": async,
            default: tracing,
        },
        exports: { default: async },
        require_store_data_send: true,
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:cli": wasmtime_wasi::p2::bindings::cli,
            "wasi:filesystem": wasmtime_wasi::p2::bindings::filesystem,
            "wasi:random": wasmtime_wasi::p2::bindings::random,
        },
    });
}

/// The `orchestrator-core` world: imports settings, audit, llm, `agents` and
/// `handlers` (dispatch); exports `orchestrator`.
pub mod orchestrator {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "workflowpilot:orchestration/orchestrator-core",
        imports: {
            "workflowpilot:orchestration/handlers.dispatch": async,
            default: tracing,
        },
        exports: { default: async },
        require_store_data_send: true,
        with: {
            "workflowpilot:orchestration/types": super::handler::workflowpilot::orchestration::types,
            "workflowpilot:orchestration/llm": super::handler::workflowpilot::orchestration::llm,
            "workflowpilot:orchestration/audit": super::handler::workflowpilot::orchestration::audit,
            "workflowpilot:orchestration/settings": super::handler::workflowpilot::orchestration::settings,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:cli": wasmtime_wasi::p2::bindings::cli,
            "wasi:filesystem": wasmtime_wasi::p2::bindings::filesystem,
            "wasi:random": wasmtime_wasi::p2::bindings::random,
        },
    });
}

pub use handler::workflowpilot::orchestration::{audit, database, llm, plugins, settings, types};
pub use orchestrator::workflowpilot::orchestration::{agents, handlers};
