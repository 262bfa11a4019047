//! The user lifecycle as Entra and Okta run it: Test Connection, match, create, update,
//! disable, delete.

use crate::support::{TestApp, assert_scim_error, patch_op, scim_json};
use pretty_assertions::assert_eq;
use reqwest::Method;
use serde_json::{Value, json};

/// ENTRA §5.1 "Create User", verbatim.
fn entra_user(user_name: &str) -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": user_name,
        "active": true,
        "emails": [{
            "primary": true,
            "type": "work",
            "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
        }],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName"
        },
        "roles": []
    })
}

const USER_NAME: &str = "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee";

#[tokio::test]
async fn entra_test_connection_probes_get_200_and_an_empty_list_response() {
    let app = TestApp::spawn().await;
    let probe = "/Users?filter=userName+eq+%227e3b6f0e-5a1c-4f0e-9a57-3c1c2d4e5f60%22";
    let (status, _, body) = scim_json(app.get(&app.a, probe).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []
        })
    );
    let group_probe =
        "/Groups?excludedAttributes=members&filter=displayName+eq+%227e3b6f0e-5a1c%22";
    let (status, _, body) = scim_json(app.get(&app.a, group_probe).await).await;
    assert_eq!((status, &body["totalResults"]), (200, &json!(0)));
    assert_eq!(body["Resources"], json!([]));
}

#[tokio::test]
async fn entra_creates_a_user_and_gets_201_with_id_location_etag_and_absolute_meta_location() {
    let app = TestApp::spawn().await;
    let res = app.post(&app.a, "/Users", &entra_user(USER_NAME)).await;
    let (status, headers, body) = scim_json(res).await;
    assert_eq!(status, 201);
    let id = body["id"].as_str().expect("id");
    let location = app.url(&app.a.slug, &format!("/Users/{id}"));
    assert_eq!(body["meta"]["location"], location);
    assert!(location.starts_with("http://127.0.0.1:"));
    assert_eq!(headers["location"], location.as_str());
    assert_eq!(headers["etag"], body["meta"]["version"].as_str().unwrap());
    assert_eq!(body["meta"]["resourceType"], "User");
    assert_eq!(body["userName"], USER_NAME);
    assert_eq!(body["externalId"], "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    assert_eq!(body["active"], true);
    assert_eq!(
        body["emails"],
        json!([{"primary": true, "type": "work", "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}])
    );
    assert_eq!(body["name"]["givenName"], "givenName");
    assert!(body.get("roles").is_none(), "empty roles are absent");
}

#[tokio::test]
async fn creating_a_duplicate_user_name_in_another_case_is_409_uniqueness() {
    let app = TestApp::spawn().await;
    app.post(&app.a, "/Users", &entra_user(USER_NAME)).await;
    let res = app
        .post(&app.a, "/Users", &entra_user(&USER_NAME.to_uppercase()))
        .await;
    assert_scim_error(res, 409, Some("uniqueness")).await;
}

#[tokio::test]
async fn entra_matches_a_user_by_user_name_case_insensitively_and_by_external_id() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&app.a, "Alice@Contoso.com").await;
    app.create_user(&app.a, "bob@contoso.com").await;
    for query in [
        "/Users?filter=userName+eq+%22alice%40contoso.com%22",
        "/Users?filter=userName%20eq%20%22ALICE%40CONTOSO.COM%22&startIndex=1&count=100",
        "/Users?filter=UserName+EQ+%22Alice%40Contoso.com%22&aadOptscim062020",
    ] {
        let (status, _, body) = scim_json(app.get(&app.a, query).await).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(body["totalResults"], 1, "{query}");
        assert_eq!(body["itemsPerPage"], 1);
        assert_eq!(body["Resources"][0]["id"], created["id"], "{query}");
        assert_eq!(
            body["Resources"][0]["userName"], "Alice@Contoso.com",
            "stored as sent"
        );
    }
    let ext = app.post(&app.a, "/Users", &entra_user("carol")).await;
    assert_eq!(ext.status(), 201);
    let (_, _, body) = scim_json(
        app.get(
            &app.a,
            "/Users?filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22",
        )
        .await,
    )
    .await;
    assert_eq!(body["totalResults"], 1);
    assert_eq!(body["Resources"][0]["userName"], "carol");
}

#[tokio::test]
async fn get_by_id_returns_the_user_with_its_etag_and_unknown_ids_are_404() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&app.a, "dave").await;
    let id = created["id"].as_str().unwrap();
    let (status, headers, body) = scim_json(app.get(&app.a, &format!("/Users/{id}")).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], id);
    assert_eq!(body["userName"], "dave");
    assert_eq!(
        headers["etag"],
        created["meta"]["version"].as_str().unwrap()
    );
    for missing in [
        "/Users/00000000-0000-7000-8000-000000000000",
        "/Users/not-a-uuid",
    ] {
        assert_scim_error(app.get(&app.a, missing).await, 404, None).await;
    }
    // A client holding the current version may skip the body (RFC 7644 §3.14).
    let res = app
        .req(&app.a, Method::GET, &format!("/Users/{id}"))
        .header("If-None-Match", headers["etag"].to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
}

#[tokio::test]
async fn entra_disables_a_user_with_the_string_false_and_the_user_stays_visible() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&app.a, "erin").await;
    let id = created["id"].as_str().unwrap();
    let res = app
        .patch(
            &app.a,
            &format!("/Users/{id}"),
            &patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    let (status, headers, body) = scim_json(res).await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], false);
    assert_eq!(headers["etag"], body["meta"]["version"].as_str().unwrap());
    assert_ne!(body["meta"]["version"], created["meta"]["version"]);
    // Soft-deleted users are still returned by GET and by the matching query (ENTRA §1.10).
    let (_, _, got) = scim_json(app.get(&app.a, &format!("/Users/{id}")).await).await;
    assert_eq!(got["active"], false);
    let (_, _, list) = scim_json(
        app.get(&app.a, "/Users?filter=userName+eq+%22erin%22")
            .await,
    )
    .await;
    assert_eq!(list["totalResults"], 1);
}

#[tokio::test]
async fn entra_multi_attribute_patch_updates_value_paths_and_extension_attributes() {
    let app = TestApp::spawn().await;
    let created = app.post(&app.a, "/Users", &entra_user("frank")).await;
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = patch_op(json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@test.microsoft.com"},
        {"op": "replace", "value": {
            "displayName": "Frank F",
            "name.givenName": "Frankie",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42"}}
    ]));
    let (status, _, user) =
        scim_json(app.patch(&app.a, &format!("/Users/{id}"), &body).await).await;
    assert_eq!(status, 200);
    assert_eq!(user["emails"][0]["value"], "new@test.microsoft.com");
    assert_eq!(user["displayName"], "Frank F");
    assert_eq!(user["name"]["givenName"], "Frankie");
    assert_eq!(
        user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
        "42"
    );
}

#[tokio::test]
async fn patch_with_a_stale_if_match_is_412_and_with_a_current_one_applies() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&app.a, "gina").await;
    let id = created["id"].as_str().unwrap();
    let v1 = created["meta"]["version"].as_str().unwrap().to_owned();
    let disable = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    let path = format!("/Users/{id}");
    let send = |etag: String| {
        app.req(&app.a, Method::PATCH, &path)
            .header("Content-Type", "application/scim+json")
            .header("If-Match", etag)
            .body(disable.to_string())
            .send()
    };
    let res = send(v1.clone()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_scim_error(send(v1.clone()).await.unwrap(), 412, None).await;
    // Several tags: the one matching the current version is taken; none matching is 412.
    let current = scim_json(app.get(&app.a, &path).await).await.2["meta"]["version"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        send(format!("{v1}, {current}")).await.unwrap().status(),
        200
    );
    assert_scim_error(send(format!("{v1}, W/\"999\"")).await.unwrap(), 412, None).await;
    assert_eq!(send("*".to_owned()).await.unwrap().status(), 200);
    assert_scim_error(
        send("W/\"3".to_owned()).await.unwrap(),
        400,
        Some("invalidSyntax"),
    )
    .await;
}

#[tokio::test]
async fn delete_is_204_then_the_user_is_gone() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&app.a, "hank").await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let res = app.delete(&app.a, &path).await;
    assert_eq!(res.status(), 204);
    assert!(res.bytes().await.unwrap().is_empty());
    assert_scim_error(app.get(&app.a, &path).await, 404, None).await;
    assert_scim_error(app.delete(&app.a, &path).await, 404, None).await;
    let (_, _, list) = scim_json(
        app.get(&app.a, "/Users?filter=userName+eq+%22hank%22")
            .await,
    )
    .await;
    assert_eq!(list["totalResults"], 0);
}

#[tokio::test]
async fn okta_creates_with_a_password_updates_with_put_and_deactivates_with_a_pathless_replace() {
    let app = TestApp::spawn().await;
    let okta_user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "isabelle@okta.local",
        "name": {"givenName": "Isabelle", "familyName": "Ivy"},
        "emails": [{"primary": true, "value": "isabelle@okta.local", "type": "work"}],
        "displayName": "Isabelle Ivy",
        "locale": "en-US",
        "password": "t1meMa$heen",
        "groups": [],
        "active": true
    });
    let (status, _, created) = scim_json(app.post(&app.a, "/Users", &okta_user).await).await;
    assert_eq!(status, 201);
    assert!(
        created.get("password").is_none(),
        "passwords are never returned"
    );
    let path = format!("/Users/{}", created["id"].as_str().unwrap());

    let mut replacement = created.clone();
    replacement["displayName"] = json!("Isabelle I. Ivy");
    replacement["name"]["familyName"] = json!("Ivy-Smith");
    let (status, headers, put) =
        scim_json(app.send(&app.a, Method::PUT, &path, &replacement).await).await;
    assert_eq!(status, 200);
    assert_eq!(put["displayName"], "Isabelle I. Ivy");
    assert_eq!(put["name"]["familyName"], "Ivy-Smith");
    assert_eq!(headers["etag"], put["meta"]["version"].as_str().unwrap());
    assert!(headers.get("location").is_none(), "Location only on 201");

    let deactivate = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
    let (status, _, patched) = scim_json(app.patch(&app.a, &path, &deactivate).await).await;
    assert_eq!(status, 200);
    assert_eq!(patched["active"], false);
    assert_eq!(patched["displayName"], "Isabelle I. Ivy");
}

#[tokio::test]
async fn okta_pages_users_with_integer_paging_fields_and_a_stable_order() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        app.create_user(&app.a, &format!("user{i}@okta.local"))
            .await;
    }
    let (status, _, first) = scim_json(app.get(&app.a, "/Users?count=2&startIndex=1").await).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            &first["totalResults"],
            &first["itemsPerPage"],
            &first["startIndex"]
        ),
        (&json!(5), &json!(2), &json!(1))
    );
    let (_, _, second) = scim_json(app.get(&app.a, "/Users?startIndex=3&count=2").await).await;
    assert_eq!(second["startIndex"], 3);
    let ids = |page: &Value| -> Vec<String> {
        page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (a, b) = (ids(&first), ids(&second));
    assert_eq!((a.len(), b.len()), (2, 2));
    assert!(a.iter().all(|id| !b.contains(id)), "pages do not overlap");
    let (_, _, count_only) = scim_json(app.get(&app.a, "/Users?count=0").await).await;
    assert_eq!(
        (&count_only["totalResults"], &count_only["Resources"]),
        (&json!(5), &json!([]))
    );
}

#[tokio::test]
async fn attributes_and_excluded_attributes_shape_get_list_and_write_responses() {
    let app = TestApp::spawn().await;
    let res = app
        .post(&app.a, "/Users?attributes=userName", &entra_user("jack"))
        .await;
    let (status, _, created) = scim_json(res).await;
    assert_eq!(status, 201);
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["schemas", "id", "userName"]);
    let id = created["id"].as_str().unwrap();

    let (_, _, got) = scim_json(
        app.get(
            &app.a,
            &format!("/Users/{id}?excludedAttributes=emails,name"),
        )
        .await,
    )
    .await;
    assert!(got.get("emails").is_none() && got.get("name").is_none());
    assert_eq!(got["userName"], "jack");

    let (_, _, list) = scim_json(app.get(&app.a, "/Users?attributes=emails.value").await).await;
    assert_eq!(
        list["Resources"][0]["emails"],
        json!([{"value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}])
    );
    assert!(list["Resources"][0].get("userName").is_none());

    let patch = patch_op(json!([{"op": "replace", "path": "displayName", "value": "Jack"}]));
    let (_, _, patched) = scim_json(
        app.patch(
            &app.a,
            &format!("/Users/{id}?attributes=displayName"),
            &patch,
        )
        .await,
    )
    .await;
    assert_eq!(patched["displayName"], "Jack");
    assert!(patched.get("userName").is_none());
}

/// Names that start with a multi-byte character are refused or ignored like any unknown name
/// — they once cut a string inside a character and panicked (found by the differential fuzzer).
#[tokio::test]
async fn multibyte_attribute_names_get_a_scim_answer_not_a_panic() {
    let app = TestApp::spawn().await;
    let user = app.create_user(&app.a, "multibyte").await;
    let id = user["id"].as_str().unwrap();
    for query in [
        "excludedAttributes=%22%F0%9F%87%AB%F0%9F%87%B7%22",
        "attributes=%E2%82%AC%E2%82%AC",
    ] {
        let res = app.get(&app.a, &format!("/Users/{id}?{query}")).await;
        assert!(res.status().as_u16() < 500, "{query}: {}", res.status());
    }
    let res = app
        .post(
            &app.a,
            "/Users",
            &json!({"userName": "euro", "€€": {"x": 1}}),
        )
        .await;
    assert!(res.status().as_u16() < 500, "{}", res.status());
}
