//! The smallest embedding of the orchestration components in another Rust
//! program: `host-runner` as a library runs one workflow file and prints its
//! report. The host brings everything a handler's imports need (the `llm`
//! capability with its budgets and token counter, audit, settings, the
//! handler's own database, plugins and the outbound allow-list) and the
//! sandbox limits (fuel, deadline, memory, output caps).
//!
//! cargo run --release -p host-runner --example embed -- examples/support-ticket-triage.json

use anyhow::{Context, Result};
use host_runner::{Host, ProviderChoice, Workflow};

#[tokio::main]
async fn main() -> Result<()> {
    let path = std::env::args().nth(1).context("usage: embed WORKFLOW.json")?;
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let workflow = Workflow::parse(&text, &path)?;
    let host = Host::builder()
        .database("embed.db")
        .components_dir("target/components")
        // Anthropic or an OpenAI-compatible server when their keys are set,
        // else the simulated test double; ProviderChoice::Custom takes your own.
        .provider(ProviderChoice::Auto)
        .build()
        .await?;
    let report = host.run(&workflow).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
