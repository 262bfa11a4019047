//! Tenants are islands: no resource of one tenant is visible to, or changeable by, another.

use crate::support::{TestApp, assert_scim_error, patch_op, scim_json};
use pretty_assertions::assert_eq;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn tenants_cannot_see_or_change_each_others_resources() {
    let app = TestApp::spawn().await;
    let (a, b) = (&app.a, &app.b);
    let user = app.create_user(a, "shared.name@example.com").await;
    let group = app.create_group(a, "Shared Name").await;
    let user_path = format!("/Users/{}", user["id"].as_str().unwrap());
    let group_path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let disable = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    let rename = patch_op(json!([{"op": "replace", "path": "displayName", "value": "Taken"}]));

    for path in [&user_path, &group_path] {
        assert_scim_error(app.get(b, path).await, 404, None).await;
        assert_scim_error(app.delete(b, path).await, 404, None).await;
    }
    assert_scim_error(app.patch(b, &user_path, &disable).await, 404, None).await;
    assert_scim_error(app.patch(b, &group_path, &rename).await, 404, None).await;
    let put = json!({"userName": "hijacked"});
    assert_scim_error(app.send(b, Method::PUT, &user_path, &put).await, 404, None).await;

    for list in [
        "/Users",
        "/Groups",
        "/Users?filter=userName+eq+%22shared.name%40example.com%22",
    ] {
        let (_, _, body) = scim_json(app.get(b, list).await).await;
        assert_eq!(body["totalResults"], 0, "{list}");
    }
    let (_, _, root) = scim_json(app.post(b, "/.search", &json!({})).await).await;
    assert_eq!(root["totalResults"], 0);

    // B may use the same names: uniqueness is per tenant.
    let b_user = app.create_user(b, "shared.name@example.com").await;
    assert_ne!(b_user["id"], user["id"]);
    app.create_group(b, "Shared Name").await;
    let (_, _, b_list) = scim_json(app.get(b, "/Users").await).await;
    assert_eq!(b_list["totalResults"], 1);
    assert_eq!(b_list["Resources"][0]["id"], b_user["id"]);

    // A's resources are untouched, and A does not see B's.
    let (_, _, a_user) = scim_json(app.get(a, &user_path).await).await;
    assert_eq!(
        (&a_user["active"], &a_user["meta"]["version"]),
        (&json!(true), &user["meta"]["version"])
    );
    let (_, _, a_group) = scim_json(app.get(a, &group_path).await).await;
    assert_eq!(a_group["displayName"], "Shared Name");
    let (_, _, a_list) = scim_json(app.get(a, "/Users").await).await;
    assert_eq!(a_list["totalResults"], 1);
    assert_eq!(a_list["Resources"][0]["id"], user["id"]);
}

#[tokio::test]
async fn a_tenant_cannot_add_another_tenants_user_to_its_group() {
    let app = TestApp::spawn().await;
    let foreign = app.create_user(&app.b, "foreign").await;
    let group = app.create_group(&app.a, "Mine").await;
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let add =
        patch_op(json!([{"op": "add", "path": "members", "value": [{"value": foreign["id"]}]}]));
    let status = app.patch(&app.a, &path, &add).await.status().as_u16();
    assert!((400..500).contains(&status), "refused, got {status}");
    let (_, _, got) = scim_json(app.get(&app.a, &path).await).await;
    assert!(got.get("members").is_none(), "{got}");
}
