//! One tenant's burst of reads holds at most `tenant_reads` store calls at once; another
//! tenant's read does not wait behind it.

use async_trait::async_trait;
use axum::body::Body;
use http::Request;
use scim_gateway::ports::{DirectoryReads, ReadError};
use scim_gateway::{AppState, GatewayConfig, TraceContext, router};
use scim_wire::pb;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tower::ServiceExt as _;

/// Tenants `a` and `b` (token = slug); tenant `a`'s lists block until released and count how
/// many are inside the store at once.
#[derive(Debug, Default)]
struct SlowStore {
    inside: AtomicUsize,
    most: AtomicUsize,
    release: Notify,
}

#[async_trait]
impl DirectoryReads for SlowStore {
    async fn authenticate(
        &self,
        slug: &str,
        token: &str,
        _: &TraceContext,
    ) -> Result<Option<String>, ReadError> {
        Ok((slug == token).then(|| format!("id-{slug}")))
    }
    async fn get(
        &self,
        _: pb::GetResourceRequest,
        _: &TraceContext,
    ) -> Result<pb::Resource, ReadError> {
        Err(ReadError::Internal("not used".into()))
    }
    async fn list(
        &self,
        req: pb::ListResourcesRequest,
        _: &TraceContext,
    ) -> Result<pb::ListResourcesResponse, ReadError> {
        if req.tenant_id == "id-a" {
            let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            self.release.notified().await;
            self.inside.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(pb::ListResourcesResponse::default())
    }
    async fn ready(&self) -> Result<(), ReadError> {
        Ok(())
    }
}

fn list(slug: &str) -> Request<Body> {
    Request::get(format!(
        "/scim/v2/{slug}/Users?filter=userName%20eq%20%22x%22"
    ))
    .header("authorization", format!("Bearer {slug}"))
    .body(Body::empty())
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_burst_of_reads_holds_at_most_its_read_slots() {
    let store = Arc::new(SlowStore::default());
    let config = GatewayConfig {
        tenant_reads: 3,
        request_timeout: Duration::from_secs(30),
        ..GatewayConfig::default()
    };
    let app = router(AppState::with_reads(
        config,
        store.clone(),
        Arc::new(crate::support::FailingCommands {
            error: || scim_bus::BusError::Closed,
            calls: AtomicUsize::new(0),
        }),
    ));
    let burst: Vec<_> = (0..12)
        .map(|_| tokio::spawn(app.clone().oneshot(list("a"))))
        .collect();
    while store.inside.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        store.inside.load(Ordering::SeqCst),
        3,
        "the rest wait at the gateway"
    );
    // Tenant b is not behind them.
    let b = tokio::time::timeout(Duration::from_secs(5), app.clone().oneshot(list("b")))
        .await
        .expect("tenant b's read waited behind tenant a's")
        .unwrap();
    assert_eq!(b.status(), 200);
    // Release a's reads one wave at a time until all are answered.
    while burst.iter().any(|t| !t.is_finished()) {
        store.release.notify_waiters();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for t in burst {
        assert_eq!(t.await.unwrap().unwrap().status(), 200);
    }
    assert_eq!(store.most.load(Ordering::SeqCst), 3);
}
