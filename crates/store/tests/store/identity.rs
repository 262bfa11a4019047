//! Identity strings and hostile text: look-alike names are one name (`409`), invisible and
//! control characters are refused (`400`), and both databases answer every case the same —
//! PostgreSQL cannot store U+0000, so it must never reach it.

use crate::both;
use crate::support::{Fixture, status_of};
use scim::schema::ResourceKind::{Group, User};
use scim_store::Change;
use serde_json::json;

/// The status a create gets (201 when applied).
async fn create_status(
    fx: &Fixture,
    kind: scim::schema::ResourceKind,
    body: serde_json::Value,
) -> u16 {
    match fx
        .dir
        .apply(&fx.command(fx.a, kind, Change::Create(body)))
        .await
    {
        Ok(Ok(_)) => 201,
        Ok(Err(e)) => e.status(),
        Err(e) => status_of(e),
    }
}

both!(
    look_alike_user_names_and_group_names_are_one_name,
    |fx: Fixture| async move {
        for (first, look_alike) in [
            ("straße@example.com", "STRASSE@example.com"),
            ("\u{e9}lodie@example.com", "e\u{301}lodie@example.com"),
            ("john@example.com", "ｊｏｈｎ@example.com"),
            ("ﬁnn@example.com", "FINN@example.com"),
        ] {
            assert_eq!(
                create_status(&fx, User, json!({"userName": first})).await,
                201,
                "{first}"
            );
            assert_eq!(
                create_status(&fx, User, json!({"userName": look_alike})).await,
                409,
                "{look_alike} looks like {first}"
            );
        }
        assert_eq!(
            create_status(&fx, Group, json!({"displayName": "Straße"})).await,
            201
        );
        assert_eq!(
            create_status(&fx, Group, json!({"displayName": "STRASSE"})).await,
            409
        );
        // And a filter finds the account by any spelling, as Entra's lookup before a create must.
        let page = fx
            .dir
            .list(
                fx.a,
                User,
                &scim_store::ListRequest {
                    filter: Some(
                        scim::filter::parse(r#"userName eq "STRASSE@EXAMPLE.COM""#).unwrap(),
                    ),
                    start_index: 1,
                    count: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total_results, 1);
    }
);

both!(
    invisible_control_and_padded_identity_strings_are_refused_alike,
    |fx: Fixture| async move {
        for bad in [
            "nul\u{0}@example.com",
            "zero\u{200b}width@example.com",
            "bidi\u{202e}moc.elpmaxe@x",
            "trailing@example.com ",
            " leading@example.com",
            "bom\u{feff}@example.com",
        ] {
            assert_eq!(
                create_status(&fx, User, json!({"userName": bad})).await,
                400,
                "{bad:?}"
            );
            assert_eq!(
                create_status(&fx, Group, json!({"displayName": bad})).await,
                400,
                "{bad:?}"
            );
        }
        // Any attribute: NUL and terminal escapes are refused (PostgreSQL gave 500 for NUL).
        for body in [
            json!({"userName": "ok1@example.com", "title": "a\u{0}b"}),
            json!({"userName": "ok2@example.com", "name": {"givenName": "\u{1b}[31mred"}}),
            json!({"userName": "ok3@example.com", "externalId": "x".repeat(4_000)}),
            json!({"userName": "y".repeat(100_000)}),
        ] {
            assert_eq!(
                create_status(&fx, User, body.clone()).await,
                400,
                "{body:.80}"
            );
        }
        // A PATCH that would store one is refused the same way, and changes nothing.
        let u = fx.user("patched@example.com").await;
        let out = fx
            .patch(
                User,
                u.id,
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "displayName", "value": "x\u{0}"}]}),
            )
            .await;
        assert_eq!(out.unwrap_err().status(), 400);
        // Line breaks in a formatted address are fine.
        assert_eq!(
            create_status(
                &fx,
                User,
                json!({"userName": "addr@example.com", "addresses": [{"formatted": "1 Main St\nSpringfield"}]})
            )
            .await,
            201
        );
    }
);

both!(
    attribute_values_and_resource_size_are_bounded_but_group_members_are_not,
    |fx: Fixture| async move {
        let emails: Vec<serde_json::Value> = (0..251)
            .map(|i| json!({"value": format!("many{i}@example.com")}))
            .collect();
        assert_eq!(
            create_status(
                &fx,
                User,
                json!({"userName": "many@example.com", "emails": emails})
            )
            .await,
            400
        );
        let huge = json!({"userName": "huge@example.com", "title": "t".repeat(16_000),
            "nickName": "n".repeat(16_000), "displayName": "d".repeat(16_000),
            "profileUrl": "p".repeat(16_000), "locale": "l".repeat(16_000)});
        assert_eq!(create_status(&fx, User, huge).await, 400);
        // Members are rows of their own: a group of 1,000 is fine.
        let mut members = Vec::new();
        for i in 0..1_000 {
            members
                .push(json!({"value": fx.user(&format!("m{i}@example.com")).await.id.to_string()}));
        }
        assert_eq!(
            create_status(
                &fx,
                Group,
                json!({"displayName": "Everyone", "members": members})
            )
            .await,
            201
        );
    }
);
