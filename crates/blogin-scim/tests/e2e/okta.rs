//! Okta's flows (ENTRA §12): existence check with `%20` and paging parameters, create with
//! a password and `groups: []`, full-resource PUT updates, path-less deactivation, paging.

use crate::support::{Cluster, Deployment, Scim, Serve, patch_op};
use serde_json::json;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_okta_flows() {
    let serve = Serve::start().await;
    okta_flows(&serve).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn distributed_roles_answer_okta_flows() {
    let cluster = Cluster::start(1).await;
    okta_flows(&cluster).await;
}

async fn okta_flows(d: &impl Deployment) {
    let scim = Scim::new(&d.create_tenant("okta-org"));
    let check = scim
        .get("/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100")
        .await;
    assert_eq!(check.status, 200);
    assert_eq!(check.body["totalResults"], 0);
    assert_eq!(check.body["startIndex"], 1);

    let created = scim
        .post(
            "/Users",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "test.user@okta.local",
                "name": {"givenName": "Test", "familyName": "User"},
                "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
                "displayName": "Test User",
                "locale": "en-US",
                "externalId": "00ujl29u0le5T6Aj10h7",
                "groups": [],
                "password": "1mz050nq",
                "active": true
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert!(
        created.body.get("password").is_none(),
        "passwords are never returned"
    );
    let id = created.body["id"].as_str().unwrap().to_owned();

    // PUT with the full resource after a GET.
    let mut full = scim.get(&format!("/Users/{id}")).await.body;
    full["name"]["familyName"] = json!("Renamed");
    full["displayName"] = json!("Test Renamed");
    let put = scim.put(&format!("/Users/{id}"), &full).await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_eq!(put.body["name"]["familyName"], "Renamed");
    assert_eq!(put.body["id"], id.as_str());

    // Path-less deactivate.
    let off = scim
        .patch(
            &format!("/Users/{id}"),
            &patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(off.status, 200);
    assert_eq!(off.body["active"], false);

    // Paging: integers, a non-empty first page, a stable order.
    for i in 0..4 {
        let r = scim
            .post(
                "/Users",
                &json!({"userName": format!("page{i}@okta.local"), "active": true}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let page1 = scim.get("/Users?count=2&startIndex=1").await;
    assert_eq!(page1.body["itemsPerPage"], 2);
    assert_eq!(page1.body["totalResults"], 5);
    let page2 = scim.get("/Users?count=2&startIndex=3").await;
    assert_eq!(page2.body["startIndex"], 3);
    let ids: Vec<_> = page1.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2.body["Resources"].as_array().unwrap())
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "pages overlap: {ids:?}");
    assert_eq!(scim.get("/Groups?count=100&startIndex=1").await.status, 200);

    let missing = scim.get(&format!("/Users/{}", Uuid::new_v4())).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["status"], "404");
    assert!(missing.body["detail"].is_string());
}
