//! The HTTP edge: methods, paths, media types, body limits, bad JSON, validation before
//! anything is queued — every refusal a SCIM error body.

use crate::support::{StoreCommands, TestApp, assert_scim_error, scim_json};
use pretty_assertions::assert_eq;
use reqwest::Method;
use scim_gateway::GatewayConfig;
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn other_methods_are_405_with_a_scim_body_and_an_allow_header() {
    let app = TestApp::spawn().await;
    let cases = [
        (Method::DELETE, "/Users", "GET, POST"),
        (Method::PUT, "/Groups", "GET, POST"),
        (
            Method::POST,
            "/Users/00000000-0000-7000-8000-000000000000",
            "GET, PUT, PATCH, DELETE",
        ),
        (Method::GET, "/Users/.search", "POST"),
        (Method::GET, "/.search", "POST"),
        (Method::POST, "/Schemas", "GET"),
        (Method::OPTIONS, "/ServiceProviderConfig", "GET"),
    ];
    for (method, path, allow) in cases {
        let res = app.req(&app.a, method.clone(), path).send().await.unwrap();
        let headers = assert_scim_error(res, 405, None).await;
        assert_eq!(headers["allow"], allow, "{method} {path}");
    }
    let res = app
        .http
        .post(format!("http://{}/healthz", app.addr))
        .send()
        .await
        .unwrap();
    let headers = assert_scim_error(res, 405, None).await;
    assert_eq!(headers["allow"], "GET");
}

#[tokio::test]
async fn unknown_paths_are_404_with_a_scim_body_and_bulk_and_me_are_501() {
    let app = TestApp::spawn().await;
    for path in ["/Printers", "/Users/a/b", "", "/"] {
        assert_scim_error(app.get(&app.a, path).await, 404, None).await;
    }
    for url in [
        format!("http://{}/nope", app.addr),
        format!("http://{}/scim/v2", app.addr),
        format!("http://{}/", app.addr),
    ] {
        let res = app.http.get(url).send().await.unwrap();
        assert_scim_error(res, 404, None).await;
    }
    let res = app.post(&app.a, "/Bulk", &json!({})).await;
    assert_scim_error(res, 501, None).await;
    assert_scim_error(app.get(&app.a, "/Me").await, 501, None).await;
}

#[tokio::test]
async fn trailing_slashes_and_unknown_query_parameters_are_tolerated() {
    let app = TestApp::spawn().await;
    let user = app.create_user(&app.a, "slash").await;
    let (status, _, list) = scim_json(app.get(&app.a, "/Users/?aadOptscim062020").await).await;
    assert_eq!((status, &list["totalResults"]), (200, &json!(1)));
    let path = format!(
        "/Users/{}/?aadOptscim062020=true",
        user["id"].as_str().unwrap()
    );
    let (status, _, got) = scim_json(app.get(&app.a, &path).await).await;
    assert_eq!((status, &got["userName"]), (200, &json!("slash")));
}

#[tokio::test]
async fn bodies_in_json_media_types_or_without_content_type_are_accepted_and_others_are_415() {
    let app = TestApp::spawn().await;
    let body = |name: &str| json!({"userName": name}).to_string();
    for (i, ct) in [
        Some("application/scim+json"),
        Some("application/json"),
        Some("application/scim+json; charset=utf-8"),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let mut req = app
            .req(&app.a, Method::POST, "/Users")
            .body(body(&format!("ct{i}")));
        if let Some(ct) = ct {
            req = req.header("Content-Type", ct);
        }
        assert_eq!(req.send().await.unwrap().status(), 201, "{ct:?}");
    }
    for ct in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
    ] {
        let res = app
            .req(&app.a, Method::POST, "/Users")
            .header("Content-Type", ct)
            .body(body("never"))
            .send()
            .await
            .unwrap();
        assert_scim_error(res, 415, None).await;
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_and_invalid_json_is_400_invalid_syntax() {
    let config = GatewayConfig {
        max_body_bytes: 1024,
        ..GatewayConfig::default()
    };
    let app = TestApp::spawn_with(config, |ch| Arc::new(StoreCommands::new(ch))).await;
    let big = json!({"userName": "big", "displayName": "x".repeat(2000)});
    assert_scim_error(app.post(&app.a, "/Users", &big).await, 413, None).await;
    // Without a Content-Length (chunked), the limit holds while reading.
    let (status, head) = chunked_post(&app, &"x".repeat(2000)).await;
    assert_eq!(status, 413, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/scim+json"),
        "{head}"
    );
    for bad in ["{\"userName\": ", "", "not json", "[1,"] {
        let res = app
            .req(&app.a, Method::POST, "/Users")
            .header("Content-Type", "application/scim+json")
            .body(bad.to_owned())
            .send()
            .await
            .unwrap();
        assert_scim_error(res, 400, Some("invalidSyntax")).await;
    }
    let res = app
        .req(
            &app.a,
            Method::PATCH,
            "/Users/00000000-0000-7000-8000-000000000000",
        )
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_scim_error(res, 400, Some("invalidSyntax")).await;
}

/// POSTs `body` to tenant a's `/Users` with `Transfer-Encoding: chunked` (no Content-Length)
/// over a raw connection; returns the status and the response head.
async fn chunked_post(app: &TestApp, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let mut req = format!(
        "POST /scim/v2/{}/Users HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.a.slug, app.addr, app.a.token
    );
    for chunk in body.as_bytes().chunks(100) {
        req.push_str(&format!(
            "{:x}\r\n{}\r\n",
            chunk.len(),
            std::str::from_utf8(chunk).unwrap()
        ));
    }
    req.push_str("0\r\n\r\n");
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    // The server may answer and close before reading everything; what it sent is enough.
    let _ = conn.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let head = text.split("\r\n\r\n").next().unwrap_or_default().to_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head)
}

#[tokio::test]
async fn invalid_bodies_are_refused_at_the_edge_before_anything_is_queued() {
    let commands = Arc::new(std::sync::OnceLock::<Arc<StoreCommands>>::new());
    let slot = commands.clone();
    let app = TestApp::spawn_with(GatewayConfig::default(), move |ch| {
        let c = Arc::new(StoreCommands::new(ch));
        slot.set(c.clone()).unwrap();
        c
    })
    .await;
    let sent = || commands.get().unwrap().total();
    let cases = [
        (
            Method::POST,
            "/Users",
            json!({"displayName": "no userName"}),
            "invalidValue",
        ),
        (
            Method::POST,
            "/Users",
            json!({"userName": "x", "nosuchattribute": 1}),
            "invalidValue",
        ),
        (
            Method::POST,
            "/Users",
            json!(["not", "an", "object"]),
            "invalidSyntax",
        ),
        (
            Method::POST,
            "/Groups",
            json!({"externalId": "no displayName"}),
            "invalidValue",
        ),
        (
            Method::PUT,
            "/Users/00000000-0000-7000-8000-000000000000",
            json!({"name": {"givenName": "x"}}),
            "invalidValue",
        ),
        (
            Method::PATCH,
            "/Users/00000000-0000-7000-8000-000000000000",
            json!({"Operations": []}),
            "invalidSyntax",
        ),
        (
            Method::PATCH,
            "/Users/00000000-0000-7000-8000-000000000000",
            json!({"Operations": [{"op": "jump", "path": "x"}]}),
            "invalidSyntax",
        ),
        (
            Method::PATCH,
            "/Groups/00000000-0000-7000-8000-000000000000",
            json!({"Operations": [{"op": "remove"}]}),
            "noTarget",
        ),
    ];
    for (method, path, body, scim_type) in cases {
        let res = app.send(&app.a, method.clone(), path, &body).await;
        assert_scim_error(res, 400, Some(scim_type)).await;
    }
    assert_eq!(sent(), 0, "nothing was queued");
    app.create_user(&app.a, "valid").await;
    assert_eq!(sent(), 1);
}

#[tokio::test]
async fn bad_query_parameters_are_400_with_the_scim_type() {
    let app = TestApp::spawn().await;
    let cases = [
        ("/Users?filter=userName+eq", "invalidFilter"),
        ("/Users?filter=nosuchattr+eq+%22x%22", "invalidFilter"),
        ("/Users?count=ten", "invalidValue"),
        ("/Users?filter=a+pr&filter=b+pr", "invalidValue"),
        ("/Users?sortBy=nosuch", "invalidValue"),
    ];
    for (path, scim_type) in cases {
        assert_scim_error(app.get(&app.a, path).await, 400, Some(scim_type)).await;
    }
}
