//! Delivery (DESIGN §6): kill the only worker in the middle of a stream of writes, start
//! another; every write that got a `2xx` is in the store exactly once, and every other answer
//! is a clean `503` (never a `500`, never a lost acknowledged write).

use crate::support::{Cluster, Deployment, Scim, patch_op};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const TASKS: usize = 8;
const PER_TASK: usize = 40;

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_worker_loses_no_acknowledged_write() {
    let mut cluster =
        Cluster::start_with(1, &[("BLOGIN_SCIM_REQUEST_TIMEOUT_SECS", "4".into())]).await;
    let scim = Scim::new(&cluster.create_tenant("delivery"));
    let group = scim
        .post("/Groups", &json!({"displayName": "Everyone"}))
        .await;
    assert_eq!(group.status, 201);
    let gid = group.body["id"].as_str().unwrap().to_owned();

    let acked = Arc::new(AtomicUsize::new(0));
    let mut streams = Vec::new();
    for t in 0..TASKS {
        let (scim, gid, acked) = (scim.clone(), gid.clone(), acked.clone());
        streams.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for i in 0..PER_TASK {
                let name = format!("user-{t}-{i}@example.com");
                let created = scim.post("/Users", &json!({"userName": name})).await;
                let mut member = None;
                if created.status == 201 {
                    acked.fetch_add(1, Ordering::SeqCst);
                    let id = created.body["id"].as_str().unwrap().to_owned();
                    let add = scim
                        .patch(
                            &format!("/Groups/{gid}"),
                            &patch_op(
                                json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]),
                            ),
                        )
                        .await;
                    member = Some((id, add.status));
                }
                outcomes.push((name, created.status, member));
            }
            outcomes
        }));
    }

    // Let writes flow, kill the worker mid-stream (SIGKILL: nothing drained), restart one.
    while acked.load(Ordering::SeqCst) < 40 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.workers[0].kill();
    let acked_at_kill = acked.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.add_worker().await;

    let mut outcomes = Vec::new();
    for s in streams {
        outcomes.extend(s.await.unwrap());
    }
    assert!(
        acked.load(Ordering::SeqCst) > acked_at_kill,
        "writes must resume on the new worker"
    );

    let unavailable = outcomes.iter().filter(|o| o.1 == 503).count();
    eprintln!(
        "{} creates: {} acknowledged ({acked_at_kill} before the kill), {unavailable} answered 503",
        outcomes.len(),
        acked.load(Ordering::SeqCst)
    );
    let mut expected_members = BTreeSet::new();
    for (name, status, member) in &outcomes {
        assert!(
            matches!(status, 201 | 503),
            "create {name} answered {status}"
        );
        let found = scim
            .get(&format!(
                "/Users?filter=userName+eq+%22{}%22",
                name.replace('@', "%40")
            ))
            .await;
        let total = found.body["totalResults"].as_u64().unwrap();
        if *status == 201 {
            assert_eq!(total, 1, "acknowledged create of {name} is missing");
        } else {
            assert!(total <= 1);
        }
        if let Some((id, patch_status)) = member {
            assert!(
                matches!(patch_status, 204 | 503),
                "member add answered {patch_status}"
            );
            if *patch_status == 204 {
                expected_members.insert(id.clone());
            }
        }
    }
    let group = scim.get(&format!("/Groups/{gid}")).await.body;
    let members: BTreeSet<String> = group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        expected_members.is_subset(&members),
        "acknowledged member adds are missing: {:?}",
        expected_members.difference(&members).collect::<Vec<_>>()
    );
    let users = scim.get("/Users?count=1").await.body["totalResults"]
        .as_u64()
        .unwrap();
    let created_ok = outcomes.iter().filter(|o| o.1 == 201).count() as u64;
    assert!(
        users >= created_ok,
        "{users} users stored, {created_ok} acknowledged"
    );
    assert!(users <= (TASKS * PER_TASK) as u64);
}
