//! Create / get / replace / PATCH / delete, versions, If-Match, uniqueness, idempotency and the
//! provisioning log.

use crate::both;
use crate::support::*;
use scim::ScimType;
use scim::schema::ResourceKind::{Group, User};
use scim_store::{Applied, Change, LogQuery};
use serde_json::json;

both!(
    created_user_reads_back_exactly_as_sent,
    |fx: Fixture| async move {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "0a21f0f2", "userName": "Test_User@Example.com", "active": "True",
            "emails": [{"primary": true, "type": "work", "value": "Test_User@testuser.com"}],
            "meta": {"resourceType": "User"}, "name": {"familyName": "Fam", "givenName": "Giv"}, "roles": []
        });
        let created = fx.create(User, body).await;
        assert_eq!(created.version, 1);
        let got = fx
            .dir
            .get(fx.a, User, &created.id.to_string(), false, false)
            .await
            .unwrap();
        assert_eq!(got.body["userName"], "Test_User@Example.com");
        assert_eq!(
            got.body["active"], true,
            "boolean strings are stored as JSON booleans"
        );
        assert_eq!(got.body["emails"][0]["value"], "Test_User@testuser.com");
        assert!(got.body.get("meta").is_none() && got.body.get("roles").is_none());
        assert_eq!(got.created, created.created);
    }
);

both!(
    duplicate_user_name_in_another_case_is_409_uniqueness,
    |fx: Fixture| async move {
        fx.user("alice@example.com").await;
        let err = fx
            .run(
                fx.a,
                User,
                Change::Create(json!({"userName": "ALICE@Example.COM"})),
            )
            .await
            .unwrap_err();
        assert_eq!(
            (err.status(), err.scim_type()),
            (409, Some(ScimType::Uniqueness))
        );
        // Another tenant may use the same userName.
        fx.create_in(fx.b, User, json!({"userName": "alice@example.com"}))
            .await;
    }
);

both!(
    duplicate_group_display_name_is_409,
    |fx: Fixture| async move {
        fx.create(Group, json!({"displayName": "Engineering"}))
            .await;
        let err = fx
            .run(
                fx.a,
                Group,
                Change::Create(json!({"displayName": "engineering"})),
            )
            .await
            .unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::Uniqueness));
    }
);

both!(
    patch_bumps_version_and_a_noop_patch_does_not,
    |fx: Fixture| async move {
        let u = fx.user("bob").await;
        let disable = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
        let after = resource(fx.patch(User, u.id, disable.clone()).await);
        assert_eq!(
            (after.version, after.body["active"].clone()),
            (2, json!(false))
        );
        match fx.patch(User, u.id, disable).await.unwrap() {
            Applied::Resource { resource, changed } => assert!(!changed && resource.version == 2),
            other => panic!("{other:?}"),
        }
    }
);

both!(
    stale_if_match_is_412_and_current_one_applies,
    |fx: Fixture| async move {
        let u = fx.user("carol").await;
        let req = scim::patch::PatchRequest::parse(
            &json!({"Operations": [{"op": "replace", "path": "title", "value": "x"}]}),
        )
        .unwrap();
        let mut cmd = fx.command(
            fx.a,
            User,
            Change::Patch {
                id: u.id.to_string(),
                request: req,
            },
        );
        cmd.expected_version = Some(7);
        let err = fx.dir.apply(&cmd).await.unwrap().unwrap_err();
        assert_eq!(err.status(), 412);
        cmd.id = uuid::Uuid::new_v4().to_string();
        cmd.expected_version = Some(1);
        assert_eq!(resource(fx.dir.apply(&cmd).await.unwrap()).version, 2);
    }
);

both!(
    replace_validates_and_replaces_the_whole_body,
    |fx: Fixture| async move {
        let u = fx
            .create(
                User,
                json!({"userName": "dave", "title": "t", "nickName": "d"}),
            )
            .await;
        let out = fx
            .run(
                fx.a,
                User,
                Change::Replace {
                    id: u.id.to_string(),
                    body: json!({"userName": "dave", "title": "t2"}),
                },
            )
            .await;
        let r = resource(out);
        assert_eq!(r.body, json!({"userName": "dave", "title": "t2"}));
        let err = fx
            .run(
                fx.a,
                User,
                Change::Replace {
                    id: u.id.to_string(),
                    body: json!({"title": "no userName"}),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
    }
);

both!(
    delete_then_get_is_404_and_second_delete_is_404,
    |fx: Fixture| async move {
        let u = fx.user("erin").await;
        let id = u.id.to_string();
        assert_eq!(
            fx.run(fx.a, User, Change::Delete { id: id.clone() }).await,
            Ok(Applied::Deleted)
        );
        assert_eq!(
            status_of(fx.dir.get(fx.a, User, &id, false, false).await.unwrap_err()),
            404
        );
        assert_eq!(
            fx.run(fx.a, User, Change::Delete { id })
                .await
                .unwrap_err()
                .status(),
            404
        );
    }
);

both!(
    same_command_id_twice_returns_the_first_outcome_and_changes_nothing,
    |fx: Fixture| async move {
        let cmd = fx.command(fx.a, User, Change::Create(json!({"userName": "frank"})));
        let first = fx.dir.apply(&cmd).await.unwrap();
        let second = fx.dir.apply(&cmd).await.unwrap();
        assert_eq!(first, second);
        let page = fx
            .dir
            .list(
                fx.a,
                User,
                &scim_store::ListRequest {
                    count: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total_results, 1);
        // Refusals are replayed too.
        let dup = fx.command(fx.a, User, Change::Create(json!({"userName": "FRANK"})));
        let e1 = fx.dir.apply(&dup).await.unwrap().unwrap_err();
        assert_eq!(fx.dir.apply(&dup).await.unwrap().unwrap_err(), e1);
    }
);

both!(
    every_write_appends_a_provisioning_log_row,
    |fx: Fixture| async move {
        let u = fx.user("gina").await;
        let _ = fx
            .run(fx.a, User, Change::Create(json!({"userName": "GINA"})))
            .await;
        let rows = fx.dir.query_log(fx.a, &LogQuery::default()).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert!(
            !rows[0].success
                && rows[0].status == 409
                && rows[0].scim_type.as_deref() == Some("uniqueness")
        );
        assert!(
            rows[1].success && rows[1].resource_id.as_deref() == Some(u.id.to_string().as_str())
        );
        let failures = fx
            .dir
            .query_log(
                fx.a,
                &LogQuery {
                    success: Some(false),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(failures.len(), 1);
        assert!(
            fx.dir
                .query_log(fx.b, &LogQuery::default())
                .await
                .unwrap()
                .is_empty()
        );
    }
);

both!(
    a_refusal_quoting_a_nul_is_logged_on_both_databases,
    |fx: Fixture| async move {
        // The refusal's detail quotes the bad member value; PostgreSQL text cannot hold the
        // NUL in it, so it is escaped before it reaches the provisioning log.
        let cmd = fx.command(
            fx.a,
            Group,
            Change::Create(json!({"displayName": "nul", "members": [{"value": "x\u{0}"}]})),
        );
        let refused = fx.dir.apply(&cmd).await.unwrap().unwrap_err();
        assert_eq!(refused.status(), 400);
        assert!(!refused.detail().contains('\u{0}'));
    }
);

both!(
    total_results_is_exact_on_every_page_whether_counted_or_derived,
    |fx: Fixture| async move {
        for i in 0..5 {
            fx.user(&format!("page{i}@example.com")).await;
        }
        fx.create_in(fx.b, User, json!({"userName": "other@example.com"}))
            .await;
        // (startIndex, count) → (totalResults, resources on the page)
        let cases = [
            ((1, 10), (5, 5)),
            ((3, 10), (5, 3)),
            ((5, 10), (5, 1)),
            ((6, 10), (5, 0)),
            ((60, 10), (5, 0)),
            ((1, 0), (5, 0)),
            ((1, 5), (5, 5)),
            ((2, 2), (5, 2)),
            ((4, 2), (5, 2)),
        ];
        for ((start_index, count), want) in cases {
            let page = fx
                .dir
                .list(
                    fx.a,
                    User,
                    &scim_store::ListRequest {
                        start_index,
                        count,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(
                (page.total_results, page.resources.len() as u64),
                want,
                "startIndex={start_index} count={count}"
            );
        }
    }
);
