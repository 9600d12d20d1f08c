//! `pilot eval`: a labeled corpus, split by split, each on a scratch host of its own.

use crate::cli::args::{Cli, EvalArgs};
use crate::cli::output::emit;
use crate::cli::{eval, print, setup};
use anyhow::{Context, Result};
use eval::oracle::ClassificationOracle;
use host_runner::capabilities::llm::simulated::Simulated;
use host_runner::{ProviderChoice, Workflow};
use std::path::Path;
use std::sync::Arc;

pub async fn eval(cli: &Cli, args: &EvalArgs) -> Result<()> {
    let mut reports = vec![];
    for (split, workflows) in eval::splits(&args.dir)? {
        let transcripts = args.transcripts.as_ref().map(|d| d.join(&split));
        let how = How { perfect_llm_tier: args.perfect_llm_tier, settings: &args.settings };
        reports.push(eval_split(cli, &split, &workflows, transcripts.as_deref(), &how).await?);
    }
    if let Some(path) = &args.report {
        std::fs::write(path, eval::html::render(&reports))
            .with_context(|| format!("writing the report {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    emit(args.json, &reports, || print::eval::reports(&reports))
}

/// How the orchestrated pass runs.
struct How<'a> {
    /// The LLM classification tier answered from the labels.
    perfect_llm_tier: bool,
    /// `KEY=VALUE` settings for it.
    settings: &'a [String],
}

/// One split of a corpus on a scratch host of its own, plugins answered by
/// a loopback test double.
async fn eval_split(
    cli: &Cli,
    split: &str,
    workflows: &[(String, Workflow)],
    transcripts: Option<&Path>,
    how: &How<'_>,
) -> Result<eval::EvalReport> {
    let perfect_llm_tier = how.perfect_llm_tier;
    let scratch = std::env::temp_dir().join(format!("pilot-eval-{}", uuid::Uuid::new_v4()));
    // Plugins answer from a loopback test double, allowed by copies of the manifests.
    let sink = eval::sink::PluginSink::start().await?;
    let handlers = sink.handlers_copy(&setup::handlers_dir(cli), &scratch.join("handlers"))?;
    // With the simulated provider, the classification tier is metered (and, asked, answered from the labels).
    let oracle = match setup::simulated_latency(cli) {
        Some(latency) => Some(Arc::new(ClassificationOracle::new(Arc::new(Simulated::new(latency)), perfect_llm_tier))),
        None if perfect_llm_tier => {
            anyhow::bail!("--perfect-llm-tier plays the LLM tier offline: use --provider simulated")
        }
        None => None,
    };
    let mut builder = setup::host_builder(cli, &scratch.join("pilot.db").display().to_string(), true)?;
    if let Some(oracle) = &oracle {
        builder = builder.provider(ProviderChoice::Custom(oracle.clone()));
    }
    let host = builder.handlers_dir(handlers).keep_transcript(true).build().await?;
    sink.configure(host.db())?;
    for setting in how.settings {
        let (key, value) = setting
            .split_once('=')
            .with_context(|| format!("--set `{setting}`: give KEY=VALUE, e.g. orchestration_ais_fast_threshold=3.5"))?;
        host.db().set_setting(key.trim(), value.trim()).with_context(|| format!("--set `{setting}`"))?;
    }
    print::provider_note(&host);
    eprintln!(
        "split {split}: plugins {} answered by a loopback sink (test double), not real services",
        eval::sink::PLUGINS.join(", ")
    );
    let bar = indicatif::ProgressBar::new(workflows.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").expect("a valid progress template"),
    );
    let report = eval::evaluate(&host, split, workflows, transcripts, oracle.as_deref(), |name| {
        bar.set_message(name.rsplit('/').next().unwrap_or(name).to_string());
        bar.inc(1);
    })
    .await;
    bar.finish_and_clear();
    drop(host);
    let _ = std::fs::remove_dir_all(&scratch);
    let mut report = report?;
    report.plugin_requests = sink.received();
    Ok(report)
}
