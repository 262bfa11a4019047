//! Every attribute an identity provider can match on is an index search, never a scan of the
//! tenant, on both databases (the plans are checked), and gives the right answer — including
//! after the values change or the user is deleted (the matching index follows every write).

use crate::both;
use crate::support::Fixture;
use scim::schema::ResourceKind::{self, Group, User};
use scim_store::ListRequest;
use serde_json::json;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Filters identity providers match with, and how many of the fixture's resources each finds.
fn matching_filters() -> Vec<(ResourceKind, String, u64)> {
    vec![
        (User, r#"userName eq "U7@Example.com""#.into(), 1),
        (User, r#"externalId eq "ext7""#.into(), 1),
        (
            User,
            r#"emails[type eq "work"].value eq "u7@WORK.example.com""#.into(),
            1,
        ),
        (
            User,
            r#"emails[type eq "work"].value eq "u7@home.example.com""#.into(),
            0,
        ),
        (
            User,
            r#"emails[value eq "u7@work.example.com" and type eq "work"]"#.into(),
            1,
        ),
        (User, r#"emails.value eq "u7@home.example.com""#.into(), 1),
        (User, format!(r#"{ENT}:employeeNumber eq "E-7""#), 1),
        // Entra's Test Connection: a random userName that exists nowhere.
        (
            User,
            r#"userName eq "9a0e3c52-7a4f-4dc5-9d5e-1f5f7f3c2b11""#.into(),
            0,
        ),
        (Group, r#"displayName eq "group 7""#.into(), 1),
        (Group, r#"externalId eq "gext7""#.into(), 1),
    ]
}

async fn seed(fx: &Fixture, n: usize) {
    for i in 0..n {
        fx.create(
            User,
            json!({
                "userName": format!("u{i}@example.com"),
                "externalId": format!("ext{i}"),
                "emails": [
                    {"type": "work", "value": format!("u{i}@work.example.com"), "primary": true},
                    {"type": "home", "value": format!("u{i}@home.example.com")}
                ],
                ENT: {"employeeNumber": format!("E-{i}")}
            }),
        )
        .await;
        fx.create(
            Group,
            json!({"displayName": format!("Group {i}"), "externalId": format!("gext{i}")}),
        )
        .await;
    }
}

/// Many more users and groups in the tenant, written straight to the tables (the subject is
/// the read path), then the statistics every production database has (autovacuum's ANALYZE;
/// `PRAGMA optimize` at start): plans on a handful of rows and no statistics say little.
async fn fill(fx: &Fixture, n: usize) {
    use scim_store::entity::{group, user};
    use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
    let now = chrono::Utc::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let users = chunk.iter().map(|i| {
            let body = json!({"userName": format!("filler{i}"), "externalId": format!("fx{i}")});
            user::ActiveModel {
                tenant_id: Set(fx.a),
                id: Set(uuid::Uuid::now_v7()),
                user_name: Set(format!("filler{i}")),
                user_name_fold: Set(format!("filler{i}")),
                external_id: Set(Some(format!("fx{i}"))),
                display_name_fold: Set(None),
                active: Set(Some(true)),
                body: Set(body.clone()),
                search: Set(body),
                version: Set(1),
                created: Set(now),
                last_modified: Set(now),
            }
        });
        user::Entity::insert_many(users)
            .exec_without_returning(fx.dir.connection())
            .await
            .unwrap();
        let groups = chunk.iter().map(|i| {
            let body =
                json!({"displayName": format!("Filler {i}"), "externalId": format!("gx{i}")});
            group::ActiveModel {
                tenant_id: Set(fx.a),
                id: Set(uuid::Uuid::now_v7()),
                display_name: Set(format!("Filler {i}")),
                display_name_fold: Set(format!("filler {i}")),
                external_id: Set(Some(format!("gx{i}"))),
                body: Set(body.clone()),
                search: Set(body),
                version: Set(1),
                created: Set(now),
                last_modified: Set(now),
            }
        });
        group::Entity::insert_many(groups)
            .exec_without_returning(fx.dir.connection())
            .await
            .unwrap();
    }
    fx.dir
        .connection()
        .execute_unprepared("ANALYZE")
        .await
        .unwrap();
}

fn request(filter: &str) -> ListRequest {
    ListRequest {
        filter: Some(scim::filter::parse(filter).unwrap()),
        start_index: 1,
        count: 10,
        ..Default::default()
    }
}

/// Whether a plan line reads a whole table, or every row of the tenant (an index searched on
/// `tenant_id` alone).
fn full_scan(line: &str) -> bool {
    let l = line.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
    let table_scan = ["users", "groups", "user_match"]
        .iter()
        .any(|t| l.starts_with(&format!("SCAN {t}")) || l.contains(&format!("Seq Scan on {t}")));
    // SQLite: `SEARCH users USING INDEX … (tenant_id=?)`; PostgreSQL: `Index Cond: (tenant_id = '…'::uuid)`.
    let tenant_only = l.contains("(tenant_id=?)")
        || (l.starts_with("Index Cond: (tenant_id =") && !l.contains(" AND "));
    table_scan || tenant_only
}

both!(
    every_matching_filter_is_an_index_search_with_the_right_answer,
    |fx: Fixture| async move {
        seed(&fx, 30).await;
        fill(&fx, 3_000).await;
        for (kind, filter, want) in matching_filters() {
            let page = fx.dir.list(fx.a, kind, &request(&filter)).await.unwrap();
            assert_eq!(page.total_results, want, "{filter}");
            let plan = fx
                .dir
                .explain_list(fx.a, kind, &request(&filter))
                .await
                .unwrap();
            assert!(!plan.lines().any(full_scan), "{filter} scans:\n{plan}");
        }
        // The detector is not blind: a filter no index serves is a scan.
        let plan = fx
            .dir
            .explain_list(fx.a, User, &request(r#"title eq "x""#))
            .await
            .unwrap();
        assert!(plan.lines().any(full_scan), "title eq scans, yet:\n{plan}");
        // The other tenant sees none of them.
        for (kind, filter, _) in matching_filters() {
            let page = fx.dir.list(fx.b, kind, &request(&filter)).await.unwrap();
            assert_eq!(page.total_results, 0, "{filter} in tenant b");
        }
    }
);

both!(
    the_matching_index_follows_replace_patch_and_delete,
    |fx: Fixture| async move {
        let u = fx
            .create(
                User,
                json!({"userName": "m", "emails": [{"type": "work", "value": "old@x.com"}], ENT: {"employeeNumber": "1"}}),
            )
            .await;
        let found = |f: &'static str| {
            let dir = fx.dir.clone();
            let a = fx.a;
            async move { dir.list(a, User, &request(f)).await.unwrap().total_results }
        };
        assert_eq!(found(r#"emails.value eq "old@x.com""#).await, 1);
        fx.patch(
            User,
            u.id,
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@x.com"},
                {"op": "replace", "path": format!("{ENT}:employeeNumber"), "value": "2"}
            ]}),
        )
        .await
        .unwrap();
        assert_eq!(found(r#"emails.value eq "old@x.com""#).await, 0);
        assert_eq!(found(r#"emails.value eq "NEW@x.com""#).await, 1);
        assert_eq!(
            found(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "2""#).await,
            1
        );
        fx.run(
            fx.a,
            User,
            scim_store::Change::Replace {
                id: u.id.to_string(),
                body: json!({"userName": "m", "emails": [{"type": "home", "value": "home@x.com"}]}),
            },
        )
        .await
        .unwrap();
        assert_eq!(found(r#"emails.value eq "new@x.com""#).await, 0);
        assert_eq!(
            found(r#"emails[type eq "home"].value eq "home@x.com""#).await,
            1
        );
        assert_eq!(
            found(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "2""#).await,
            0
        );
        fx.run(
            fx.a,
            User,
            scim_store::Change::Delete {
                id: u.id.to_string(),
            },
        )
        .await
        .unwrap();
        assert_eq!(found(r#"emails.value eq "home@x.com""#).await, 0);
    }
);

both!(
    upgrading_indexes_the_users_that_already_exist,
    |fx: Fixture| async move {
        use sea_orm_migration::MigratorTrait;
        seed(&fx, 3).await;
        // Back to the schema before the matching index, then up again: the migration must
        // index the users it finds.
        scim_store::migration::Migrator::down(fx.dir.connection(), Some(2))
            .await
            .unwrap();
        scim_store::migration::Migrator::up(fx.dir.connection(), None)
            .await
            .unwrap();
        for (kind, filter, want) in matching_filters() {
            let page = fx.dir.list(fx.a, kind, &request(&filter)).await.unwrap();
            let want = if filter.contains('7') && !filter.contains("9a0e") {
                0
            } else {
                want
            };
            assert_eq!(page.total_results, want, "{filter}");
        }
        for (filter, want) in [
            (
                r#"emails[type eq "work"].value eq "u2@work.example.com""#,
                1,
            ),
            (r#"emails.value eq "U1@HOME.example.com""#, 1),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "E-0""#,
                1,
            ),
        ] {
            let page = fx.dir.list(fx.a, User, &request(filter)).await.unwrap();
            assert_eq!(page.total_results, want, "{filter}");
        }
    }
);
