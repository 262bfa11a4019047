//! Group commit (`Directory::apply_batch`): a batch answers every command exactly as applying
//! the commands one at a time would, one command's refusal never leaks into another's, a
//! repeated command id returns its first answer, and concurrent batches lose nothing.

use crate::both;
use crate::support::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scim::patch::PatchRequest;
use scim::schema::ResourceKind::{self, Group, User};
use scim_store::entity::{group, group_member, provisioning_log, user};
use scim_store::{Applied, Batched, Change, Command, Directory, Outcome};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// One generated step, in terms of *which* earlier resource it touches (ids differ between
/// the two databases the same steps run on).
#[derive(Debug, Clone)]
enum Step {
    CreateUser {
        name: String,
    },
    CreateGroup {
        name: String,
    },
    /// Replace a user's displayName, optionally with an If-Match of the version seen before
    /// the chunk (stale once an earlier step of the chunk changed it).
    RenameUser {
        user: usize,
        to: String,
        if_match: bool,
    },
    Disable {
        user: usize,
    },
    AddMembers {
        group: usize,
        users: Vec<usize>,
    },
    RemoveMember {
        group: usize,
        user: usize,
    },
    DeleteUser {
        user: usize,
    },
    /// A resource that does not exist: 404.
    PatchMissing,
    /// A body the schema refuses: 400.
    Invalid,
    /// The step at this index of the same chunk again, with the same command id.
    Repeat(usize),
}

/// The resources one database has: created ids by creation order, and versions as seen at
/// the start of the chunk.
#[derive(Default)]
struct Known {
    users: Vec<Uuid>,
    groups: Vec<Uuid>,
    versions: BTreeMap<Uuid, i64>,
}

fn patch(body: Value) -> PatchRequest {
    PatchRequest::parse(&body).expect("valid PatchOp")
}

fn replace(path: &str, value: Value) -> PatchRequest {
    patch(json!({"Operations": [{"op": "Replace", "path": path, "value": value}]}))
}

/// The commands of one chunk on one database (command ids are given, so both databases and
/// the replay use the same ones).
fn commands(known: &Known, tenant: Uuid, steps: &[(String, Step)]) -> Vec<Command> {
    let mut out: Vec<Command> = Vec::new();
    for (id, step) in steps {
        let (kind, change, expected_version): (ResourceKind, Change, Option<i64>) = match step {
            Step::CreateUser { name } => (
                User,
                Change::Create(json!({"userName": name, "active": true})),
                None,
            ),
            Step::CreateGroup { name } => {
                (Group, Change::Create(json!({"displayName": name})), None)
            }
            Step::RenameUser { user, to, if_match } => {
                let id = known.users[*user];
                (
                    User,
                    Change::Patch {
                        id: id.to_string(),
                        request: replace("displayName", json!(to)),
                    },
                    if_match.then(|| known.versions[&id]),
                )
            }
            Step::Disable { user } => (
                User,
                Change::Patch {
                    id: known.users[*user].to_string(),
                    request: replace("active", json!(false)),
                },
                None,
            ),
            Step::AddMembers { group, users } => {
                let ids: Vec<Uuid> = users.iter().map(|u| known.users[*u]).collect();
                (
                    Group,
                    Change::Patch {
                        id: known.groups[*group].to_string(),
                        request: patch(members_op("Add", &ids)),
                    },
                    None,
                )
            }
            Step::RemoveMember { group, user } => (
                Group,
                Change::Patch {
                    id: known.groups[*group].to_string(),
                    request: patch(members_op("Remove", &[known.users[*user]])),
                },
                None,
            ),
            Step::DeleteUser { user } => (
                User,
                Change::Delete {
                    id: known.users[*user].to_string(),
                },
                None,
            ),
            Step::PatchMissing => (
                User,
                Change::Patch {
                    id: Uuid::new_v4().to_string(),
                    request: replace("active", json!(false)),
                },
                None,
            ),
            Step::Invalid => (User, Change::Create(json!({"userName": 42})), None),
            Step::Repeat(i) => {
                out.push(out[*i].clone());
                continue;
            }
        };
        out.push(Command {
            id: id.clone(),
            tenant,
            kind,
            expected_version,
            change,
            trace_id: None,
        });
    }
    out
}

/// What a client sees of an answer, without the ids and timestamps that differ between the
/// two databases.
fn seen(o: &Outcome) -> Value {
    match o {
        Ok(Applied::Resource { resource, changed }) => {
            json!({"body": resource.body, "version": resource.version, "changed": changed})
        }
        Ok(Applied::Deleted) => json!("deleted"),
        Err(e) => json!({"status": e.status(), "scimType": e.scim_type().map(|t| t.to_string())}),
    }
}

/// Learns the ids a chunk created and the versions after it.
fn learn(known: &mut Known, steps: &[(String, Step)], answers: &[Outcome]) {
    for ((_, step), answer) in steps.iter().zip(answers) {
        if let Ok(Applied::Resource { resource, .. }) = answer {
            match step {
                Step::CreateUser { .. } => known.users.push(resource.id),
                Step::CreateGroup { .. } => known.groups.push(resource.id),
                _ => {}
            }
            known.versions.insert(resource.id, resource.version);
        }
    }
}

/// Generates the steps of one chunk over what exists so far (deleted users stay addressable:
/// touching them is a 404 on both sides).
fn chunk(rng: &mut StdRng, round: usize, users: usize, groups: usize) -> Vec<(String, Step)> {
    let size = rng.random_range(1..=24);
    let mut steps: Vec<(String, Step)> = Vec::with_capacity(size);
    for i in 0..size {
        let pick = |rng: &mut StdRng| rng.random_range(0..users);
        let step = match rng.random_range(0..100) {
            _ if users == 0 || groups == 0 => match i % 3 {
                0 | 1 => Step::CreateUser {
                    name: format!("u{round}-{i}@example.com"),
                },
                _ => Step::CreateGroup {
                    name: format!("g{round}-{i}"),
                },
            },
            // Some names repeat an earlier round's, in another case: 409 uniqueness.
            0..20 => Step::CreateUser {
                name: if rng.random_bool(0.2) {
                    format!("U{}-0@EXAMPLE.com", rng.random_range(0..=round))
                } else {
                    format!("u{round}-{i}@example.com")
                },
            },
            20..24 => Step::CreateGroup {
                name: format!("g{round}-{i}"),
            },
            24..40 => Step::RenameUser {
                user: pick(rng),
                to: format!("name {round}-{i}"),
                if_match: rng.random_bool(0.5),
            },
            40..48 => Step::Disable { user: pick(rng) },
            48..68 => Step::AddMembers {
                group: rng.random_range(0..groups),
                users: (0..rng.random_range(1..6)).map(|_| pick(rng)).collect(),
            },
            68..76 => Step::RemoveMember {
                group: rng.random_range(0..groups),
                user: pick(rng),
            },
            76..82 => Step::DeleteUser { user: pick(rng) },
            82..88 => Step::PatchMissing,
            88..93 => Step::Invalid,
            _ if i > 0 => Step::Repeat(rng.random_range(0..i)),
            _ => Step::PatchMissing,
        };
        let id = match &step {
            Step::Repeat(j) => steps[*j].0.clone(),
            _ => Uuid::new_v4().to_string(),
        };
        steps.push((id, step));
    }
    steps
}

/// Users (name, version, active, displayName), groups (name, version, member names) and the
/// provisioning log's (success, status) counts of `tenant`.
async fn state(dir: &Directory, tenant: Uuid) -> Value {
    let db = dir.connection();
    let users = user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant))
        .all(db)
        .await
        .unwrap();
    let names: BTreeMap<Uuid, String> = users.iter().map(|u| (u.id, u.user_name.clone())).collect();
    let mut user_rows: Vec<Value> = users
        .iter()
        .map(|u| json!([u.user_name, u.version, u.active, u.body.get("displayName")]))
        .collect();
    user_rows.sort_by_key(Value::to_string);
    let groups = group::Entity::find()
        .filter(group::Column::TenantId.eq(tenant))
        .all(db)
        .await
        .unwrap();
    let edges = group_member::Entity::find()
        .filter(group_member::Column::TenantId.eq(tenant))
        .all(db)
        .await
        .unwrap();
    let mut group_rows: Vec<Value> = groups
        .iter()
        .map(|g| {
            let mut members: Vec<&str> = edges
                .iter()
                .filter(|e| e.group_id == g.id)
                .map(|e| names.get(&e.member_id).map_or("?", String::as_str))
                .collect();
            members.sort_unstable();
            json!([g.display_name, g.version, members])
        })
        .collect();
    group_rows.sort_by_key(Value::to_string);
    let mut log: BTreeMap<String, usize> = BTreeMap::new();
    for row in provisioning_log::Entity::find()
        .filter(provisioning_log::Column::TenantId.eq(tenant))
        .all(db)
        .await
        .unwrap()
    {
        *log.entry(format!("{} {} {}", row.operation, row.success, row.status))
            .or_default() += 1;
    }
    json!({"users": user_rows, "groups": group_rows, "log": log})
}

fn batched(cmds: &[Command]) -> Vec<Batched> {
    cmds.iter()
        .map(|c| Batched {
            command: c.clone(),
            deadline: None,
        })
        .collect()
}

both!(
    a_batch_answers_exactly_as_one_command_at_a_time,
    |fx: Fixture| async move {
        // The same steps, in the same chunks: tenant `a` gets each chunk as one batch,
        // tenant `b` (same database) one command at a time.
        let seed = std::env::var("BLOGIN_SCIM_BATCH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random::<u64>);
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut in_batches, mut one_by_one) = (Known::default(), Known::default());
        let mut all = Vec::new();
        let mut answered = 0;
        for round in 0..30 {
            let steps = chunk(
                &mut rng,
                round,
                in_batches.users.len(),
                in_batches.groups.len(),
            );
            let batch = commands(&in_batches, fx.a, &steps);
            let single = commands(&one_by_one, fx.b, &steps);
            let got: Vec<Outcome> = fx
                .dir
                .apply_batch(&batched(&batch))
                .await
                .expect("database reachable")
                .into_iter()
                .map(|a| a.expect("every command answered"))
                .collect();
            let mut want = Vec::new();
            for c in &single {
                want.push(fx.dir.apply(c).await.expect("database reachable"));
            }
            assert_eq!(got.len(), batch.len());
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(
                    seen(g),
                    seen(w),
                    "seed {seed}, round {round}, command {i} ({:?})",
                    steps[i].1
                );
            }
            answered += got.len();
            learn(&mut in_batches, &steps, &got);
            learn(&mut one_by_one, &steps, &want);
            all.extend(batch);
        }
        assert!(answered > 100, "seed {seed}: only {answered} commands");
        let after = state(&fx.dir, fx.a).await;
        assert_eq!(after, state(&fx.dir, fx.b).await, "seed {seed}");
        // Every command again, in other batch boundaries: each returns its first answer and
        // nothing changes (idempotency by command id).
        for part in all.chunks(17) {
            let again = fx.dir.apply_batch(&batched(part)).await.unwrap();
            for (c, a) in part.iter().zip(again) {
                let first = fx.dir.apply(c).await.unwrap();
                assert_eq!(seen(&a.unwrap()), seen(&first), "seed {seed}");
            }
        }
        assert_eq!(
            state(&fx.dir, fx.a).await,
            after,
            "seed {seed}: a replay changed data"
        );
    }
);

both!(
    one_refused_command_leaves_the_rest_of_its_batch_applied,
    |fx: Fixture| async move {
        let taken = fx.user("taken@example.com").await;
        let mk = |change: Change, expected_version: Option<i64>| Command {
            expected_version,
            ..fx.command(fx.a, User, change)
        };
        let batch = vec![
            mk(Change::Create(json!({"userName": "one@example.com"})), None),
            mk(
                Change::Create(json!({"userName": "TAKEN@example.com"})),
                None,
            ),
            mk(
                Change::Patch {
                    id: taken.id.to_string(),
                    request: replace("displayName", json!("T")),
                },
                Some(taken.version + 7),
            ),
            mk(Change::Create(json!({"userName": 7})), None),
            mk(
                Change::Delete {
                    id: Uuid::new_v4().to_string(),
                },
                None,
            ),
            mk(Change::Create(json!({"userName": "two@example.com"})), None),
        ];
        let answers: Vec<Outcome> = fx
            .dir
            .apply_batch(&batched(&batch))
            .await
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let statuses: Vec<u16> = answers
            .iter()
            .map(|a| a.as_ref().map_or_else(|e| e.status(), |_| 201))
            .collect();
        assert_eq!(statuses, [201, 409, 412, 400, 404, 201]);
        let st = state(&fx.dir, fx.a).await;
        let users = st["users"].as_array().unwrap();
        assert_eq!(users.len(), 3, "{st}");
        // The failed PATCH left the user untouched; the log has every command, each with
        // its own answer.
        assert!(
            users
                .iter()
                .any(|u| u[0] == "taken@example.com" && u[1] == 1)
        );
        assert_eq!(
            st["log"],
            json!({"create false 400": 1, "create false 409": 1, "create true 201": 3,
                   "delete false 404": 1, "patch false 412": 1}),
            "{st}"
        );
    }
);

both!(
    a_past_deadline_is_not_applied_and_commands_on_one_resource_keep_their_order,
    |fx: Fixture| async move {
        let u = fx.user("order@example.com").await;
        let rename = |to: &str| {
            fx.command(
                fx.a,
                User,
                Change::Patch {
                    id: u.id.to_string(),
                    request: replace("displayName", json!(to)),
                },
            )
        };
        let late = Batched {
            command: fx.command(
                fx.a,
                User,
                Change::Create(json!({"userName": "late@example.com"})),
            ),
            deadline: Some(std::time::SystemTime::now() - std::time::Duration::from_secs(1)),
        };
        let mut batch = batched(&[rename("first"), rename("second"), rename("third")]);
        batch.insert(1, late);
        let answers = fx.dir.apply_batch(&batch).await.unwrap();
        assert!(matches!(answers[1], Err(scim_store::StoreError::Expired)));
        let versions: Vec<i64> = [0, 2, 3]
            .iter()
            .map(|&i| resource(answers[i].as_ref().unwrap().clone()).version)
            .collect();
        assert_eq!(versions, [2, 3, 4]);
        let st = state(&fx.dir, fx.a).await;
        assert_eq!(st["users"].as_array().unwrap().len(), 1, "{st}");
        assert_eq!(st["users"][0][3], "third");
    }
);

both!(
    concurrent_batches_over_the_same_groups_lose_no_member,
    |fx: Fixture| async move {
        let fx = Arc::new(fx);
        let mut groups = Vec::new();
        for i in 0..3 {
            groups.push(
                fx.create(Group, json!({"displayName": format!("G{i}")}))
                    .await
                    .id,
            );
        }
        let mut users = Vec::new();
        for i in 0..48 {
            users.push(fx.user(&format!("m{i}@example.com")).await.id);
        }
        // Four batches at once, each adding its own users to every group in another order:
        // on PostgreSQL they lock the same rows in different orders (a deadlock abandons a
        // batch, which then applies its commands one at a time).
        let tasks: Vec<_> = (0..4)
            .map(|t| {
                let (fx, groups) = (fx.clone(), groups.clone());
                let mine: Vec<Uuid> = users[t * 12..(t + 1) * 12].to_vec();
                tokio::spawn(async move {
                    let mut cmds = Vec::new();
                    for (k, chunk) in mine.chunks(3).enumerate() {
                        for next in [0, 1] {
                            let g = groups[(t + k + next) % groups.len()];
                            cmds.push(fx.command(
                                fx.a,
                                Group,
                                Change::Patch {
                                    id: g.to_string(),
                                    request: patch(members_op("Add", chunk)),
                                },
                            ));
                        }
                    }
                    for a in fx.dir.apply_batch(&batched(&cmds)).await.unwrap() {
                        assert!(a.unwrap().is_ok());
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let st = state(&fx.dir, fx.a).await;
        let members: usize = st["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g[2].as_array().unwrap().len())
            .sum();
        // Each user was added to two groups.
        assert_eq!(members, 96, "{st}");
    }
);

both!(
    a_long_batch_commits_in_parts_and_answers_like_one_at_a_time,
    |fx: Fixture| async move {
        // Longer than one part (a part stays under PostgreSQL's 64 cached subtransactions):
        // creates, every 10th a case variant of an earlier name (409), and a repeat.
        let steps: Vec<(String, Step)> = (0..120)
            .map(|i| {
                let name = if i % 10 == 9 {
                    format!("LONG{}@EXAMPLE.com", i - 5)
                } else {
                    format!("long{i}@example.com")
                };
                (Uuid::new_v4().to_string(), Step::CreateUser { name })
            })
            .chain([(String::new(), Step::Repeat(3))])
            .collect();
        let mut steps = steps;
        steps[120].0 = steps[3].0.clone();
        let batch = commands(&Known::default(), fx.a, &steps);
        let single = commands(&Known::default(), fx.b, &steps);
        let got = fx.dir.apply_batch(&batched(&batch)).await.unwrap();
        assert_eq!(got.len(), 121);
        for (i, (g, c)) in got.into_iter().zip(&single).enumerate() {
            let want = fx.dir.apply(c).await.unwrap();
            assert_eq!(seen(&g.unwrap()), seen(&want), "command {i}");
        }
        let st = state(&fx.dir, fx.a).await;
        assert_eq!(st["users"].as_array().unwrap().len(), 108, "{st}");
        assert_eq!(st, state(&fx.dir, fx.b).await);
    }
);
