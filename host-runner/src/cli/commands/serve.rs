//! `pilot serve`: the HTTP API, handlers hot-loaded from their directory.

use crate::cli::args::{Cli, ServeArgs};
use crate::cli::{env, print, setup};
use anyhow::Result;
use host_runner::serve::{Limits, ServeConfig, bind};
use std::time::Duration;

pub async fn serve(cli: &Cli, args: &ServeArgs) -> Result<()> {
    keep_serving_on_closed_pipes();
    if args.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
        anyhow::bail!(
            "the bearer token (--token or PILOT_TOKEN) is empty: every request would be refused; \
             unset it to have one generated"
        );
    }
    let token = args.token.clone().unwrap_or_else(|| {
        let generated = uuid::Uuid::new_v4().simple().to_string();
        eprintln!("bearer token (set PILOT_TOKEN to choose one): {generated}");
        generated
    });
    // Bound first: a taken port fails at once, before components are compiled.
    let listener = bind(args.listen).await?;
    let host = setup::host_builder(cli, &cli.db, false)?
        .code_policy(env::serve_code_policy())
        .keep_transcript(args.keep_transcripts)
        .build()
        .await?;
    print::provider_note(&host);
    for rejected in host.handlers().rejected() {
        eprintln!("rejected {}: {}", rejected.file.display(), rejected.reason);
    }
    eprintln!("listening on http://{} (handlers: {})", listener.local_addr()?, host.handlers_dir().display());
    let config = ServeConfig {
        token,
        watch: !args.no_watch,
        limits: Limits::for_machine(args.max_in_flight.map(|n| n as usize)),
        drain_deadline: Duration::from_secs(args.drain_timeout),
    };
    Ok(host_runner::serve::serve(host, listener, config).await?)
}

/// `main` lets a closed stdout pipe end one-shot commands quietly; a server
/// whose log reader goes away keeps serving (its writes fail and are dropped).
fn keep_serving_on_closed_pipes() {
    // SAFETY: setting a signal's disposition to ignored has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}
