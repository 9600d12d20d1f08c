//! A host, as the global options describe it.

use super::args::{Cli, ProviderArg};
use super::env;
use anyhow::{Context, Result};
use host_runner::components::limits::HandlerLimits;
use host_runner::storage::{Db, DbOptions};
use host_runner::{Host, HostBuilder, ProviderChoice};
use std::path::PathBuf;
use std::time::Duration;

/// The handler limits of `--fuel` and `--deadline-ms`, the defaults for the rest.
pub fn default_limits(cli: &Cli) -> HandlerLimits {
    let defaults = HandlerLimits::default();
    HandlerLimits {
        fuel: cli.fuel.unwrap_or(defaults.fuel),
        deadline_ms: cli.deadline_ms.unwrap_or(defaults.deadline_ms),
        ..defaults
    }
}

/// A host on `--db` that refuses a bad handler file.
pub async fn build_host(cli: &Cli) -> Result<Host> {
    Ok(host_builder(cli, &cli.db, true)?.build().await?)
}

/// The host database, opened as the environment says (`PILOT_STALE_AFTER_S`).
pub fn open_db(cli: &Cli) -> Result<Db> {
    let mut options = DbOptions::default();
    if let Some(stale) = env::stale_after()? {
        options.stale_after = stale;
    }
    Ok(Db::open_with(&cli.db, options)?)
}

/// The handlers directory the CLI's options name.
pub fn handlers_dir(cli: &Cli) -> PathBuf {
    cli.handlers.clone().unwrap_or_else(|| cli.components.join("handlers"))
}

/// The simulated provider's latency when the CLI's provider is the simulated
/// double (named, or `auto` with no provider key or URL set).
pub fn simulated_latency(cli: &Cli) -> Option<Duration> {
    let set = |name: &str| std::env::var(name).ok().is_some_and(|v| !v.trim().is_empty());
    let simulated = match cli.provider {
        ProviderArg::Simulated => true,
        ProviderArg::Auto => !["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"].iter().any(|k| set(k)),
        ProviderArg::Anthropic | ProviderArg::Openai => false,
    };
    simulated.then(|| Duration::from_millis(cli.simulated_latency_ms))
}

/// `strict`: a bad handler file fails the command instead of being listed as rejected.
pub fn host_builder(cli: &Cli, db: &str, strict: bool) -> Result<HostBuilder> {
    let provider = match cli.provider {
        ProviderArg::Auto => ProviderChoice::Auto,
        ProviderArg::Simulated => ProviderChoice::Simulated(Duration::from_millis(cli.simulated_latency_ms)),
        ProviderArg::Anthropic => ProviderChoice::Anthropic {
            base_url: std::env::var("ANTHROPIC_BASE_URL")
                .unwrap_or_else(|_| host_runner::capabilities::llm::anthropic::DEFAULT_BASE_URL.into()),
            api_key: std::env::var("ANTHROPIC_API_KEY")
                .ok()
                .filter(|k| !k.trim().is_empty())
                .context("--provider anthropic needs ANTHROPIC_API_KEY")?,
        },
        // A local server takes no key: only the base URL is needed then.
        ProviderArg::Openai => ProviderChoice::OpenAi {
            base_url: std::env::var("OPENAI_BASE_URL")
                .ok()
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| host_runner::capabilities::llm::openai::DEFAULT_BASE_URL.into()),
            api_key: std::env::var("OPENAI_API_KEY").unwrap_or_default(),
        },
    };
    let engines = env::engine_options();
    let mut builder = Host::builder()
        .database(db)
        .components_dir(&cli.components)
        .provider(provider)
        .limits(default_limits(cli))
        .inherit_stderr(cli.component_stderr)
        .strict(strict)
        .pooling(engines.pooling)
        .perf_map(engines.perf_map);
    if let Some(timeout) = env::provider_timeout()? {
        builder = builder.provider_timeout(timeout);
    }
    if let Some(stale) = env::stale_after()? {
        builder = builder.stale_after(stale);
    }
    for (plugin, (name, value)) in host_runner::capabilities::plugins::headers_from_env().map_err(anyhow::Error::msg)? {
        builder = builder.plugin_header(&plugin, &name, &value);
    }
    if let Some(dir) = &cli.handlers {
        builder = builder.handlers_dir(dir);
    }
    Ok(builder)
}
