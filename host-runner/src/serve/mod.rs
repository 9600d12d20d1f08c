//! `pilot serve`: a long-running host with an HTTP API, and a watcher that
//! hot-loads handlers dropped into (or changed in, or removed from) the
//! handlers directory.

mod api;
mod auth;
pub mod capacity;
mod connections;
mod console;
pub mod drain;
mod executions;
mod handler_list;
mod state;
mod submit;
mod watcher;
mod worker;

pub use api::router;
pub use connections::{Limits, serve as serve_listener};
pub use drain::Drain;
pub use handler_list::handlers_json;
pub use watcher::watch;

use crate::error::Error;
use crate::host::Host;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How the server answers.
pub struct ServeConfig {
    /// The bearer token every `/v1` request must carry.
    pub token: String,
    /// Watch the handlers directory and reload on change.
    pub watch: bool,
    /// What one client may hold open.
    pub limits: Limits,
    /// How long runs in flight may take to finish once a drain begins.
    pub drain_deadline: Duration,
}

/// Serves until SIGINT (ctrl-c) or SIGTERM (what process managers send),
/// then drains (see [`drain`]): `/ready` says 503, no run is leased or
/// admitted, runs in flight get until the drain deadline (durable ones still
/// going are then handed back to the queue), queued rows are committed.
pub async fn serve(host: Host, listener: TcpListener, config: ServeConfig) -> Result<(), Error> {
    let _watcher = if config.watch { Some(watcher::watch(host.clone())?) } else { None };
    let address = listener.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string());
    tracing::info!(%address, replica = host.db().replica(), "pilot serve listening");
    let drain = Arc::new(Drain::default());
    let app = router(host.clone(), config.token, config.limits, drain.clone());
    let stop = async {
        stop_signal().await;
        tracing::info!(in_flight = drain.in_flight(), "draining: /ready answers 503, no new runs, no new leases");
        let left = drain.drain(config.drain_deadline).await;
        if left > 0 {
            tracing::warn!(
                runs = left,
                "drain deadline passed: cancelling the runs left (synchronous ones recorded interrupted, durable ones handed back)"
            );
        }
    };
    connections::serve(listener, app, config.limits, stop).await;
    drain.workers_stopped().await;
    host.db().records().flush().await;
    tracing::info!("drained");
    Ok(())
}

/// The listening socket, bound before anything says it listens: a taken
/// port or a foreign address is an error that names it.
pub async fn bind(address: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(address).await.map_err(|cause| Error::Bind { address, cause })
}

/// The first of SIGINT and SIGTERM.
async fn stop_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!("SIGTERM cannot be watched: {e}");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT: draining"),
        () = terminate => tracing::info!("SIGTERM: draining"),
    }
}
