//! When dependencies fail: an unconfirmed write is `503` with `Retry-After`, never `2xx`; an
//! unreachable store is `503` (not `401`, which would quarantine the customer's job); a panic
//! is a SCIM `500`.

use crate::support::{FailingCommands, Store, StoreCommands, TestApp, assert_scim_error, patch_op};
use async_trait::async_trait;
use scim_bus::BusError;
use scim_gateway::ports::{DirectoryReads, ReadError};
use scim_gateway::{AppState, GatewayConfig, TraceContext};
use scim_wire::pb;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[tokio::test]
async fn every_bus_failure_is_a_503_with_retry_after_and_nothing_is_written() {
    let errors: [fn() -> BusError; 5] = [
        || BusError::Timeout(Duration::from_secs(25)),
        || BusError::NotConfirmed("nack".into()),
        || BusError::Unavailable("connection reset".into()),
        || BusError::ReplyLost("the channel closed while waiting for the reply".into()),
        || BusError::Closed,
    ];
    let config = GatewayConfig {
        request_timeout: Duration::from_secs(1),
        ..GatewayConfig::default()
    };
    for error in errors {
        let failing = Arc::new(FailingCommands {
            error,
            calls: AtomicUsize::new(0),
        });
        let handle = failing.clone();
        let app = TestApp::spawn_with(config.clone(), move |_| failing).await;
        let some_id = "/Users/00000000-0000-7000-8000-000000000000";
        let responses = [
            app.post(&app.a, "/Users", &json!({"userName": "never"}))
                .await,
            app.send(
                &app.a,
                reqwest::Method::PUT,
                some_id,
                &json!({"userName": "never"}),
            )
            .await,
            app.patch(
                &app.a,
                some_id,
                &patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
            )
            .await,
            app.delete(&app.a, some_id).await,
        ];
        for res in responses {
            let headers = assert_scim_error(res, 503, None).await;
            assert_eq!(headers["retry-after"], "10");
        }
        // A command that may be queued despite the failure could still be applied until its
        // deadline: its client is not told 503 before then.
        let started = std::time::Instant::now();
        let res = app
            .post(&app.a, "/Users", &json!({"userName": "never"}))
            .await;
        assert_eq!(res.status(), 503);
        if error().may_be_queued() {
            assert!(started.elapsed() >= config.request_timeout, "{:?}", error());
        }
        assert_eq!(handle.calls.load(Ordering::SeqCst), 5);
        let (_, _, list) = crate::support::scim_json(app.get(&app.a, "/Users").await).await;
        assert_eq!(list["totalResults"], 0);
    }
}

#[tokio::test]
async fn an_unreachable_store_is_503_not_401_and_the_gateway_is_not_ready() {
    let store = Store::new().await;
    // Nothing listens on port 1: every store call fails to connect.
    let dead = scim_wire::role_auth::PresentSecret::none()
        .wrap(tonic::transport::Endpoint::from_static("http://127.0.0.1:1").connect_lazy());
    let config = GatewayConfig {
        request_timeout: Duration::from_secs(5),
        ..GatewayConfig::default()
    };
    let state = AppState::new(
        config,
        dead,
        Arc::new(StoreCommands::new(store.channel.clone())),
    );
    let app = TestApp::serve(store, state).await;
    let headers = assert_scim_error(app.get(&app.a, "/Users").await, 503, None).await;
    assert_eq!(headers["retry-after"], "10");
    let ready = app
        .http
        .get(format!("http://{}/readyz", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let live = app
        .http
        .get(format!("http://{}/healthz", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
}

/// Authenticates everyone as one tenant, then panics on reads.
#[derive(Debug)]
struct PanickingReads;

#[async_trait]
impl DirectoryReads for PanickingReads {
    async fn authenticate(
        &self,
        _: &str,
        _: &str,
        _: &TraceContext,
    ) -> Result<Option<String>, ReadError> {
        Ok(Some("00000000-0000-7000-8000-000000000001".into()))
    }
    async fn get(
        &self,
        _: pb::GetResourceRequest,
        _: &TraceContext,
    ) -> Result<pb::Resource, ReadError> {
        panic!("a bug in a read path");
    }
    async fn list(
        &self,
        _: pb::ListResourcesRequest,
        _: &TraceContext,
    ) -> Result<pb::ListResourcesResponse, ReadError> {
        Err(ReadError::Internal("SELECT secret FROM internals".into()))
    }
    async fn ready(&self) -> Result<(), ReadError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_panic_or_an_internal_failure_is_a_generic_scim_500() {
    let store = Store::new().await;
    let commands = Arc::new(StoreCommands::new(store.channel.clone()));
    let state = AppState::with_reads(GatewayConfig::default(), Arc::new(PanickingReads), commands);
    let app = TestApp::serve(store, state).await;
    let res = app
        .get(&app.a, "/Users/00000000-0000-7000-8000-000000000000")
        .await;
    assert_scim_error(res, 500, None).await;
    let res = app.get(&app.a, "/Users").await;
    let (status, _, body) = crate::support::scim_json(res).await;
    assert_eq!(status, 500);
    assert!(
        !body.to_string().contains("SELECT"),
        "internal details stay in the log"
    );
    // The server survives both.
    assert_eq!(app.get(&app.a, "/Users").await.status(), 500);
}
