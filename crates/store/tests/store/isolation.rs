//! Tenant isolation: tenant B's context can neither read nor change tenant A's rows, even
//! with A's ids.

use crate::both;
use crate::support::*;
use scim::schema::ResourceKind::{Group, User};
use scim_store::{Change, ListRequest};
use serde_json::json;

both!(
    another_tenants_ids_are_404_for_every_operation,
    |fx: Fixture| async move {
        let u = fx.user("secret@a.com").await;
        let g = fx.create(Group, json!({"displayName": "A-only"})).await;
        let (uid, gid) = (u.id.to_string(), g.id.to_string());
        assert_eq!(
            status_of(
                fx.dir
                    .get(fx.b, User, &uid, false, false)
                    .await
                    .unwrap_err()
            ),
            404
        );
        assert!(fx.dir.get(fx.b, Group, &gid, true, false).await.is_err());
        assert!(fx.dir.members_page(fx.b, &gid, None, 10).await.is_err());
        let patch = scim::patch::PatchRequest::parse(
            &json!({"Operations": [{"op": "replace", "path": "title", "value": "pwned"}]}),
        )
        .unwrap();
        assert_eq!(
            fx.run(
                fx.b,
                User,
                Change::Patch {
                    id: uid.clone(),
                    request: patch
                }
            )
            .await
            .unwrap_err()
            .status(),
            404
        );
        assert_eq!(
            fx.run(
                fx.b,
                User,
                Change::Replace {
                    id: uid.clone(),
                    body: json!({"userName": "x"})
                }
            )
            .await
            .unwrap_err()
            .status(),
            404
        );
        assert_eq!(
            fx.run(fx.b, User, Change::Delete { id: uid.clone() })
                .await
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            fx.run(fx.b, Group, Change::Delete { id: gid.clone() })
                .await
                .unwrap_err()
                .status(),
            404
        );
        // B cannot make A's user a member of B's group either.
        let bg = fx.create_in(fx.b, Group, json!({"displayName": "B"})).await;
        let add = scim::patch::PatchRequest::parse(
            &json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]}),
        )
        .unwrap();
        assert_eq!(
            fx.run(
                fx.b,
                Group,
                Change::Patch {
                    id: bg.id.to_string(),
                    request: add
                }
            )
            .await
            .unwrap_err()
            .status(),
            400
        );
        for filter in [
            format!("id eq \"{uid}\""),
            "userName eq \"secret@a.com\"".to_owned(),
            "userName pr".to_owned(),
        ] {
            let req = ListRequest {
                filter: Some(scim::filter::parse(&filter).unwrap()),
                count: 10,
                ..Default::default()
            };
            assert_eq!(
                fx.dir.list(fx.b, User, &req).await.unwrap().total_results,
                0,
                "{filter}"
            );
        }
        // A still sees its data untouched.
        assert_eq!(
            fx.dir
                .get(fx.a, User, &u.id.to_string(), false, false)
                .await
                .unwrap()
                .version,
            1
        );
    }
);
