//! `/healthz`, `/readyz` and `/metrics` for the roles that have no SCIM HTTP API of their own
//! (`worker`, `store`); the gateway serves the same routes on its API port.
//!
//! `/healthz` answers while the process runs (Kubernetes liveness); `/readyz` only while the
//! role's dependencies answer (readiness: keep traffic and rollouts away otherwise).

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// How long a readiness check may take before the role counts as not ready.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// A readiness check: resolves to `Err(reason)` when a dependency does not answer.
pub(crate) type ReadyCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// Binds `addr` and serves the routes until `shutdown`; returns the bound address.
pub(crate) async fn spawn(
    addr: SocketAddr,
    ready: ReadyCheck,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let app = Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok\n") }))
        .route("/metrics", get(metrics))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.clone();
                async move {
                    // The reason is logged, not returned: these endpoints are unauthenticated
                    // and a database error can name hosts.
                    let checked = tokio::time::timeout(READY_TIMEOUT, ready())
                        .await
                        .unwrap_or_else(|_| Err("readiness check timed out".to_owned()));
                    match checked {
                        Ok(()) => (StatusCode::OK, "ready\n"),
                        Err(reason) => {
                            tracing::warn!(%reason, "not ready");
                            (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
                        }
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("while binding the health address {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error.message = %e, "health endpoint failed");
        }
    });
    Ok((bound, task))
}

/// The process's metrics in the Prometheus (OpenMetrics) text format.
async fn metrics() -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            scim_telemetry::CONTENT_TYPE,
        )],
        scim_telemetry::metrics().render(),
    )
}

/// Whether the store behind `channel` reports its DirectoryService as serving.
pub(crate) async fn store_ready(channel: scim_wire::role_auth::StoreChannel) -> Result<(), String> {
    use tonic_health::pb::health_check_response::ServingStatus;
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
    let request = tonic_health::pb::HealthCheckRequest {
        service: "blogin.scim.v1.DirectoryService".to_owned(),
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(2), client.check(request))
        .await
        .map_err(|_| "store health check timed out".to_owned())?
        .map_err(|s| format!("store unreachable: {}", s.message()))?;
    if answer.into_inner().status == ServingStatus::Serving as i32 {
        Ok(())
    } else {
        Err("store not serving".to_owned())
    }
}
