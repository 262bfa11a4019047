//! `/healthz`, `/readyz`, and graceful shutdown.

use crate::support::{FailingCommands, SerialCommands, TestApp};
use scim_bus::BusError;
use scim_gateway::GatewayConfig;
use serde_json::json;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

#[tokio::test]
async fn healthz_and_readyz_answer_200_without_authentication_when_dependencies_answer() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/readyz"] {
        let res = app
            .http
            .get(format!("http://{}{path}", app.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn readyz_is_503_when_the_bus_cannot_publish() {
    let app = TestApp::spawn_with(GatewayConfig::default(), |_| {
        Arc::new(FailingCommands {
            error: || BusError::Unavailable("broker down".into()),
            calls: AtomicUsize::new(0),
        })
    })
    .await;
    let res = app
        .http
        .get(format!("http://{}/readyz", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["bus"], false);
    assert_eq!(body["store"], true);
    let res = app
        .http
        .get(format!("http://{}/healthz", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_write_finish_before_the_server_stops() {
    let worker = Arc::new(OnceLock::<Arc<SerialCommands>>::new());
    let slot = worker.clone();
    let mut app = TestApp::spawn_with(GatewayConfig::default(), move |ch| {
        let w = Arc::new(SerialCommands::new(ch, Duration::from_millis(300)));
        slot.set(w.clone()).unwrap();
        w
    })
    .await;
    let worker = worker.get().unwrap().clone();
    let tenant_id = app.id_of(&app.a).to_owned();
    let req = app
        .req(&app.a, reqwest::Method::POST, "/Users")
        .header("Content-Type", "application/scim+json")
        .body(json!({"userName": "in.flight"}).to_string());
    let in_flight = tokio::spawn(req.send());
    // Stop only once the write is inside the gateway, waiting for its command's result.
    while worker.entered(&tenant_id) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    app.stop().await.unwrap();
    let res = in_flight.await.unwrap().unwrap();
    assert_eq!(res.status(), 201, "the write was drained, not cut off");
    let refused = app
        .http
        .get(format!("http://{}/healthz", app.addr))
        .send()
        .await;
    assert!(refused.is_err(), "no longer accepting connections");
}
