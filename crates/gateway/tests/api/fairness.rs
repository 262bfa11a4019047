//! One tenant's burst (an initial sync) must not starve another tenant's writes.

use crate::support::{SerialCommands, TestApp};
use scim_gateway::GatewayConfig;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const BURST: usize = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_burst_of_creates_does_not_starve_another_tenants_create() {
    let worker = Arc::new(OnceLock::<Arc<SerialCommands>>::new());
    let slot = worker.clone();
    let config = GatewayConfig {
        tenant_inflight: 4,
        request_timeout: Duration::from_secs(60),
        ..GatewayConfig::default()
    };
    let app = Arc::new(
        TestApp::spawn_with(config, move |ch| {
            let w = Arc::new(SerialCommands::new(ch, Duration::from_millis(10)));
            slot.set(w.clone()).unwrap();
            w
        })
        .await,
    );
    let worker = worker.get().unwrap().clone();
    let a_id = app.id_of(&app.a).to_owned();

    let a_done = Arc::new(AtomicUsize::new(0));
    let mut burst = Vec::new();
    for i in 0..BURST {
        let (app, a_done) = (app.clone(), a_done.clone());
        burst.push(tokio::spawn(async move {
            let res = app
                .post(
                    &app.a,
                    "/Users",
                    &json!({"userName": format!("bulk{i}@a.example")}),
                )
                .await;
            a_done.fetch_add(1, Ordering::SeqCst);
            res.status().as_u16()
        }));
    }
    // Let the whole burst arrive at the gateway before tenant B asks.
    while worker.entered(&a_id) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let res = app
        .post(&app.b, "/Users", &json!({"userName": "b@b.example"}))
        .await;
    let a_done_when_b_done = a_done.load(Ordering::SeqCst);
    assert_eq!(res.status(), 201);

    let mut statuses = Vec::new();
    for task in burst {
        statuses.push(task.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| *s == 201),
        "every create of the burst succeeds"
    );
    assert!(
        a_done_when_b_done < BURST / 2,
        "B waited behind {a_done_when_b_done} of A's {BURST} creates; most should still be outstanding"
    );
}
