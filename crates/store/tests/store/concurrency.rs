//! Races: concurrent creates of one userName, concurrent member edits, concurrent PATCHes with
//! the same expected version.

use crate::both;
use crate::support::*;
use scim::ScimType;
use scim::schema::ResourceKind::{Group, User};
use scim_store::Change;
use serde_json::json;
use std::sync::Arc;

both!(
    concurrent_creates_of_one_user_name_yield_exactly_one_user,
    |fx: Fixture| async move {
        let fx = Arc::new(fx);
        let names = ["alice@x.com", "ALICE@x.com", "Alice@X.com", "aLiCe@x.COM"];
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let fx = fx.clone();
                let name = names[i % names.len()];
                tokio::spawn(async move {
                    fx.run(fx.a, User, Change::Create(json!({"userName": name})))
                        .await
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(e) => assert_eq!(e.scim_type(), Some(ScimType::Uniqueness), "{e}"),
            }
        }
        assert_eq!(ok, 1);
    }
);

both!(
    concurrent_member_adds_and_removes_lose_nothing,
    |fx: Fixture| async move {
        let fx = Arc::new(fx);
        let g = fx.create(Group, json!({"displayName": "G"})).await.id;
        let mut users = Vec::new();
        for i in 0..24 {
            users.push(fx.user(&format!("u{i}")).await.id);
        }
        // Phase 1: everyone added concurrently, one PATCH each.
        let tasks: Vec<_> = users
        .iter()
        .map(|u| {
            let (fx, u) = (fx.clone(), *u);
            tokio::spawn(async move {
                let body = json!({"Operations": [{"op": "Add", "path": "members", "value": [{"value": u.to_string()}]}]});
                fx.patch(Group, g, body).await.unwrap();
            })
        })
        .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(fx.dir.all_members(fx.a, g).await.unwrap().len(), 24);
        // Phase 2: remove the even ones while re-adding the odd ones, concurrently.
        let tasks: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let (fx, u) = (fx.clone(), *u);
            let op = if i % 2 == 0 { "Remove" } else { "Add" };
            tokio::spawn(async move {
                let body = json!({"Operations": [{"op": op, "path": "members", "value": [{"value": u.to_string()}]}]});
                fx.patch(Group, g, body).await.unwrap();
            })
        })
        .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let mut got: Vec<_> = fx
            .dir
            .all_members(fx.a, g)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        let mut want: Vec<_> = users
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, u)| *u)
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want);
    }
);

both!(
    concurrent_patches_with_one_expected_version_one_wins_rest_412,
    |fx: Fixture| async move {
        let fx = Arc::new(fx);
        let u = fx.user("race").await;
        let tasks: Vec<_> = (0..8)
        .map(|i| {
            let fx = fx.clone();
            let id = u.id.to_string();
            tokio::spawn(async move {
                let request = scim::patch::PatchRequest::parse(&json!({"Operations": [{"op": "replace", "path": "title", "value": format!("t{i}")}]})).unwrap();
                let mut cmd = fx.command(fx.a, User, Change::Patch { id, request });
                cmd.expected_version = Some(1);
                fx.dir.apply(&cmd).await.unwrap()
            })
        })
        .collect();
        let (mut ok, mut stale) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(e) if e.status() == 412 => stale += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!((ok, stale), (1, 7));
        assert_eq!(
            fx.dir
                .get(fx.a, User, &u.id.to_string(), false, false)
                .await
                .unwrap()
                .version,
            2
        );
    }
);
