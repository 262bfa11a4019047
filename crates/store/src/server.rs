//! The `store` role: serves the DirectoryService and the gRPC health service on an address
//! until the shutdown future resolves — or, in the embedded `serve` mode, called directly in
//! the process ([`in_process`]), so the gateway and worker use the same generated client and
//! the same server code with no socket in between.

use crate::directory::Directory;
use crate::grpc::DirectoryGrpc;
use scim_wire::pb::directory_service_server::DirectoryServiceServer;
use scim_wire::role_auth::{PresentSecret, RequireSecret, StoreChannel};
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Interceptor as _;
use tonic::service::interceptor::InterceptedService;

/// A bound, not yet running store server.
#[derive(Debug)]
pub struct StoreServer {
    listener: TcpListener,
    dir: Directory,
    secret: RequireSecret,
}

impl StoreServer {
    /// Binds the listener (use port 0 for a random one); every call must present `secret`.
    pub async fn bind(
        addr: SocketAddr,
        dir: Directory,
        secret: RequireSecret,
    ) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
            dir,
            secret,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then drains in-flight calls.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), tonic::transport::Error> {
        tonic::transport::Server::builder()
            .add_routes(services(self.dir, Some(self.secret)).await)
            .serve_with_incoming_shutdown(incoming_nodelay(self.listener), shutdown)
            .await
    }
}

/// What the store serves, over TCP or called in-process alike: the DirectoryService and the
/// gRPC health service reporting it as serving, both behind the role secret when there is a
/// socket anyone could reach.
async fn services(dir: Directory, secret: Option<RequireSecret>) -> tonic::service::Routes {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_serving::<DirectoryServiceServer<DirectoryGrpc>>()
        .await;
    let gate = move |request: tonic::Request<()>| match &secret {
        Some(required) => required.clone().call(request),
        None => Ok(request),
    };
    // Health too: a role with a wrong secret then reports itself not ready, instead of
    // looking healthy while every call it makes fails.
    tonic::service::Routes::new(InterceptedService::new(health, gate.clone())).add_service(
        InterceptedService::new(DirectoryGrpc::new(dir).into_server(), gate),
    )
}

/// Accepted connections with Nagle's algorithm off: gRPC answers are small frames, and Nagle
/// plus the client's delayed ACK held each back ~40 ms (filtered GETs through the
/// distributed gateway: p50 48 ms and 337/s before, 7.8 ms and 1,940/s after).
fn incoming_nodelay(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    TcpListenerStream::new(listener).map(|accepted| {
        accepted.inspect(|stream| {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(error.message = %e, "could not disable Nagle on a store connection");
            }
        })
    })
}

/// A client channel to `dir`'s services called directly in this process: no HTTP/2, no pipe,
/// no server task (`serve` and the `tenant` CLI). The messages are still encoded, so both
/// modes run exactly the same service code. A call's `grpc-timeout` is honoured as tonic's
/// server honours it over TCP: past it the call is dropped (a write transaction rolls back)
/// and answered `DEADLINE_EXCEEDED`.
pub async fn in_process(dir: Directory) -> StoreChannel {
    let routes = services(dir, None).await;
    let direct = tower::service_fn(move |request: http::Request<tonic::body::Body>| {
        let timeout = grpc_timeout(request.headers());
        let call = tower::ServiceExt::oneshot(routes.clone(), request);
        async move {
            let response = match timeout {
                None => call.await,
                Some(t) => match tokio::time::timeout(t, call).await {
                    Ok(response) => response,
                    Err(_) => Ok(tonic::Status::deadline_exceeded(
                        "the store did not answer within the call's deadline",
                    )
                    .into_http()),
                },
            };
            response.map_err(|never| -> tonic::transport::Error { match never {} })
        }
    });
    PresentSecret::none().wrap_transport(scim_wire::role_auth::StoreTransport::new(direct))
}

/// The `grpc-timeout` header: at most 8 digits and a unit (gRPC over HTTP/2 protocol spec).
fn grpc_timeout(headers: &http::HeaderMap) -> Option<std::time::Duration> {
    use std::time::Duration;
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::grpc_timeout;
    use std::time::Duration;

    fn parse(v: &str) -> Option<Duration> {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-timeout", v.parse().unwrap());
        grpc_timeout(&h)
    }

    #[test]
    fn grpc_timeouts_parse_by_the_spec_and_nonsense_is_ignored() {
        assert_eq!(parse("1500m"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("25000000u"), Some(Duration::from_secs(25)));
        assert_eq!(parse("123456789m"), None);
        assert_eq!(parse("m"), None);
        assert_eq!(parse("10x"), None);
        assert_eq!(parse("-1S"), None);
        assert_eq!(grpc_timeout(&http::HeaderMap::new()), None);
    }
}
