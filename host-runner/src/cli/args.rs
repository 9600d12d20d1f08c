//! What `pilot` accepts: the global options and every command's arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "pilot", version, about = "Run AI-agent workflows through WorkflowPilot's orchestration components")]
pub struct Cli {
    /// Host database (settings, token usage, audit, executions): a SQLite file, or a
    /// `postgres://user@host/db` URL shared by replicas; created and migrated on first use.
    #[arg(long, global = true, env = "PILOT_DB", default_value = "pilot.db")]
    pub db: String,
    /// Log lines on stderr: `text`, or `json` (one object per line, with
    /// the execution id of the run it concerns). `RUST_LOG` sets the level.
    #[arg(long, global = true, value_enum, env = "PILOT_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// Directory holding `orchestrator.wasm` and `handlers/`.
    #[arg(long, global = true, env = "PILOT_COMPONENTS", default_value = "target/components")]
    pub components: PathBuf,
    /// Directory the handler components are loaded from [default: <components>/handlers].
    #[arg(long, global = true, env = "PILOT_HANDLERS")]
    pub handlers: Option<PathBuf>,
    /// Model provider: `auto` is anthropic when ANTHROPIC_API_KEY is set, else openai when
    /// OPENAI_API_KEY or OPENAI_BASE_URL is (any OpenAI-compatible server), else simulated.
    #[arg(long, global = true, env = "PILOT_PROVIDER", value_enum, default_value_t = ProviderArg::Auto)]
    pub provider: ProviderArg,
    /// With `--provider simulated`: how long each simulated model call takes
    /// (milliseconds), to load a server as real calls would.
    #[arg(long, global = true, env = "PILOT_SIMULATED_LATENCY_MS", default_value_t = 0)]
    pub simulated_latency_ms: u64,
    /// Fuel allowance of one call into a component (handler manifests may override it).
    #[arg(long, global = true, env = "PILOT_FUEL")]
    pub fuel: Option<u64>,
    /// Wall-clock deadline of one handler call, in milliseconds (manifests may override it).
    #[arg(long, global = true, env = "PILOT_DEADLINE_MS")]
    pub deadline_ms: Option<u64>,
    /// Let components write to stderr (for debugging handlers).
    #[arg(long, global = true)]
    pub component_stderr: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ProviderArg {
    Auto,
    Simulated,
    Anthropic,
    /// OpenAI-compatible Chat Completions: OpenAI, Ollama, vLLM, llama.cpp, LiteLLM.
    Openai,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
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
    Eval(EvalArgs),
    /// Measure per-step orchestration overhead with a zero-latency provider, flags off and on.
    Bench(BenchArgs),
    /// Serve the HTTP API and hot-load handlers from the handlers directory.
    Serve(ServeArgs),
    /// Agents' intensity scores (`agent_intensity_metrics`), which AIS routing reads.
    Agents {
        #[command(subcommand)]
        action: AgentsAction,
    },
    /// Orchestrated against normal runs (by the flags' rollout): tokens, cost,
    /// failures, fallbacks and latency per step, overall, by agent and by intent.
    Report(ReportArgs),
    /// Workflow runs (`executions`): the most recent, or one with its steps' usage.
    Runs {
        #[command(subcommand)]
        action: RunsAction,
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

#[derive(Args)]
pub struct EvalArgs {
    /// Directory of workflow files with `labels` (e.g. bench/corpus).
    pub dir: PathBuf,
    #[arg(long)]
    pub json: bool,
    /// Write what each step's model calls were sent, on both passes, under
    /// this directory (`<split>/<workflow>/<step>.{baseline,orchestrated}.txt`).
    #[arg(long, value_name = "DIR")]
    pub transcripts: Option<PathBuf>,
    /// Also write the evaluation as one self-contained HTML page (bars, confusion matrix, lists).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Answer the orchestrator's LLM classification call from the split's
    /// labels, as a perfect classifier would (the simulated provider answers
    /// every other call): the accuracy the design reaches where a model answers.
    #[arg(long)]
    pub perfect_llm_tier: bool,
    /// A setting for the orchestrated pass, `KEY=VALUE`, checked as
    /// `flags set` checks it (repeatable): how a routing threshold or a
    /// budget trades cost against quality, measured.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
}

#[derive(Args)]
pub struct BenchArgs {
    /// The workflow to repeat.
    #[arg(default_value = "examples/support-ticket-triage.json")]
    pub file: PathBuf,
    /// Measured runs per mode.
    #[arg(long, default_value_t = 200)]
    pub runs: usize,
    /// Unmeasured runs per mode first (compile caches, tokenizer).
    #[arg(long, default_value_t = 10)]
    pub warmup: usize,
    /// Measure the serve path instead: `pilot serve`'s accept loop and API
    /// on a loopback port, this many clients posting at once.
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// With --concurrency or --model-latency-ms: serve from this many replicas on one database
    /// (this process and N-1 `pilot serve` processes), clients spread
    /// over them in turn. More than one needs --postgres.
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// Run on this Postgres database instead of a scratch SQLite file;
    /// `local` starts a throwaway cluster from Debian's postgresql binaries.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Give handlers Winch's baseline code only (never optimized): what a
    /// step costs while a hot-loaded handler waits for Cranelift's code.
    #[arg(long, conflicts_with = "replicas")]
    pub baseline_code: bool,
    /// Measure the serve path at model latency: a `pilot serve` process
    /// whose simulated model answers after this many milliseconds, with
    /// --in-flight clients at once, against the same build's zero-latency
    /// throughput measured first in the same run.
    #[arg(long, conflicts_with_all = ["concurrency", "baseline_code"])]
    pub model_latency_ms: Option<u64>,
    /// With --model-latency-ms: clients posting at once.
    #[arg(long, default_value_t = 100, requires = "model_latency_ms")]
    pub in_flight: usize,
    /// With --model-latency-ms: submit durable runs (`Prefer: respond-async`),
    /// each checkpointed step by step, and time them from their `executions`
    /// rows, submission to end.
    #[arg(long, requires = "model_latency_ms")]
    pub durable: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on; loopback unless you mean to expose the API.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: std::net::SocketAddr,
    /// Bearer token for `/v1`; a random one is generated and printed when absent.
    #[arg(long, env = "PILOT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Do not watch the handlers directory (reload only via the API).
    #[arg(long)]
    pub no_watch: bool,
    /// Keep what each step's models were sent and answered (in memory, the
    /// most recent 1,000 steps) for the console's run pages, secrets redacted.
    /// Off by default: prompts hold user data.
    #[arg(long)]
    pub keep_transcripts: bool,
    /// On SIGTERM, how long runs in flight may take to finish (seconds)
    /// while `/ready` answers 503 and no run is leased; synchronous runs
    /// still going are then cancelled and recorded `interrupted`, durable
    /// ones go back to the queue for another replica.
    #[arg(long, default_value_t = 30)]
    pub drain_timeout: u64,
    /// Workflows run at once; past it a request waits up to 2 s for a slot,
    /// then gets 503 with `Retry-After`. Default: sized by the machine's
    /// memory (half of it at 2 MiB per workflow; 6,144 on 24 GiB).
    #[arg(long, env = "PILOT_MAX_IN_FLIGHT", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: Option<u32>,
}

#[derive(Subcommand)]
pub enum RunsAction {
    /// The most recent runs first.
    List {
        /// Only runs in this state.
        #[arg(long, value_parser = ["queued", "running", "completed", "failed", "interrupted", "cancelled"])]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// One run: how it ended, its checkpoints and what each of its steps spent (`token_usage`).
    Show {
        execution: String,
        #[arg(long)]
        json: bool,
    },
    /// Put a durable run that failed, was cancelled or lost its replica back
    /// in the queue: a serving replica resumes it from its checkpoints
    /// (finished steps are kept; failed ones run again).
    Resume {
        execution: String,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a run: a queued one at once, a running one at its next step
    /// boundary (steps in flight finish; the rest are skipped), recorded `cancelled`.
    Cancel {
        execution: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum FlagsAction {
    /// List every setting with its value.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set a setting; the value must fit its type. With a scope, set an
    /// override of one of the three orchestration flags instead of its global value.
    Set {
        key: String,
        value: String,
        #[command(flatten)]
        scope: FlagScopeArgs,
    },
    /// Remove a flag's scoped override (or a `plugin_*` setting).
    Unset {
        key: String,
        #[command(flatten)]
        scope: FlagScopeArgs,
    },
}

/// The scope of a flag override; none: the global value.
#[derive(clap::Args, Debug, Default)]
#[group(multiple = false)]
pub struct FlagScopeArgs {
    /// Only for this agent id.
    #[arg(long, value_name = "AGENT_ID")]
    pub agent: Option<String>,
    /// Only for this user id (the most specific scope).
    #[arg(long, value_name = "USER_ID")]
    pub user: Option<String>,
    /// Only for agents of this type (a workflow's `agent_type`).
    #[arg(long, value_name = "TYPE")]
    pub agent_type: Option<String>,
    /// On for this share of workflows (0-100), chosen by a stable hash of
    /// the workflow and agent ids: `set KEY true --percent 10`; `unset KEY --percent`.
    #[arg(long, value_name = "PERCENT", num_args = 0..=1, default_missing_value = "")]
    pub percent: Option<String>,
}

#[derive(Subcommand)]
pub enum AgentsAction {
    /// List every agent's creation, execution and combined scores and its routed runs.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set how demanding an agent's definition is (0-10), the seed's creation score.
    SetCreation { agent: String, score: f32 },
}

#[derive(Subcommand)]
pub enum HandlersAction {
    /// Load every handler and list name, version, intents and file.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Run one component on one request, its model calls answered from a
    /// script; exit 0 when it answered, 1 when it failed the step, 2 when
    /// the test could not run (bad file, rejected component, unscripted call).
    Test(HandlerTestArgs),
}

#[derive(Args)]
pub struct HandlerTestArgs {
    /// The component (`.wasm`); its manifest is the `.toml` beside it unless --manifest says.
    pub component: PathBuf,
    /// The step as JSON: prompt, params, context, memory, intent, available_plugins,
    /// routed_model, token_budget (all optional).
    #[arg(long)]
    pub request: PathBuf,
    /// The model's answers as a JSON array: each a value (answers the next call) or
    /// {"match": "substring", "answer": value} (answers a call containing it).
    #[arg(long)]
    pub answers: Option<PathBuf>,
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The runs started within this long of now: `7d`, `24h`, `90m`, `3600s`.
    #[arg(long, default_value = "7d", value_parser = host_runner::cohort_report::window::parse)]
    pub since: std::time::Duration,
    /// Only the runs a percentage rollout decided (`percent` against
    /// `outside_percent`): the randomised comparison, without the runs an
    /// operator turned on or off by user, agent or agent type.
    #[arg(long)]
    pub percentage_rollout: bool,
    #[arg(long)]
    pub json: bool,
}
