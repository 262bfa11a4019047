//! Membership fan-out: jobs written with the edges (chunked), recomputation into the `groups`
//! projection (direct and nested), events, cycles, deletes, idempotent and reordered jobs, a
//! randomized convergence check, the outbox lease/publish contract and the lag report.

use crate::both;
use crate::support::*;
use prost::Message;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng, rngs::StdRng};
use scim::ScimType;
use scim::schema::ResourceKind::{Group, User};
use scim_store::entity::outbox;
use scim_store::{Change, OutboxKind};
use scim_wire::pb;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const LEASE: Duration = Duration::from_secs(60);

/// A user's groups as the User resource shows them: (group, type, display).
async fn groups_of(fx: &Fixture, tenant: Uuid, user: Uuid) -> Vec<(Uuid, String, String)> {
    fx.dir
        .get(tenant, User, &user.to_string(), false, true)
        .await
        .unwrap()
        .groups
        .unwrap()
        .into_iter()
        .map(|g| (g.id, g.kind, g.display))
        .collect()
}

async fn version_of(fx: &Fixture, user: Uuid) -> i64 {
    fx.dir
        .get(fx.a, User, &user.to_string(), false, false)
        .await
        .unwrap()
        .version
}

/// The jobs in the outbox, decoded as stored.
async fn stored_jobs(fx: &Fixture) -> Vec<pb::FanoutJob> {
    outbox_rows(&fx.dir)
        .await
        .into_iter()
        .filter(|r| r.kind == 1)
        .map(|r| pb::FanoutJob::decode(r.payload.as_slice()).unwrap())
        .collect()
}

/// Claims everything due and returns the jobs (decoded) without running them.
async fn claim_jobs(fx: &Fixture) -> Vec<pb::FanoutJob> {
    fx.dir
        .claim_outbox(100, LEASE)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == OutboxKind::FanoutJob)
        .map(|i| pb::FanoutJob::decode(i.payload.as_slice()).unwrap())
        .collect()
}

fn refs(list: &[pb::MembershipRef]) -> Vec<(String, String)> {
    list.iter()
        .map(|r| (r.group_id.clone(), r.r#type.clone()))
        .collect()
}

fn r(group: Uuid, kind: &str) -> (String, String) {
    (group.to_string(), kind.to_owned())
}

fn ids(list: &[String]) -> BTreeSet<Uuid> {
    list.iter().map(|s| Uuid::parse_str(s).unwrap()).collect()
}

async fn group(fx: &Fixture, name: &str) -> Uuid {
    fx.create(Group, json!({"displayName": name})).await.id
}

both!(
    patch_adding_450_users_writes_three_bounded_jobs_that_fill_groups,
    |fx: Fixture| async move {
        let g = group(&fx, "G").await;
        let users = seed_users(&fx.dir, fx.a, 450).await;
        fx.patch(Group, g, members_op("Add", &users)).await.unwrap();

        let jobs = stored_jobs(&fx).await;
        let sizes: Vec<usize> = jobs.iter().map(|j| j.user_ids.len()).collect();
        assert_eq!(sizes, vec![200, 200, 50], "chunked at JOB_USERS");
        let covered: BTreeSet<Uuid> = jobs.iter().flat_map(|j| ids(&j.user_ids)).collect();
        assert_eq!(covered, users.iter().copied().collect());
        assert!(jobs.iter().all(|j| j.tenant_id == fx.a.to_string()));
        assert!(
            groups_of(&fx, fx.a, users[0]).await.is_empty(),
            "groups are eventual: nothing before the jobs run"
        );

        let claimed = claim_jobs(&fx).await;
        assert_eq!(claimed.len(), 3);
        let started = Instant::now();
        let mut changed = 0;
        for job in &claimed {
            changed += fx.dir.run_fanout_job(job).await.unwrap();
        }
        eprintln!(
            "450-user fan-out (3 jobs) on {:?} took {:?}",
            fx.dir.backend(),
            started.elapsed()
        );
        assert_eq!(changed, 450);
        assert!(stored_jobs(&fx).await.is_empty(), "completed jobs leave");

        let events = drain_fanout(&fx.dir).await;
        assert_eq!(events.len(), 450);
        let mut seen = BTreeSet::new();
        for e in &events {
            assert_eq!(e.tenant_id, fx.a.to_string());
            assert_eq!(refs(&e.groups_added), vec![r(g, "direct")]);
            assert!(e.groups_removed.is_empty() && !e.user_deleted);
            assert_eq!(refs(&e.groups), vec![r(g, "direct")]);
            assert_eq!(e.set_version, 2);
            assert!(e.at.is_some());
            seen.insert(Uuid::parse_str(&e.user_id).unwrap());
        }
        assert_eq!(seen, users.iter().copied().collect());
        let u = users[100];
        assert_eq!(
            groups_of(&fx, fx.a, u).await,
            vec![(g, "direct".into(), "G".into())]
        );
        assert_eq!(
            version_of(&fx, u).await,
            2,
            "groups changed: so did the ETag"
        );
        let plain = fx
            .dir
            .get(fx.a, User, &u.to_string(), false, false)
            .await
            .unwrap();
        assert_eq!(plain.groups, None, "groups load only when asked");

        // Removing ten: one job, ten events carrying what was removed.
        fx.patch(Group, g, members_op("Remove", &users[..10]))
            .await
            .unwrap();
        let jobs = stored_jobs(&fx).await;
        assert_eq!(jobs.len(), 1);
        assert_eq!(
            ids(&jobs[0].user_ids),
            users[..10].iter().copied().collect()
        );
        let events = drain_fanout(&fx.dir).await;
        assert_eq!(events.len(), 10);
        for e in &events {
            assert_eq!(refs(&e.groups_removed), vec![r(g, "direct")]);
            assert!(e.groups.is_empty() && e.groups_added.is_empty());
            assert_eq!(e.set_version, 3);
        }
        assert!(groups_of(&fx, fx.a, users[0]).await.is_empty());

        // A rename changes no membership: no job, and the new name shows at once.
        fx.patch(
            Group,
            g,
            json!({"Operations": [{"op": "replace", "path": "displayName", "value": "Renamed"}]}),
        )
        .await
        .unwrap();
        assert!(outbox_rows(&fx.dir).await.is_empty());
        assert_eq!(
            groups_of(&fx, fx.a, u).await,
            vec![(g, "direct".into(), "Renamed".into())]
        );

        // Entra's "remove all members": every remaining member is recomputed, still chunked.
        fx.patch(
            Group,
            g,
            json!({"Operations": [{"op": "remove", "path": "members"}]}),
        )
        .await
        .unwrap();
        let sizes: Vec<usize> = stored_jobs(&fx)
            .await
            .iter()
            .map(|j| j.user_ids.len())
            .collect();
        assert_eq!(sizes, vec![200, 200, 40]);
        let events = drain_fanout(&fx.dir).await;
        assert_eq!(events.len(), 440);
        assert!(
            events
                .iter()
                .all(|e| e.groups.is_empty() && e.set_version == 3)
        );
        assert!(projection(&fx.dir, fx.a).await.is_empty());
    }
);

both!(
    nested_groups_give_direct_and_indirect_memberships,
    |fx: Fixture| async move {
        let (u1, u2, u3) = (
            fx.user("u1").await.id,
            fx.user("u2").await.id,
            fx.user("u3").await.id,
        );
        let c = fx
            .create(
                Group,
                json!({"displayName": "C", "members": [{"value": u1.to_string()}, {"value": u2.to_string()}]}),
            )
            .await
            .id;
        let b = group(&fx, "B").await;
        let a = group(&fx, "A").await;
        fx.patch(Group, b, members_op("add", &[c])).await.unwrap();
        fx.patch(Group, a, members_op("add", &[b, u2]))
            .await
            .unwrap();
        drain_fanout(&fx.dir).await;
        let mut want_u1 = vec![
            (c, "direct".to_owned(), "C".to_owned()),
            (b, "indirect".into(), "B".into()),
            (a, "indirect".into(), "A".into()),
        ];
        want_u1.sort();
        assert_eq!(groups_of(&fx, fx.a, u1).await, want_u1);
        let mut want_u2 = vec![
            (c, "direct".to_owned(), "C".to_owned()),
            (b, "indirect".into(), "B".into()),
            (a, "direct".into(), "A".into()),
        ];
        want_u2.sort();
        assert_eq!(
            groups_of(&fx, fx.a, u2).await,
            want_u2,
            "a group that is direct is not also indirect"
        );

        // A user added to the innermost group inherits the whole chain.
        fx.patch(Group, c, members_op("add", &[u3])).await.unwrap();
        drain_fanout(&fx.dir).await;
        assert_eq!(groups_of(&fx, fx.a, u3).await.len(), 3);

        // Unnesting B from A: users under B lose A, unless they are in A directly.
        fx.patch(Group, a, members_op("remove", &[b]))
            .await
            .unwrap();
        let events = drain_fanout(&fx.dir).await;
        let changed: BTreeSet<String> = events.iter().map(|e| e.user_id.clone()).collect();
        assert_eq!(
            changed,
            [u1, u3].iter().map(Uuid::to_string).collect(),
            "u2 is still in A directly: no event"
        );
        for e in &events {
            assert_eq!(refs(&e.groups_removed), vec![r(a, "indirect")]);
            assert!(e.groups_added.is_empty());
        }
        let mut want = vec![
            (c, "direct".to_owned(), "C".to_owned()),
            (b, "indirect".into(), "B".into()),
        ];
        want.sort();
        assert_eq!(groups_of(&fx, fx.a, u1).await, want);
        assert_eq!(groups_of(&fx, fx.a, u2).await, want_u2);
        assert_eq!(
            projection(&fx.dir, fx.a).await,
            recomputed(&fx.dir, fx.a).await
        );
    }
);

both!(
    a_group_cycle_is_refused_with_400_and_nothing_changes,
    |fx: Fixture| async move {
        let (a, b, c, d) = (
            group(&fx, "A").await,
            group(&fx, "B").await,
            group(&fx, "C").await,
            group(&fx, "D").await,
        );
        let u = fx.user("u").await.id;
        fx.patch(Group, a, members_op("add", &[b])).await.unwrap();
        fx.patch(Group, b, members_op("add", &[c])).await.unwrap();
        drain_fanout(&fx.dir).await;
        let c_before = fx
            .dir
            .get(fx.a, Group, &c.to_string(), true, false)
            .await
            .unwrap();

        let refused = [
            // A ⊃ B ⊃ C, so C ⊃ A closes a loop — alone or beside a harmless member.
            (c, members_op("add", &[a])),
            (c, members_op("add", &[u, a])),
            (b, members_op("add", &[a])),
            (a, members_op("add", &[a])),
            (
                c,
                json!({"Operations": [{"op": "replace", "path": "members", "value": [{"value": a.to_string()}]}]}),
            ),
        ];
        for (target, body) in refused {
            let err = fx.patch(Group, target, body).await.unwrap_err();
            assert_eq!(
                (err.status(), err.scim_type()),
                (400, Some(ScimType::InvalidValue))
            );
            assert!(err.detail().contains("would create a cycle"), "{err}");
            assert!(err.detail().contains(&target.to_string()), "{err}");
        }
        let err = fx
            .run(
                fx.a,
                Group,
                Change::Replace {
                    id: c.to_string(),
                    body: json!({"displayName": "C", "members": [{"value": a.to_string()}]}),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(
            err.detail()
                .contains(&format!("adding group {a} to {c} would create a cycle")),
            "{err}"
        );
        let c_after = fx
            .dir
            .get(fx.a, Group, &c.to_string(), true, false)
            .await
            .unwrap();
        assert_eq!(c_after, c_before, "nothing of a refused command is written");
        assert!(outbox_rows(&fx.dir).await.is_empty(), "and no jobs");

        // A diamond is not a cycle: A ⊃ D ⊃ C beside A ⊃ B ⊃ C.
        fx.patch(Group, d, members_op("add", &[c])).await.unwrap();
        fx.patch(Group, a, members_op("add", &[d])).await.unwrap();
        assert_eq!(fx.dir.all_members(fx.a, a).await.unwrap().len(), 2);
    }
);

both!(
    deleting_a_group_removes_it_from_every_members_groups,
    |fx: Fixture| async move {
        let (u1, u2, u3) = (
            fx.user("u1").await.id,
            fx.user("u2").await.id,
            fx.user("u3").await.id,
        );
        let a = group(&fx, "A").await;
        let b = group(&fx, "B").await;
        fx.patch(Group, b, members_op("add", &[u1, u3]))
            .await
            .unwrap();
        fx.patch(Group, a, members_op("add", &[b, u2, u3]))
            .await
            .unwrap();
        drain_fanout(&fx.dir).await;
        assert_eq!(groups_of(&fx, fx.a, u1).await.len(), 2);

        fx.run(fx.a, Group, Change::Delete { id: b.to_string() })
            .await
            .unwrap();
        let events = drain_fanout(&fx.dir).await;
        let by_user: BTreeMap<String, &pb::MembershipChanged> =
            events.iter().map(|e| (e.user_id.clone(), e)).collect();
        assert_eq!(by_user.len(), 2, "u2 was never under B");
        let mut removed = refs(&by_user[&u1.to_string()].groups_removed);
        removed.sort();
        let mut want = vec![r(a, "indirect"), r(b, "direct")];
        want.sort();
        assert_eq!(removed, want);
        assert_eq!(
            refs(&by_user[&u3.to_string()].groups_removed),
            vec![r(b, "direct")]
        );
        assert!(groups_of(&fx, fx.a, u1).await.is_empty());
        assert_eq!(
            groups_of(&fx, fx.a, u3).await,
            vec![(a, "direct".into(), "A".into())]
        );

        fx.run(fx.a, Group, Change::Delete { id: a.to_string() })
            .await
            .unwrap();
        assert_eq!(drain_fanout(&fx.dir).await.len(), 2);
        assert!(projection(&fx.dir, fx.a).await.is_empty());
    }
);

both!(
    deleting_a_user_writes_its_event_and_removes_its_rows,
    |fx: Fixture| async move {
        let g = group(&fx, "G").await;
        let (u1, u2, u3) = (
            fx.user("u1").await.id,
            fx.user("u2").await.id,
            fx.user("u3").await.id,
        );
        fx.patch(Group, g, members_op("add", &[u1])).await.unwrap();
        drain_fanout(&fx.dir).await;
        let v = version_of(&fx, u1).await;

        fx.run(fx.a, User, Change::Delete { id: u1.to_string() })
            .await
            .unwrap();
        let rows = outbox_rows(&fx.dir).await;
        assert_eq!(rows.len(), 1, "one event, no job");
        assert_eq!(
            rows[0].kind,
            pb::OutboxKind::Event as i16,
            "a deleted user needs no recomputation"
        );
        let e = pb::MembershipChanged::decode(rows[0].payload.as_slice()).unwrap();
        assert!(e.user_deleted);
        assert_eq!(e.user_id, u1.to_string());
        assert_eq!(refs(&e.groups_removed), vec![r(g, "direct")]);
        assert!(e.groups.is_empty() && e.groups_added.is_empty());
        assert_eq!(e.set_version, (v + 1) as u64);
        assert!(!projection(&fx.dir, fx.a).await.contains_key(&u1));
        drain_fanout(&fx.dir).await;

        // Never in a group: nothing to tell anyone.
        fx.run(fx.a, User, Change::Delete { id: u3.to_string() })
            .await
            .unwrap();
        assert!(outbox_rows(&fx.dir).await.is_empty());

        // Added, then deleted before its job ran: consumers never saw the membership, so no
        // event; the late job finds the user gone and only completes.
        fx.patch(Group, g, members_op("add", &[u2])).await.unwrap();
        let jobs = claim_jobs(&fx).await;
        fx.run(fx.a, User, Change::Delete { id: u2.to_string() })
            .await
            .unwrap();
        assert_eq!(fx.dir.run_fanout_job(&jobs[0]).await.unwrap(), 0);
        assert!(outbox_rows(&fx.dir).await.is_empty());
        assert!(projection(&fx.dir, fx.a).await.is_empty());
    }
);

both!(
    jobs_run_twice_or_out_of_order_converge_without_a_second_event,
    |fx: Fixture| async move {
        let (g1, g2) = (group(&fx, "G1").await, group(&fx, "G2").await);
        let u = fx.user("u").await.id;
        fx.patch(Group, g1, members_op("add", &[u])).await.unwrap();
        let j1 = claim_jobs(&fx).await.remove(0);
        fx.patch(Group, g2, members_op("add", &[u])).await.unwrap();
        let j2 = claim_jobs(&fx).await.remove(0);
        fx.patch(Group, g1, members_op("remove", &[u]))
            .await
            .unwrap();
        let j3 = claim_jobs(&fx).await.remove(0);

        // The newest first: it reads the final edges.
        assert_eq!(fx.dir.run_fanout_job(&j3).await.unwrap(), 1);
        // Older ones, and the same one again, recompute the same set: nothing to write.
        for job in [&j1, &j2, &j3, &j1] {
            assert_eq!(fx.dir.run_fanout_job(job).await.unwrap(), 0);
        }
        let events = drain_fanout(&fx.dir).await;
        assert_eq!(events.len(), 1, "one change, one event");
        assert_eq!(refs(&events[0].groups), vec![r(g2, "direct")]);
        assert_eq!(version_of(&fx, u).await, 2);
        assert_eq!(
            groups_of(&fx, fx.a, u).await,
            vec![(g2, "direct".into(), "G2".into())]
        );
        assert!(outbox_rows(&fx.dir).await.is_empty(), "every job completed");
    }
);

both!(
    unchanged_memberships_write_no_jobs,
    |fx: Fixture| async move {
        let g = group(&fx, "G").await;
        let (u1, u2) = (fx.user("u1").await.id, fx.user("u2").await.id);
        fx.patch(Group, g, members_op("add", &[u1])).await.unwrap();
        drain_fanout(&fx.dir).await;

        fx.patch(Group, g, members_op("add", &[u1])).await.unwrap();
        fx.patch(Group, g, members_op("remove", &[u2]))
            .await
            .unwrap();
        fx.patch(
            Group,
            g,
            json!({"Operations": [{"op": "replace", "path": "members", "value": [{"value": u1.to_string()}]}]}),
        )
        .await
        .unwrap();
        fx.run(
            fx.a,
            Group,
            Change::Replace {
                id: g.to_string(),
                body: json!({"displayName": "G2", "members": [{"value": u1.to_string()}]}),
            },
        )
        .await
        .unwrap();
        assert!(
            outbox_rows(&fx.dir).await.is_empty(),
            "re-adding, removing a non-member and re-sending the same members change no edge"
        );

        fx.run(
            fx.a,
            Group,
            Change::Replace {
                id: g.to_string(),
                body: json!({"displayName": "G2", "members": [{"value": u2.to_string()}]}),
            },
        )
        .await
        .unwrap();
        let jobs = stored_jobs(&fx).await;
        assert_eq!(jobs.len(), 1);
        assert_eq!(ids(&jobs[0].user_ids), [u1, u2].into_iter().collect());
    }
);

/// One random membership write; refusals (a cycle, a vanished member) are part of the game.
async fn random_write(
    fx: &Fixture,
    tenant: Uuid,
    rng: &mut StdRng,
    groups: &mut [Uuid],
    users: &mut [Uuid],
    step: usize,
) {
    let g = *groups.choose(rng).unwrap();
    let some_users = |rng: &mut StdRng, n: usize| -> Vec<Uuid> {
        let k = rng.random_range(1..=n);
        users.choose_multiple(rng, k).copied().collect()
    };
    let patch = |body: serde_json::Value| Change::Patch {
        id: g.to_string(),
        request: scim::patch::PatchRequest::parse(&body).unwrap(),
    };
    let (kind, change) = match rng.random_range(0..100) {
        0..35 => (Group, patch(members_op("add", &some_users(rng, 6)))),
        35..52 => (Group, patch(members_op("remove", &some_users(rng, 6)))),
        52..66 => {
            let other = *groups.choose(rng).unwrap();
            (Group, patch(members_op("add", &[other])))
        }
        66..74 => {
            let other = *groups.choose(rng).unwrap();
            let body = json!({"Operations": [{"op": "remove", "path": format!("members[value eq \"{other}\"]")}]});
            (Group, patch(body))
        }
        74..80 => {
            let mut members: Vec<serde_json::Value> = some_users(rng, 8)
                .iter()
                .map(|u| json!({"value": u.to_string()}))
                .collect();
            if rng.random_bool(0.5) {
                members.push(json!({"value": groups.choose(rng).unwrap().to_string()}));
            }
            let body = json!({"displayName": format!("{tenant}-{g}"), "members": members});
            (
                Group,
                Change::Replace {
                    id: g.to_string(),
                    body,
                },
            )
        }
        80..88 => {
            let body = json!({"Operations": [{"op": "replace", "path": "members",
                "value": some_users(rng, 5).iter().map(|u| json!({"value": u.to_string()})).collect::<Vec<_>>()}]});
            (Group, patch(body))
        }
        88..94 => {
            // Delete a group and put a fresh one in its slot.
            let i = groups.iter().position(|x| *x == g).unwrap();
            fx.run(tenant, Group, Change::Delete { id: g.to_string() })
                .await
                .unwrap();
            groups[i] = fx
                .create_in(tenant, Group, json!({"displayName": format!("g{step}")}))
                .await
                .id;
            return;
        }
        _ => {
            let u = *users.choose(rng).unwrap();
            let i = users.iter().position(|x| *x == u).unwrap();
            fx.run(tenant, User, Change::Delete { id: u.to_string() })
                .await
                .unwrap();
            users[i] = fx
                .create_in(tenant, User, json!({"userName": format!("u{step}")}))
                .await
                .id;
            return;
        }
    };
    if let Err(e) = fx.run(tenant, kind, change).await {
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue), "{e}");
    }
}

both!(
    randomized_interleavings_converge_to_a_full_recomputation,
    |fx: Fixture| async move {
        for seed in [3_u64, 17, 2026] {
            let tenant = fx
                .dir
                .create_tenant(&format!("rand-{seed}"), "R")
                .await
                .unwrap()
                .0
                .id;
            let mut rng = StdRng::seed_from_u64(seed);
            let mut groups = Vec::new();
            for i in 0..6 {
                groups.push(
                    fx.create_in(tenant, Group, json!({"displayName": format!("start{i}")}))
                        .await
                        .id,
                );
            }
            let mut users = Vec::new();
            for i in 0..30 {
                users.push(
                    fx.create_in(tenant, User, json!({"userName": format!("start{i}")}))
                        .await
                        .id,
                );
            }
            let mut held: Vec<pb::FanoutJob> = Vec::new();
            let mut again: Vec<pb::FanoutJob> = Vec::new();
            let mut events: Vec<pb::MembershipChanged> = Vec::new();
            for step in 0..70 {
                random_write(&fx, tenant, &mut rng, &mut groups, &mut users, step).await;
                // The relay takes a few items now and then; jobs wait in `held` to run later,
                // in any order, some of them twice.
                if rng.random_bool(0.5) {
                    let n = rng.random_range(1..4);
                    for item in fx
                        .dir
                        .claim_outbox(n, Duration::from_secs(600))
                        .await
                        .unwrap()
                    {
                        match item.kind {
                            OutboxKind::FanoutJob => {
                                held.push(pb::FanoutJob::decode(item.payload.as_slice()).unwrap())
                            }
                            OutboxKind::Event => {
                                events.push(
                                    pb::MembershipChanged::decode(item.payload.as_slice()).unwrap(),
                                );
                                fx.dir.mark_published(&[item.id]).await.unwrap();
                            }
                        }
                    }
                }
                if !held.is_empty() && rng.random_bool(0.4) {
                    held.shuffle(&mut rng);
                    let k = rng.random_range(1..=held.len());
                    for job in held.drain(..k).collect::<Vec<_>>() {
                        fx.dir.run_fanout_job(&job).await.unwrap();
                        if rng.random_bool(0.25) {
                            again.push(job);
                        }
                    }
                }
            }
            held.append(&mut again);
            held.shuffle(&mut rng);
            for job in &held {
                fx.dir.run_fanout_job(job).await.unwrap();
            }
            events.extend(drain_fanout(&fx.dir).await);
            events.retain(|e| e.tenant_id == tenant.to_string());

            let projected = projection(&fx.dir, tenant).await;
            assert_eq!(projected, recomputed(&fx.dir, tenant).await, "seed {seed}");
            assert!(
                !projected.is_empty(),
                "seed {seed}: the run exercised something"
            );

            // A consumer that applies the events in set_version order per user ends where the
            // projection is, and every event's delta matches the sets around it.
            let mut per_user: BTreeMap<String, Vec<&pb::MembershipChanged>> = BTreeMap::new();
            for e in &events {
                per_user.entry(e.user_id.clone()).or_default().push(e);
            }
            for (user, list) in &mut per_user {
                list.sort_by_key(|e| e.set_version);
                let mut current: BTreeSet<String> = BTreeSet::new();
                let mut last_version = 0;
                for e in list.iter() {
                    assert!(
                        e.set_version > last_version,
                        "seed {seed}: versions increase"
                    );
                    last_version = e.set_version;
                    for g in &e.groups_removed {
                        assert!(current.remove(&g.group_id), "seed {seed}: removed unknown");
                    }
                    for g in &e.groups_added {
                        assert!(
                            current.insert(g.group_id.clone()),
                            "seed {seed}: added twice"
                        );
                    }
                    let full: BTreeSet<String> =
                        e.groups.iter().map(|g| g.group_id.clone()).collect();
                    assert_eq!(current, full, "seed {seed}: delta and set agree");
                }
                let uid = Uuid::parse_str(user).unwrap();
                let want: BTreeSet<String> = projected
                    .get(&uid)
                    .map(|m| m.keys().map(Uuid::to_string).collect())
                    .unwrap_or_default();
                assert_eq!(current, want, "seed {seed}: consumer view of {user}");
                if users.contains(&uid) {
                    let v = fx
                        .dir
                        .get(tenant, User, user, false, false)
                        .await
                        .unwrap()
                        .version;
                    assert_eq!(
                        last_version, v as u64,
                        "seed {seed}: set_version is the version"
                    );
                } else {
                    // Gone: the consumer holds no groups for it (checked above) and, when it
                    // had some at its deletion, learnt so from a `user_deleted` event.
                    assert!(current.is_empty(), "seed {seed}: {user}");
                }
                let deleted = list.iter().position(|e| e.user_deleted);
                assert!(
                    deleted.is_none_or(|i| i + 1 == list.len()),
                    "seed {seed}: nothing follows a user's deletion"
                );
            }
            for (user, groups) in &projected {
                assert!(
                    per_user.contains_key(&user.to_string()) || groups.is_empty(),
                    "seed {seed}: every membership was announced"
                );
            }
        }
    }
);

both!(
    concurrent_nesting_and_member_writes_converge_and_never_close_a_cycle,
    |fx: Fixture| async move {
        let fx = Arc::new(fx);
        for round in 0..8 {
            let mut g = Vec::new();
            for name in ["a", "x", "y", "z"] {
                g.push(group(&fx, &format!("{name}{round}")).await);
            }
            let (a, x, y, z) = (g[0], g[1], g[2], g[3]);
            // x ⊃ y and z ⊃ a already; "a ⊃ x" and "y ⊃ z" each alone is fine, together
            // they close a ⊃ x ⊃ y ⊃ z ⊃ a. The two writes lock no row in common, so only
            // the tenant's membership lock keeps them from both passing the cycle check.
            fx.patch(Group, x, members_op("add", &[y])).await.unwrap();
            fx.patch(Group, z, members_op("add", &[a])).await.unwrap();
            let users = seed_users(&fx.dir, fx.a, 12).await;
            let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
            // Fan-out runs while the writes happen, as workers do.
            let drainer = {
                let (fx, done) = (fx.clone(), done.clone());
                tokio::spawn(async move {
                    while !done.load(std::sync::atomic::Ordering::SeqCst) {
                        drain_fanout(&fx.dir).await;
                        tokio::task::yield_now().await;
                    }
                })
            };
            let mut nestings = Vec::new();
            for (parent, child) in [(a, x), (y, z)] {
                let fx = fx.clone();
                nestings.push(tokio::spawn(async move {
                    fx.patch(Group, parent, members_op("add", &[child]))
                        .await
                        .is_ok()
                }));
            }
            let mut adds = Vec::new();
            for (i, u) in users.iter().enumerate() {
                let (fx, target, u) = (fx.clone(), [y, z, a, x][i % 4], *u);
                adds.push(tokio::spawn(async move {
                    fx.patch(Group, target, members_op("add", &[u]))
                        .await
                        .unwrap();
                }));
            }
            let mut nested = 0;
            for t in nestings {
                nested += usize::from(t.await.unwrap());
            }
            for t in adds {
                t.await.unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            drainer.await.unwrap();
            assert_eq!(
                nested, 1,
                "round {round}: one nesting closes the loop and is refused"
            );
            drain_fanout(&fx.dir).await;
            assert_eq!(
                projection(&fx.dir, fx.a).await,
                recomputed(&fx.dir, fx.a).await,
                "round {round}"
            );
        }
    }
);

both!(
    claim_leases_items_and_mark_published_removes_events_but_keeps_jobs,
    |fx: Fixture| async move {
        let g = group(&fx, "G").await;
        let (u1, u2) = (fx.user("u1").await.id, fx.user("u2").await.id);
        fx.patch(Group, g, members_op("add", &[u1])).await.unwrap();
        drain_fanout(&fx.dir).await;
        fx.patch(Group, g, members_op("add", &[u2])).await.unwrap();
        fx.run(fx.a, User, Change::Delete { id: u1.to_string() })
            .await
            .unwrap();

        let one = fx.dir.claim_outbox(1, LEASE).await.unwrap();
        assert_eq!(one.len(), 1, "the limit holds");
        let rest = fx.dir.claim_outbox(10, LEASE).await.unwrap();
        let (job, event) = (&one[0], &rest[0]);
        assert_eq!(rest.len(), 1);
        assert!(job.id < event.id, "oldest first");
        assert_eq!(job.kind, OutboxKind::FanoutJob);
        assert_eq!(job.tenant, fx.a);
        assert_eq!(
            pb::FanoutJob::decode(job.payload.as_slice())
                .unwrap()
                .outbox_id,
            job.id
        );
        assert_eq!(event.kind, OutboxKind::Event);
        assert_eq!(
            event.routing_key.as_deref(),
            Some(format!("membership.changed.{}", fx.a).as_str())
        );
        assert!(
            pb::MembershipChanged::decode(event.payload.as_slice())
                .unwrap()
                .user_deleted
        );
        assert!(
            fx.dir.claim_outbox(10, LEASE).await.unwrap().is_empty(),
            "leased items are not handed out again"
        );

        fx.dir
            .mark_published(&[job.id, event.id, 999_999])
            .await
            .unwrap();
        let rows = outbox_rows(&fx.dir).await;
        assert_eq!(rows.len(), 1, "the event left, the job stays until it runs");
        assert_eq!((rows[0].id, rows[0].lease_until), (job.id, None));
        assert!(rows[0].published_at.is_some());
        assert!(
            fx.dir.claim_outbox(10, LEASE).await.unwrap().is_empty(),
            "a job published just now is not due"
        );

        // Published long ago and still here: its message was lost; publish it again.
        let long_ago = chrono::Utc::now() - chrono::Duration::minutes(11);
        outbox::Entity::update_many()
            .col_expr(outbox::Column::PublishedAt, Expr::value(Some(long_ago)))
            .filter(outbox::Column::Id.eq(job.id))
            .exec(fx.dir.connection())
            .await
            .unwrap();
        let again = fx.dir.claim_outbox(10, LEASE).await.unwrap();
        assert_eq!(again.iter().map(|i| i.id).collect::<Vec<_>>(), vec![job.id]);
        assert!(fx.dir.claim_outbox(10, LEASE).await.unwrap().is_empty());

        // An expired lease (the relay died) makes the item due again.
        outbox::Entity::update_many()
            .col_expr(
                outbox::Column::LeaseUntil,
                Expr::value(Some(chrono::Utc::now() - chrono::Duration::seconds(1))),
            )
            .filter(outbox::Column::Id.eq(job.id))
            .exec(fx.dir.connection())
            .await
            .unwrap();
        let expired = fx.dir.claim_outbox(10, LEASE).await.unwrap();
        assert_eq!(expired.len(), 1);

        let decoded = pb::FanoutJob::decode(expired[0].payload.as_slice()).unwrap();
        assert_eq!(fx.dir.run_fanout_job(&decoded).await.unwrap(), 1);
        let rows = outbox_rows(&fx.dir).await;
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].kind,
            pb::OutboxKind::Event as i16,
            "only u2's event is left"
        );
    }
);

both!(
    concurrent_claims_never_hand_out_an_item_twice,
    |fx: Fixture| async move {
        let fx = Arc::new(fx);
        let g = group(&fx, "G").await;
        let users = seed_users(&fx.dir, fx.a, 40).await;
        for u in &users {
            fx.patch(Group, g, members_op("add", &[*u])).await.unwrap();
        }
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let fx = fx.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        let items = fx.dir.claim_outbox(3, LEASE).await.unwrap();
                        if items.is_empty() {
                            return got;
                        }
                        got.extend(items.into_iter().map(|i| i.id));
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let distinct: BTreeSet<i64> = all.iter().copied().collect();
        assert_eq!((all.len(), distinct.len()), (40, 40));
    }
);

both!(
    fanout_lag_reports_pending_jobs_their_age_and_pending_events,
    |fx: Fixture| async move {
        // Every tenant is listed, idle ones with zeros (the lag gauges read 0, not nothing).
        let idle = fx.dir.fanout_lag(None).await.unwrap();
        assert_eq!(
            idle.iter()
                .map(|l| (l.slug.as_str(), l.pending_jobs, l.pending_events))
                .collect::<Vec<_>>(),
            vec![("tenant-a", 0, 0), ("tenant-b", 0, 0)]
        );
        let quiet = fx.dir.fanout_lag(Some(fx.a)).await.unwrap();
        assert_eq!(
            quiet.len(),
            1,
            "a tenant asked for is listed even when idle"
        );
        assert_eq!(
            (
                quiet[0].slug.as_str(),
                quiet[0].pending_jobs,
                quiet[0].pending_events
            ),
            ("tenant-a", 0, 0)
        );
        assert!(
            fx.dir
                .fanout_lag(Some(Uuid::new_v4()))
                .await
                .unwrap()
                .is_empty()
        );

        let ga = group(&fx, "GA").await;
        let gb = fx
            .create_in(fx.b, Group, json!({"displayName": "GB"}))
            .await
            .id;
        let (u1, u2) = (fx.user("u1").await.id, fx.user("u2").await.id);
        let ub = fx.create_in(fx.b, User, json!({"userName": "ub"})).await.id;
        fx.patch(Group, ga, members_op("add", &[u1, u2]))
            .await
            .unwrap();
        let request = scim::patch::PatchRequest::parse(&members_op("add", &[ub])).unwrap();
        fx.run(
            fx.b,
            Group,
            Change::Patch {
                id: gb.to_string(),
                request,
            },
        )
        .await
        .unwrap();
        // Tenant a's job has been waiting two minutes.
        outbox::Entity::update_many()
            .col_expr(
                outbox::Column::Created,
                Expr::value(chrono::Utc::now() - chrono::Duration::seconds(120)),
            )
            .filter(outbox::Column::TenantId.eq(fx.a))
            .exec(fx.dir.connection())
            .await
            .unwrap();
        let lag = fx.dir.fanout_lag(None).await.unwrap();
        assert_eq!(
            lag.iter()
                .map(|l| (l.slug.as_str(), l.pending_jobs, l.pending_events))
                .collect::<Vec<_>>(),
            vec![("tenant-a", 1, 0), ("tenant-b", 1, 0)]
        );
        assert!(
            (120.0..180.0).contains(&lag[0].oldest_job_age_seconds),
            "{}",
            lag[0].oldest_job_age_seconds
        );
        assert!(lag[1].oldest_job_age_seconds < 60.0);

        // Tenant a's job runs: its two events wait for the relay.
        for item in fx.dir.claim_outbox(10, LEASE).await.unwrap() {
            if item.tenant == fx.a {
                let job = pb::FanoutJob::decode(item.payload.as_slice()).unwrap();
                fx.dir.run_fanout_job(&job).await.unwrap();
            }
        }
        let a = &fx.dir.fanout_lag(Some(fx.a)).await.unwrap()[0];
        assert_eq!(
            (a.pending_jobs, a.oldest_job_age_seconds, a.pending_events),
            (0, 0.0, 2)
        );
        let event_ids: Vec<i64> = outbox_rows(&fx.dir)
            .await
            .into_iter()
            .filter(|r| r.tenant_id == fx.a)
            .map(|r| r.id)
            .collect();
        fx.dir.mark_published(&event_ids).await.unwrap();
        let lag = fx.dir.fanout_lag(None).await.unwrap();
        assert_eq!(
            lag.iter()
                .map(|l| (l.slug.as_str(), l.pending_jobs, l.pending_events))
                .collect::<Vec<_>>(),
            vec![("tenant-a", 0, 0), ("tenant-b", 1, 0)]
        );
    }
);

both!(fanout_rpcs_over_grpc, |fx: Fixture| async move {
    let grpc = GrpcStore::start(&fx).await;
    let mut client = grpc.client.clone();

    let g = group(&fx, "G").await;
    let u = fx.user("u").await.id;
    fx.patch(Group, g, members_op("add", &[u])).await.unwrap();
    let lag = client
        .fanout_lag(pb::FanoutLagRequest {
            tenant_id: fx.a.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(lag.tenants[0].pending_jobs, 1);

    let items = client
        .claim_outbox(pb::ClaimOutboxRequest {
            limit: 10,
            lease_seconds: 60,
        })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].kind, pb::OutboxKind::FanoutJob as i32);
    client
        .mark_published(pb::MarkPublishedRequest {
            ids: vec![items[0].id],
        })
        .await
        .unwrap();
    let job = pb::FanoutJob::decode(items[0].payload.as_slice()).unwrap();
    let run = client.run_fanout_job(job).await.unwrap().into_inner();
    assert_eq!(run.changed_users, 1);

    let items = client
        .claim_outbox(pb::ClaimOutboxRequest::default())
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0].kind, items[0].routing_key.clone()),
        (
            pb::OutboxKind::Event as i32,
            format!("membership.changed.{}", fx.a)
        )
    );

    let bad = client
        .run_fanout_job(pb::FanoutJob {
            outbox_id: 0,
            tenant_id: fx.a.to_string(),
            user_ids: vec!["not-a-uuid".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    grpc.stop().await;
});
