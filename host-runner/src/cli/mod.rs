//! The `pilot` command line: [`args`] says what it accepts, [`commands`]
//! what each command does, [`print`] how its output reads to people and
//! [`output`] how `--json` prints instead.

mod args;
mod bench;
mod bench_latency;
mod commands;
mod env;
mod eval;
mod handler_test;
mod output;
mod print;
mod setup;

use anyhow::Result;
use args::{AgentsAction, Cli, Command, FlagsAction, HandlersAction, LogFormat, RunsAction};
use clap::Parser;

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
    init_logging(cli.log_format);
    match &cli.command {
        Command::Run { file, json } => commands::run::run(&cli, file, *json).await,
        Command::Flags { action: FlagsAction::List { json } } => commands::flags::list(&cli, *json),
        Command::Flags { action: FlagsAction::Set { key, value, scope } } => {
            commands::flags::set(&cli, key, value, scope)
        }
        Command::Flags { action: FlagsAction::Unset { key, scope } } => commands::flags::unset(&cli, key, scope),
        Command::Handlers { action: HandlersAction::List { json } } => commands::handlers::list(&cli, *json).await,
        Command::Handlers { action: HandlersAction::Test(args) } => commands::handlers::test(&cli, args).await,
        Command::Eval(args) => commands::eval::eval(&cli, args).await,
        Command::Bench(args) => commands::bench::bench(&cli, args).await,
        Command::Serve(args) => commands::serve::serve(&cli, args).await,
        Command::Agents { action: AgentsAction::List { json } } => commands::agents::list(&cli, *json),
        Command::Agents { action: AgentsAction::SetCreation { agent, score } } => {
            commands::agents::set_creation(&cli, agent, *score)
        }
        Command::Report(args) => commands::report::run(&cli, args),
        Command::Runs { action: RunsAction::List { state, limit, json } } => {
            commands::runs::list(&cli, state.as_deref(), *limit, *json)
        }
        Command::Runs { action: RunsAction::Show { execution, json } } => commands::runs::show(&cli, execution, *json),
        Command::Runs { action: RunsAction::Resume { execution, json } } => {
            commands::runs::resume(&cli, execution, *json)
        }
        Command::Runs { action: RunsAction::Cancel { execution, json } } => {
            commands::runs::cancel(&cli, execution, *json)
        }
        Command::Audit { execution, limit, json } => commands::audit::audit(&cli, execution.as_deref(), *limit, *json),
    }
}

/// Log lines on stderr; `RUST_LOG` sets the level.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn,wasmtime=error".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        // One JSON object per line, with the fields of the spans around it (execution and workflow ids).
        LogFormat::Json => logs.json().with_current_span(false).with_span_list(true).init(),
        LogFormat::Text => logs.init(),
    }
}
