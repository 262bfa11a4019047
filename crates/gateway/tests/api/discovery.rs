//! `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes` as Entra reads them (ENTRA §3).

use crate::support::{StoreCommands, TestApp, assert_scim_error, scim_json};
use pretty_assertions::assert_eq;
use scim_gateway::GatewayConfig;
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn service_provider_config_advertises_the_configured_limits_and_tenant_location() {
    let config = GatewayConfig {
        max_results: 50,
        max_body_bytes: 4096,
        public_url: Some("https://scim.example.com/".into()),
        ..GatewayConfig::default()
    };
    let app = TestApp::spawn_with(config, |ch| Arc::new(StoreCommands::new(ch))).await;
    let (status, _, doc) = scim_json(app.get(&app.a, "/ServiceProviderConfig").await).await;
    assert_eq!(status, 200);
    assert_eq!(doc["filter"], json!({"supported": true, "maxResults": 50}));
    assert_eq!(doc["bulk"]["maxPayloadSize"], 4096);
    assert_eq!(doc["patch"]["supported"], true);
    assert_eq!(doc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(
        doc["meta"]["location"],
        format!(
            "https://scim.example.com/scim/v2/{}/ServiceProviderConfig",
            app.a.slug
        )
    );
    // The page cap is enforced, not only advertised.
    for i in 0..3 {
        app.create_user(&app.a, &format!("cap{i}")).await;
    }
    let (_, _, list) = scim_json(app.get(&app.a, "/Users?count=1000").await).await;
    assert_eq!(list["itemsPerPage"], 3);
    let user = &list["Resources"][0];
    assert!(
        user["meta"]["location"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "https://scim.example.com/scim/v2/{}/Users/",
                app.a.slug
            ))
    );
}

#[tokio::test]
async fn schemas_and_resource_types_are_list_responses_and_single_documents_by_id() {
    let app = TestApp::spawn().await;
    let (status, _, schemas) = scim_json(app.get(&app.a, "/Schemas").await).await;
    assert_eq!(status, 200);
    assert_eq!(
        schemas["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(schemas["totalResults"], 3);
    let (_, _, user) = scim_json(
        app.get(
            &app.a,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        )
        .await,
    )
    .await;
    assert_eq!(user["id"], "urn:ietf:params:scim:schemas:core:2.0:User");
    assert_eq!(
        user["meta"]["location"],
        app.url(
            &app.a.slug,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"
        )
    );
    assert_scim_error(app.get(&app.a, "/Schemas/urn:nope").await, 404, None).await;

    let (_, _, types) = scim_json(app.get(&app.a, "/ResourceTypes").await).await;
    assert_eq!(types["totalResults"], 2);
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    let (_, _, group) = scim_json(app.get(&app.a, "/ResourceTypes/Group").await).await;
    assert_eq!(
        group["schema"],
        "urn:ietf:params:scim:schemas:core:2.0:Group"
    );
    assert_scim_error(app.get(&app.a, "/ResourceTypes/Printer").await, 404, None).await;
}
