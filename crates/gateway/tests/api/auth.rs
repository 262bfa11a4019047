//! Authentication: one `401` for every way of not being the tenant, with the bearer challenge;
//! the token cache; a disabled tenant.

use crate::support::{Tenant, TestApp, assert_scim_error, scim_json};
use pretty_assertions::assert_eq;
use reqwest::Method;
use scim_gateway::GatewayConfig;
use scim_store::Directory;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn every_way_of_not_being_the_tenant_gets_the_identical_401_with_the_bearer_challenge() {
    let app = TestApp::spawn().await;
    let a = &app.a;
    let url = |slug: &str, path: &str| app.url(slug, path);
    let requests = vec![
        ("no Authorization", app.http.get(url(&a.slug, "/Users"))),
        (
            "wrong token",
            app.http
                .get(url(&a.slug, "/Users"))
                .bearer_auth("not-the-token"),
        ),
        (
            "other scheme",
            app.http
                .get(url(&a.slug, "/Users"))
                .header("Authorization", format!("Basic {}", a.token)),
        ),
        (
            "empty bearer",
            app.http
                .get(url(&a.slug, "/Users"))
                .header("Authorization", "Bearer "),
        ),
        (
            "other tenant's token",
            app.http
                .get(url(&a.slug, "/Users"))
                .bearer_auth(&app.b.token),
        ),
        (
            "unknown tenant, real token",
            app.http
                .get(url("no-such-tenant", "/Users"))
                .bearer_auth(&a.token),
        ),
        (
            "unknown tenant, discovery",
            app.http
                .get(url("no-such-tenant", "/ServiceProviderConfig"))
                .bearer_auth("x"),
        ),
        (
            "unknown tenant, unknown path",
            app.http
                .get(url("no-such-tenant", "/Printers"))
                .bearer_auth("x"),
        ),
        (
            "discovery without token",
            app.http.get(url(&a.slug, "/Schemas")),
        ),
        (
            "write without token",
            app.http.post(url(&a.slug, "/Users")).body("{}"),
        ),
        (
            "405 without token",
            app.http.request(Method::DELETE, url(&a.slug, "/Users")),
        ),
    ];
    let mut bodies = Vec::new();
    for (case, req) in requests {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{case}");
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer realm=\"BlogIn SCIM\"",
            "{case}"
        );
        let (_, _, body) = scim_json(res).await;
        bodies.push((case, body));
    }
    let first = bodies[0].1.clone();
    assert_eq!(first["status"], "401");
    assert_eq!(
        first["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    for (case, body) in &bodies {
        assert_eq!(body, &first, "{case}: the same answer every time");
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_matched_case_insensitively() {
    let app = TestApp::spawn().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let res = app
            .http
            .get(app.url(&app.a.slug, "/Users"))
            .header("Authorization", format!("{scheme} {}", app.a.token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{scheme}");
    }
}

async fn status_of(app: &TestApp, t: &Tenant) -> u16 {
    app.get(t, "/Users").await.status().as_u16()
}

#[tokio::test]
async fn a_disabled_tenant_is_refused_once_the_cached_answer_expires() {
    let ttl = Duration::from_millis(300);
    let config = GatewayConfig {
        token_cache_ttl: ttl,
        ..GatewayConfig::default()
    };
    let app = TestApp::spawn_with(config, |ch| {
        Arc::new(crate::support::StoreCommands::new(ch))
    })
    .await;
    assert_eq!(status_of(&app, &app.a).await, 200);
    disable(&app.dir, &app.a.slug).await;
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    let res = app.get(&app.a, "/Users").await;
    let headers = assert_scim_error(res, 401, None).await;
    assert_eq!(headers["www-authenticate"], "Bearer realm=\"BlogIn SCIM\"");
    assert_eq!(
        status_of(&app, &app.b).await,
        200,
        "other tenants are unaffected"
    );
}

#[tokio::test]
async fn a_revoked_token_stops_working_within_the_cache_ttl() {
    let ttl = Duration::from_millis(300);
    let config = GatewayConfig {
        token_cache_ttl: ttl,
        ..GatewayConfig::default()
    };
    let app = TestApp::spawn_with(config, |ch| {
        Arc::new(crate::support::StoreCommands::new(ch))
    })
    .await;
    assert_eq!(status_of(&app, &app.a).await, 200);
    app.dir.revoke_tokens(&app.a.slug).await.unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    assert_eq!(status_of(&app, &app.a).await, 401);
}

async fn disable(dir: &Directory, slug: &str) {
    dir.set_tenant_enabled(slug, false).await.unwrap();
}
