//! Groups as Entra provisions them (ENTRA §5.2): created empty, matched on `displayName`,
//! members added and removed by PATCH (both removal forms), renamed — each PATCH `204` — and
//! `excludedAttributes=members` honoured everywhere.

use crate::support::{TestApp, assert_scim_error, patch_op, scim_json};
use pretty_assertions::assert_eq;
use reqwest::Method;
use serde_json::{Value, json};

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn entra_group_lifecycle_create_match_add_remove_rename_and_exclude_members() {
    let app = TestApp::spawn().await;
    let t = &app.a;
    let u1 = app.create_user(t, "u1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let u2 = app.create_user(t, "u2").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let u3 = app.create_user(t, "u3").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Create, with Entra's extra schema URN and read-only meta.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Sales Team",
        "meta": {"resourceType": "Group"}
    });
    let (status, headers, created) = scim_json(app.post(t, "/Groups", &body).await).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/Groups/{id}");
    assert_eq!(headers["location"], app.url(&t.slug, &path).as_str());
    assert_eq!(
        created["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:Group"])
    );

    // Match, in another case, without members.
    let (_, _, found) = scim_json(
        app.get(
            t,
            "/Groups?excludedAttributes=members&filter=displayName+eq+%22sales+team%22",
        )
        .await,
    )
    .await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], id.as_str());

    // Add several members in one operation ("$ref": null as Entra sends it).
    let add = patch_op(json!([{"op": "Add", "path": "members", "value": [
        {"$ref": null, "value": u1}, {"$ref": null, "value": u2}, {"$ref": null, "value": u3}
    ]}]));
    let res = app.patch(t, &path, &add).await;
    assert_eq!(res.status(), 204);
    assert!(res.headers().get("etag").is_some());
    let (_, headers, group) = scim_json(app.get(t, &path).await).await;
    assert_eq!(
        member_ids(&group),
        sorted(vec![u1.clone(), u2.clone(), u3.clone()])
    );
    assert_eq!(headers["etag"], group["meta"]["version"].as_str().unwrap());
    let first = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["value"] == u1.as_str())
        .unwrap();
    assert_eq!(first["type"], "User");
    assert_eq!(first["$ref"], app.url(&t.slug, &format!("/Users/{u1}")));

    // Remove, default Entra form: only the listed members go.
    let remove = patch_op(json!([{"op": "Remove", "path": "members", "value": [{"value": u1}]}]));
    assert_eq!(app.patch(t, &path, &remove).await.status(), 204);
    let (_, _, group) = scim_json(app.get(t, &path).await).await;
    assert_eq!(member_ids(&group), sorted(vec![u2.clone(), u3.clone()]));

    // Remove, aadOptscim062020 form.
    let remove = patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{u2}\"]")}]));
    assert_eq!(app.patch(t, &path, &remove).await.status(), 204);
    let (_, _, group) = scim_json(app.get(t, &path).await).await;
    assert_eq!(member_ids(&group), vec![u3.clone()]);

    // Rename.
    let rename = patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}]));
    assert_eq!(app.patch(t, &path, &rename).await.status(), 204);

    // With and without members.
    let (_, _, full) = scim_json(app.get(t, &path).await).await;
    assert_eq!(full["displayName"], "Sales EMEA");
    assert_eq!(member_ids(&full), vec![u3.clone()]);
    let (_, _, slim) = scim_json(
        app.get(t, &format!("{path}?excludedAttributes=members"))
            .await,
    )
    .await;
    assert!(slim.get("members").is_none(), "members excluded: {slim}");
    assert_eq!(slim["displayName"], "Sales EMEA");
    let (_, _, list) = scim_json(
        app.get(
            t,
            "/Groups?excludedAttributes=members&filter=displayName+eq+%22Sales+EMEA%22",
        )
        .await,
    )
    .await;
    assert_eq!(list["totalResults"], 1);
    assert!(list["Resources"][0].get("members").is_none());
    let (_, _, list) = scim_json(app.get(t, "/Groups").await).await;
    assert_eq!(member_ids(&list["Resources"][0]), vec![u3.clone()]);

    // Delete.
    assert_eq!(app.delete(t, &path).await.status(), 204);
    assert_scim_error(app.get(t, &path).await, 404, None).await;
}

#[tokio::test]
async fn a_group_created_or_replaced_with_members_shows_them_in_the_answer() {
    let app = TestApp::spawn().await;
    let t = &app.a;
    let u1 = app.create_user(t, "m1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let u2 = app.create_user(t, "m2").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"displayName": "Filled", "members": [{"value": u1}, {"value": u2}]});
    let (status, _, created) = scim_json(app.post(t, "/Groups", &body).await).await;
    assert_eq!(status, 201);
    assert_eq!(member_ids(&created), sorted(vec![u1.clone(), u2.clone()]));

    let path = format!("/Groups/{}", created["id"].as_str().unwrap());
    let replacement = json!({"displayName": "Filled", "members": [{"value": u2}]});
    let (status, _, replaced) =
        scim_json(app.send(t, Method::PUT, &path, &replacement).await).await;
    assert_eq!(status, 200);
    assert_eq!(member_ids(&replaced), vec![u2.clone()]);

    let (_, _, slim) = scim_json(
        app.send(
            t,
            Method::PUT,
            &format!("{path}?excludedAttributes=members"),
            &replacement,
        )
        .await,
    )
    .await;
    assert!(slim.get("members").is_none());
}

#[tokio::test]
async fn group_patch_answers_200_with_the_group_when_attributes_are_requested() {
    let app = TestApp::spawn().await;
    let t = &app.a;
    let group = app.create_group(t, "Requested").await;
    let path = format!(
        "/Groups/{}?attributes=displayName",
        group["id"].as_str().unwrap()
    );
    let rename = patch_op(json!([{"op": "replace", "value": {"displayName": "Requested 2"}}]));
    let (status, _, body) = scim_json(app.patch(t, &path, &rename).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["displayName"], "Requested 2");
}

#[tokio::test]
async fn a_duplicate_group_display_name_is_409_uniqueness() {
    let app = TestApp::spawn().await;
    app.create_group(&app.a, "Engineering").await;
    let dup = json!({
        "displayName": "engineering",
        "externalId": "x",
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]
    });
    assert_scim_error(
        app.post(&app.a, "/Groups", &dup).await,
        409,
        Some("uniqueness"),
    )
    .await;
}

#[tokio::test]
async fn a_user_lists_the_groups_it_belongs_to_unless_excluded() {
    let app = TestApp::spawn().await;
    let t = &app.a;
    let user = app.create_user(t, "grouped").await;
    let uid = user["id"].as_str().unwrap();
    let group = app.create_group(t, "Readers").await;
    let gid = group["id"].as_str().unwrap();
    let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]));
    assert_eq!(
        app.patch(t, &format!("/Groups/{gid}"), &add).await.status(),
        204
    );
    // `groups` follows the asynchronous fan-out (no relay runs here: play it in-process).
    app.dir.drain_fanout_inline().await.unwrap();
    let (_, _, got) = scim_json(app.get(t, &format!("/Users/{uid}")).await).await;
    assert_eq!(got["groups"][0]["value"], gid);
    assert_eq!(got["groups"][0]["display"], "Readers");
    assert_eq!(
        got["groups"][0]["$ref"],
        app.url(&t.slug, &format!("/Groups/{gid}"))
    );
    let (_, _, slim) = scim_json(
        app.get(t, &format!("/Users/{uid}?excludedAttributes=groups"))
            .await,
    )
    .await;
    assert!(slim.get("groups").is_none());
}
