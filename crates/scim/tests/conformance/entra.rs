//! What Microsoft Entra ID (and Okta, and the SCIM Validator / reference-code test suites) send,
//! table-driven from `tests/data/entra/`: every request body of ENTRA §5, §6, §10–§12 is a data
//! file; `create_cases.json`, `patch_cases.json` and `filters.json` say what a client must see.

use crate::support::{
    ENT, client_view, contains_null, create, data, data_files, delta_json, expect_error, kind,
    member_ids, patch, registry, registry_named, scim_type, stored, with_changes,
};
use pretty_assertions::assert_eq;
use scim::ScimType;
use scim::filter::Filter;
use scim::schema::ResourceKind;
use serde_json::{Map, Value, json};

/// Files that describe cases rather than being request bodies.
const MANIFESTS: [&str; 4] = [
    "create_cases.json",
    "patch_cases.json",
    "filters.json",
    "filter_reference_check_manager.json",
];

fn str_field<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key]
        .as_str()
        .unwrap_or_else(|| panic!("case {case} has no string '{key}'"))
}

fn error_types(spec: &Value) -> Vec<ScimType> {
    spec["scimType"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| scim_type(t.as_str().expect("string")))
                .collect()
        })
        .unwrap_or_default()
}

/// The stored body a PATCH case starts from: its `base` create body, normalized, with
/// `base_changes` applied (to give the base a value the request then changes).
fn patch_base(case: &Value) -> Value {
    let reg = registry_named(case["registry"].as_str());
    let k = kind(str_field(case, "kind"));
    let base = stored(&reg, k, &data(str_field(case, "base"))).body;
    match case["base_changes"].as_object() {
        Some(changes) => with_changes(&base, changes),
        None => base,
    }
}

#[test]
fn every_entra_data_file_is_used_by_a_test() {
    let sources = [
        include_str!("entra.rs"),
        include_str!("quirks.rs"),
        include_str!("errors.rs"),
        include_str!("rfc7644.rs"),
        include_str!("properties.rs"),
        include_str!("patch_semantics.rs"),
        include_str!("filter_semantics.rs"),
    ]
    .concat();
    let manifests: String = MANIFESTS
        .iter()
        .map(|m| data(&format!("entra/{m}")).to_string())
        .collect();
    for name in data_files("entra", "") {
        if MANIFESTS.contains(&name.as_str()) {
            continue;
        }
        assert!(
            sources.contains(&name)
                || manifests.contains(&format!("\"{name}\""))
                || manifests.contains(&format!("entra/{name}")),
            "tests/data/entra/{name} is not used by any test"
        );
    }
}

#[test]
fn entra_create_bodies_normalize_to_the_documented_attributes() {
    let cases = data("entra/create_cases.json");
    let mut failures = Vec::new();
    for case in cases.as_array().expect("array") {
        let file = str_field(case, "request");
        let reg = registry_named(case["registry"].as_str());
        let k = kind(str_field(case, "kind"));
        let request = data(&format!("entra/{file}"));
        let result = create(&reg, k, &request);
        if let Some(err) = case.get("error") {
            let e = expect_error(
                result,
                err["status"].as_u64().expect("status") as u16,
                &error_types(err),
            );
            if let Some(needle) = err["detail_contains"].as_str() {
                assert!(
                    e.detail().contains(needle),
                    "{file}: detail '{}' should name {needle}",
                    e.detail()
                );
            }
            continue;
        }
        let got = match result {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{file}: rejected with {e}"));
                continue;
            }
        };
        if let Some(body) = case.get("body")
            && &got.body != body
        {
            failures.push(format!(
                "{file} ({}):\n  expected {body}\n  got      {}",
                case["source"], got.body
            ));
        }
        for (pointer, want) in case["check"].as_object().into_iter().flatten() {
            if got.body.pointer(pointer) != Some(want) {
                failures.push(format!(
                    "{file}: {pointer} expected {want}, body {}",
                    got.body
                ));
            }
        }
        if let Some(members) = case.get("members") {
            assert_eq!(&json!(member_ids(&got.members)), members, "{file} members");
        }
        // Whatever was accepted must render without nulls (ENTRA §1.16, §8 deserialization).
        let view = client_view(&reg, k, "id-1", &got.body);
        assert!(
            !contains_null(&view),
            "{file}: rendered resource contains null: {view}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} create case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn entra_patch_bodies_produce_the_documented_resources_and_member_deltas() {
    let cases = data("entra/patch_cases.json");
    let mut failures = Vec::new();
    for case in cases.as_array().expect("array") {
        let file = str_field(case, "request");
        let reg = registry_named(case["registry"].as_str());
        let k = kind(str_field(case, "kind"));
        let base = patch_base(case);
        let request = data(&format!("entra/{file}"));
        let result = patch(&reg, k, &base, &request);
        if let Some(err) = case.get("error") {
            expect_error(
                result,
                err["status"].as_u64().expect("status") as u16,
                &error_types(err),
            );
            continue;
        }
        let outcome = match result {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{file} ({}): rejected with {e}", case["source"]));
                continue;
            }
        };
        let empty = Map::new();
        let expected = with_changes(&base, case["changes"].as_object().unwrap_or(&empty));
        if outcome.resource != expected {
            failures.push(format!(
                "{file} ({}):\n  expected {expected}\n  got      {}",
                case["source"], outcome.resource
            ));
        }
        let want_delta = case
            .get("members")
            .cloned()
            .unwrap_or(json!({"clear": false, "add": [], "remove": []}));
        if delta_json(&outcome.members) != want_delta {
            failures.push(format!(
                "{file}: members delta expected {want_delta}, got {}",
                delta_json(&outcome.members)
            ));
        }
        let really_changed = outcome.resource != base || !outcome.members.is_empty();
        if outcome.changed != really_changed {
            failures.push(format!(
                "{file}: changed = {} but the outcome differs: {really_changed}",
                outcome.changed
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} patch case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn entra_filters_parse_print_back_and_evaluate_as_documented() {
    let cases = data("entra/filters.json");
    let reg = registry();
    let mut failures = Vec::new();
    for case in cases.as_array().expect("array") {
        let text = str_field(case, "filter");
        let k = kind(str_field(case, "kind"));
        let parsed = match Filter::parse(text) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{text}: parse failed: {e}"));
                continue;
            }
        };
        let printed = parsed.to_string();
        match Filter::parse(&printed) {
            Ok(again) if again == parsed => {}
            other => failures.push(format!(
                "{text}: printed as {printed}, which re-parses to {other:?}"
            )),
        }
        if let Some(same) = case["same_as"].as_str() {
            let want = Filter::parse(same).expect("same_as filter parses");
            if want != parsed {
                failures.push(format!(
                    "{text}: parses to {parsed:?}, expected the same as {same}"
                ));
            }
        }
        let resolved = match parsed.resolve(&reg, k) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{text}: resolve failed: {e}"));
                continue;
            }
        };
        if let (Some(against), Some(want)) = (case["against"].as_str(), case["matches"].as_bool()) {
            let body = stored(&reg, k, &data(against)).body;
            if resolved.matches(&reg, k, &body) != want {
                failures.push(format!(
                    "{text} ({}): expected match = {want} against {against}",
                    case["source"]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} filter case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// TUT Example 4 checks a manager link with `id eq … and manager eq …`. `manager` is a
/// single-valued complex attribute; comparing it directly is read as `manager.value`, the only
/// meaning the query can have.
#[test]
fn entra_reference_check_query_on_id_and_manager_resolves() {
    let case = data("entra/filter_reference_check_manager.json");
    let reg = registry();
    let filter = Filter::parse(str_field(&case, "filter")).expect("parses");
    filter
        .resolve(&reg, ResourceKind::User)
        .expect("Entra's reference-check query resolves");
    let with_manager = json!({
        "userName": "u",
        ENT: {"manager": {"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}
    });
    // The stored body has no `id`; the store matches `id` on its own column. Only check that a
    // user with that manager is not rejected by the manager half.
    let manager_only = Filter::parse("manager eq \"2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2\"")
        .and_then(|f| f.resolve(&reg, ResourceKind::User))
        .expect("manager eq resolves");
    assert!(manager_only.matches(&reg, ResourceKind::User, &with_manager));
    assert!(!manager_only.matches(&reg, ResourceKind::User, &json!({"userName": "u"})));
}

#[test]
fn entra_create_response_is_what_render_returns_for_the_created_user() {
    let reg = registry();
    let created = stored(&reg, ResourceKind::User, &data("entra/create_user.json"));
    let documented = data("entra/create_user_response.json");
    let mut view = client_view(
        &reg,
        ResourceKind::User,
        "48af03ac28ad4fb88478",
        &created.body,
    );
    // meta differs by construction (timestamps, location, version); compare it separately.
    let meta = view
        .as_object_mut()
        .expect("object")
        .remove("meta")
        .expect("meta rendered");
    let mut want = documented.clone();
    want.as_object_mut().expect("object").remove("meta");
    assert_eq!(view, want);
    assert_eq!(meta["resourceType"], "User");
    for key in ["created", "lastModified", "location", "version"] {
        assert!(meta[key].is_string(), "meta.{key} missing in {meta}");
    }
}

#[test]
fn entra_group_create_then_get_excluding_members_has_no_members() {
    let reg = registry();
    let created = stored(&reg, ResourceKind::Group, &data("entra/create_group.json"));
    assert!(created.members.is_empty());
    let view = client_view(
        &reg,
        ResourceKind::Group,
        "927fa2c08dcb4a7fae9e",
        &created.body,
    );
    let projection =
        scim::projection::Projection::parse(None, Some("members")).expect("projection parses");
    let shown = projection.apply(&reg, ResourceKind::Group, &view);
    assert_eq!(
        shown["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:Group"])
    );
    assert_eq!(shown["displayName"], "displayName");
    assert_eq!(shown["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert!(shown.get("members").is_none());
}

#[test]
fn entra_gallery_empty_string_update_reads_back_empty() {
    let reg = registry();
    let base = with_changes(
        &stored(&reg, ResourceKind::User, &data("entra/create_user.json")).body,
        json!({"/title": "Boss", "/nickName": "Bo"})
            .as_object()
            .expect("object"),
    );
    let out = patch(
        &reg,
        ResourceKind::User,
        &base,
        &data("entra/gallery_patch_user_empty_update.json"),
    )
    .expect("applies");
    for attr in ["title", "nickName"] {
        let v = out.resource.get(attr);
        assert!(
            v.is_none() || v == Some(&json!("")),
            "{attr} should read back empty, got {v:?}"
        );
    }
}

#[test]
fn entra_empty_query_response_shape_is_what_list_response_serializes() {
    let documented = data("entra/list_users_empty_response.json");
    let list = scim::list::ListResponse {
        total_results: 0,
        start_index: 1,
        items_per_page: 0,
        resources: Vec::new(),
    };
    let got = serde_json::to_value(&list).expect("serializes");
    for key in [
        "schemas",
        "totalResults",
        "Resources",
        "startIndex",
        "itemsPerPage",
    ] {
        assert!(got.get(key).is_some(), "{key} missing from {got}");
    }
    assert_eq!(got["schemas"], documented["schemas"]);
    assert_eq!(got["totalResults"], documented["totalResults"]);
    assert_eq!(got["Resources"], documented["Resources"]);
    assert_eq!(got["startIndex"], documented["startIndex"]);
    // RFC 7644 §3.4.2 meaning, not Microsoft's example's 20 (ENTRA §7).
    assert_eq!(got["itemsPerPage"], 0);
}

#[test]
fn entra_not_found_error_has_the_documented_shape() {
    let documented = data("entra/get_user_not_found_response.json");
    let err = scim::ScimError::not_found(
        "Resource 23B51B0E5D7AE9110A49411D@7cca31655d49f3640a494224 not found",
    );
    assert_eq!(
        serde_json::to_value(err.to_body()).expect("serializes"),
        documented
    );
}

#[test]
fn entra_full_lifecycle_create_patch_disable_stays_findable() {
    // ENTRA §4 + §1.10: create, match by userName, update, soft-delete; the disabled user
    // must still match the matching query.
    let reg = registry();
    let user = ResourceKind::User;
    let created = stored(&reg, user, &data("entra/create_user.json"));
    let matching = Filter::parse("userName eq \"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee\"")
        .and_then(|f| f.resolve(&reg, user))
        .expect("matching filter");
    assert!(matching.matches(&reg, user, &created.body));
    let updated = patch(
        &reg,
        user,
        &created.body,
        &data("entra/patch_user_replace_several_default.json"),
    )
    .expect("update");
    let disabled = patch(
        &reg,
        user,
        &updated.resource,
        &data("entra/patch_user_disable_default.json"),
    )
    .expect("disable");
    assert_eq!(disabled.resource["active"], json!(false));
    assert!(matching.matches(&reg, user, &disabled.resource));
    let view = client_view(&reg, user, "u1", &disabled.resource);
    assert_eq!(view["active"], json!(false));
    assert_eq!(view[ENT]["employeeNumber"], "Eqpj");
    assert_eq!(
        view["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENT]),
        "the extension now present must be listed in schemas"
    );
}
