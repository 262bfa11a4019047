//! The outbox relay and the fan-out consumer against a real store (SQLite, in-process gRPC)
//! and the in-process bus: a relay that dies between publishing and marking loses nothing
//! (another relay re-publishes after the lease), redelivered jobs are harmless, and the
//! projections end exact with one event per user and set version.

use async_trait::async_trait;
use prost::Message;
use scim::schema::ResourceKind;
use scim_bus::memory::MemoryBus;
use scim_bus::{BusError, Headers, Publisher};
use scim_store::{Applied, Change, Command, Directory};
use scim_wire::pb;
use scim_worker::{FanoutWorker, Relay, RelayOutcome};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Publishes the first `limit` items for real, then fails every publish: from the relay's
/// point of view the items after a crash were never confirmed, while those before it were
/// published but never marked — exactly a relay killed between publish and mark.
#[derive(Debug)]
struct DiesAfter {
    inner: Arc<dyn Publisher>,
    limit: usize,
    published: AtomicUsize,
}

#[async_trait]
impl Publisher for DiesAfter {
    async fn publish_job(&self, body: Vec<u8>, headers: Headers) -> Result<(), BusError> {
        self.pass()?;
        self.inner.publish_job(body, headers).await?;
        Err(BusError::Unavailable(
            "relay killed after publishing".into(),
        ))
    }

    async fn publish_event(
        &self,
        key: &str,
        body: Vec<u8>,
        headers: Headers,
    ) -> Result<(), BusError> {
        self.pass()?;
        self.inner.publish_event(key, body, headers).await?;
        Err(BusError::Unavailable(
            "relay killed after publishing".into(),
        ))
    }
}

impl DiesAfter {
    fn pass(&self) -> Result<(), BusError> {
        if self.published.fetch_add(1, Ordering::SeqCst) >= self.limit {
            return Err(BusError::Unavailable("relay is dead".into()));
        }
        Ok(())
    }
}

async fn apply(dir: &Directory, tenant: Uuid, kind: ResourceKind, change: Change) -> Uuid {
    let cmd = Command {
        id: Uuid::now_v7().to_string(),
        tenant,
        kind,
        expected_version: None,
        change,
        trace_id: None,
    };
    match dir.apply(&cmd).await.unwrap() {
        Ok(Applied::Resource { resource, .. }) => resource.id,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relay_killed_between_publish_and_mark_loses_no_membership_update() {
    let tmp = std::env::temp_dir().join(format!("scim-worker-fanout-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&tmp).unwrap();
    let url = format!("sqlite://{}?mode=rwc", tmp.join("s.db").display());
    let conn = scim_store::db::connect(&url, 4).await.unwrap();
    scim_store::db::migrate(&conn).await.unwrap();
    let dir = Directory::new(conn, Arc::new(scim::schema::Registry::new()));
    let tenant = dir.create_tenant("acme", "Acme").await.unwrap().0.id;
    let stop = CancellationToken::new();
    let channel = scim_store::server::in_process(dir.clone()).await;

    // 450 users join one group in one PATCH: three jobs of at most 200 users.
    let mut users = Vec::new();
    for i in 0..450 {
        let body = serde_json::json!({ "userName": format!("u{i}@example.com") });
        users.push(apply(&dir, tenant, ResourceKind::User, Change::Create(body)).await);
    }
    let group = apply(
        &dir,
        tenant,
        ResourceKind::Group,
        Change::Create(serde_json::json!({"displayName": "All"})),
    )
    .await;
    let members: Vec<_> = users
        .iter()
        .map(|u| serde_json::json!({"value": u.to_string()}))
        .collect();
    let request = scim::patch::PatchRequest::parse(&serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": members}]
    }))
    .unwrap();
    apply(
        &dir,
        tenant,
        ResourceKind::Group,
        Change::Patch {
            id: group.to_string(),
            request,
        },
    )
    .await;

    let bus = MemoryBus::new();
    let mut events = bus.subscribe_events();
    let real: Arc<dyn Publisher> = Arc::new(bus.publisher());
    // The first relay publishes one job, then "dies" before marking anything.
    let dying = Relay::new(
        channel.clone(),
        Arc::new(DiesAfter {
            inner: real.clone(),
            limit: 1,
            published: AtomicUsize::new(0),
        }),
        Duration::from_millis(50),
    )
    .with_lease(Duration::from_secs(1));
    assert_eq!(dying.work_once().await.unwrap(), RelayOutcome::Published(0));
    assert_eq!(bus.job_depth(), 1, "one job went out before the crash");

    // A healthy relay finds nothing while the lease holds, then republishes everything.
    let relay = Relay::new(channel.clone(), real, Duration::from_millis(50))
        .with_lease(Duration::from_secs(1));
    assert_eq!(relay.work_once().await.unwrap(), RelayOutcome::Idle);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let relay_task = {
        let stop = stop.clone();
        tokio::spawn(async move { relay.run(stop).await })
    };
    let fanout = FanoutWorker::new(channel.clone(), 4, 5);
    let fanout_task = {
        let (stop, mut consumer) = (stop.clone(), bus.job_consumer(4));
        tokio::spawn(async move { fanout.run(&mut consumer, &stop).await })
    };

    // Every user ends with the group, direct; one event per user and set version.
    let mut seen: BTreeMap<String, BTreeMap<u64, pb::MembershipChanged>> = BTreeMap::new();
    while seen.len() < users.len() || seen.values().any(BTreeMap::is_empty) {
        let (_key, body) = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("events stopped before every user got one")
            .unwrap();
        let e = pb::MembershipChanged::decode(body.as_slice()).unwrap();
        if let Some(earlier) = seen
            .entry(e.user_id.clone())
            .or_default()
            .insert(e.set_version, e.clone())
        {
            assert_eq!(earlier, e, "a duplicate must repeat the same event");
        }
    }
    for versions in seen.values() {
        assert_eq!(versions.len(), 1);
        let e = versions.values().next().unwrap();
        assert_eq!(e.groups_added.len(), 1);
        assert_eq!(e.groups_added[0].group_id, group.to_string());
    }
    for user in &users {
        let got = dir
            .get(tenant, ResourceKind::User, &user.to_string(), false, true)
            .await
            .unwrap();
        let groups = got.groups.unwrap();
        assert_eq!(groups.len(), 1, "user {user}");
        assert_eq!((groups[0].id, groups[0].kind.as_str()), (group, "direct"));
    }
    // Nothing left behind: the outbox is empty once the jobs ran and the events went out.
    let mut waited = 0;
    while dir
        .fanout_lag(Some(tenant))
        .await
        .unwrap()
        .iter()
        .any(|t| t.pending_jobs > 0 || t.pending_events > 0)
    {
        assert!(
            waited < 100,
            "outbox never emptied: {:?}",
            dir.fanout_lag(Some(tenant)).await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    stop.cancel();
    let _ = relay_task.await;
    let _ = fanout_task.await;
    let _ = std::fs::remove_dir_all(&tmp);
}
