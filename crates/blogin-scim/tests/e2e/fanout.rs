//! Membership fan-out end to end (DESIGN §7): nested groups reach users as `indirect`, cycles
//! are refused, and a 50,000-member group built by PATCH in batches of 100 (as Entra does),
//! renamed and deleted leaves every user's `groups` right, with exactly the
//! `MembershipChanged` events that describe each user's changes on `blogin.events`.

use crate::support::{Cluster, Deployment, Scim, Serve, amqp_url, eventually, patch_op};
use futures_util::StreamExt;
use prost::Message;
use scim_bus::Topology;
use scim_bus::amqp::{AmqpBus, AmqpConfig};
use scim_wire::pb;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// The groups a user shows, as (group id, type).
async fn groups_of(scim: &Scim, user: &str) -> BTreeSet<(String, String)> {
    scim.get(&format!("/Users/{user}")).await.body["groups"]
        .as_array()
        .map(|gs| {
            gs.iter()
                .map(|g| {
                    (
                        g["value"].as_str().unwrap().to_owned(),
                        g["type"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(g, t)| (g.to_string(), t.to_string()))
        .collect()
}

async fn create(scim: &Scim, path: &str, body: Value) -> String {
    let r = scim.post(path, &body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn add_members(scim: &Scim, group: &str, members: &[(&str, &str)]) -> u16 {
    let value: Vec<Value> = members
        .iter()
        .map(|(id, t)| json!({"value": id, "type": t}))
        .collect();
    scim.patch(
        &format!("/Groups/{group}"),
        &patch_op(json!([{"op": "Add", "path": "members", "value": value}])),
    )
    .await
    .status
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_groups_reach_their_users_as_indirect_and_cycles_are_refused() {
    let serve = Serve::start().await;
    let scim = Scim::new(&serve.create_tenant("nested"));
    let u1 = create(&scim, "/Users", json!({"userName": "u1@example.com"})).await;
    let u3 = create(&scim, "/Users", json!({"userName": "u3@example.com"})).await;
    let a = create(&scim, "/Groups", json!({"displayName": "A"})).await;
    let b = create(&scim, "/Groups", json!({"displayName": "B"})).await;
    let c = create(&scim, "/Groups", json!({"displayName": "C"})).await;
    assert_eq!(add_members(&scim, &a, &[(&b, "Group")]).await, 204);
    assert_eq!(
        add_members(&scim, &b, &[(&c, "Group"), (&u3, "User")]).await,
        204
    );
    assert_eq!(add_members(&scim, &c, &[(&u1, "User")]).await, 204);

    let want_u1 = set(&[(&c, "direct"), (&b, "indirect"), (&a, "indirect")]);
    eventually("u1 is in C directly, in B and A indirectly", || async {
        groups_of(&scim, &u1).await == want_u1
    })
    .await;
    let want_u3 = set(&[(&b, "direct"), (&a, "indirect")]);
    eventually("u3 is in B directly and A indirectly", || async {
        groups_of(&scim, &u3).await == want_u3
    })
    .await;
    let shown = scim.get(&format!("/Users/{u1}")).await.body;
    let via_a = shown["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["value"] == a.as_str())
        .unwrap()
        .clone();
    assert_eq!(via_a["display"], "A");
    assert_eq!(via_a["$ref"], format!("{}/Groups/{a}", scim.base).as_str());

    // A ⊃ B ⊃ C: putting A into C would close a cycle.
    let cycle = scim
        .patch(
            &format!("/Groups/{c}"),
            &patch_op(json!([{"op": "add", "path": "members", "value": [{"value": a}]}])),
        )
        .await;
    assert_eq!(cycle.status, 400, "{:?}", cycle.body);
    assert_eq!(cycle.body["scimType"], "invalidValue");
    assert!(
        scim.get(&format!("/Groups/{c}")).await.body["members"]
            .as_array()
            .unwrap()
            .len()
            == 1
    );

    // Renaming a group shows at once; unnesting B from A reaches both users.
    let renamed = scim
        .patch(
            &format!("/Groups/{a}"),
            &patch_op(json!([{"op": "replace", "path": "displayName", "value": "A2"}])),
        )
        .await;
    assert_eq!(renamed.status, 204);
    let shown = scim.get(&format!("/Users/{u1}")).await.body;
    assert!(
        shown["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["display"] == "A2")
    );
    let unnest = scim
        .patch(
            &format!("/Groups/{a}"),
            &patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{b}\"]")}])),
        )
        .await;
    assert_eq!(unnest.status, 204);
    let want_u1 = set(&[(&c, "direct"), (&b, "indirect")]);
    eventually("u1 lost A", || async {
        groups_of(&scim, &u1).await == want_u1
    })
    .await;
    let want_u3 = set(&[(&b, "direct")]);
    eventually("u3 lost A", || async {
        groups_of(&scim, &u3).await == want_u3
    })
    .await;

    // Deleting C takes it (and B through it) away from u1.
    assert_eq!(scim.delete(&format!("/Groups/{c}")).await.status, 204);
    eventually("u1 has no groups", || async {
        groups_of(&scim, &u1).await.is_empty()
    })
    .await;
    eventually("no fan-out work is pending", || async {
        serde_json::from_str::<Value>(&serve.tenant(&["lag", "--json"])).unwrap() == json!([])
    })
    .await;
}

/// Users in the big-group test (`BLOGIN_SCIM_E2E_FANOUT_USERS`, 50,000 by default).
fn big_group_size() -> usize {
    std::env::var("BLOGIN_SCIM_E2E_FANOUT_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000)
}

/// Waits until the tenant has no pending fan-out jobs or events.
async fn drained(cluster: &Cluster) {
    let until = Instant::now() + Duration::from_secs(600);
    loop {
        let lag: Value = serde_json::from_str(&cluster.tenant(&["lag", "--json"])).unwrap();
        if lag == json!([]) {
            return;
        }
        assert!(Instant::now() < until, "fan-out never drained: {lag}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs `f` on every item with `concurrency` in flight.
async fn each<T, F, Fut>(items: Vec<T>, concurrency: usize, f: F)
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    futures_util::stream::iter(items.into_iter().map(f))
        .buffer_unordered(concurrency)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_50000_member_group_reaches_every_user_with_exactly_their_events() {
    let n = big_group_size();
    let cluster = Cluster::start(2).await;
    let tenant = cluster.create_tenant("bigco");
    let scim = Scim::new(&tenant);
    let listed: Value = serde_json::from_str(&cluster.tenant(&["list", "--json"])).unwrap();
    let tenant_id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == "bigco")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bus = AmqpBus::connect(AmqpConfig {
        url: amqp_url(),
        topology: Topology {
            prefix: format!("e2e-events-{}", uuid::Uuid::new_v4().simple()),
            ..Topology::default()
        },
        ..AmqpConfig::default()
    })
    .await
    .unwrap();
    let mut events = bus
        .subscribe_events(&format!("membership.changed.{tenant_id}"))
        .await
        .unwrap();

    let started = Instant::now();
    let users = std::sync::Arc::new(std::sync::Mutex::new(Vec::with_capacity(n)));
    each((0..n).collect(), 32, |i| {
        let (scim, users) = (scim.clone(), users.clone());
        async move {
            let id = create(
                &scim,
                "/Users",
                json!({"userName": format!("member{i}@bigco.example")}),
            )
            .await;
            users.lock().unwrap().push(id);
        }
    })
    .await;
    let users: Vec<String> = std::mem::take(&mut *users.lock().unwrap());
    eprintln!("created {n} users in {:.1?}", started.elapsed());

    let group = create(&scim, "/Groups", json!({"displayName": "Everyone"})).await;
    let started = Instant::now();
    let batches: Vec<Vec<String>> = users.chunks(100).map(<[String]>::to_vec).collect();
    each(batches, 8, |batch| {
        let (scim, group) = (scim.clone(), group.clone());
        async move {
            let members: Vec<(&str, &str)> = batch.iter().map(|u| (u.as_str(), "User")).collect();
            assert_eq!(add_members(&scim, &group, &members).await, 204);
        }
    })
    .await;
    eprintln!(
        "added {n} members in batches of 100 in {:.1?}",
        started.elapsed()
    );
    drained(&cluster).await;
    eprintln!(
        "fan-out of the adds drained {:.1?} after the first PATCH",
        started.elapsed()
    );
    let want = set(&[(&group, "direct")]);
    for user in users.iter().step_by((n / 200).max(1)) {
        assert_eq!(groups_of(&scim, user).await, want, "user {user}");
    }

    let renamed = scim
        .patch(
            &format!("/Groups/{group}"),
            &patch_op(json!([{"op": "Replace", "path": "displayName", "value": "All staff"}])),
        )
        .await;
    assert_eq!(renamed.status, 204);
    let shown = scim.get(&format!("/Users/{}", users[0])).await.body;
    assert_eq!(shown["groups"][0]["display"], "All staff");

    let started = Instant::now();
    assert_eq!(scim.delete(&format!("/Groups/{group}")).await.status, 204);
    drained(&cluster).await;
    eprintln!("fan-out of the delete drained in {:.1?}", started.elapsed());
    // Every user's groups, page by page: all empty now.
    let mut seen = 0;
    let mut start = 1;
    loop {
        let page = scim
            .get(&format!(
                "/Users?startIndex={start}&count=200&attributes=groups"
            ))
            .await
            .body;
        let resources = page["Resources"].as_array().unwrap();
        if resources.is_empty() {
            break;
        }
        for r in resources {
            assert!(
                r.get("groups")
                    .is_none_or(|g| g.as_array().is_some_and(Vec::is_empty)),
                "{r}"
            );
        }
        seen += resources.len();
        start += resources.len();
    }
    assert_eq!(seen, n);

    // Events: per user, after de-duplicating on (user, set_version): one adding the group,
    // then one removing it, with increasing set versions. The rename sent none.
    let mut per_user: BTreeMap<String, BTreeMap<u64, pb::MembershipChanged>> = BTreeMap::new();
    let mut total = 0usize;
    while let Ok(Some((_key, body))) =
        tokio::time::timeout(Duration::from_secs(5), events.recv()).await
    {
        let e = pb::MembershipChanged::decode(body.as_slice()).unwrap();
        assert_eq!(e.tenant_id, tenant_id);
        total += 1;
        if let Some(earlier) = per_user
            .entry(e.user_id.clone())
            .or_default()
            .insert(e.set_version, e.clone())
        {
            assert_eq!(earlier, e, "two different events with one set version");
        }
    }
    eprintln!("{total} events received for {n} users");
    assert_eq!(per_user.len(), n, "every member got events");
    for (user, versions) in &per_user {
        let events: Vec<_> = versions.values().collect();
        assert_eq!(events.len(), 2, "user {user}: {events:?}");
        assert_eq!(
            events[0]
                .groups_added
                .iter()
                .map(|g| g.group_id.as_str())
                .collect::<Vec<_>>(),
            vec![group.as_str()]
        );
        assert!(events[0].groups_removed.is_empty());
        assert_eq!(
            events[1]
                .groups_removed
                .iter()
                .map(|g| g.group_id.as_str())
                .collect::<Vec<_>>(),
            vec![group.as_str()]
        );
        assert!(events[1].groups_added.is_empty() && events[1].groups.is_empty());
    }
    bus.delete_topology().await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_worker_during_a_large_fan_out_leaves_exact_projections() {
    let n = 4000;
    let mut cluster = Cluster::start(1).await;
    let scim = Scim::new(&cluster.create_tenant("crashy"));
    let users = std::sync::Arc::new(std::sync::Mutex::new(Vec::with_capacity(n)));
    each((0..n).collect(), 32, |i| {
        let (scim, users) = (scim.clone(), users.clone());
        async move {
            let id = create(
                &scim,
                "/Users",
                json!({"userName": format!("c{i}@crashy.example")}),
            )
            .await;
            users.lock().unwrap().push(id);
        }
    })
    .await;
    let users: Vec<String> = std::mem::take(&mut *users.lock().unwrap());
    let group = create(&scim, "/Groups", json!({"displayName": "Crash test"})).await;
    // One PATCH with every member: 20 jobs of 200 users land in the outbox with the 204.
    let members: Vec<(&str, &str)> = users.iter().map(|u| (u.as_str(), "User")).collect();
    assert_eq!(add_members(&scim, &group, &members).await, 204);
    // SIGKILL the only worker (relay and fan-out consumer) once it is part-way through.
    let pending_jobs = |lag: &Value| lag[0]["pending_jobs"].as_u64().unwrap_or(0);
    loop {
        let lag: Value = serde_json::from_str(&cluster.tenant(&["lag", "--json"])).unwrap();
        if pending_jobs(&lag) < (n / 200) as u64 {
            cluster.workers[0].kill();
            eprintln!("killed the worker with {lag} pending");
            assert!(
                pending_jobs(&lag) > 0,
                "the fan-out finished before the kill; nothing was tested"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.add_worker().await;
    drained(&cluster).await;
    let want = set(&[(&group, "direct")]);
    let mut start = 1;
    let mut checked = 0;
    loop {
        let page = scim
            .get(&format!("/Users?startIndex={start}&count=200"))
            .await
            .body;
        let resources = page["Resources"].as_array().unwrap().clone();
        if resources.is_empty() {
            break;
        }
        for r in &resources {
            let got: BTreeSet<(String, String)> = r["groups"]
                .as_array()
                .map(|gs| {
                    gs.iter()
                        .map(|g| {
                            (
                                g["value"].as_str().unwrap().to_owned(),
                                g["type"].as_str().unwrap().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(got, want, "user {}", r["id"]);
        }
        checked += resources.len();
        start += resources.len();
    }
    assert_eq!(checked, n);
}
