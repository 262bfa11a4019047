//! One named test per quirk of ENTRA §13 ("Quirks a BlogIn server must tolerate"). Quirks whose
//! larger part lives in another layer test the part this crate owns; a comment names where the
//! rest is tested.

use crate::support::{
    CUSTOM, ENT, client_view, create, data, delta_json, patch, patch_body, registry,
    registry_named, stored,
};
use pretty_assertions::assert_eq;
use scim::filter::Filter;
use scim::members::take_members;
use scim::path::AttrPath;
use scim::projection::Projection;
use scim::schema::ResourceKind;
use serde_json::{Value, json};

const USER: ResourceKind = ResourceKind::User;
const GROUP: ResourceKind = ResourceKind::Group;

fn entra_user() -> Value {
    stored(&registry(), USER, &data("entra/create_user.json")).body
}

fn entra_group() -> Value {
    stored(&registry(), GROUP, &data("entra/create_group.json")).body
}

fn apply_ok(kind: ResourceKind, base: &Value, ops: Value) -> scim::patch::PatchOutcome {
    let body = patch_body(ops);
    patch(&registry(), kind, base, &body).unwrap_or_else(|e| panic!("PATCH {body} failed: {e}"))
}

#[test]
fn quirk_01_patch_op_in_any_case() {
    let base = entra_user();
    let mut results = Vec::new();
    for op in ["Add", "add", "ADD", "aDd", "Replace", "replace", "REPLACE"] {
        let out = apply_ok(
            USER,
            &base,
            json!([{"op": op, "path": "nickName", "value": "Babs"}]),
        );
        results.push(out.resource);
    }
    assert!(
        results.iter().all(|r| r["nickName"] == "Babs"),
        "every spelling sets nickName"
    );
    assert!(
        results.windows(2).all(|w| w[0] == w[1]),
        "every spelling gives the same resource"
    );
    for op in ["Remove", "remove", "REMOVE"] {
        let out = apply_ok(USER, &base, json!([{"op": op, "path": "name.formatted"}]));
        assert!(
            out.resource["name"].get("formatted").is_none(),
            "{op} removes"
        );
        assert_eq!(
            out.resource["name"]["givenName"], "givenName",
            "{op} leaves siblings"
        );
    }
    // The `Operations` member name is matched leniently too (Okta / hand-written clients).
    let lower = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "operations": [{"op": "Replace", "path": "title", "value": "CTO"}]});
    assert_eq!(
        patch(&registry(), USER, &base, &lower)
            .expect("applies")
            .resource["title"],
        "CTO"
    );
}

#[test]
fn quirk_02_boolean_strings_for_boolean_attributes() {
    let base = entra_user();
    for (sent, want) in [
        ("False", false),
        ("false", false),
        ("FALSE", false),
        ("True", true),
        ("true", true),
    ] {
        let out = apply_ok(
            USER,
            &base,
            json!([{"op": "Replace", "path": "active", "value": sent}]),
        );
        assert_eq!(out.resource["active"], json!(want), "active from {sent:?}");
        let pathless = apply_ok(
            USER,
            &base,
            json!([{"op": "replace", "value": {"active": sent}}]),
        );
        assert_eq!(
            pathless.resource["active"],
            json!(want),
            "path-less active from {sent:?}"
        );
    }
    // Sub-attribute booleans through a value path, and in a POST (reference-code garbage test).
    let out = apply_ok(
        USER,
        &base,
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].primary", "value": "False"}]),
    );
    assert_eq!(out.resource["emails"][0]["primary"], json!(false));
    let created = stored(
        &registry(),
        USER,
        &data("entra/reference_create_user_active_string.json"),
    );
    assert_eq!(created.body["active"], json!(true));
    let view = client_view(&registry(), USER, "u1", &created.body);
    assert_eq!(view["active"], json!(true), "returned as a JSON boolean");
    assert_eq!(
        view["emails"][0]["primary"],
        json!(true),
        "returned as a JSON boolean"
    );
}

#[test]
fn quirk_03_value_filter_paths_create_the_element_and_match_case_insensitively() {
    let base = entra_user();
    // Add and Replace both create a missing element from the filter.
    for op in ["Add", "Replace"] {
        let out = apply_ok(
            USER,
            &base,
            json!([{"op": op, "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}]),
        );
        assert_eq!(
            out.resource["phoneNumbers"],
            json!([{"type": "mobile", "value": "+1 555 0100"}]),
            "{op}"
        );
    }
    // `type` is not caseExact: "WORK" selects the stored "work" element instead of adding one.
    let out = apply_ok(
        USER,
        &base,
        json!([{"op": "Replace", "path": "emails[type eq \"WORK\"].value", "value": "new@contoso.com"}]),
    );
    assert_eq!(
        out.resource["emails"].as_array().map(Vec::len),
        Some(1),
        "no second element: {}",
        out.resource
    );
    assert_eq!(out.resource["emails"][0]["value"], "new@contoso.com");
    assert_eq!(
        out.resource["emails"][0]["type"], "work",
        "stored value keeps its case"
    );
    // Subsequent sub-attribute operations merge into the element they created.
    let out = apply_ok(
        USER,
        &base,
        json!([
            {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Microsoft Way"},
            {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "98052"}
        ]),
    );
    assert_eq!(
        out.resource["addresses"],
        json!([{"type": "work", "streetAddress": "1 Microsoft Way", "postalCode": "98052"}])
    );
}

#[test]
fn quirk_04_urn_qualified_paths_for_extension_attributes_including_unlisted_custom_extensions() {
    let base = entra_user();
    let out = apply_ok(
        USER,
        &base,
        json!([{"op": "Add", "path": format!("{ENT}:employeeNumber"), "value": "42"}]),
    );
    assert_eq!(out.resource[ENT], json!({"employeeNumber": "42"}));
    // URNs are case-insensitive; storage uses the canonical URN.
    let lower = ENT.to_lowercase();
    let out = apply_ok(
        USER,
        &base,
        json!([{"op": "Add", "path": format!("{lower}:Department"), "value": "Sales"}]),
    );
    assert_eq!(out.resource[ENT], json!({"department": "Sales"}));
    // A custom extension that the create body did not list in `schemas` (ENTRA §6.4).
    let reg = registry_named(Some("custom"));
    let created = stored(&reg, USER, &data("entra/create_user_custom_extension.json"));
    assert_eq!(created.body[CUSTOM]["CustomAttribute"], "custom value");
    let out = patch(
        &reg,
        USER,
        &created.body,
        &data("entra/patch_user_custom_extension.json"),
    )
    .expect("applies");
    assert_eq!(out.resource[CUSTOM]["CustomAttribute"], "changed value");
    let view = client_view(&reg, USER, "u1", &out.resource);
    assert!(
        view["schemas"]
            .as_array()
            .expect("schemas")
            .contains(&json!(CUSTOM)),
        "{view}"
    );
    // And the same path works in a filter.
    let f = Filter::parse(&format!("{CUSTOM}:CustomAttribute eq \"CHANGED VALUE\""))
        .and_then(|f| f.resolve(&reg, USER));
    assert!(f.expect("resolves").matches(&reg, USER, &out.resource));
}

#[test]
fn quirk_05_pathless_values_with_dotted_and_urn_qualified_keys() {
    let base = entra_user();
    let out = patch(
        &registry(),
        USER,
        &base,
        &data("entra/patch_user_replace_several_flag.json"),
    )
    .expect("applies");
    assert_eq!(out.resource["name"]["givenName"], "Kkom");
    assert_eq!(out.resource["name"]["familyName"], "Unua");
    assert_eq!(
        out.resource["name"]["formatted"], "givenName familyName",
        "dotted keys leave siblings alone"
    );
    assert_eq!(out.resource[ENT]["employeeNumber"], "Aklq");
    assert!(
        out.resource.get("name.givenName").is_none()
            && out.resource.get(format!("{ENT}:employeeNumber")).is_none()
    );
    // Extension-URN object keys and the core URN key in a path-less value.
    let out = apply_ok(
        USER,
        &base,
        json!([{"op": "add", "value": {
            ENT: {"department": "Tour Operations", "manager": "m-1"},
            "urn:ietf:params:scim:schemas:core:2.0:User": {"title": "Guide"}
        }}]),
    );
    assert_eq!(
        out.resource[ENT],
        json!({"department": "Tour Operations", "manager": {"value": "m-1"}})
    );
    assert_eq!(out.resource["title"], "Guide");
}

#[test]
fn quirk_06_manager_in_every_form_reads_back_as_an_object() {
    let reg = registry();
    let base = entra_user();
    let path = format!("{ENT}:manager");
    let set_forms = [
        json!([{"op": "add", "path": path, "value": "m-1"}]),
        json!([{"op": "Replace", "path": path, "value": {"value": "m-1"}}]),
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": null, "value": "m-1"}]}]),
        json!([{"op": "replace", "value": {path.clone(): "m-1"}}]),
        json!([{"op": "replace", "path": format!("{path}.value"), "value": "m-1"}]),
    ];
    for ops in set_forms {
        let out = apply_ok(USER, &base, ops.clone());
        assert_eq!(
            out.resource[ENT]["manager"],
            json!({"value": "m-1"}),
            "{ops}"
        );
        let view = client_view(&reg, USER, "u1", &out.resource);
        assert_eq!(
            view[ENT]["manager"]["value"], "m-1",
            "GET returns an object: {view}"
        );
    }
    for file in [
        "entra/create_user_manager_string.json",
        "entra/create_user_manager_urn_key.json",
    ] {
        let created = stored(&reg, USER, &data(file));
        assert!(
            created.body[ENT]["manager"].is_object(),
            "{file}: {}",
            created.body
        );
    }
    let with_manager = apply_ok(
        USER,
        &base,
        json!([{"op": "add", "path": path, "value": "m-1"}]),
    )
    .resource;
    let clear_forms = [
        json!([{"op": "Remove", "path": path}]),
        json!([{"op": "remove", "path": "manager[value eq \"m-1\"]"}]),
        json!([{"op": "Replace", "path": path, "value": ""}]),
        json!([{"op": "Replace", "path": path, "value": null}]),
        json!([{"op": "Replace", "path": path, "value": {"value": ""}}]),
    ];
    for ops in clear_forms {
        let out = apply_ok(USER, &with_manager, ops.clone());
        assert_eq!(
            out.resource, base,
            "{ops} clears the manager and the then-empty extension"
        );
    }
}

#[test]
fn quirk_07_member_removal_by_value_array_and_filter_only_touches_listed_members() {
    let group = entra_group();
    let out = patch(
        &registry(),
        GROUP,
        &group,
        &data("entra/patch_group_remove_members.json"),
    )
    .expect("applies");
    assert_eq!(
        delta_json(&out.members),
        json!({"clear": false, "add": [], "remove": ["f648f8d5ea4e4cd38e9c"]})
    );
    let out = apply_ok(
        GROUP,
        &group,
        json!([{"op": "Remove", "path": "members[value eq \"a\" or value eq \"b\"]"}]),
    );
    assert_eq!(
        delta_json(&out.members),
        json!({"clear": false, "add": [], "remove": ["a", "b"]})
    );
    // Many members per op with "$ref": null; repeats collapse.
    let out = apply_ok(
        GROUP,
        &group,
        json!([{"op": "Add", "path": "members", "value": [
            {"$ref": null, "value": "a"}, {"$ref": null, "value": "b"}, {"$ref": null, "value": "a"}
        ]}]),
    );
    assert_eq!(
        delta_json(&out.members),
        json!({"clear": false, "add": ["a", "b"], "remove": []})
    );
    // Removing a member added earlier in the same request cancels the add; the body is untouched.
    let out = apply_ok(
        GROUP,
        &group,
        json!([
            {"op": "Add", "path": "members", "value": [{"value": "a"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "a"}, {"value": "not-a-member"}]}
        ]),
    );
    assert_eq!(
        delta_json(&out.members),
        json!({"clear": false, "add": [], "remove": ["a", "not-a-member"]})
    );
    assert_eq!(out.resource, group);
    assert!(
        out.resource.get("members").is_none(),
        "members never live in the stored body"
    );
    // Create bodies hand their members over deduplicated.
    let mut body = json!({"displayName": "g", "members": [{"value": "a"}, {"value": "a", "type": "User"}, {"value": "b"}]});
    let members = take_members(&mut body).expect("members");
    assert_eq!(
        members.iter().map(|m| m.value.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(body.get("members").is_none());
}

#[test]
fn quirk_08_extra_schemas_read_only_meta_empty_roles_and_nulls_are_tolerated() {
    let reg = registry();
    // ADSCIM group schema URI + meta in the request.
    let group = stored(&reg, GROUP, &data("entra/create_group.json"));
    assert_eq!(
        group.body,
        json!({"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName"})
    );
    // Enterprise URN listed without an extension object, roles: [], meta.
    let user = stored(&reg, USER, &data("entra/create_user.json"));
    assert!(
        user.body.get(ENT).is_none()
            && user.body.get("roles").is_none()
            && user.body.get("meta").is_none()
    );
    assert_eq!(
        client_view(&reg, USER, "u1", &user.body)["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
        "no extension data, so only the core schema is returned (as in Microsoft's example response)"
    );
    // Nulls (and a malformed extension URN) in the old "Provision a user" example.
    let legacy = stored(&reg, USER, &data("entra/create_user_legacy_provision.json"));
    for absent in [
        "addresses",
        "phoneNumbers",
        "preferredLanguage",
        "title",
        "department",
        "manager",
        ENT,
    ] {
        assert!(
            legacy.body.get(absent).is_none(),
            "{absent} should be absent: {}",
            legacy.body
        );
    }
    // A PATCH value that is `null` or `[]` on an attribute that is not set changes nothing.
    let out = apply_ok(
        USER,
        &user.body,
        json!([{"op": "add", "value": {"roles": [], "title": null}}]),
    );
    assert_eq!(out.resource, user.body);
    assert!(!out.changed);
}

#[test]
fn quirk_09_attribute_names_are_case_insensitive() {
    let reg = registry();
    let created = stored(&reg, USER, &data("entra/reference_create_user.json"));
    assert_eq!(
        created.body["emails"][0],
        json!({"primary": true, "type": "work", "value": "testing@bob.com"})
    );
    let ent = stored(
        &reg,
        USER,
        &data("entra/reference_create_enterprise_user.json"),
    );
    assert_eq!(
        ent.body[ENT],
        json!({"department": "some department", "manager": {"value": "OMalley"}})
    );
    // Paths and filters in any case; storage keeps canonical names.
    let out = apply_ok(
        USER,
        &created.body,
        json!([
            {"op": "Replace", "path": "USERNAME", "value": "x@contoso.com"},
            {"op": "Replace", "path": "Name.GivenName", "value": "Ry"},
            {"op": "Add", "path": "emails[Type eq \"other\"].Value", "value": "o@contoso.com"}
        ]),
    );
    assert_eq!(out.resource["userName"], "x@contoso.com");
    assert_eq!(out.resource["name"]["givenName"], "Ry");
    assert!(
        out.resource.get("USERNAME").is_none() && out.resource["name"].get("GivenName").is_none()
    );
    assert!(
        out.resource["emails"]
            .as_array()
            .expect("emails")
            .contains(&json!({"type": "other", "value": "o@contoso.com"}))
    );
    let f = Filter::parse("DisplayName eq \"bobisamazing\"")
        .and_then(|f| f.resolve(&reg, USER))
        .expect("resolves");
    assert!(f.matches(&reg, USER, &created.body));
}

#[test]
fn quirk_10_filter_values_quoted_or_unquoted_parse_the_same() {
    // The '+' / '%20' decoding of the query string is the HTTP layer's (crates/wire tests it);
    // this crate receives the decoded text and must read quoted and unquoted values alike.
    let pairs = [
        ("externalId eq jyoung", "externalId eq \"jyoung\""),
        ("userName sw O", "userName sw \"O\""),
        ("userName eq \"a@b.com\"", "userName  eq   \"a@b.com\" "),
        (
            "displayName eq \"Sales Team\"",
            "displayName eq \"Sales\\u0020Team\"",
        ),
    ];
    for (a, b) in pairs {
        assert_eq!(
            Filter::parse(a).expect(a),
            Filter::parse(b).expect(b),
            "{a} vs {b}"
        );
    }
    let reg = registry();
    let f = Filter::parse("userName eq Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee")
        .and_then(|f| f.resolve(&reg, USER));
    assert!(f.expect("resolves").matches(&reg, USER, &entra_user()));
}

#[test]
fn quirk_11_excluded_attributes_members_omits_members() {
    // Query-parameter order and unknown parameters (`aadOptscim062020`) are the HTTP layer's
    // (crates/wire); this crate owns what `excludedAttributes=members` does.
    let reg = registry();
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Sales",
        "members": [{"value": "u1", "display": "Babs", "type": "User"}],
        "meta": {"resourceType": "Group", "location": "https://x/Groups/g1"}
    });
    for excluded in [
        "members",
        "Members",
        " members ",
        "urn:ietf:params:scim:schemas:core:2.0:Group:members",
    ] {
        let p = Projection::parse(None, Some(excluded)).expect("parses");
        let shown = p.apply(&reg, GROUP, &group);
        assert!(shown.get("members").is_none(), "{excluded:?}: {shown}");
        assert_eq!(shown["id"], "g1");
        assert_eq!(shown["displayName"], "Sales");
        assert!(
            !p.wants(&reg, GROUP, &AttrPath::new("members")),
            "the store can skip loading members"
        );
    }
    let all = Projection::parse(None, None).expect("parses");
    assert!(all.wants(&reg, GROUP, &AttrPath::new("members")));
    assert_eq!(all.apply(&reg, GROUP, &group)["members"][0]["value"], "u1");
    // `attributes=id` (TUT Example 4): only always-returned attributes remain.
    let ids = Projection::parse(Some("id"), None)
        .expect("parses")
        .apply(&reg, GROUP, &group);
    let keys: Vec<&str> = ids
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert!(keys.contains(&"id") && keys.contains(&"schemas"), "{ids}");
    assert!(
        ids.get("displayName").is_none() && ids.get("members").is_none(),
        "{ids}"
    );
}

#[test]
fn quirk_12_stringified_json_role_values_are_stored_verbatim() {
    let base = entra_user();
    let request = data("entra/patch_user_roles_add_stringified.json");
    let sent = request["Operations"][0]["value"][0]["value"].clone();
    let out = patch(&registry(), USER, &base, &request).expect("applies");
    assert_eq!(
        out.resource["roles"],
        json!([{"value": sent}]),
        "the JSON text is a plain string to store"
    );
    let view = client_view(&registry(), USER, "u1", &out.resource);
    assert_eq!(view["roles"][0]["value"], sent);
    let created = stored(
        &registry(),
        USER,
        &data("entra/create_user_single_app_role.json"),
    );
    assert_eq!(created.body["roles"][0]["primary"], json!(true));
}

#[test]
fn quirk_13_no_user_agent_or_accept_header() {
    // Headers never reach this crate: crates/wire tests that requests without User-Agent or
    // Accept are served. What this crate owns is that Test Connection needs nothing but the
    // query: filter in, empty ListResponse out.
    let reg = registry();
    let filter = Filter::parse("userName eq \"3c6b64f4-cc2b-4d6a-a1a3-7b1f2a6c9e01\"")
        .and_then(|f| f.resolve(&reg, USER))
        .expect("Test Connection filter");
    assert!(!filter.matches(&reg, USER, &entra_user()));
    let paging = scim::list::Paging::new(None, None, 100);
    let list = scim::list::ListResponse {
        total_results: 0,
        start_index: paging.start_index,
        items_per_page: 0,
        resources: Vec::new(),
    };
    let body = serde_json::to_value(&list).expect("serializes");
    assert_eq!(
        body,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0,
               "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );
}

#[test]
fn quirk_14_duplicate_post_normalizes_identically() {
    // The 409 / idempotent retry after a timed-out create is the store's (crates/store tests
    // it). This crate must give the retried body the same stored form, so the store's
    // uniqueness check and the matching query see the same user.
    let reg = registry();
    let request = data("entra/create_user.json");
    let first = stored(&reg, USER, &request);
    let second = stored(&reg, USER, &request);
    assert_eq!(first.body, second.body);
    // A retry that differs only in key case and read-only members normalizes the same too.
    let mut retried = json!({
        "SCHEMAS": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "UserName": request["userName"], "ExternalId": request["externalId"], "Active": "True",
        "Emails": [{"Primary": "true", "Type": "work", "Value": request["emails"][0]["value"]}],
        "Name": {"Formatted": "givenName familyName", "FamilyName": "familyName", "GivenName": "givenName"},
        "meta": {"resourceType": "User", "created": "2018-03-27T19:59:26.000Z"}, "id": "client-sent-id"
    });
    let again = create(&reg, USER, &retried).expect("retry normalizes").body;
    assert_eq!(again, first.body);
    // The uniqueness key compares case-insensitively (userName is not caseExact).
    retried["UserName"] = json!(request["userName"].as_str().expect("string").to_uppercase());
    let upper = create(&reg, USER, &retried).expect("normalizes").body;
    let f = Filter::parse(&format!("userName eq {}", upper["userName"]))
        .and_then(|f| f.resolve(&reg, USER));
    assert!(f.expect("resolves").matches(&reg, USER, &first.body));
}
