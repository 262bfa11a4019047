//! Background work (fan-out jobs, relay rounds) never takes the connections of the synchronous
//! path: with every background slot stuck behind a lock, `Authenticate`, a read and a lag
//! report still answer at once.

use crate::support::{Backend, Fixture};
use scim::schema::Registry;
use scim::schema::ResourceKind::User;
use scim_store::{Change, Command, Directory};
use scim_wire::pb;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// A bound that only a starved pool could exceed: every call below is one indexed query.
const AT_ONCE: Duration = Duration::from_secs(5);

async fn saturated_background_leaves_the_synchronous_path_alone(backend: Backend) {
    let fx = Fixture::new(backend).await;
    // The serving layout: the synchronous path on 2 connections, background work on its own
    // pool of 3 (2 job slots + 1 kept for lag reports).
    let sync = scim_store::db::connect(&fx.url, 2).await.unwrap();
    let bg = scim_store::db::connect(&fx.url, 3).await.unwrap();
    let dir = Directory::with_background(sync, bg, Arc::new(Registry::new()));
    let (tenant, token) = dir.create_tenant("busy", "Busy").await.unwrap();
    let mut users = Vec::new();
    for i in 0..4 {
        let cmd = Command {
            id: Uuid::new_v4().to_string(),
            tenant: tenant.id,
            kind: User,
            expected_version: None,
            change: Change::Create(json!({"userName": format!("u{i}")})),
            trace_id: None,
        };
        match dir.apply(&cmd).await.unwrap() {
            Ok(scim_store::Applied::Resource { resource, .. }) => users.push(resource.id),
            other => panic!("create failed: {other:?}"),
        }
    }

    // A group over them, whose fan-out (recomputing their `groups`) has not run yet.
    let members: Vec<_> = users
        .iter()
        .map(|u| json!({"value": u.to_string()}))
        .collect();
    let group = Command {
        id: Uuid::new_v4().to_string(),
        tenant: tenant.id,
        kind: scim::schema::ResourceKind::Group,
        expected_version: None,
        change: Change::Create(json!({"displayName": "All", "members": members})),
        trace_id: None,
    };
    assert!(dir.apply(&group).await.unwrap().is_ok());

    // Something outside the service holds the users (PostgreSQL: their rows; SQLite: the
    // write lock), so every fan-out job for them blocks inside its transaction.
    let blocker = scim_store::db::connect(&fx.url, 1).await.unwrap();
    let txn = blocker.begin().await.unwrap();
    match backend {
        Backend::Postgres => {
            let ids = users
                .iter()
                .map(|u| format!("'{u}'"))
                .collect::<Vec<_>>()
                .join(",");
            txn.execute_unprepared(&format!(
                "SELECT id FROM users WHERE id IN ({ids}) FOR UPDATE"
            ))
            .await
            .unwrap();
        }
        Backend::Sqlite => {
            // Any write takes SQLite's single write lock until the transaction ends.
            txn.execute_unprepared("DELETE FROM applied_commands WHERE 1 = 0")
                .await
                .unwrap();
            txn.execute_unprepared(&format!(
                "UPDATE tenants SET name = name WHERE id = '{}'",
                tenant.id
            ))
            .await
            .unwrap();
        }
    }
    let job = pb::FanoutJob {
        outbox_id: 0,
        tenant_id: tenant.id.to_string(),
        user_ids: users.iter().map(Uuid::to_string).collect(),
    };
    let jobs: Vec<_> = (0..8)
        .map(|_| {
            let (dir, job) = (dir.clone(), job.clone());
            tokio::spawn(async move { dir.run_fanout_job(&job).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        jobs.iter().all(|j| !j.is_finished()),
        "the jobs must be stuck for this test to mean anything"
    );

    let authenticated = tokio::time::timeout(AT_ONCE, dir.authenticate("busy", &token))
        .await
        .expect("Authenticate waited behind background work")
        .unwrap();
    assert_eq!(authenticated, Some(tenant.id));
    let read = tokio::time::timeout(
        AT_ONCE,
        dir.get(tenant.id, User, &users[0].to_string(), false, true),
    )
    .await
    .expect("GET /Users/{id} waited behind background work")
    .unwrap();
    assert_eq!(read.id, users[0]);
    let lag = tokio::time::timeout(AT_ONCE, dir.fanout_lag(Some(tenant.id)))
        .await
        .expect("a lag report waited behind background work")
        .unwrap();
    assert_eq!(lag.len(), 1);

    txn.rollback().await.unwrap();
    for j in jobs {
        // SQLite's busy timeout may have given up on some: what matters above is that the
        // synchronous path never waited for them.
        let _ = j.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn saturated_background_work_leaves_authentication_and_reads_alone_on_postgres() {
    saturated_background_leaves_the_synchronous_path_alone(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn saturated_background_work_leaves_authentication_and_reads_alone_on_sqlite() {
    saturated_background_leaves_the_synchronous_path_alone(Backend::Sqlite).await;
}
