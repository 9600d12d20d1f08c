//! `pilot bench`: steps one at a time, or the serve path, on a scratch or
//! Postgres database with the zero-latency simulated provider.

use crate::cli::args::{BenchArgs, Cli};
use crate::cli::output::emit;
use crate::cli::{bench, bench_latency, print, setup};
use anyhow::{Context, Result};
use host_runner::components::code::CodePolicy;
use host_runner::storage::throwaway::ThrowawayPostgres;
use host_runner::{Host, ProviderChoice, Workflow};
use std::time::Duration;

pub async fn bench(cli: &Cli, args: &BenchArgs) -> Result<()> {
    let text =
        std::fs::read_to_string(&args.file).with_context(|| format!("reading workflow {}", args.file.display()))?;
    let workflow = Workflow::parse(&text, &args.file.display().to_string())?;
    if args.replicas > 1 && args.concurrency.is_none() && args.model_latency_ms.is_none() {
        anyhow::bail!("--replicas measures the serve path: give --concurrency or --model-latency-ms too");
    }
    if let Some(latency_ms) = args.model_latency_ms {
        eprintln!("provider: simulated (a test double) answering after {latency_ms} ms");
        let postgres = match args.postgres.as_deref() {
            Some("local") => Some(ThrowawayPostgres::start()?),
            Some(_) => anyhow::bail!("--model-latency-ms takes --postgres local (a throwaway cluster) only"),
            None if args.replicas > 1 => anyhow::bail!("--replicas above 1 needs a shared database: --postgres local"),
            None => None,
        };
        let handlers = setup::handlers_dir(cli);
        let setup = bench_latency::Setup {
            components: &cli.components,
            handlers: &handlers,
            workflow: &text,
            replicas: args.replicas,
            postgres: postgres.as_ref(),
            durable: args.durable,
        };
        let result = bench_latency::measure(&setup, latency_ms, args.in_flight.max(1), args.runs).await?;
        return emit(args.json, &result, || bench_latency::print(&result));
    }
    let scratch = std::env::temp_dir().join(format!("pilot-bench-{}.db", uuid::Uuid::new_v4()));
    // Held to the end: dropping it stops the cluster.
    let throwaway = match args.postgres.as_deref() {
        Some("local") => Some(ThrowawayPostgres::start()?),
        _ => None,
    };
    let database = match (&throwaway, &args.postgres) {
        (Some(server), _) => server.create_database()?,
        (None, Some(url)) => url.clone(),
        (None, None) if args.replicas > 1 => {
            anyhow::bail!("--replicas above 1 needs a shared database: --postgres")
        }
        (None, None) => scratch.display().to_string(),
    };
    let code = if args.baseline_code { CodePolicy::BaselineOnly } else { CodePolicy::Optimized };
    let host = setup::host_builder(cli, &database, true)?
        .provider(ProviderChoice::Simulated(Duration::ZERO))
        .code_policy(code)
        .build()
        .await?;
    eprintln!("provider: simulated with zero latency (measures the host and components, not a model)");
    eprintln!("database: {}", host.db().location());
    let measured = match args.concurrency {
        Some(clients) => serve_path(cli, args, &host, &text, &database, clients).await.map(Measured::Serve),
        None => bench::bench(&host, &workflow, args.runs, args.warmup).await.map(Measured::Steps),
    };
    let _ = std::fs::remove_file(&scratch);
    match measured? {
        Measured::Steps(results) => emit(args.json, &results, || print::bench::steps(&results)),
        Measured::Serve(results) => emit(args.json, &results, || print::bench::serve_path(&results)),
    }
}

/// What `pilot bench` measured: steps one at a time, or the serve path.
enum Measured {
    Steps(Vec<bench::BenchResult>),
    Serve(Vec<bench::ServeResult>),
}

/// `pilot serve`'s loop and API, this process and `--replicas - 1` others,
/// `clients` posting `workflow` at once: warmed up, then measured.
async fn serve_path(
    cli: &Cli,
    args: &BenchArgs,
    host: &Host,
    workflow: &str,
    database: &str,
    clients: usize,
) -> Result<Vec<bench::ServeResult>> {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let others =
        bench::Replicas::start(&cli.components, &setup::handlers_dir(cli), database, &token, args.replicas - 1, 0)?;
    eprintln!(
        "serve path: pilot serve's loop and API over loopback HTTP, {clients} clients at once, {} replica(s)",
        args.replicas
    );
    bench::bench_serve(host, workflow, args.warmup, clients, &token, &others.urls).await?;
    bench::bench_serve(host, workflow, args.runs, clients, &token, &others.urls).await
}
