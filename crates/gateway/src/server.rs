//! [`Gateway`]: the gateway role's HTTP server, built then run (CONVENTIONS 1): `bind` takes
//! the port (so callers learn the real address of port 0 before anything runs), and
//! `run_until_stopped` serves until the caller's shutdown signal, then drains in-flight
//! requests (stop accepting, let open requests finish).
//!
//! The accept loop is our own (hyper-util's server on the axum router) because the defaults
//! leave two doors open that the security audit walked through: a client that sends its
//! headers a byte at a time, or opens a connection and sends nothing, kept it forever; and
//! nothing bounded how many connections one gateway holds. So: headers must arrive within
//! [`ServerLimits::header_read_timeout`] — also how long an idle keep-alive connection may
//! wait for its next request — and at most [`ServerLimits::max_connections`] connections are
//! served at once (the next waits in the listen backlog until one closes).

use crate::routes::router;
use crate::stall::WriteStallLimit;
use crate::state::AppState;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// Longest the server waits for open connections when stopping (above the 25 s request
/// deadline, below Kubernetes' 60 s grace period).
const DRAIN: Duration = Duration::from_secs(30);

/// How long a response write may wait for a client that reads nothing before the connection
/// is dropped.
const WRITE_STALL: Duration = Duration::from_secs(30);

/// Connection-level limits of the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection is kept waiting for the next request. Default 10 s.
    pub header_read_timeout: Duration,
    /// Connections served at once; further ones wait to be accepted. Default 4,096.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 4_096,
        }
    }
}

/// A bound, not yet running gateway.
#[derive(Debug)]
pub struct Gateway {
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
}

impl Gateway {
    /// Binds `addr` (port 0 for a random port) and builds the router over `state`.
    pub async fn bind(addr: SocketAddr, state: AppState) -> io::Result<Self> {
        let limits = state.inner.config.server;
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
            app: router(state),
            limits,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then waits for in-flight requests to finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        // HTTP/1.1 only: identity providers speak it (HTTP/2 arrives through a TLS proxy that
        // speaks HTTP/1.1 to us), and HTTP/2 would bring back what the limits close — an idle
        // h2 connection answers PINGs forever, and the version sniffing before it is untimed.
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read_timeout);
        let builder = Arc::new(builder);
        let slots = Arc::new(Semaphore::new(self.limits.max_connections.max(1)));
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            // Wait for a free slot before accepting, so excess clients queue in the kernel's
            // backlog instead of costing us memory.
            let slot = tokio::select! {
                () = &mut shutdown => break,
                slot = slots.clone().acquire_owned() => slot.map_err(io::Error::other)?,
            };
            let (stream, _) = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of descriptors or a reset before accept: keep serving.
                        tracing::warn!(error.message = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let local = LocalAddr(stream.local_addr().ok());
            let app =
                self.app
                    .clone()
                    .map_request(move |req: http::Request<hyper::body::Incoming>| {
                        let mut req = req.map(axum::body::Body::new);
                        req.extensions_mut().insert(ConnectInfo(local));
                        req
                    });
            let builder = builder.clone();
            let watcher = graceful.watcher();
            let first_byte = self.limits.header_read_timeout;
            tokio::spawn(async move {
                // hyper's header timer starts with the first byte: a client that connects and
                // says nothing would hold its slot forever.
                // (`peek`, not `readable`: a new socket may report readiness before any data.)
                let mut probe = [0u8; 1];
                if !matches!(
                    tokio::time::timeout(first_byte, stream.peek(&mut probe)).await,
                    Ok(Ok(1..))
                ) {
                    drop(slot);
                    return;
                }
                let stream = WriteStallLimit::new(stream, WRITE_STALL);
                let conn =
                    builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
                // A client that goes away mid-request is not our error.
                let _ = watcher.watch(conn).await;
                drop(slot);
            });
        }
        // Stop accepting; let every open connection finish its requests — within a bound, so a
        // client that never reads its response cannot hold the process past its stop deadline.
        drop(self.listener);
        if tokio::time::timeout(DRAIN, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after {DRAIN:?} of draining; closing them");
        }
        Ok(())
    }
}

/// The local address a client connected to: the origin of the URLs the gateway hands out when
/// no `public_url` is configured (never the client's `Host` header, which anyone can set).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalAddr(pub(crate) Option<SocketAddr>);
