//! The accept loop: bounds what one client can hold open. A connection must
//! send its request headers within [`Limits::header_timeout`] (slowloris), at
//! most [`Limits::max_connections`] are open at once (extra ones get a 503
//! with `Retry-After` and are closed, so file descriptors are never
//! exhausted), and on shutdown the loop stops accepting and waits for the
//! requests in flight.

use super::capacity;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// What one server lets its clients hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections at once; keep it under the process's file-descriptor limit.
    pub max_connections: usize,
    /// Time a connection has to send a request's headers (also between keep-alive requests).
    pub header_timeout: Duration,
    /// Time a workflow request has to send its body.
    pub body_timeout: Duration,
    /// Workflows run at once (`--max-in-flight`); a request that finds no
    /// slot within [`Limits::queue_wait`] is answered 503 with `Retry-After`.
    pub max_in_flight: usize,
    pub queue_wait: Duration,
    /// Resident memory past which new workflows are refused (503) until it falls.
    pub max_resident_bytes: u64,
    /// Wall-clock bound of one workflow request, body included; past it, 504.
    pub request_deadline: Duration,
}

impl Limits {
    /// Limits sized for this machine, admitting `max_in_flight` workflows
    /// (the machine-sized default when `None`).
    pub fn for_machine(max_in_flight: Option<usize>) -> Self {
        let max_in_flight = max_in_flight.unwrap_or_else(capacity::default_max_in_flight);
        Limits {
            max_connections: capacity::connection_limit(max_in_flight),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_in_flight,
            queue_wait: Duration::from_secs(2),
            // Three quarters of the machine: what is left is the kernel's and the database's.
            max_resident_bytes: capacity::total_memory().map_or(u64::MAX, |m| m / 4 * 3),
            request_deadline: Duration::from_secs(900),
        }
    }
}

/// The answer to a connection over the limit, written before it is closed.
const OVERLOADED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
connection: close\r\ncontent-length: 56\r\n\r\n{\"error\":\"too many open connections; retry in a second\"}";
/// Time allowed to write [`OVERLOADED`].
const OVERLOADED_WRITE: Duration = Duration::from_secs(1);
/// Time connections get to close once `stop` resolved; past it the loop
/// returns, and requests still running are dropped with the runtime.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Serves `app` on `listener` until `stop` resolves (the caller's drain
/// happens inside it), then stops accepting and closes the connections.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, stop: impl std::future::Future<Output = ()>) {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = limits.max_connections, "connection refused: too many open");
            tokio::spawn(async move {
                let mut stream = stream;
                let _ = tokio::time::timeout(OVERLOADED_WRITE, stream.write_all(OVERLOADED)).await;
            });
            continue;
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, "connection closed: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(CLOSE_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the drain: closing them");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overload_answer_is_well_formed() {
        let text = std::str::from_utf8(OVERLOADED).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head.lines().find_map(|l| l.strip_prefix("content-length: ")).unwrap().parse().unwrap();
        assert_eq!(length, body.len());
        assert!(serde_json::from_str::<serde_json::Value>(body).is_ok());
    }
}
