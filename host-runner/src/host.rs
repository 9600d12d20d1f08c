//! The host: one engine, one database, one provider and the components,
//! compiled once and instantiated per step. Built with [`Host::builder`].

use crate::capabilities::HostCapabilities;
use crate::capabilities::llm::anthropic::{self, Anthropic};
use crate::capabilities::llm::http_api::DEFAULT_TOTAL_TIMEOUT;
use crate::capabilities::llm::openai::{self, OpenAi};
use crate::capabilities::llm::provider::ModelProvider;
use crate::capabilities::llm::simulated::Simulated;
use crate::capabilities::llm::transcript::Transcript;
use crate::components::code::{CodePolicy, HandlerCompilers};
use crate::components::compiled::CompiledStore;
use crate::components::engine::{EngineOptions, new_engine};
use crate::components::limits::HandlerLimits;
use crate::components::registry::{Registry, ReloadReport, Snapshot};
use crate::components::runtime::{Runtime, load_orchestrator};
use crate::components::shared::{Limits, Shared};
use crate::error::Error;
use crate::metrics::Metrics;
use crate::storage::executions::DEFAULT_STALE_AFTER;
use crate::storage::{Db, DbOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Which model provider the host calls.
#[derive(Clone)]
pub enum ProviderChoice {
    /// Anthropic when `ANTHROPIC_API_KEY` is set, else an OpenAI-compatible
    /// API when `OPENAI_API_KEY` or `OPENAI_BASE_URL` is, else simulated.
    Auto,
    /// The offline test double, answering after the given latency.
    Simulated(Duration),
    /// Anthropic's Messages API at a base URL with a key.
    Anthropic { base_url: String, api_key: String },
    /// An OpenAI-compatible Chat Completions API at a base URL (with its
    /// version, e.g. `http://localhost:11434/v1`); the key may be empty.
    OpenAi { base_url: String, api_key: String },
    /// Any other provider, built by the embedder (a scripted test double, say).
    Custom(Arc<dyn ModelProvider>),
}

impl ProviderChoice {
    /// The provider; calls to a remote API are bounded by `timeout` in total.
    fn build(self, timeout: Duration) -> Result<Arc<dyn ModelProvider>, Error> {
        Ok(match self {
            ProviderChoice::Auto => {
                let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
                if let Some(api_key) = set("ANTHROPIC_API_KEY") {
                    let base_url = set("ANTHROPIC_BASE_URL").unwrap_or_else(|| anthropic::DEFAULT_BASE_URL.into());
                    return ProviderChoice::Anthropic { base_url, api_key }.build(timeout);
                }
                if set("OPENAI_API_KEY").is_some() || set("OPENAI_BASE_URL").is_some() {
                    let base_url = set("OPENAI_BASE_URL").unwrap_or_else(|| openai::DEFAULT_BASE_URL.into());
                    let api_key = set("OPENAI_API_KEY").unwrap_or_default();
                    return ProviderChoice::OpenAi { base_url, api_key }.build(timeout);
                }
                Arc::new(Simulated::new(Duration::ZERO))
            }
            ProviderChoice::Simulated(latency) => Arc::new(Simulated::new(latency)),
            ProviderChoice::Anthropic { base_url, api_key } => {
                let provider = Anthropic::new(&base_url, api_key).map_err(|e| Error::Provider(e.into()))?;
                Arc::new(provider.with_total_timeout(timeout))
            }
            ProviderChoice::OpenAi { base_url, api_key } => {
                let provider = OpenAi::new(&base_url, api_key).map_err(|e| Error::Provider(e.into()))?;
                Arc::new(provider.with_total_timeout(timeout))
            }
            ProviderChoice::Custom(provider) => provider,
        })
    }
}

/// Where the components' own databases live: beside a SQLite host database
/// (`pilot.db` -> `pilot.components/`), or `./pilot.components/` with Postgres.
pub fn component_data_dir(database: &str) -> PathBuf {
    if crate::storage::is_postgres(database) {
        PathBuf::from("pilot.components")
    } else {
        Path::new(database).with_extension("components")
    }
}

/// Builds a [`Host`].
pub struct HostBuilder {
    database: String,
    components_dir: PathBuf,
    handlers_dir: Option<PathBuf>,
    orchestrator: Option<PathBuf>,
    provider: ProviderChoice,
    limits: Limits,
    strict: bool,
    keep_transcript: bool,
    code_policy: CodePolicy,
    compiled_code_dir: Option<PathBuf>,
    plugin_headers: std::collections::HashMap<String, (String, String)>,
    engines: EngineOptions,
    provider_timeout: Duration,
    stale_after: Duration,
}

impl HostBuilder {
    /// Whether a handler file that fails validation fails the build (the
    /// default, for one-shot runs) or is only listed as rejected (for servers).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Which code handlers are given: optimized at once (the default, for
    /// one-shot runs: the code is kept for the next run), baseline first for
    /// servers (a hot-loaded handler serves sooner), or baseline only.
    pub fn code_policy(mut self, policy: CodePolicy) -> Self {
        self.code_policy = policy;
        self
    }

    /// Where compiled code is kept (default: `$XDG_CACHE_HOME/pilot/compiled`
    /// or `~/.cache/pilot/compiled`).
    pub fn compiled_code_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.compiled_code_dir = Some(dir.into());
        self
    }

    /// The host database: a SQLite file (default `./pilot.db`) or a
    /// `postgres://` URL shared by replicas.
    pub fn database(mut self, location: impl Into<String>) -> Self {
        self.database = location.into();
        self
    }

    /// Where `orchestrator.wasm` and `handlers/` are (default `target/components`).
    pub fn components_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.components_dir = dir.into();
        self
    }

    /// The directory handlers are loaded from (default `<components>/handlers`).
    pub fn handlers_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.handlers_dir = Some(dir.into());
        self
    }

    /// The orchestrator component (default `<components>/orchestrator.wasm`).
    pub fn orchestrator(mut self, path: impl Into<PathBuf>) -> Self {
        self.orchestrator = Some(path.into());
        self
    }

    pub fn provider(mut self, provider: ProviderChoice) -> Self {
        self.provider = provider;
        self
    }

    /// Default limits of every component call; manifests override them per handler.
    pub fn limits(mut self, limits: HandlerLimits) -> Self {
        self.limits.defaults = limits;
        self
    }

    /// Keeps what every step sent to models, for `pilot eval`'s key-fact
    /// check (off by default: prompts hold user data).
    pub fn keep_transcript(mut self, on: bool) -> Self {
        self.keep_transcript = on;
        self
    }

    /// The credential header the host attaches to requests to `plugin`'s host
    /// (the CLI reads `PILOT_PLUGIN_<NAME>_HEADER`); it never enters guest memory.
    pub fn plugin_header(mut self, plugin: &str, name: &str, value: &str) -> Self {
        self.plugin_headers.insert(plugin.to_string(), (name.to_string(), value.to_string()));
        self
    }

    /// Lets components write to the host's stderr (off by default).
    pub fn inherit_stderr(mut self, on: bool) -> Self {
        self.limits.inherit_stderr = on;
        self
    }

    /// Whether the optimized engine takes instances from wasmtime's pooling
    /// allocator (on by default: a step's memory is a recycled slot, not new
    /// mappings); the CLI turns it off with `PILOT_POOLING=0`.
    pub fn pooling(mut self, on: bool) -> Self {
        self.engines.pooling = on;
        self
    }

    /// Names guest functions in `perf` profiles (wasmtime writes
    /// /tmp/perf-PID.map); off by default, on in the CLI with `PILOT_PROFILER=perfmap`.
    pub fn perf_map(mut self, on: bool) -> Self {
        self.engines.perf_map = on;
        self
    }

    /// The bound on one call to a remote provider's API, retries included
    /// (default 120 s; the CLI's `PILOT_PROVIDER_TIMEOUT_S`).
    pub fn provider_timeout(mut self, total: Duration) -> Self {
        self.provider_timeout = total;
        self
    }

    /// How old a running execution's heartbeat may get before the execution
    /// counts as interrupted (default 15 s; the CLI's `PILOT_STALE_AFTER_S`).
    pub fn stale_after(mut self, stale: Duration) -> Self {
        self.stale_after = stale;
        self
    }

    /// Opens the database, compiles the orchestrator and every handler, and
    /// checks each handler's `info()`. Any bad file fails the build, naming it.
    pub async fn build(self) -> Result<Host, Error> {
        let metrics = Arc::new(Metrics::new());
        let db = Db::open_with(&self.database, DbOptions { stale_after: self.stale_after, metrics: metrics.clone() })?;
        let engine = new_engine(&self.engines)?;
        let compiled = match self.compiled_code_dir {
            Some(dir) => CompiledStore::at(dir)?,
            None => CompiledStore::user_default(),
        };
        let handlers_dir = self.handlers_dir.unwrap_or_else(|| self.components_dir.join("handlers"));
        let orchestrator_path = self.orchestrator.unwrap_or_else(|| self.components_dir.join("orchestrator.wasm"));
        let orchestrator = load_orchestrator(&engine, &compiled, &orchestrator_path)?;
        let capabilities = HostCapabilities::new(
            &db,
            self.provider.build(self.provider_timeout)?,
            self.keep_transcript.then(Arc::default),
            component_data_dir(&self.database),
            Arc::new(self.plugin_headers),
        );
        let compilers = HandlerCompilers::new(engine, compiled)?.with_policy(self.code_policy, &self.engines)?;
        let shared = Shared::new(compilers, db, capabilities, self.limits, metrics);
        let runtime = Arc::new(Runtime { shared, registry: Registry::default(), orchestrator, handlers_dir });
        let report = runtime.reload_handlers().await?;
        if self.strict && !report.rejected.is_empty() {
            return Err(Error::HandlersRejected(report.rejected.into_iter().map(|r| r.reason).collect()));
        }
        crate::tokenizer::warm_up();
        Ok(Host { runtime })
    }
}

/// A running host. Cheap to clone; all clones share one runtime.
#[derive(Clone)]
pub struct Host {
    pub(crate) runtime: Arc<Runtime>,
}

impl Host {
    pub fn builder() -> HostBuilder {
        HostBuilder {
            database: "pilot.db".into(),
            components_dir: PathBuf::from("target/components"),
            handlers_dir: None,
            orchestrator: None,
            provider: ProviderChoice::Auto,
            limits: Limits { defaults: HandlerLimits::default(), inherit_stderr: false },
            strict: true,
            keep_transcript: false,
            code_policy: CodePolicy::Optimized,
            compiled_code_dir: None,
            plugin_headers: Default::default(),
            engines: EngineOptions::default(),
            provider_timeout: DEFAULT_TOTAL_TIMEOUT,
            stale_after: DEFAULT_STALE_AFTER,
        }
    }

    /// What steps sent to models, when the host was built to keep it.
    pub fn transcript(&self) -> Option<&Transcript> {
        self.runtime.shared.capabilities.llm.transcript().map(Arc::as_ref)
    }

    pub fn db(&self) -> &Db {
        &self.runtime.shared.db
    }

    /// What this host counted (`GET /metrics` encodes it).
    pub fn metrics(&self) -> &Metrics {
        &self.runtime.shared.metrics
    }

    /// `anthropic`, `openai` or `simulated`.
    pub fn provider_name(&self) -> &'static str {
        self.runtime.shared.capabilities.llm.provider().name()
    }

    /// The handlers serving now.
    pub fn handlers(&self) -> Arc<Snapshot> {
        self.runtime.registry.snapshot()
    }

    /// Rescans the handlers directory: new and changed files are compiled and
    /// validated, then swapped in atomically; steps already running finish on
    /// the version they started with.
    pub async fn reload_handlers(&self) -> Result<ReloadReport, Error> {
        self.runtime.reload_handlers().await
    }

    pub fn handlers_dir(&self) -> &Path {
        &self.runtime.handlers_dir
    }
}
