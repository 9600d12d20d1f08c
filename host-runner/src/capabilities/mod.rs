//! The host's capabilities, one folder each, in the shape of Spin's factors
//! without their framework. Each capability is a whole unit:
//!
//! - its grant: what a handler's manifest gives it (`LlmGrant`, `AuditGrant`,
//!   `SettingsGrant`, database `Access`, `OutboundHttpGrant`);
//! - its app-wide state, built once per host and shared by every store
//!   (`LlmState`, `AuditState`, ...), gathered in [`HostCapabilities`];
//! - `prepare` on that state, which makes one store's context from a grant;
//! - that per-store context, a `*View` trait to reach it in a store's data,
//!   and an `add_to_linker` that links the capability's WIT interface.
//!
//! `handlers` is the exception: its app-wide state is the host's runtime,
//! reached as a `Dispatcher`. Which capabilities a world links, and how its
//! stores prepare them, is said once per world in `components::worlds`.

pub mod agents;
pub mod audit;
pub mod database;
pub mod handlers;
pub mod import_log;
pub mod llm;
pub mod outbound_http;
pub mod plugins;
pub mod settings;

use crate::storage::Db;
use agents::AgentsState;
use audit::AuditState;
use database::DatabaseState;
use import_log::ImportLog;
use llm::LlmState;
use llm::provider::ModelProvider;
use llm::transcript::Transcript;
use outbound_http::OutboundHttpState;
use plugins::{PluginHeaders, PluginsState};
use settings::SettingsState;
use std::path::PathBuf;
use std::sync::Arc;

/// Every capability's app-wide state.
pub struct HostCapabilities {
    pub llm: LlmState,
    pub audit: AuditState,
    pub settings: SettingsState,
    pub database: DatabaseState,
    pub plugins: PluginsState,
    pub outbound_http: OutboundHttpState,
    pub agents: AgentsState,
}

impl HostCapabilities {
    /// The capabilities of a host on `db`: model calls go to `provider` (and
    /// into `transcript`, when kept), component databases are files under
    /// `data_dir`, plugin requests carry `plugin_headers`.
    pub fn new(
        db: &Db,
        provider: Arc<dyn ModelProvider>,
        transcript: Option<Arc<Transcript>>,
        data_dir: PathBuf,
        plugin_headers: PluginHeaders,
    ) -> Self {
        HostCapabilities {
            llm: LlmState::new(provider, db.clone(), transcript),
            audit: AuditState::new(db.clone()),
            settings: SettingsState::new(db.clone()),
            database: DatabaseState::new(data_dir),
            plugins: PluginsState::new(db.clone(), plugin_headers),
            outbound_http: OutboundHttpState::default(),
            agents: AgentsState::new(db.clone()),
        }
    }

    /// Records the import calls that leave no other trace (outbound requests,
    /// database statements, settings reads) of every store from now on.
    pub fn record_imports(&mut self, log: Arc<ImportLog>) {
        self.settings.record_into(log.clone());
        self.database.record_into(log.clone());
        self.outbound_http.record_into(log);
    }
}
