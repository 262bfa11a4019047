//! Matching-filter benchmark (prints numbers; not a test): one tenant with N users (default
//! 1,000,000) and N/10 groups beside a small tenant of 1,000, on PostgreSQL or SQLite; the
//! latency of every filter an identity provider matches with, `startsWith` on userName and
//! displayName, and Entra's Test Connection query.
//!
//! ```sh
//! scripts/pg.sh start --durable
//! cargo run --release -p scim-store --example bench_matching -- postgres://postgres@127.0.0.1:55433/postgres [N]
//! cargo run --release -p scim-store --example bench_matching -- sqlite:///tmp/bench-matching.db [N]
//! ```
//! Users are written straight to the tables in large batches (the subject is the read path),
//! then the matching index is built by the migration that introduced it — rolled back and
//! applied again — which also times the backfill an upgrade performs. Finally the cost of the
//! index on the write path: creates through the store with and without indexed attributes.

use scim::filter::parse;
use scim::schema::{Registry, ResourceKind};
use scim_store::entity::{group, user};
use scim_store::{Change, Command, Directory, ListRequest};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn user_body(i: u64) -> (Value, Value) {
    let body = json!({
        "userName": format!("User{i}@Example.com"),
        "externalId": format!("0f{i:030}"),
        "displayName": format!("User {i}"),
        "active": true,
        "emails": [
            {"type": "work", "value": format!("user{i}@work.example.com"), "primary": true},
            {"type": "home", "value": format!("user{i}@home.example.com")}
        ],
        ENT: {"employeeNumber": format!("E{i}")}
    });
    let search = json!({
        "userName": format!("user{i}@example.com"),
        "externalId": format!("0f{i:030}"),
        "displayName": format!("user {i}"),
        "active": true,
        "emails": [
            {"type": "work", "value": format!("user{i}@work.example.com"), "primary": true},
            {"type": "home", "value": format!("user{i}@home.example.com")}
        ],
        ENT: {"employeeNumber": format!("e{i}")}
    });
    (body, search)
}

async fn seed(db: &DatabaseConnection, tenant: Uuid, users: u64) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let mut i = 0;
    while i < users {
        let end = (i + 5_000).min(users);
        let txn = db.begin().await?;
        for chunk in (i..end).collect::<Vec<_>>().chunks(400) {
            let rows = chunk.iter().map(|&i| {
                let (body, search) = user_body(i);
                user::ActiveModel {
                    tenant_id: Set(tenant),
                    id: Set(Uuid::now_v7()),
                    user_name: Set(format!("User{i}@Example.com")),
                    user_name_fold: Set(format!("user{i}@example.com")),
                    external_id: Set(Some(format!("0f{i:030}"))),
                    display_name_fold: Set(Some(format!("user {i}"))),
                    active: Set(Some(true)),
                    body: Set(body),
                    search: Set(search),
                    version: Set(1),
                    created: Set(now),
                    last_modified: Set(now),
                }
            });
            user::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await?;
            let groups = chunk.iter().filter(|i| *i % 10 == 0).map(|&i| {
                let body =
                    json!({"displayName": format!("Group {i}"), "externalId": format!("g{i}")});
                group::ActiveModel {
                    tenant_id: Set(tenant),
                    id: Set(Uuid::now_v7()),
                    display_name: Set(format!("Group {i}")),
                    display_name_fold: Set(format!("group {i}")),
                    external_id: Set(Some(format!("g{i}"))),
                    body: Set(body.clone()),
                    search: Set(body),
                    version: Set(1),
                    created: Set(now),
                    last_modified: Set(now),
                }
            });
            group::Entity::insert_many(groups)
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        i = end;
    }
    Ok(())
}

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

async fn time_filter(
    dir: &Directory,
    tenant: Uuid,
    kind: ResourceKind,
    name: &str,
    f: impl Fn(u64) -> String,
    n: u64,
) -> anyhow::Result<()> {
    let mut took = Vec::new();
    let mut found = 0;
    for k in 0..300u64 {
        let i = (k * 7_919 + 13) % n;
        let req = ListRequest {
            filter: Some(parse(&f(i))?),
            start_index: 1,
            count: 100,
            ..Default::default()
        };
        let t = Instant::now();
        let page = dir.list(tenant, kind, &req).await?;
        took.push(t.elapsed());
        found += page.total_results;
    }
    println!(
        "| {name} | {:.2} ms | {:.2} ms | {:.2} ms | {found} |",
        pct(took.clone(), 0.5),
        pct(took.clone(), 0.99),
        pct(took, 1.0)
    );
    Ok(())
}

async fn creates(dir: &Directory, tenant: Uuid, indexed: bool, n: u64) -> anyhow::Result<f64> {
    let mut took = Vec::new();
    for i in 0..n {
        let body = if indexed {
            user_body(10_000_000 + i + if indexed { 0 } else { 1_000_000 }).0
        } else {
            json!({"userName": format!("plain{i}@example.com"), "externalId": format!("p{i}"), "displayName": format!("Plain {i}"), "active": true})
        };
        let cmd = Command {
            id: Uuid::new_v4().to_string(),
            tenant,
            kind: ResourceKind::User,
            expected_version: None,
            change: Change::Create(body),
            trace_id: None,
        };
        let t = Instant::now();
        dir.apply(&cmd).await?.map_err(|e| anyhow::anyhow!("{e}"))?;
        took.push(t.elapsed());
    }
    Ok(pct(took, 0.5))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "sqlite:///tmp/bench-matching.db".into());
    let n: u64 = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let url = if url.starts_with("postgres") {
        let admin = scim_store::db::connect(&url, 1).await?;
        let name = format!("bench_matching_{}", Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        format!("{}/{name}", url.rsplit_once('/').unwrap().0)
    } else {
        let path = url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
        format!("sqlite://{path}?mode=rwc")
    };
    let db = scim_store::db::connect(&url, 8).await?;
    scim_store::db::migrate(&db).await?;
    let dir = Directory::new(db.clone(), Arc::new(Registry::new()));
    let (big, _) = dir.create_tenant("big", "big").await?;
    let (small, _) = dir.create_tenant("small", "small").await?;
    let backend = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "{backend}: seeding {n} users and {} groups (+ a 1,000-user tenant)",
        n / 10
    );
    let t = Instant::now();
    seed(&db, big.id, n).await?;
    seed(&db, small.id, 1_000).await?;
    println!("seeded in {:.0} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    scim_store::migration::Migrator::down(&db, Some(2)).await?;
    scim_store::migration::Migrator::up(&db, None).await?;
    println!(
        "matching index built (upgrade backfill) in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    db.execute_unprepared("ANALYZE").await?;

    println!(
        "\n| filter ({backend}, {n} users in the tenant) | p50 | p99 | max | matches (300 lookups) |\n|---|---|---|---|---|"
    );
    let tid = big.id;
    time_filter(
        &dir,
        tid,
        ResourceKind::User,
        "`userName eq`",
        |i| format!(r#"userName eq "user{i}@example.com""#),
        n,
    )
    .await?;
    time_filter(
        &dir,
        tid,
        ResourceKind::User,
        "`externalId eq`",
        |i| format!(r#"externalId eq "0f{i:030}""#),
        n,
    )
    .await?;
    time_filter(
        &dir,
        tid,
        ResourceKind::User,
        "`emails[type eq \"work\"].value eq`",
        |i| format!(r#"emails[type eq "work"].value eq "user{i}@work.example.com""#),
        n,
    )
    .await?;
    time_filter(
        &dir,
        tid,
        ResourceKind::User,
        "`emails.value eq`",
        |i| format!(r#"emails.value eq "USER{i}@home.example.com""#),
        n,
    )
    .await?;
    time_filter(
        &dir,
        tid,
        ResourceKind::User,
        "enterprise `employeeNumber eq`",
        |i| format!(r#"{ENT}:employeeNumber eq "E{i}""#),
        n,
    )
    .await?;
    time_filter(
        &dir,
        tid,
        ResourceKind::User,
        "Test Connection (`userName eq` a random UUID)",
        |_| format!(r#"userName eq "{}""#, Uuid::new_v4()),
        n,
    )
    .await?;
    time_filter(
        &dir,
        tid,
        ResourceKind::User,
        "`userName sw` (prefix of one user)",
        |i| format!(r#"userName sw "user{i}@exa""#),
        n,
    )
    .await?;
    time_filter(
        &dir,
        tid,
        ResourceKind::Group,
        "group `displayName eq`",
        |i| format!(r#"displayName eq "Group {}""#, i / 10 * 10),
        n,
    )
    .await?;
    time_filter(
        &dir,
        tid,
        ResourceKind::Group,
        "group `externalId eq`",
        |i| format!(r#"externalId eq "g{}""#, i / 10 * 10),
        n,
    )
    .await?;
    time_filter(
        &dir,
        tid,
        ResourceKind::Group,
        "group `displayName sw`",
        |i| format!(r#"displayName sw "Group {}""#, i / 10 * 10),
        n,
    )
    .await?;
    time_filter(
        &dir,
        small.id,
        ResourceKind::User,
        "small tenant: `emails[type eq \"work\"].value eq`",
        |i| format!(r#"emails[type eq "work"].value eq "user{i}@work.example.com""#),
        1_000,
    )
    .await?;

    let with = creates(&dir, small.id, true, 500).await?;
    let without = creates(&dir, small.id, false, 500).await?;
    println!(
        "\ncreate through the store, p50 of 500: {with:.2} ms with 2 e-mails + employeeNumber (3 index rows), {without:.2} ms without"
    );
    Ok(())
}
