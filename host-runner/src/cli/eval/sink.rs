//! The evaluation's plugin sink: a loopback HTTP test double standing in for
//! the external services `send` and `enrich` reach (Slack, email, CRM,
//! webhooks), so their steps run through their handlers instead of falling
//! back for want of a configured plugin. It is labeled as such in every
//! report. A POST (a delivery) is acknowledged; a GET (a lookup) answers an
//! object naming the sink, so lookups succeed without inventing data.

use anyhow::{Context, Result};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use host_runner::storage::Db;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

/// The plugins the sink answers for; each gets `plugin_<name>_url`.
pub const PLUGINS: [&str; 4] = ["slack", "email", "webhook", "crm"];

/// The table `enrich` reads for `source: database`, created empty: lookups
/// there find nothing, which the handler reports as missing.
const ENRICH_TABLE: &str = "CREATE TABLE IF NOT EXISTS enrichment (key TEXT PRIMARY KEY, data TEXT NOT NULL)";

type Received = Arc<Mutex<BTreeMap<String, usize>>>;

pub struct PluginSink {
    authority: String,
    received: Received,
    server: tokio::task::JoinHandle<()>,
}

impl PluginSink {
    /// Starts the sink on a loopback port.
    pub async fn start() -> Result<PluginSink> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the plugin sink")?;
        let authority = listener.local_addr()?.to_string();
        let received = Received::default();
        let app = axum::Router::new().route("/{plugin}", axum::routing::any(answer)).with_state(received.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(PluginSink { authority, received, server })
    }

    /// Copies the handlers directory to `into`, each manifest that allows
    /// outbound hosts also allowing the sink.
    pub fn handlers_copy(&self, from: &FsPath, into: &FsPath) -> Result<PathBuf> {
        std::fs::create_dir_all(into).with_context(|| format!("creating {}", into.display()))?;
        for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
            let path = entry?.path();
            let Some(name) = path.file_name() else { continue };
            let target = into.join(name);
            if path.extension().is_some_and(|x| x == "toml") {
                let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                std::fs::write(&target, self.allow_in_manifest(&text, &path)?)?;
            } else if path.is_file() {
                std::fs::copy(&path, &target).with_context(|| format!("copying {}", path.display()))?;
            }
        }
        Ok(into.to_path_buf())
    }

    fn allow_in_manifest(&self, text: &str, path: &FsPath) -> Result<String> {
        let mut manifest: toml::Table = text.parse().with_context(|| format!("parsing {}", path.display()))?;
        if let Some(toml::Value::Array(hosts)) =
            manifest.get_mut("capabilities").and_then(|c| c.get_mut("allowed_outbound_hosts"))
        {
            hosts.push(toml::Value::String(format!("http://{}", self.authority)));
        }
        Ok(toml::to_string(&manifest)?)
    }

    /// Points every plugin's URL at the sink and creates `enrich`'s empty table.
    pub fn configure(&self, db: &Db) -> Result<()> {
        for plugin in PLUGINS {
            db.set_setting(&format!("plugin_{plugin}_url"), &format!("http://{}/{plugin}", self.authority))?;
        }
        let enrich_db = host_runner::host::component_data_dir(db.location()).join("enrich.sqlite");
        if let Some(dir) = enrich_db.parent() {
            std::fs::create_dir_all(dir)?;
        }
        rusqlite::Connection::open(&enrich_db)?.execute_batch(ENRICH_TABLE)?;
        Ok(())
    }

    /// Requests received, by plugin.
    pub fn received(&self) -> BTreeMap<String, usize> {
        self.received.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for PluginSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Reads the whole request body before answering: a server that answers
/// early and closes makes a client still sending its body fail.
async fn answer(
    State(received): State<Received>,
    Path(plugin): Path<String>,
    method: Method,
    _body: axum::body::Bytes,
) -> Json<Value> {
    *received.lock().unwrap_or_else(|p| p.into_inner()).entry(plugin.clone()).or_default() += 1;
    if method == Method::GET {
        Json(json!({ "looked_up_by": "pilot eval plugin sink (test double)", "plugin": plugin }))
    } else {
        Json(json!({ "ok": true }))
    }
}
