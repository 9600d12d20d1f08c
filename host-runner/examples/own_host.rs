//! A host of your own, built from `host-runner`'s capabilities one by one,
//! as wasmtime-wasi's are linked: your store state holds wasmtime-wasi's
//! context and one field per capability of the `intent-handler` world
//! (`llm`, `audit`, `settings`, `database`, `plugins`, outbound HTTP), each a
//! per-store context prepared from the capability's app-wide state, with its
//! own `add_to_linker`. Here they grant nothing
//! beyond the model: no audit events, no settings, no database, no plugin,
//! and an empty allow-list (wasmtime-wasi-http behind the capability refuses
//! every request). It runs one
//! handler's `info()` and `execute()` on one step, under a token budget the
//! `llm` capability enforces and counts with the host's BPE. The model is
//! the simulated provider (an offline test double, not a model).
//!
//! cargo run --release -p host-runner --example own_host -- target/components/handlers/summarize.wasm

use anyhow::{Context, Result};
use host_runner::bindings::handler::IntentHandler;
use host_runner::bindings::types::{MaterialFormat, MaterialPiece, MaterialSource, StepRequest, WorkflowStep};
use host_runner::capabilities::audit::{self, AuditCtx, AuditGrant, AuditState, AuditView};
use host_runner::capabilities::database::{self, Access, DatabaseCtx, DatabaseState, DatabaseView};
use host_runner::capabilities::llm::simulated::Simulated;
use host_runner::capabilities::llm::{self as llm, LlmCtx, LlmState, LlmView};
use host_runner::capabilities::outbound_http::{OutboundHttp, OutboundHttpGrant, OutboundHttpState};
use host_runner::capabilities::plugins::{self, PluginsCtx, PluginsState, PluginsView};
use host_runner::capabilities::settings::{self, SettingsCtx, SettingsGrant, SettingsState, SettingsView};
use host_runner::storage::Db;
use host_runner::storage::records::Identity;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Your store's state: one field per capability.
struct MyState {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: OutboundHttp,
    llm: LlmCtx,
    audit: AuditCtx,
    settings: SettingsCtx,
    database: DatabaseCtx,
    plugins: PluginsCtx,
}

impl WasiView for MyState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for MyState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outbound }
    }
}

impl LlmView for MyState {
    fn llm(&mut self) -> &mut LlmCtx {
        &mut self.llm
    }
}

impl AuditView for MyState {
    fn audit(&mut self) -> &mut AuditCtx {
        &mut self.audit
    }
}

impl DatabaseView for MyState {
    fn database(&mut self) -> &mut DatabaseCtx {
        &mut self.database
    }
}

impl PluginsView for MyState {
    fn plugins(&mut self) -> &mut PluginsCtx {
        &mut self.plugins
    }
}

impl SettingsView for MyState {
    fn settings(&mut self) -> &mut SettingsCtx {
        &mut self.settings
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let path = std::env::args().nth(1).context("usage: own_host HANDLER.wasm")?;
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let component = Component::from_file(&engine, &path).map_err(|e| anyhow::anyhow!("loading {path}: {e:#}"))?;

    let mut linker = Linker::<MyState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    llm::add_to_linker(&mut linker)?;
    audit::add_to_linker(&mut linker)?;
    settings::add_to_linker(&mut linker)?;
    database::add_to_linker(&mut linker)?;
    plugins::add_to_linker(&mut linker)?;

    // Each capability's app-wide state (settings, prices and audit rows live
    // in the host database), then one store's contexts prepared from it.
    let db = Db::open("own-host.db")?;
    let who = Identity { execution_id: "own-host-1".into(), agent_id: "me".into(), user_id: "me".into() };
    let model = "claude-haiku-4-5";
    let audit = AuditState::new(db.clone()).prepare(who, "my-handler", AuditGrant::None);
    let llm = LlmState::new(Arc::new(Simulated::new(Duration::ZERO)), db.clone(), None)
        .prepare(audit.sink().clone(), "my-handler", model)
        .only_models(&[])
        .with_step_budget("recap", 2_000);
    let plugins = PluginsState::new(db.clone(), Arc::default()).prepare(vec![]);
    let outbound = OutboundHttpState::default().prepare(
        "my-handler",
        &OutboundHttpGrant::default(),
        plugins.hosts(),
        plugins.secret_headers(),
    );
    let state = MyState {
        table: ResourceTable::new(),
        wasi: WasiCtx::builder().build(),
        http: WasiHttpCtx::new(),
        outbound,
        llm,
        audit,
        settings: SettingsState::new(db.clone()).prepare(SettingsGrant::default(), None),
        database: DatabaseState::new("own-host.components".into()).prepare("my-handler", Access::None),
        plugins,
    };
    let mut store = Store::new(&engine, state);
    store.set_fuel(500_000_000)?;

    let handler = IntentHandler::instantiate_async(&mut store, &component, &linker).await?;
    let exports = handler.workflowpilot_orchestration_handler();
    let info = exports.call_info(&mut store).await?;
    println!("info: {} {} serves {:?}", info.name, info.version, info.intents);

    let prompt = "Summarize the call for the account team.";
    let transcript = "Dana (ACME): the April invoice double-charged order ORD-4411. Agent: refund issued today.";
    let piece = |name: &str, source, content: &str| MaterialPiece {
        name: name.into(),
        source,
        format: MaterialFormat::Text,
        content: content.into(),
        tokens: 0,
        original_tokens: 0,
        compressed: false,
    };
    let params = serde_json::json!({ "transcript": transcript }).to_string();
    let request = StepRequest {
        workflow_id: "own-host".into(),
        step: WorkflowStep {
            id: "recap".into(),
            name: "recap".into(),
            prompt: prompt.into(),
            intent: Some(info.intents[0].clone()),
            params: params.clone(),
            depends_on: vec![],
            critical: false,
        },
        intent: info.intents[0].clone(),
        params,
        context: "{}".into(),
        memory_context: "null".into(),
        material: vec![
            piece("prompt", MaterialSource::Prompt, prompt),
            piece("transcript", MaterialSource::Param, transcript),
        ],
        available_plugins: vec![],
        routed_model: model.into(),
        token_budget: 2_000,
    };
    match exports.call_execute(&mut store, &request).await? {
        Ok(output) => println!("output: {output}"),
        Err(e) => println!("handler error: {e:?}"),
    }
    let spent = store.data().llm.meter();
    println!("tokens: {} in, {} out, under a budget of 2000", spent.input_tokens, spent.output_tokens);
    Ok(())
}
