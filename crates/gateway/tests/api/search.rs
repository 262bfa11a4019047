//! `POST /Users/.search` and `POST /.search` (RFC 7644 §3.4.3).

use crate::support::{TestApp, assert_scim_error, scim_json};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn search(body: Value) -> Value {
    let mut b = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
    b.as_object_mut()
        .unwrap()
        .extend(body.as_object().unwrap().clone());
    b
}

fn kinds(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn post_users_search_filters_pages_and_projects_like_get() {
    let app = TestApp::spawn().await;
    app.create_user(&app.a, "smith.anna").await;
    app.create_user(&app.a, "smith.bert").await;
    app.create_user(&app.a, "jones.carl").await;
    let body = search(json!({
        "filter": "userName sw \"SMITH\"",
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 10
    }));
    let (status, _, list) = scim_json(app.post(&app.a, "/Users/.search", &body).await).await;
    assert_eq!(status, 200);
    assert_eq!(list["totalResults"], 2);
    let first = &list["Resources"][0];
    assert!(first["userName"].as_str().unwrap().starts_with("smith."));
    assert!(first.get("meta").is_none());
    let res = app
        .post(&app.a, "/Users/.search", &json!({"filter": 3}))
        .await;
    assert_scim_error(res, 400, Some("invalidSyntax")).await;
}

#[tokio::test]
async fn root_search_spans_users_then_groups_with_one_total_and_resolves_filters_per_type() {
    let app = TestApp::spawn().await;
    app.create_user(&app.a, "root1").await;
    app.create_user(&app.a, "root2").await;
    app.create_group(&app.a, "Root Group").await;

    let (status, _, all) = scim_json(app.post(&app.a, "/.search", &search(json!({}))).await).await;
    assert_eq!(status, 200);
    assert_eq!(all["totalResults"], 3);
    assert_eq!(kinds(&all), ["User", "User", "Group"]);

    let page = |start: u64, count: u64| search(json!({"startIndex": start, "count": count}));
    let (_, _, p1) = scim_json(app.post(&app.a, "/.search", &page(1, 2)).await).await;
    assert_eq!(
        (&p1["totalResults"], &p1["itemsPerPage"]),
        (&json!(3), &json!(2))
    );
    assert_eq!(kinds(&p1), ["User", "User"]);
    let (_, _, p2) = scim_json(app.post(&app.a, "/.search", &page(3, 2)).await).await;
    assert_eq!(
        (&p2["totalResults"], &p2["startIndex"]),
        (&json!(3), &json!(3))
    );
    assert_eq!(kinds(&p2), ["Group"]);
    let (_, _, p3) = scim_json(app.post(&app.a, "/.search", &page(2, 2)).await).await;
    assert_eq!(kinds(&p3), ["User", "Group"]);

    let by = |filter: &str| search(json!({"filter": filter}));
    let (_, _, users) = scim_json(
        app.post(&app.a, "/.search", &by("userName sw \"root\""))
            .await,
    )
    .await;
    assert_eq!(
        (&users["totalResults"], kinds(&users)),
        (&json!(2), vec!["User".to_owned(), "User".to_owned()])
    );
    let (_, _, groups) = scim_json(
        app.post(&app.a, "/.search", &by("displayName eq \"root group\""))
            .await,
    )
    .await;
    assert_eq!(
        (&groups["totalResults"], kinds(&groups)),
        (&json!(1), vec!["Group".to_owned()])
    );
    let (_, _, none) = scim_json(app.post(&app.a, "/.search", &by("printer eq \"x\"")).await).await;
    assert_eq!(none["totalResults"], 0);
    let res = app.post(&app.a, "/.search", &by("userName eq")).await;
    assert_scim_error(res, 400, Some("invalidFilter")).await;
}

/// A page stops at its byte budget (8 MiB) instead of growing with `count`: fewer resources
/// than asked for, `itemsPerPage` saying how many, and paging on from there reaches every
/// resource exactly once.
#[tokio::test]
async fn a_page_of_large_resources_is_cut_at_its_byte_budget_and_paging_covers_all() {
    let app = TestApp::spawn().await;
    let filler = "x".repeat(15_000);
    let n = 160;
    for i in 0..n {
        let res = app
            .post(
                &app.a,
                "/Users",
                &json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("large{i:03}"),
                    "nickName": filler, "title": filler, "profileUrl": filler, "userType": filler,
                }),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut start = 1;
    let mut pages = 0;
    while seen.len() < n {
        let res = app
            .get(&app.a, &format!("/Users?startIndex={start}&count=200"))
            .await;
        let bytes = res.content_length();
        let (status, _, list) = scim_json(res).await;
        assert_eq!(status, 200);
        assert_eq!(list["totalResults"], n);
        let got = list["Resources"].as_array().unwrap();
        assert_eq!(list["itemsPerPage"], got.len());
        assert!(!got.is_empty());
        if pages == 0 {
            assert!(
                got.len() < n,
                "the first page holds all {n} ({bytes:?} bytes)"
            );
        }
        for r in got {
            assert!(seen.insert(r["userName"].as_str().unwrap().to_owned()));
        }
        start += got.len();
        pages += 1;
    }
    assert_eq!(pages, 2);
}
