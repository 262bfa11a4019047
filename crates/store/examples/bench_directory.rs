//! Directory benchmark on PostgreSQL (prints numbers; not a test).
//!
//! One tenant with 1,000,000 users and a group of 100,000 members, a second tenant with 1,000
//! users and a 100-member group; the latency of each operation on both, so it is visible which
//! ones do not grow with tenant or group size.
//!
//! ```sh
//! scripts/pg.sh start
//! cargo run --release -p scim-store --example bench_directory -- postgres://postgres@127.0.0.1:55432/postgres [users]
//! ```
//! Seeding uses set-based SQL (`generate_series`), not the API: the subject is the read and
//! write paths, not bulk loading.

use scim::filter::parse;
use scim::patch::PatchRequest;
use scim::schema::{Registry, ResourceKind};
use scim_store::{Change, Command, Directory, ListRequest};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

struct Tenant {
    id: Uuid,
    group: Uuid,
    users: i64,
}

async fn seed(
    db: &DatabaseConnection,
    dir: &Directory,
    slug: &str,
    users: i64,
    members: i64,
) -> anyhow::Result<Tenant> {
    let (t, _) = dir.create_tenant(slug, slug).await?;
    let started = Instant::now();
    // uuid v7-like ordering is not needed for the benchmark; gen_random_uuid is.
    db.execute_unprepared(&format!(
        "INSERT INTO users (tenant_id, id, user_name, user_name_fold, external_id, display_name_fold, active, body, search, version, created, last_modified)
         SELECT '{tid}', gen_random_uuid(), 'User' || i || '@Example.com', 'user' || i || '@example.com', 'ext' || i, 'user ' || i, true,
                jsonb_build_object('userName', 'User' || i || '@Example.com', 'externalId', 'ext' || i, 'displayName', 'User ' || i, 'active', true,
                                   'emails', jsonb_build_array(jsonb_build_object('type', 'work', 'value', 'user' || i || '@example.com', 'primary', true))),
                jsonb_build_object('userName', 'user' || i || '@example.com', 'externalId', 'ext' || i, 'displayName', 'user ' || i, 'active', true,
                                   'emails', jsonb_build_array(jsonb_build_object('type', 'work', 'value', 'user' || i || '@example.com', 'primary', true))),
                1, now(), now()
         FROM generate_series(1, {users}) AS i",
        tid = t.id
    ))
    .await?;
    let group = run(
        dir,
        t.id,
        ResourceKind::Group,
        Change::Create(json!({"displayName": format!("{slug}-big")})),
    )
    .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO group_members (tenant_id, group_id, member_id, member_type)
         SELECT tenant_id, '{group}', id, 'User' FROM users WHERE tenant_id = '{tid}' LIMIT {members}",
        tid = t.id
    ))
    .await?;
    db.execute_unprepared("ANALYZE").await?;
    println!(
        "seeded {slug}: {users} users, {members}-member group in {:.1?}",
        started.elapsed()
    );
    Ok(Tenant {
        id: t.id,
        group,
        users,
    })
}

async fn run(
    dir: &Directory,
    tenant: Uuid,
    kind: ResourceKind,
    change: Change,
) -> anyhow::Result<Uuid> {
    let cmd = Command {
        id: Uuid::new_v4().to_string(),
        tenant,
        kind,
        expected_version: None,
        change,
        trace_id: None,
    };
    match dir.apply(&cmd).await?.map_err(|e| anyhow::anyhow!("{e}"))? {
        scim_store::Applied::Resource { resource, .. } => Ok(resource.id),
        scim_store::Applied::Deleted => Ok(Uuid::nil()),
    }
}

/// Median and p95 of `n` runs of `f`.
async fn time<F, Fut>(n: usize, mut f: F) -> anyhow::Result<(Duration, Duration)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        f(i).await?;
        samples.push(t.elapsed());
    }
    samples.sort();
    Ok((samples[n / 2], samples[(n * 95 / 100).min(n - 1)]))
}

async fn free_user_ids(db: &DatabaseConnection, t: &Tenant, n: i64) -> anyhow::Result<Vec<Uuid>> {
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT id FROM users u WHERE tenant_id = '{}' AND NOT EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = u.tenant_id AND m.group_id = '{}' AND m.member_id = u.id) LIMIT {n}",
                t.id, t.group
            ),
        ))
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get::<Uuid>("", "id"))
        .collect::<Result<_, _>>()?)
}

async fn candidates_len(db: &DatabaseConnection, t: &Tenant) -> anyhow::Result<usize> {
    Ok(free_user_ids(db, t, 6_000).await?.len().saturating_sub(100))
}

fn members_op(op: &str, ids: &[Uuid]) -> PatchRequest {
    let values: Vec<_> = ids
        .iter()
        .map(|id| json!({"value": id.to_string()}))
        .collect();
    PatchRequest::parse(&json!({"Operations": [{"op": op, "path": "members", "value": values}]}))
        .unwrap()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:55432/postgres".into());
    let big_users: i64 = std::env::args()
        .nth(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let admin = scim_store::db::connect(&url, 1).await?;
    let name = format!("scim_bench_{}", Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    let db =
        scim_store::db::connect(&format!("{}/{name}", url.rsplit_once('/').unwrap().0), 16).await?;
    scim_store::db::migrate(&db).await?;
    let dir = Directory::new(db.clone(), Arc::new(Registry::new()));
    let small = seed(&db, &dir, "small", 1_000, 100).await?;
    let big = seed(&db, &dir, "big", big_users, big_users.min(100_000)).await?;

    println!(
        "\n| operation | small tenant (1,000 users, 100 members) | big tenant ({} users, {} members) |",
        big.users,
        big.users.min(100_000)
    );
    println!("|---|---|---|");
    let n = 50;
    for (label, which) in [
        ("`userName eq` filter", 0),
        ("get user by id", 1),
        ("add 1 member", 2),
        ("remove 1 member", 3),
        ("add 1,000 members in one delta", 4),
        ("list page startIndex=1 count=100", 5),
        ("list page startIndex=900000 count=100", 6),
        ("get group excludedAttributes=members", 7),
    ] {
        let mut cells = Vec::new();
        for t in [&small, &big] {
            let runs = match which {
                // Each 1,000-member delta needs 1,000 users that are not members yet.
                4 => (candidates_len(&db, t).await? / 1_000).min(5),
                6 => 5,
                _ => n,
            };
            if runs == 0 {
                cells.push("n/a (fewer than 1,000 non-members)".to_owned());
                continue;
            }
            let candidates = free_user_ids(&db, t, 6_000).await?;
            let some_user = candidates[0];
            let (p50, p95) = match which {
                0 => {
                    time(runs, |i| {
                        let dir = &dir;
                        async move {
                            let f = parse(&format!(
                                "userName eq \"USER{}@example.com\"",
                                1 + (i * 7919) % 1000
                            ))?;
                            let page = dir
                                .list(
                                    t.id,
                                    ResourceKind::User,
                                    &ListRequest {
                                        filter: Some(f),
                                        count: 100,
                                        start_index: 1,
                                        ..Default::default()
                                    },
                                )
                                .await?;
                            anyhow::ensure!(page.total_results == 1);
                            Ok(())
                        }
                    })
                    .await?
                }
                1 => {
                    time(runs, |_| {
                        let dir = &dir;
                        async move {
                            dir.get(
                                t.id,
                                ResourceKind::User,
                                &some_user.to_string(),
                                false,
                                false,
                            )
                            .await?;
                            Ok(())
                        }
                    })
                    .await?
                }
                2 => {
                    time(runs, |i| {
                        let dir = &dir;
                        let ids = candidates.clone();
                        async move {
                            run(
                                dir,
                                t.id,
                                ResourceKind::Group,
                                Change::Patch {
                                    id: t.group.to_string(),
                                    request: members_op("Add", &ids[i..=i]),
                                },
                            )
                            .await?;
                            Ok(())
                        }
                    })
                    .await?
                }
                3 => {
                    time(runs, |i| {
                        let dir = &dir;
                        let ids = candidates.clone();
                        async move {
                            run(
                                dir,
                                t.id,
                                ResourceKind::Group,
                                Change::Patch {
                                    id: t.group.to_string(),
                                    request: members_op("Remove", &ids[i..=i]),
                                },
                            )
                            .await?;
                            Ok(())
                        }
                    })
                    .await?
                }
                4 => {
                    time(runs, |i| {
                        let dir = &dir;
                        let ids = candidates.clone();
                        async move {
                            let chunk = &ids[100 + i * 1000..100 + (i + 1) * 1000];
                            run(
                                dir,
                                t.id,
                                ResourceKind::Group,
                                Change::Patch {
                                    id: t.group.to_string(),
                                    request: members_op("Add", chunk),
                                },
                            )
                            .await?;
                            Ok(())
                        }
                    })
                    .await?
                }
                5 => {
                    time(runs, |_| {
                        let dir = &dir;
                        async move {
                            dir.list(
                                t.id,
                                ResourceKind::User,
                                &ListRequest {
                                    start_index: 1,
                                    count: 100,
                                    ..Default::default()
                                },
                            )
                            .await?;
                            Ok(())
                        }
                    })
                    .await?
                }
                6 => {
                    time(runs, |_| {
                        let dir = &dir;
                        async move {
                            let start = if t.users > 900_000 {
                                900_000
                            } else {
                                (t.users - 100).max(1) as u64
                            };
                            dir.list(
                                t.id,
                                ResourceKind::User,
                                &ListRequest {
                                    start_index: start,
                                    count: 100,
                                    ..Default::default()
                                },
                            )
                            .await?;
                            Ok(())
                        }
                    })
                    .await?
                }
                _ => {
                    time(runs, |_| {
                        let dir = &dir;
                        async move {
                            dir.get(
                                t.id,
                                ResourceKind::Group,
                                &t.group.to_string(),
                                false,
                                false,
                            )
                            .await?;
                            Ok(())
                        }
                    })
                    .await?
                }
            };
            cells.push(format!("p50 {p50:.2?}, p95 {p95:.2?}"));
        }
        println!("| {label} | {} | {} |", cells[0], cells[1]);
    }
    drop(dir);
    drop(db);
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await?;
    Ok(())
}
