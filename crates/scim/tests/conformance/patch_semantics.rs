//! RFC 7644 §3.5.2 rules that the RFC states in prose rather than in examples, checked on the
//! RFC 7643 §8.3 user: what `add`, `replace` and `remove` do to complex and multi-valued
//! attributes, and that a failing request changes nothing.

use crate::support::{ENT, data, expect_error, patch, patch_body, registry, stored};
use pretty_assertions::assert_eq;
use scim::ScimType;
use scim::patch::PatchOutcome;
use scim::schema::ResourceKind;
use serde_json::{Value, json};

const USER: ResourceKind = ResourceKind::User;

fn babs() -> Value {
    stored(
        &registry(),
        USER,
        &data("rfc/7643_8_3_enterprise_user.json"),
    )
    .body
}

fn run(base: &Value, ops: Value) -> PatchOutcome {
    let body = patch_body(ops);
    patch(&registry(), USER, base, &body).unwrap_or_else(|e| panic!("{body} failed: {e}"))
}

#[test]
fn add_or_replace_of_a_complex_attribute_merges_sub_attributes() {
    // §3.5.2.1 / §3.5.2.3: "Sub-attributes that are not specified in the value parameter are
    // left unchanged."
    let base = babs();
    for op in ["add", "replace"] {
        let out = run(
            &base,
            json!([{"op": op, "path": "name", "value": {"givenName": "Babs", "middleName": null}}]),
        );
        let mut want = base["name"].clone();
        want["givenName"] = json!("Babs");
        want.as_object_mut().expect("object").remove("middleName");
        assert_eq!(out.resource["name"], want, "{op}");
    }
}

#[test]
fn replace_of_a_multi_valued_attribute_without_filter_replaces_every_value() {
    let out = run(
        &babs(),
        json!([{"op": "replace", "path": "emails", "value": [{"value": "only@example.com", "type": "work"}]}]),
    );
    assert_eq!(
        out.resource["emails"],
        json!([{"value": "only@example.com", "type": "work"}])
    );
}

#[test]
fn add_to_a_multi_valued_attribute_appends_and_does_not_duplicate() {
    let base = babs();
    let out = run(
        &base,
        json!([{"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home"}]}]),
    );
    assert_eq!(out.resource, base, "an identical value is not added twice");
    assert!(!out.changed);
    let out = run(
        &base,
        json!([{"op": "add", "path": "phoneNumbers", "value": {"value": "555-555-0000", "type": "pager"}}]),
    );
    let phones = out.resource["phoneNumbers"].as_array().expect("phones");
    assert_eq!(phones.len(), 3);
    assert_eq!(phones[2], json!({"value": "555-555-0000", "type": "pager"}));
}

#[test]
fn replace_through_a_filter_changes_every_matching_element_and_only_those() {
    let mut base = babs();
    base["emails"] = json!([
        {"value": "a@example.com", "type": "work"},
        {"value": "b@example.com", "type": "work"},
        {"value": "c@example.com", "type": "home"}
    ]);
    let out = run(
        &base,
        json!([{"op": "replace", "path": "emails[type eq \"work\"].display", "value": "Work"}]),
    );
    assert_eq!(
        out.resource["emails"],
        json!([
            {"value": "a@example.com", "type": "work", "display": "Work"},
            {"value": "b@example.com", "type": "work", "display": "Work"},
            {"value": "c@example.com", "type": "home"}
        ])
    );
}

#[test]
fn remove_leaves_no_empty_arrays_or_objects_behind() {
    let base = babs();
    let out = run(
        &base,
        json!([{"op": "remove", "path": "ims[type eq \"aim\"]"}]),
    );
    assert!(
        out.resource.get("ims").is_none(),
        "the last element went, so does the attribute: {}",
        out.resource
    );
    let out = run(
        &base,
        json!([
            {"op": "remove", "path": "name.formatted"}, {"op": "remove", "path": "name.familyName"},
            {"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.middleName"},
            {"op": "remove", "path": "name.honorificPrefix"}, {"op": "remove", "path": "name.honorificSuffix"}
        ]),
    );
    assert!(out.resource.get("name").is_none(), "{}", out.resource);
    let out = run(&base, json!([{"op": "remove", "path": ENT}]));
    assert!(
        out.resource.get(ENT).is_none(),
        "removing the extension URN removes its object: {}",
        out.resource
    );
    // Removing the only sub-attribute that made an element meaningful drops the element.
    let out = run(
        &base,
        json!([{"op": "remove", "path": "phoneNumbers[type eq \"mobile\"].value"}]),
    );
    assert_eq!(
        out.resource["phoneNumbers"],
        json!([{"value": "555-555-5555", "type": "work"}])
    );
}

#[test]
fn remove_of_a_value_that_is_not_there_is_a_no_op() {
    let base = babs();
    for path in [
        "nickName",
        "emails[type eq \"other\"]",
        "entitlements",
        "name.honorificPrefix",
    ] {
        let mut start = base.clone();
        if path == "nickName" {
            start.as_object_mut().expect("object").remove("nickName");
        }
        if path == "name.honorificPrefix" {
            start["name"]
                .as_object_mut()
                .expect("object")
                .remove("honorificPrefix");
        }
        let out = run(&start, json!([{"op": "remove", "path": path}]));
        assert_eq!(out.resource, start, "{path}");
        assert!(!out.changed, "{path}");
    }
}

#[test]
fn a_failing_operation_anywhere_in_the_request_applies_nothing() {
    let base = babs();
    let body = patch_body(json!([
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "add", "path": "emails", "value": [{"value": "x@example.com", "type": "other"}]},
        {"op": "replace", "path": "id", "value": "stolen"}
    ]));
    let before = base.clone();
    expect_error(
        patch(&registry(), USER, &base, &body),
        400,
        &[ScimType::Mutability],
    );
    assert_eq!(base, before);
    // The same holds for a value error in the last operation.
    let body = patch_body(json!([
        {"op": "remove", "path": "emails"},
        {"op": "replace", "path": "active", "value": "maybe"}
    ]));
    expect_error(
        patch(&registry(), USER, &base, &body),
        400,
        &[ScimType::InvalidValue],
    );
    // And the error does not depend on what came before it: applying the good prefix first and
    // then the bad operation fails the same way.
    let prefix = run(&base, json!([{"op": "remove", "path": "emails"}]));
    let bad = patch_body(json!([{"op": "replace", "path": "active", "value": "maybe"}]));
    expect_error(
        patch(&registry(), USER, &prefix.resource, &bad),
        400,
        &[ScimType::InvalidValue],
    );
}

#[test]
fn values_are_stored_exactly_as_sent() {
    // ENTRA §1.13: no normalisation of values (case, whitespace, Unicode), or Entra sees a
    // difference every cycle and re-PATCHes.
    let base = babs();
    let values = [
        "  Padded  ",
        "MiXeD@Example.COM",
        "Zoë Ünïcødé 👩‍💻",
        "line\nbreak",
        "tab\tand \"quotes\"",
    ];
    for v in values {
        let out = run(
            &base,
            json!([{"op": "Replace", "path": "displayName", "value": v}]),
        );
        assert_eq!(out.resource["displayName"], v);
        let out = run(
            &base,
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": v}]),
        );
        assert_eq!(out.resource["emails"][0]["value"], v);
    }
}

#[test]
fn pathless_replace_ignores_read_only_attributes_a_client_echoes_back() {
    // A client that PATCHes with a GET result sends `id`, `meta`, `schemas` and `groups` along.
    let base = babs();
    let out = run(
        &base,
        json!([{"op": "replace", "value": {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "2819c223",
            "meta": {"resourceType": "User"}, "groups": [{"value": "g1"}], "title": "Chief Guide"
        }}]),
    );
    let mut want = base.clone();
    want["title"] = json!("Chief Guide");
    assert_eq!(out.resource, want);
}

#[test]
fn a_user_has_no_members_and_a_group_no_user_attributes() {
    let base = babs();
    let body = patch_body(json!([{"op": "add", "path": "members", "value": [{"value": "x"}]}]));
    expect_error(
        patch(&registry(), USER, &base, &body),
        400,
        &[ScimType::InvalidPath],
    );
    let group = json!({"displayName": "g"});
    let body = patch_body(json!([{"op": "add", "path": "userName", "value": "x"}]));
    expect_error(
        patch(&registry(), ResourceKind::Group, &group, &body),
        400,
        &[ScimType::InvalidPath],
    );
}

#[test]
fn clearing_a_required_attribute_through_an_empty_value_is_rejected() {
    let base = babs();
    for value in [json!(""), json!(null)] {
        let body = patch_body(json!([{"op": "replace", "path": "userName", "value": value}]));
        expect_error(
            patch(&registry(), USER, &base, &body),
            400,
            &[ScimType::Mutability, ScimType::InvalidValue],
        );
    }
}

#[test]
fn create_and_patch_store_the_same_body_for_the_same_values() {
    // The same data written by POST/PUT or by PATCH must be stored the same way, or a client
    // that reads back (Entra compares every cycle, ENTRA §4) sees a difference depending on
    // how the value was written.
    let reg = registry();
    let minimal = json!({"userName": "a"});
    let values = [
        ("title", json!("")),
        ("name", json!({"givenName": "", "familyName": "F"})),
        (
            "emails",
            json!([{"value": "a@x.com", "type": "work", "primary": "True"}]),
        ),
        ("addresses", json!([{"type": "work", "primary": false}])),
        ("addresses", json!([{"type": "work"}])),
        ("phoneNumbers", json!([{"type": "mobile", "value": ""}])),
        (ENT, json!({"manager": "", "department": "D"})),
    ];
    let mut failures = Vec::new();
    for (attr, value) in values {
        let mut body = minimal.clone();
        body[attr] = value.clone();
        let created = crate::support::create(&reg, USER, &body).map(|s| s.body);
        let patched = patch(
            &reg,
            USER,
            &minimal,
            &patch_body(json!([{"op": "add", "path": attr, "value": value}])),
        )
        .map(|o| o.resource);
        if created.as_ref().ok() != patched.as_ref().ok() {
            failures.push(format!(
                "{attr} = {value}:\n  create {created:?}\n  patch  {patched:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
