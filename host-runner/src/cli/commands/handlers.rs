//! `pilot handlers list|test`: the handler components, or one of them on one request.

use crate::cli::args::{Cli, HandlerTestArgs};
use crate::cli::output::emit;
use crate::cli::{env, handler_test, print, setup};
use anyhow::Result;
use host_runner::components::shared::Limits;
use host_runner::serve::handlers_json;

pub async fn list(cli: &Cli, json: bool) -> Result<()> {
    let host = setup::build_host(cli).await?;
    // The document `GET /v1/handlers` answers.
    emit(json, &handlers_json(&host), || print::handlers::list(&host.handlers(), host.handlers_dir()))
}

pub async fn test(cli: &Cli, args: &HandlerTestArgs) -> Result<()> {
    let files = handler_test::Files {
        component: &args.component,
        request: &args.request,
        answers: args.answers.as_deref(),
        manifest: args.manifest.as_deref(),
    };
    let limits = Limits { defaults: setup::default_limits(cli), inherit_stderr: cli.component_stderr };
    handler_test::run(files, limits, env::engine_options(), args.json).await
}
