//! RFC 7644 §3 examples (`tests/data/rfc/7644_*.json`): creating and replacing (§3.3, §3.5.1),
//! filtering (§3.4.2.2), paging and projection (§3.4.2.4, §3.4.2.5, §3.9), searching (§3.4.3),
//! PATCH (§3.5.2, table-driven: each case file holds the RFC request and the expected result),
//! ETags (§3.14) and errors (§3.12).
//!
//! Example text transcribed from RFC 7644 (checked against published transcriptions); the
//! §3.5.2 cases are applied to the RFC 7643 §8 resources the RFC's examples refer to.

use crate::support::{
    ENT, client_view, data, data_files, delta_json, expect_error, kind, patch, registry, stored,
    with_changes,
};
use pretty_assertions::assert_eq;
use scim::ScimType;
use scim::filter::Filter;
use scim::list::{ListLimits, ListQuery, ListResponse, Paging};
use scim::projection::Projection;
use scim::schema::ResourceKind;
use scim::search::SearchRequest;
use serde_json::{Map, Value, json};

const USER: ResourceKind = ResourceKind::User;

#[test]
fn section_3_3_create_request_stores_its_attributes_and_renders_with_an_id() {
    let reg = registry();
    let request = data("rfc/7644_3_3_create_user_request.json");
    let got = stored(&reg, USER, &request);
    assert_eq!(
        got.body,
        json!({"userName": "bjensen", "externalId": "bjensen",
               "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"}})
    );
    let view = client_view(
        &reg,
        USER,
        "2819c223-7f76-453a-919d-413861904646",
        &got.body,
    );
    assert_eq!(view["id"], "2819c223-7f76-453a-919d-413861904646");
    assert_eq!(view["schemas"], request["schemas"]);
    assert_eq!(view["meta"]["resourceType"], "User");
}

#[test]
fn section_3_5_1_replace_request_ignores_the_id_and_empty_roles() {
    let got = stored(
        &registry(),
        USER,
        &data("rfc/7644_3_5_1_replace_user_request.json"),
    );
    assert_eq!(
        got.body,
        json!({"userName": "bjensen", "externalId": "bjensen",
               "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara", "middleName": "Jane"},
               "emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]})
    );
}

#[test]
fn section_3_4_2_2_filters_parse_and_print_back_to_the_same_filter() {
    let mut failures = Vec::new();
    for case in data("rfc/7644_3_4_2_2_filters.json")
        .as_array()
        .expect("array")
    {
        let text = case["filter"].as_str().expect("filter");
        match Filter::parse(text) {
            Ok(f) => {
                let printed = f.to_string();
                match Filter::parse(&printed) {
                    Ok(again) if again == f => {}
                    other => {
                        failures.push(format!("{text}: printed {printed}, re-parsed {other:?}"))
                    }
                }
            }
            Err(e) => failures.push(format!("{text}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn section_3_4_2_2_filters_resolve_and_evaluate_against_the_section_8_3_user() {
    let reg = registry();
    let mut failures = Vec::new();
    for case in data("rfc/7644_3_4_2_2_filters.json")
        .as_array()
        .expect("array")
    {
        let text = case["filter"].as_str().expect("filter");
        let k = kind(case["kind"].as_str().expect("kind"));
        let resolved = match Filter::parse(text).and_then(|f| f.resolve(&reg, k)) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{text}: {e}"));
                continue;
            }
        };
        // Resolution is idempotent: the store may resolve again without changing meaning.
        if resolved.resolve(&reg, k).as_ref() != Ok(&resolved) {
            failures.push(format!("{text}: resolving the resolved filter changed it"));
        }
        let Some(want) = case["matches"].as_bool() else {
            continue;
        };
        let body = stored(&reg, k, &data(case["against"].as_str().expect("against"))).body;
        if resolved.matches(&reg, k, &body) != want {
            failures.push(format!("{text} ({}): expected {want}", case["source"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn section_3_4_2_2_resolution_rewrites_names_to_canonical_case() {
    let reg = registry();
    let canon = |s: &str| {
        Filter::parse(s)
            .and_then(|f| f.resolve(&reg, USER))
            .expect(s)
    };
    assert_eq!(canon("USERNAME eq \"x\""), canon("userName eq \"x\""));
    assert_eq!(
        canon("urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"x\""),
        canon("userName eq \"x\"")
    );
    assert_eq!(
        canon("EmployeeNumber eq \"1\""),
        canon(&format!("{ENT}:employeeNumber eq \"1\""))
    );
    assert_eq!(canon("emails co \"x\""), canon("emails.value co \"x\""));
    assert_eq!(canon("active eq \"True\""), canon("active eq true"));
}

#[test]
fn section_3_5_2_patch_examples_apply_as_specified() {
    let files = data_files("rfc", "7644_3_5_2");
    assert!(
        files.len() >= 10,
        "the §3.5.2 examples are present: {files:?}"
    );
    let mut failures = Vec::new();
    for file in files {
        let case = data(&format!("rfc/{file}"));
        let reg = registry();
        let k = kind(case["kind"].as_str().expect("kind"));
        let base = stored(&reg, k, &data(case["base"].as_str().expect("base"))).body;
        let outcome = match patch(&reg, k, &base, &case["request"]) {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{file}: {e}"));
                continue;
            }
        };
        let expect = &case["expect"];
        let empty = Map::new();
        let want = with_changes(&base, expect["changes"].as_object().unwrap_or(&empty));
        if outcome.resource != want {
            failures.push(format!(
                "{file}:\n  expected {want}\n  got      {}",
                outcome.resource
            ));
        }
        let want_delta = expect
            .get("members")
            .cloned()
            .unwrap_or(json!({"clear": false, "add": [], "remove": []}));
        if delta_json(&outcome.members) != want_delta {
            failures.push(format!(
                "{file}: members expected {want_delta}, got {}",
                delta_json(&outcome.members)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn section_3_5_2_adding_a_primary_value_demotes_the_previous_primary() {
    // RFC 7643 §2.4: at most one `primary: true`; adding a new primary email demotes the old one.
    let reg = registry();
    let base = stored(&reg, USER, &data("rfc/7643_8_2_full_user.json")).body;
    let body = crate::support::patch_body(json!([
        {"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "other", "primary": true}]}
    ]));
    let out = patch(&reg, USER, &base, &body).expect("applies").resource;
    let primaries: Vec<&Value> = out["emails"]
        .as_array()
        .expect("emails")
        .iter()
        .filter(|e| e["primary"] == true)
        .collect();
    assert_eq!(
        primaries,
        [&json!({"value": "new@example.com", "type": "other", "primary": true})]
    );
    assert_eq!(
        out["emails"][0]["primary"], false,
        "the former primary is demoted, not dropped"
    );
}

#[test]
fn section_3_4_2_4_paging_parameters_are_clamped() {
    let cases = [
        ((None, None), (1, 100)),
        ((Some(0), Some(10)), (1, 10)),
        ((Some(-5), Some(-1)), (1, 0)),
        ((Some(11), Some(5)), (11, 5)),
        ((Some(1), Some(1000)), (1, 100)),
        ((Some(3), Some(0)), (3, 0)),
    ];
    for ((start, count), (want_start, want_count)) in cases {
        let p = Paging::new(start, count, 100);
        assert_eq!(
            (p.start_index, p.count),
            (want_start, want_count),
            "startIndex={start:?} count={count:?}"
        );
    }
}

#[test]
fn section_3_4_2_list_response_serializes_integers_and_always_has_resources() {
    let rfc = data("rfc/7644_3_4_2_list_response.json");
    let list = ListResponse {
        total_results: 2,
        start_index: 1,
        items_per_page: 2,
        resources: rfc["Resources"].as_array().expect("array").clone(),
    };
    let got = list.to_json();
    assert_eq!(serde_json::to_value(&list).expect("serializes"), got);
    assert_eq!(got["schemas"], rfc["schemas"]);
    assert_eq!(got["totalResults"], json!(2));
    assert_eq!(got["Resources"], rfc["Resources"]);
    assert_eq!(got["startIndex"], json!(1));
    assert_eq!(got["itemsPerPage"], json!(2));
    let empty = ListResponse {
        total_results: 0,
        start_index: 1,
        items_per_page: 0,
        resources: vec![],
    };
    assert_eq!(
        serde_json::to_value(&empty).expect("serializes")["Resources"],
        json!([])
    );
}

#[test]
fn section_3_4_3_search_request_parses_and_checks_like_query_parameters() {
    let reg = registry();
    let body = data("rfc/7644_3_4_3_search_request.json");
    let req = SearchRequest::parse(&body).expect("SearchRequest parses");
    assert_eq!(
        req.attributes,
        Some(vec!["displayName".to_owned(), "userName".to_owned()])
    );
    assert_eq!(req.filter.as_deref(), Some("displayName sw \"smith\""));
    assert_eq!((req.start_index, req.count), (Some(1), Some(10)));
    let from_query = SearchRequest::from_query([
        ("attributes", "displayName,userName"),
        ("filter", "displayName sw \"smith\""),
        ("startIndex", "1"),
        ("count", "10"),
    ])
    .expect("query parses");
    let limits = ListLimits::default();
    let a = ListQuery::from_search(&reg, USER, &req, &limits).expect("checks");
    let b = ListQuery::from_search(&reg, USER, &from_query, &limits).expect("checks");
    assert_eq!(a, b, "POST /.search and GET parameters mean the same query");
    assert_eq!((a.paging.start_index, a.paging.count), (1, 10));
    assert!(a.filter.is_some());
    // The body form round-trips.
    assert_eq!(SearchRequest::parse(&req.to_json()).expect("parses"), req);
}

#[test]
fn entra_query_parameters_check_into_a_list_query() {
    // ENTRA §5.2: GET /Groups?excludedAttributes=members&filter=displayName eq "…", with an
    // unknown parameter and in any order (ENTRA §13.11).
    let reg = registry();
    let limits = ListLimits::default();
    let req = SearchRequest::from_query([
        ("aadOptscim062020", ""),
        ("FILTER", "displayName eq \"displayName\""),
        ("excludedAttributes", "members"),
    ])
    .expect("parses");
    let q = ListQuery::from_search(&reg, ResourceKind::Group, &req, &limits).expect("checks");
    assert!(!q.projection.wants(
        &reg,
        ResourceKind::Group,
        &scim::path::AttrPath::new("members")
    ));
    let group = stored(&reg, ResourceKind::Group, &data("entra/create_group.json")).body;
    assert!(
        q.filter
            .as_ref()
            .expect("filter")
            .matches(&reg, ResourceKind::Group, &group)
    );
    // Okta: startIndex=1&count=100 on every existence check (ENTRA §12).
    let okta = SearchRequest::from_query([
        ("filter", "userName eq \"test.user@okta.local\""),
        ("startIndex", "1"),
        ("count", "100"),
    ])
    .expect("parses");
    let q = ListQuery::from_search(&reg, USER, &okta, &limits).expect("checks");
    assert_eq!((q.paging.start_index, q.paging.count), (1, 100));
    // A filter the schema rejects surfaces as invalidFilter; a repeated parameter as invalidValue.
    let bad = SearchRequest::from_query([("filter", "nope eq \"x\"")]).expect("parses");
    expect_error(
        ListQuery::from_search(&reg, USER, &bad, &limits),
        400,
        &[ScimType::InvalidFilter],
    );
    expect_error(
        SearchRequest::from_query([("count", "1"), ("Count", "2")]),
        400,
        &[ScimType::InvalidValue],
    );
}

#[test]
fn section_3_9_projection_follows_the_returned_characteristic() {
    let reg = registry();
    let example = data("rfc/7643_8_3_enterprise_user.json");
    let view = client_view(
        &reg,
        USER,
        "2819c223-7f76-453a-919d-413861904646",
        &stored(&reg, USER, &example).body,
    );
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    let show = |a: Option<&str>, e: Option<&str>| {
        Projection::parse(a, e)
            .expect("parses")
            .apply(&reg, USER, &view)
    };

    // RFC 7644 §3.9 example: attributes=userName → id (always), schemas (always), userName.
    assert_eq!(
        keys(&show(Some("userName"), None)),
        ["id", "schemas", "userName"]
    );
    // Sub-attribute granularity and case-insensitive names.
    let given = show(Some("NAME.givenName"), None);
    assert_eq!(given["name"], json!({"givenName": "Barbara"}));
    let work = show(Some("emails.value"), None);
    assert_eq!(
        work["emails"],
        json!([{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}])
    );
    // Extension attributes, qualified.
    let emp = show(Some(&format!("{ENT}:employeeNumber")), None);
    assert_eq!(emp[ENT], json!({"employeeNumber": "701984"}));
    assert!(emp.get("userName").is_none());
    // excludedAttributes removes default attributes but never `always` ones.
    let ex = show(None, Some("emails,id,name.familyName,meta.version"));
    assert!(ex.get("emails").is_none());
    assert_eq!(ex["id"], "2819c223-7f76-453a-919d-413861904646");
    assert!(ex["name"].get("familyName").is_none() && ex["name"]["givenName"] == "Barbara");
    assert!(ex["meta"].get("version").is_none() && ex["meta"]["resourceType"] == "User");
    assert_eq!(ex["userName"], "bjensen@example.com");
    // Excluding a whole extension.
    let no_ext = show(None, Some(ENT));
    assert!(no_ext.get(ENT).is_none(), "{no_ext}");
    // Whitespace around names; unknown names ignored.
    assert_eq!(
        keys(&show(Some(" userName , nonsense "), None)),
        ["id", "schemas", "userName"]
    );
    // No parameters: the resource as is.
    assert_eq!(show(None, None), view);
}

#[test]
fn section_3_12_error_bodies_match_the_rfc_examples() {
    let not_found =
        scim::ScimError::not_found("Resource 2819c223-7f76-453a-919d-413861904646 not found");
    assert_eq!(
        serde_json::to_value(not_found.to_body()).expect("serializes"),
        data("rfc/7644_3_12_error_not_found.json")
    );
    let bad = scim::ScimError::mutability("Attribute 'id' is readOnly");
    assert_eq!(
        serde_json::to_value(bad.to_body()).expect("serializes"),
        data("rfc/7644_3_12_error_bad_request.json")
    );
    // And a PATCH on `id` yields exactly that kind of body.
    let base = stored(
        &registry(),
        USER,
        &data("rfc/7644_3_3_create_user_request.json"),
    )
    .body;
    let body = crate::support::patch_body(json!([{"op": "replace", "path": "id", "value": "x"}]));
    let e = expect_error(
        patch(&registry(), USER, &base, &body),
        400,
        &[ScimType::Mutability],
    );
    let rendered = serde_json::to_value(e.to_body()).expect("serializes");
    assert_eq!(rendered["scimType"], "mutability");
}
