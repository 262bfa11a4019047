//! The worker against a real store (SQLite, served in-process over gRPC) and the in-process
//! bus: applied commands are replied and acked, refusals are answered, expired commands are
//! not applied, and a store that stays down leads to requeues, then a dead letter and a `503`.

mod fanout;

use scim_bus::memory::MemoryBus;
use scim_bus::{BusError, CommandClient, Headers};
use scim_wire::pb;
use scim_worker::{Worker, WorkerConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

struct Setup {
    bus: MemoryBus,
    client: scim_bus::memory::MemoryClient,
    tenant: String,
    stop_worker: CancellationToken,
    dir: scim_store::Directory,
    _tmp: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn setup(config: WorkerConfig, bus: MemoryBus) -> Setup {
    let tmp = TempDir(std::env::temp_dir().join(format!("scim-worker-{}", Uuid::new_v4())));
    std::fs::create_dir_all(&tmp.0).unwrap();
    let url = format!("sqlite://{}?mode=rwc", tmp.0.join("s.db").display());
    let conn = scim_store::db::connect(&url, 4).await.unwrap();
    scim_store::db::migrate(&conn).await.unwrap();
    let dir = scim_store::Directory::new(conn, Arc::new(scim::schema::Registry::new()));
    let tenant = dir
        .create_tenant("acme", "Acme")
        .await
        .unwrap()
        .0
        .id
        .to_string();
    let channel = scim_store::server::in_process(dir.clone()).await;
    let worker = Worker::new(channel, config);
    let stop_worker = CancellationToken::new();
    let mut consumer = bus.consumer(4);
    let stop = stop_worker.clone();
    tokio::spawn(async move { worker.run(&mut consumer, &stop).await });
    Setup {
        client: bus.client(),
        bus,
        tenant,
        stop_worker,
        dir,
        _tmp: tmp,
    }
}

fn create(tenant: &str, user_name: &str) -> pb::ChangeCommand {
    pb::ChangeCommand {
        command_id: Uuid::now_v7().to_string(),
        tenant_id: tenant.to_owned(),
        kind: pb::ResourceKind::User as i32,
        expected_version: None,
        change: Some(pb::change_command::Change::Create(pb::CreateChange {
            body_json: serde_json::json!({ "userName": user_name }).to_string(),
        })),
    }
}

async fn users(dir: &scim_store::Directory, tenant: &str) -> u64 {
    let req = scim_store::ListRequest {
        filter: None,
        sort_by: None,
        descending: false,
        start_index: 1,
        count: 0,
        include_members: false,
        include_groups: false,
    };
    dir.list(
        tenant.parse().unwrap(),
        scim::schema::ResourceKind::User,
        &req,
    )
    .await
    .unwrap()
    .total_results
}

#[tokio::test]
async fn an_applied_command_is_answered_with_the_stored_resource_and_acked() {
    let s = setup(WorkerConfig::default(), MemoryBus::new()).await;
    let answer = s
        .client
        .request(
            &create(&s.tenant, "ada@example.com"),
            Headers::new(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    let Some(pb::command_result::Outcome::Resource(r)) = answer.outcome else {
        panic!("expected a resource, got {answer:?}");
    };
    assert!(r.body_json.contains("ada@example.com"));
    assert_eq!(s.bus.depth(), 0);
    assert_eq!(users(&s.dir, &s.tenant).await, 1);
    s.stop_worker.cancel();
}

#[tokio::test]
async fn a_refused_command_is_answered_with_the_scim_error() {
    let s = setup(WorkerConfig::default(), MemoryBus::new()).await;
    let first = create(&s.tenant, "dup@example.com");
    s.client
        .request(&first, Headers::new(), Duration::from_secs(5))
        .await
        .unwrap();
    let answer = s
        .client
        .request(
            &create(&s.tenant, "DUP@example.com"),
            Headers::new(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    let Some(pb::command_result::Outcome::Error(e)) = answer.outcome else {
        panic!("expected an error, got {answer:?}");
    };
    assert_eq!((e.status, e.scim_type.as_str()), (409, "uniqueness"));
    assert!(
        s.bus.dead_letters().is_empty(),
        "a refusal is an answer, not a poison message"
    );
    s.stop_worker.cancel();
}

#[tokio::test]
async fn a_redelivered_command_is_applied_once_and_answered_the_same() {
    let s = setup(WorkerConfig::default(), MemoryBus::new()).await;
    let cmd = create(&s.tenant, "once@example.com");
    let a = s
        .client
        .request(&cmd, Headers::new(), Duration::from_secs(5))
        .await
        .unwrap();
    let b = s
        .client
        .request(&cmd, Headers::new(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(users(&s.dir, &s.tenant).await, 1);
    s.stop_worker.cancel();
}

#[tokio::test]
async fn a_command_past_its_deadline_is_not_applied() {
    let bus = MemoryBus::new();
    let client = bus.client();
    // Nobody consumes yet: the request times out, as the gateway's would (it answers 503).
    let cmd = create(&Uuid::nil().to_string(), "late@example.com");
    let late = client
        .request(&cmd, Headers::new(), Duration::from_millis(50))
        .await;
    assert!(matches!(late, Err(BusError::Timeout(_))), "{late:?}");
    let s = setup(WorkerConfig::default(), bus).await;
    // The worker now takes the expired command off the queue without applying it.
    let ok = s
        .client
        .request(
            &create(&s.tenant, "fresh@example.com"),
            Headers::new(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert!(matches!(
        ok.outcome,
        Some(pb::command_result::Outcome::Resource(_))
    ));
    assert_eq!(s.bus.depth(), 0);
    assert!(s.bus.dead_letters().is_empty());
    assert_eq!(users(&s.dir, &s.tenant).await, 1);
    s.stop_worker.cancel();
}

#[tokio::test]
async fn a_store_whose_database_stays_down_gets_the_command_requeued_then_dead_lettered_with_a_503()
{
    let config = WorkerConfig {
        max_deliveries: 3,
        attempts_per_delivery: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        ..WorkerConfig::default()
    };
    let s = setup(config, MemoryBus::new()).await;
    // The store's database goes away: every store call fails as unavailable.
    s.dir.clone().close().await.unwrap();
    let answer = s
        .client
        .request(
            &create(&s.tenant, "down@example.com"),
            Headers::new(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let Some(pb::command_result::Outcome::Error(e)) = answer.outcome else {
        panic!("expected an error, got {answer:?}");
    };
    assert_eq!(e.status, 503);
    assert_eq!(s.bus.dead_letters().len(), 1);
    assert_eq!(s.bus.depth(), 0);
    s.stop_worker.cancel();
}
