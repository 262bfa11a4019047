//! The gauges a worker keeps current by asking rather than counting: the membership fan-out
//! lag per tenant (the store's `FanoutLag`) and the depth of the bus queues (consumer lag),
//! refreshed every few seconds for `/metrics`.

use scim_wire::pb::{self, directory_service_client::DirectoryServiceClient};
use scim_wire::role_auth::StoreChannel;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Refreshes the gauges every `every` until `stop`: the fan-out lag from the store behind
/// `store`, and the queue depths `depths` reports as `(queue, ready messages)`. A failed
/// read leaves the previous values (logged at debug: `/readyz` reports outages).
pub async fn report_gauges<F, Fut>(
    store: StoreChannel,
    every: Duration,
    stop: CancellationToken,
    mut depths: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Vec<(String, u64)>>,
{
    let mut client = DirectoryServiceClient::new(store);
    let metrics = scim_telemetry::metrics();
    loop {
        let lag = client.fanout_lag(pb::FanoutLagRequest {
            tenant_id: String::new(),
        });
        match tokio::time::timeout(every.max(Duration::from_secs(1)), lag).await {
            Ok(Ok(lag)) => metrics.set_fanout_lag(
                lag.into_inner()
                    .tenants
                    .into_iter()
                    .map(|t| (t.slug, t.pending_jobs, t.oldest_job_age_seconds)),
            ),
            Ok(Err(status)) => tracing::debug!(code = ?status.code(), "fan-out lag not read"),
            Err(_) => tracing::debug!("fan-out lag not read in time"),
        }
        for (queue, depth) in depths().await {
            metrics.set_queue_depth(&queue, depth);
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
