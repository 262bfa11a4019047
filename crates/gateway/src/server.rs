//! [`Gateway`]: the gateway role's HTTP server, built then run (CONVENTIONS 1): `bind` takes
//! the port (so callers learn the real address of port 0 before anything runs), and
//! `run_until_stopped` serves until the caller's shutdown signal, then drains in-flight
//! requests (axum graceful shutdown: stop accepting, let open requests finish).

use crate::routes::router;
use crate::state::AppState;
use axum::Router;
use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// A bound, not yet running gateway.
#[derive(Debug)]
pub struct Gateway {
    listener: TcpListener,
    app: Router,
}

impl Gateway {
    /// Binds `addr` (port 0 for a random port) and builds the router over `state`.
    pub async fn bind(addr: SocketAddr, state: AppState) -> io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
            app: router(state),
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
        axum::serve(
            self.listener,
            self.app.into_make_service_with_connect_info::<LocalAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

/// The local address a client connected to: the origin of the URLs the gateway hands out when
/// no `public_url` is configured (never the client's `Host` header, which anyone can set).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalAddr(pub(crate) Option<SocketAddr>);

impl Connected<IncomingStream<'_, TcpListener>> for LocalAddr {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        LocalAddr(stream.io().local_addr().ok())
    }
}
