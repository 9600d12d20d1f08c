//! `pilot`: runs WorkflowPilot workflows through the orchestration components.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // Output piped into `head` and closed early ends the process quietly, as
    // for other Unix tools, instead of a panic on the next print (`pilot
    // serve` ignores the signal again: see `keep_serving_on_closed_pipes`).
    // SAFETY: called first, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // `RUST_BACKTRACE=1` also makes every error value (anyhow's, wasmtime's)
    // capture a backtrace when created: wasmtime creates one as it drops each
    // component store, about 3% of a step's time. Errors here are reported
    // with their context chains, so only panics keep backtraces, unless
    // `RUST_LIB_BACKTRACE` says otherwise.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: no other thread exists yet to read the environment.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
}

async fn run() -> ExitCode {
    match cli::main().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<cli::Exit>() {
            Some(cli::Exit(code)) => ExitCode::from(*code),
            None => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
