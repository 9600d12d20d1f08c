//! The `pilot` command line.

mod bench;
mod env;
mod eval;
mod handler_test;
mod print;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use host_runner::components::code::CodePolicy;
use host_runner::components::limits::HandlerLimits;
use host_runner::runner::report::Path;
use host_runner::serve::{Limits, ServeConfig, bind, handlers_json, serve};
use host_runner::storage::{Db, DbOptions};
use host_runner::{Host, HostBuilder, ProviderChoice, Workflow};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "pilot", version, about = "Run AI-agent workflows through WorkflowPilot's orchestration components")]
struct Cli {
    /// Host database (settings, token usage, audit, executions): a SQLite file, or a
    /// `postgres://user@host/db` URL shared by replicas; created and migrated on first use.
    #[arg(long, global = true, env = "PILOT_DB", default_value = "pilot.db")]
    db: String,
    /// Log lines on stderr: `text`, or `json` (one object per line, with
    /// the execution id of the run it concerns). `RUST_LOG` sets the level.
    #[arg(long, global = true, value_enum, env = "PILOT_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    /// Directory holding `orchestrator.wasm` and `handlers/`.
    #[arg(long, global = true, env = "PILOT_COMPONENTS", default_value = "target/components")]
    components: PathBuf,
    /// Directory the handler components are loaded from [default: <components>/handlers].
    #[arg(long, global = true, env = "PILOT_HANDLERS")]
    handlers: Option<PathBuf>,
    /// Model provider: `auto` is anthropic when ANTHROPIC_API_KEY is set, else openai when
    /// OPENAI_API_KEY or OPENAI_BASE_URL is (any OpenAI-compatible server), else simulated.
    #[arg(long, global = true, env = "PILOT_PROVIDER", value_enum, default_value_t = ProviderArg::Auto)]
    provider: ProviderArg,
    /// With `--provider simulated`: how long each simulated model call takes
    /// (milliseconds), to load a server as real calls would.
    #[arg(long, global = true, env = "PILOT_SIMULATED_LATENCY_MS", default_value_t = 0)]
    simulated_latency_ms: u64,
    /// Fuel allowance of one call into a component (handler manifests may override it).
    #[arg(long, global = true, env = "PILOT_FUEL")]
    fuel: Option<u64>,
    /// Wall-clock deadline of one handler call, in milliseconds (manifests may override it).
    #[arg(long, global = true, env = "PILOT_DEADLINE_MS")]
    deadline_ms: Option<u64>,
    /// Let components write to stderr (for debugging handlers).
    #[arg(long, global = true)]
    component_stderr: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProviderArg {
    Auto,
    Simulated,
    Anthropic,
    /// OpenAI-compatible Chat Completions: OpenAI, Ollama, vLLM, llama.cpp, LiteLLM.
    Openai,
}

#[derive(Subcommand)]
enum Command {
    /// Run a workflow file and print per-step results and metrics.
    Run {
        file: PathBuf,
        /// Print one JSON document instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Read or change feature flags and settings (`system_settings_config`).
    Flags {
        #[command(subcommand)]
        action: FlagsAction,
    },
    /// Inspect the handler components, or test one in isolation.
    #[command(alias = "handler")]
    Handlers {
        #[command(subcommand)]
        action: HandlersAction,
    },
    /// Run a labeled corpus (baseline vs. orchestrated) on a scratch database and report.
    Eval {
        /// Directory of workflow files with `labels` (e.g. bench/corpus).
        dir: PathBuf,
        #[arg(long)]
        json: bool,
        /// Write what each step's model calls were sent, on both passes, under
        /// this directory (`<split>/<workflow>/<step>.{baseline,orchestrated}.txt`).
        #[arg(long, value_name = "DIR")]
        transcripts: Option<PathBuf>,
        /// Also write the evaluation as one self-contained HTML page (bars, confusion matrix, lists).
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
    },
    /// Measure per-step orchestration overhead with a zero-latency provider, flags off and on.
    Bench {
        /// The workflow to repeat.
        #[arg(default_value = "examples/support-ticket-triage.json")]
        file: PathBuf,
        /// Measured runs per mode.
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Unmeasured runs per mode first (compile caches, tokenizer).
        #[arg(long, default_value_t = 10)]
        warmup: usize,
        /// Measure the serve path instead: `pilot serve`'s accept loop and API
        /// on a loopback port, this many clients posting at once.
        #[arg(long)]
        concurrency: Option<usize>,
        /// With --concurrency: serve from this many replicas on one database
        /// (this process and N-1 `pilot serve` processes), clients spread
        /// over them in turn. More than one needs --postgres.
        #[arg(long, default_value_t = 1, requires = "concurrency")]
        replicas: usize,
        /// Run on this Postgres database instead of a scratch SQLite file;
        /// `local` starts a throwaway cluster from Debian's postgresql binaries.
        #[arg(long)]
        postgres: Option<String>,
        /// Give handlers Winch's baseline code only (never optimized): what a
        /// step costs while a hot-loaded handler waits for Cranelift's code.
        #[arg(long, conflicts_with = "replicas")]
        baseline_code: bool,
        #[arg(long)]
        json: bool,
    },
    /// Serve the HTTP API and hot-load handlers from the handlers directory.
    Serve {
        /// Address to listen on; loopback unless you mean to expose the API.
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: std::net::SocketAddr,
        /// Bearer token for `/v1`; a random one is generated and printed when absent.
        #[arg(long, env = "PILOT_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Do not watch the handlers directory (reload only via the API).
        #[arg(long)]
        no_watch: bool,
        /// On SIGTERM, how long runs in flight may take to finish (seconds)
        /// while `/ready` answers 503; runs still going are then cancelled
        /// and recorded `interrupted`.
        #[arg(long, default_value_t = 30)]
        drain_timeout: u64,
    },
    /// Agents' intensity scores (`agent_intensity_metrics`), which AIS routing reads.
    Agents {
        #[command(subcommand)]
        action: AgentsAction,
    },
    /// Print the audit trail, oldest first.
    Audit {
        /// Only this execution.
        #[arg(long)]
        execution: Option<String>,
        /// At most this many events (the most recent).
        #[arg(long, default_value_t = 200)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum FlagsAction {
    /// List every setting with its value.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set a setting; the value must fit its type.
    Set { key: String, value: String },
}

#[derive(Subcommand)]
enum AgentsAction {
    /// List every agent's creation, execution and combined scores and its routed runs.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set how demanding an agent's definition is (0-10), the seed's creation score.
    SetCreation { agent: String, score: f32 },
}

#[derive(Subcommand)]
enum HandlersAction {
    /// Load every handler and list name, version, intents and file.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Run one component on one request, its model calls answered from a
    /// script; exit 0 when it answered, 1 when it failed the step, 2 when
    /// the test could not run (bad file, rejected component, unscripted call).
    Test {
        /// The component (`.wasm`); its manifest is the `.toml` beside it unless --manifest says.
        component: PathBuf,
        /// The step as JSON: prompt, params, context, memory, intent, available_plugins,
        /// routed_model, token_budget (all optional).
        #[arg(long)]
        request: PathBuf,
        /// The model's answers as a JSON array: each a value (answers the next call) or
        /// {"match": "substring", "answer": value} (answers a call containing it).
        #[arg(long)]
        answers: Option<PathBuf>,
        #[arg(long)]
        manifest: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// Ends the process with this exit code (what it means was already printed).
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for Exit {}

pub async fn main() -> Result<()> {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn,wasmtime=error".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log_format {
        // One JSON object per line, with the fields of the spans around it (execution and workflow ids).
        LogFormat::Json => logs.json().with_current_span(false).with_span_list(true).init(),
        LogFormat::Text => logs.init(),
    }
    match &cli.command {
        Command::Run { file, json } => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading workflow {}", file.display()))?;
            let workflow = Workflow::parse(&text, &file.display().to_string())?;
            let host = build_host(&cli).await?;
            print::provider_note(&host);
            let report = host.run(&workflow).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print::run_report(&report);
            }
            if let Some(lost) = &report.writes_lost {
                anyhow::bail!(
                    "{} audit/usage row(s) of execution {} could not be written to {} (last: {})",
                    lost.rows,
                    report.execution_id,
                    lost.database,
                    lost.last_error
                );
            }
            let failed: Vec<_> = report.steps.iter().filter(|s| s.path == Path::Failed).collect();
            if !failed.is_empty() {
                for step in &failed {
                    eprintln!("step `{}` failed: {}", step.id, step.error.as_deref().unwrap_or("-"));
                }
                anyhow::bail!(
                    "{} of {} steps failed (execution {}; `pilot audit --execution {}`)",
                    failed.len(),
                    report.steps.len(),
                    report.execution_id,
                    report.execution_id
                );
            }
        }
        Command::Flags { action: FlagsAction::List { json } } => {
            let rows = open_db(&cli)?.list_settings("")?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print::settings(&rows);
            }
        }
        Command::Flags { action: FlagsAction::Set { key, value } } => {
            open_db(&cli)?.set_setting(key, value)?;
            println!("{key} = {value}");
        }
        Command::Agents { action: AgentsAction::List { json } } => {
            let rows = open_db(&cli)?.agents()?;
            if *json {
                let rows: Vec<_> = rows
                    .iter()
                    .map(|(id, row)| serde_json::json!({ "agent_id": id, "scores": row.scores, "runs": row.runs }))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print::agents(&rows);
            }
        }
        Command::Agents { action: AgentsAction::SetCreation { agent, score } } => {
            open_db(&cli)?.set_creation(agent, *score)?;
            println!("{agent}: creation score {score}");
        }
        Command::Handlers { action: HandlersAction::Test { component, request, answers, manifest, json } } => {
            let files =
                handler_test::Files { component, request, answers: answers.as_deref(), manifest: manifest.as_deref() };
            let limits = host_runner::components::shared::Limits {
                defaults: default_limits(&cli),
                inherit_stderr: cli.component_stderr,
            };
            handler_test::run(files, limits, env::engine_options(), *json).await?;
        }
        Command::Handlers { action: HandlersAction::List { json } } => {
            let host = build_host(&cli).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&handlers_json(&host))?);
            } else {
                print::handlers(&host.handlers(), host.handlers_dir());
            }
        }
        Command::Eval { dir, json, transcripts, report } => {
            let mut reports = vec![];
            for (split, workflows) in eval::splits(dir)? {
                let dump = transcripts.as_ref().map(|d| d.join(&split));
                reports.push(eval_split(&cli, &split, &workflows, dump.as_deref()).await?);
            }
            if let Some(path) = report {
                std::fs::write(path, eval::html::render(&reports))
                    .with_context(|| format!("writing the report {}", path.display()))?;
                eprintln!("report written to {}", path.display());
            }
            if *json {
                println!("{}", serde_json::to_string_pretty(&reports)?);
            } else {
                for (i, report) in reports.iter().enumerate() {
                    if i > 0 {
                        println!();
                    }
                    print::eval_report(report);
                }
            }
        }
        Command::Bench { file, runs, warmup, concurrency, replicas, postgres, baseline_code, json } => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading workflow {}", file.display()))?;
            let workflow = Workflow::parse(&text, &file.display().to_string())?;
            let scratch = std::env::temp_dir().join(format!("pilot-bench-{}.db", uuid::Uuid::new_v4()));
            let throwaway = match postgres.as_deref() {
                Some("local") => Some(host_runner::storage::throwaway::ThrowawayPostgres::start()?),
                _ => None,
            };
            let database = match (&throwaway, postgres) {
                (Some(server), _) => server.create_database()?,
                (None, Some(url)) => url.clone(),
                (None, None) if *replicas > 1 => {
                    anyhow::bail!("--replicas above 1 needs a shared database: --postgres")
                }
                (None, None) => scratch.display().to_string(),
            };
            let code = if *baseline_code { CodePolicy::BaselineOnly } else { CodePolicy::Optimized };
            let host = host_builder(&cli, &database, true)?
                .provider(ProviderChoice::Simulated(Duration::ZERO))
                .code_policy(code)
                .build()
                .await?;
            eprintln!("provider: simulated with zero latency (measures the host and components, not a model)");
            eprintln!("database: {}", host.db().location());
            let measured = match concurrency {
                Some(clients) => {
                    let token = uuid::Uuid::new_v4().simple().to_string();
                    let others =
                        bench::Replicas::start(&cli.components, &handlers_dir(&cli), &database, &token, replicas - 1)?;
                    eprintln!(
                        "serve path: pilot serve's loop and API over loopback HTTP, {clients} clients at once, {replicas} replica(s)"
                    );
                    let warmed_then_measured = async {
                        bench::bench_serve(&host, &text, *warmup, *clients, &token, &others.urls).await?;
                        bench::bench_serve(&host, &text, *runs, *clients, &token, &others.urls).await
                    };
                    warmed_then_measured.await.map(Measured::Serve)
                }
                None => bench::bench(&host, &workflow, *runs, *warmup).await.map(Measured::Steps),
            };
            let _ = std::fs::remove_file(&scratch);
            match (measured?, *json) {
                (Measured::Steps(r), true) => println!("{}", serde_json::to_string_pretty(&r)?),
                (Measured::Serve(r), true) => println!("{}", serde_json::to_string_pretty(&r)?),
                (Measured::Steps(r), false) => print::bench(&r),
                (Measured::Serve(r), false) => print::bench_serve(&r),
            }
        }
        Command::Serve { listen, token, no_watch, drain_timeout } => {
            keep_serving_on_closed_pipes();
            if token.as_deref().is_some_and(|t| t.trim().is_empty()) {
                anyhow::bail!(
                    "the bearer token (--token or PILOT_TOKEN) is empty: every request would be refused; \
                     unset it to have one generated"
                );
            }
            let token = token.clone().unwrap_or_else(|| {
                let generated = uuid::Uuid::new_v4().simple().to_string();
                eprintln!("bearer token (set PILOT_TOKEN to choose one): {generated}");
                generated
            });
            // Bound first: a taken port fails at once, before components are compiled.
            let listener = bind(*listen).await?;
            let host = host_builder(&cli, &cli.db, false)?.code_policy(env::serve_code_policy()).build().await?;
            print::provider_note(&host);
            for rejected in host.handlers().rejected() {
                eprintln!("rejected {}: {}", rejected.file.display(), rejected.reason);
            }
            eprintln!("listening on http://{} (handlers: {})", listener.local_addr()?, host.handlers_dir().display());
            let drain_deadline = Duration::from_secs(*drain_timeout);
            serve(host, listener, ServeConfig { token, watch: !no_watch, limits: Limits::default(), drain_deadline })
                .await?;
        }
        Command::Audit { execution, limit, json } => {
            let db = open_db(&cli)?;
            let rows = db.audit(execution.as_deref(), *limit)?;
            // One execution: how it ended comes first (it may have left no events at all).
            let run = match execution {
                Some(id) => {
                    Some(db.execution(id)?.with_context(|| format!("no execution `{id}` in {}", db.location()))?)
                }
                None => None,
            };
            match (run, *json) {
                (Some(run), true) => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({ "execution": run, "events": rows }))?
                    )
                }
                (None, true) => println!("{}", serde_json::to_string_pretty(&rows)?),
                (run, false) => {
                    if let Some(run) = run {
                        print::execution(&run);
                    }
                    print::audit(&rows);
                }
            }
        }
    }
    Ok(())
}

fn default_limits(cli: &Cli) -> HandlerLimits {
    let defaults = HandlerLimits::default();
    HandlerLimits {
        fuel: cli.fuel.unwrap_or(defaults.fuel),
        deadline_ms: cli.deadline_ms.unwrap_or(defaults.deadline_ms),
        ..defaults
    }
}

/// The host database, opened as the environment says (`PILOT_STALE_AFTER_S`).
fn open_db(cli: &Cli) -> Result<Db> {
    let mut options = DbOptions::default();
    if let Some(stale) = env::stale_after()? {
        options.stale_after = stale;
    }
    Ok(Db::open_with(&cli.db, options)?)
}

async fn build_host(cli: &Cli) -> Result<Host> {
    Ok(host_builder(cli, &cli.db, true)?.build().await?)
}

/// The handlers directory the CLI's options name.
fn handlers_dir(cli: &Cli) -> std::path::PathBuf {
    cli.handlers.clone().unwrap_or_else(|| cli.components.join("handlers"))
}

/// `main` lets a closed stdout pipe end one-shot commands quietly; a server
/// whose log reader goes away keeps serving (its writes fail and are dropped).
fn keep_serving_on_closed_pipes() {
    // SAFETY: setting a signal's disposition to ignored has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// `strict`: a bad handler file fails the command instead of being listed as rejected.
fn host_builder(cli: &Cli, db: &str, strict: bool) -> Result<HostBuilder> {
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

/// What `pilot bench` measured: steps one at a time, or the serve path.
enum Measured {
    Steps(Vec<bench::BenchResult>),
    Serve(Vec<bench::ServeResult>),
}

/// One split of a corpus on a scratch host of its own, plugins answered by
/// a loopback test double.
async fn eval_split(
    cli: &Cli,
    split: &str,
    workflows: &[(String, Workflow)],
    transcripts: Option<&std::path::Path>,
) -> Result<eval::EvalReport> {
    let scratch = std::env::temp_dir().join(format!("pilot-eval-{}", uuid::Uuid::new_v4()));
    // Plugins answer from a loopback test double, allowed by copies of the manifests.
    let sink = eval::sink::PluginSink::start().await?;
    let handlers = sink.handlers_copy(&handlers_dir(cli), &scratch.join("handlers"))?;
    let host = host_builder(cli, &scratch.join("pilot.db").display().to_string(), true)?
        .handlers_dir(handlers)
        .keep_transcript(true)
        .build()
        .await?;
    sink.configure(host.db())?;
    print::provider_note(&host);
    eprintln!(
        "split {split}: plugins {} answered by a loopback sink (test double), not real services",
        eval::sink::PLUGINS.join(", ")
    );
    let bar = indicatif::ProgressBar::new(workflows.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").expect("a valid progress template"),
    );
    let report = eval::evaluate(&host, split, workflows, transcripts, |name| {
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
