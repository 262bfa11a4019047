//! Every error a client can provoke through this crate's public API, by `scimType` (RFC 7644
//! §3.12) and by bare status, from real inputs. Each asserts the status and keyword the client
//! receives, that the detail names what is wrong, and that it never echoes attribute values.
//!
//! Not reachable here, by design: `uniqueness` (409) is decided by the store, which owns the
//! data (crates/store tests it); `invalidVers` and `sensitive` are HTTP-layer concerns
//! (crates/wire). `tooMany` is the store's as well: it is about how many results a filter yields.

use crate::support::{ENT, create, data, expect_error, patch, patch_body, registry, stored};
use scim::ScimType;
use scim::filter::{Filter, FilterLimits, parse_with_limits};
use scim::patch::{PatchLimits, PatchRequest};
use scim::path::PatchPath;
use scim::schema::ResourceKind;
use serde_json::{Value, json};

const USER: ResourceKind = ResourceKind::User;
const GROUP: ResourceKind = ResourceKind::Group;
/// A value that must never appear in an error detail.
const SECRET: &str = "s3cr3t-personal-value";

fn user() -> Value {
    stored(&registry(), USER, &data("entra/create_user.json")).body
}

fn patch_err(kind: ResourceKind, base: &Value, ops: Value, types: &[ScimType]) -> scim::ScimError {
    let body = patch_body(ops);
    let e = expect_error(patch(&registry(), kind, base, &body), 400, types);
    assert!(
        !e.detail().contains(SECRET),
        "detail leaks a value: {}",
        e.detail()
    );
    e
}

#[test]
fn invalid_filter_for_malformed_filters_with_the_position_in_the_detail() {
    let cases = [
        ("userName eq", 11),
        ("(userName eq \"a\"", 16),
        ("userName xx \"a\"", 9),
        ("emails[type eq \"work\"", 21),
        ("userName eq \"unterminated", 12),
        ("and", 3),
        ("userName eq \"a\" or", 18),
        ("userName eq \"a\" \"b\"", 16),
    ];
    for (text, position) in cases {
        let e = expect_error(Filter::parse(text), 400, &[ScimType::InvalidFilter]);
        assert!(
            e.detail().contains(&position.to_string()),
            "{text:?}: detail {:?} should give position {position}",
            e.detail()
        );
    }
    expect_error(Filter::parse(""), 400, &[ScimType::InvalidFilter]);
}

#[test]
fn invalid_filter_beyond_the_length_and_depth_limits() {
    let limits = FilterLimits {
        max_length: 64,
        max_depth: 4,
    };
    let long = format!("userName eq \"{}\"", "a".repeat(100));
    expect_error(
        parse_with_limits(&long, &limits),
        400,
        &[ScimType::InvalidFilter],
    );
    let deep = format!("{}userName pr{}", "(".repeat(10), ")".repeat(10));
    expect_error(
        parse_with_limits(&deep, &limits),
        400,
        &[ScimType::InvalidFilter],
    );
    let nots = format!("{}userName pr{}", "not (".repeat(10), ")".repeat(10));
    expect_error(
        parse_with_limits(&nots, &limits),
        400,
        &[ScimType::InvalidFilter],
    );
    // Defaults hold a realistic filter and reject a pathological one without overflowing the stack.
    assert!(
        Filter::parse("userName eq \"x\" and (emails[type eq \"work\"] or not (active eq false))")
            .is_ok()
    );
    let bomb = format!("{}userName pr{}", "(".repeat(100_000), ")".repeat(100_000));
    expect_error(Filter::parse(&bomb), 400, &[ScimType::InvalidFilter]);
}

#[test]
fn invalid_filter_when_resolving_against_the_schema() {
    let reg = registry();
    let cases = [
        ("foo eq \"x\"", "foo"),
        ("active gt true", "active"),
        ("active co \"t\"", "active"),
        ("meta.lastModified gt \"not a date\"", "lastModified"),
        ("name eq \"x\"", "name"),
        ("userName[value eq \"x\"]", "userName"),
        ("active eq 1", "active"),
        ("emails.primary eq \"yes\"", "primary"),
        ("password eq \"x\"", "password"),
        ("userName gt null", "userName"),
        ("emails[colour eq \"red\"]", "colour"),
        (
            "urn:ietf:params:scim:schemas:extension:unknown:2.0:User:x eq \"1\"",
            "x",
        ),
    ];
    for (text, names) in cases {
        let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text} should parse: {e}"));
        let e = expect_error(f.resolve(&reg, USER), 400, &[ScimType::InvalidFilter]);
        assert!(
            e.detail().contains(names),
            "{text}: detail {:?} should name {names}",
            e.detail()
        );
    }
    // Group members can be filtered, User attributes are not Group attributes.
    let f = Filter::parse("userName eq \"x\"").expect("parses");
    expect_error(f.resolve(&reg, GROUP), 400, &[ScimType::InvalidFilter]);
}

#[test]
fn invalid_filter_for_a_member_filter_other_than_value_equality() {
    let group = stored(&registry(), GROUP, &data("entra/create_group.json")).body;
    patch_err(
        GROUP,
        &group,
        json!([{"op": "remove", "path": "members[display eq \"Babs\"]"}]),
        &[ScimType::InvalidFilter],
    );
    patch_err(
        GROUP,
        &group,
        json!([{"op": "remove", "path": "members[value co \"a\"]"}]),
        &[ScimType::InvalidFilter],
    );
}

#[test]
fn invalid_path_for_malformed_and_unknown_patch_paths() {
    let base = user();
    for path in [
        "a.b.c",
        "emails[type eq \"work\"",
        "emails]",
        "1abc",
        "name..givenName",
        "emails[type eq \"work\"]x",
    ] {
        let e = expect_error(
            PatchPath::parse(path),
            400,
            &[ScimType::InvalidPath, ScimType::InvalidFilter],
        );
        assert!(!e.detail().is_empty());
        patch_err(
            USER,
            &base,
            json!([{"op": "replace", "path": path, "value": SECRET}]),
            &[ScimType::InvalidPath, ScimType::InvalidFilter],
        );
    }
    for path in [
        "foo",
        "name.nickName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:colour",
        "emails[type eq \"work\"].colour",
    ] {
        let e = patch_err(
            USER,
            &base,
            json!([{"op": "add", "path": path, "value": SECRET}]),
            &[ScimType::InvalidPath],
        );
        let last = path.rsplit(['.', ':']).next().expect("name");
        assert!(
            e.detail().contains(last),
            "{path}: detail {:?} should name {last}",
            e.detail()
        );
    }
}

#[test]
fn invalid_syntax_for_malformed_patch_bodies() {
    let base = user();
    let bodies = [
        json!("not an object"),
        json!([]),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
        json!({"Operations": []}),
        json!({"Operations": {"op": "add"}}),
        json!({"Operations": ["add"]}),
        json!({"Operations": [{"path": "title", "value": "x"}]}),
        json!({"Operations": [{"op": "Upsert", "path": "title", "value": "x"}]}),
        json!({"Operations": [{"op": "add", "value": SECRET}]}),
    ];
    for body in bodies {
        let e = expect_error(
            patch(&registry(), USER, &base, &body),
            400,
            &[ScimType::InvalidSyntax],
        );
        assert!(!e.detail().contains(SECRET), "{}", e.detail());
    }
}

#[test]
fn invalid_syntax_for_a_create_body_that_is_not_an_object() {
    for body in [json!([]), json!("x"), json!(null), json!(1)] {
        expect_error(
            create(&registry(), USER, &body),
            400,
            &[ScimType::InvalidSyntax],
        );
        expect_error(
            create(&registry(), GROUP, &body),
            400,
            &[ScimType::InvalidSyntax],
        );
    }
}

#[test]
fn mutability_for_read_only_targets_and_set_immutable_values() {
    let base = user();
    for path in ["id", "meta", "meta.created", "groups", "groups.value"] {
        let e = patch_err(
            USER,
            &base,
            json!([{"op": "replace", "path": path, "value": SECRET}]),
            &[ScimType::Mutability],
        );
        assert!(
            e.detail().contains(path.split('.').next().expect("name")),
            "{path}: {}",
            e.detail()
        );
    }
    let group = stored(&registry(), GROUP, &data("entra/create_group.json")).body;
    patch_err(
        GROUP,
        &group,
        json!([{"op": "replace", "path": "members.display", "value": "x"}]),
        &[ScimType::Mutability],
    );
    // Removing a required attribute.
    patch_err(
        USER,
        &base,
        json!([{"op": "remove", "path": "userName"}]),
        &[ScimType::Mutability, ScimType::InvalidValue],
    );
    patch_err(
        GROUP,
        &group,
        json!([{"op": "remove", "path": "displayName"}]),
        &[ScimType::Mutability, ScimType::InvalidValue],
    );
}

#[test]
fn no_target_for_pathless_remove_and_unsatisfiable_value_filters() {
    let base = user();
    patch_err(
        USER,
        &base,
        json!([{"op": "remove"}]),
        &[ScimType::NoTarget],
    );
    patch_err(
        USER,
        &base,
        json!([{"op": "Remove", "value": {"title": "x"}}]),
        &[ScimType::NoTarget],
    );
    // No element matches and `co` cannot describe one to create.
    patch_err(
        USER,
        &base,
        json!([{"op": "replace", "path": "emails[value co \"@nowhere.example\"].type", "value": "home"}]),
        &[ScimType::NoTarget],
    );
    patch_err(
        USER,
        &base,
        json!([{"op": "add", "path": "phoneNumbers[type eq \"work\" or type eq \"mobile\"].value", "value": "1"}]),
        &[ScimType::NoTarget],
    );
}

#[test]
fn invalid_value_for_wrong_types_unknown_attributes_and_missing_required_ones() {
    let reg = registry();
    let base = user();
    let wrong = [
        json!([{"op": "replace", "path": "active", "value": "yes"}]),
        json!([{"op": "replace", "path": "active", "value": 1}]),
        json!([{"op": "replace", "path": "userName", "value": {"value": SECRET}}]),
        json!([{"op": "replace", "path": "emails", "value": [{"value": SECRET, "colour": "red"}]}]),
        json!([{"op": "replace", "value": {"colour": SECRET}}]),
        json!([{"op": "replace", "path": "name.givenName", "value": ["a", "b"]}]),
        json!([{"op": "add", "path": "emails", "value": [
            {"value": "a@x.com", "primary": true}, {"value": "b@x.com", "primary": true}]}]),
    ];
    for ops in wrong {
        patch_err(USER, &base, ops, &[ScimType::InvalidValue]);
    }
    let e = expect_error(
        create(&reg, USER, &json!({"userName": "u", "colour": SECRET})),
        400,
        &[ScimType::InvalidValue],
    );
    assert!(
        e.detail().contains("colour") && !e.detail().contains(SECRET),
        "{}",
        e.detail()
    );
    let e = expect_error(
        create(&reg, USER, &json!({"displayName": SECRET})),
        400,
        &[ScimType::InvalidValue],
    );
    assert!(
        e.detail().contains("userName") && !e.detail().contains(SECRET),
        "{}",
        e.detail()
    );
    let e = expect_error(
        create(&reg, GROUP, &json!({"externalId": "e"})),
        400,
        &[ScimType::InvalidValue],
    );
    assert!(e.detail().contains("displayName"), "{}", e.detail());
    let e = expect_error(
        create(&reg, USER, &json!({"userName": "u", "active": SECRET})),
        400,
        &[ScimType::InvalidValue],
    );
    assert!(
        e.detail().contains("active") && !e.detail().contains(SECRET),
        "{}",
        e.detail()
    );
    let e = expect_error(
        create(&reg, USER, &json!({"userName": "u", ENT: {"manager": 5}})),
        400,
        &[ScimType::InvalidValue],
    );
    assert!(e.detail().contains("manager"), "{}", e.detail());
}

#[test]
fn payload_too_large_without_scim_type_beyond_the_patch_limits() {
    let limits = PatchLimits {
        max_operations: 3,
        max_members: 5,
    };
    let ops: Vec<Value> = (0..4)
        .map(|i| json!({"op": "add", "path": "title", "value": format!("t{i}")}))
        .collect();
    expect_error(
        PatchRequest::parse_with_limits(&patch_body(json!(ops)), &limits),
        413,
        &[],
    );
    let members: Vec<Value> = (0..6).map(|i| json!({"value": format!("m{i}")})).collect();
    let body = patch_body(json!([{"op": "add", "path": "members", "value": members}]));
    expect_error(PatchRequest::parse_with_limits(&body, &limits), 413, &[]);
    assert!(PatchRequest::parse_with_limits(&patch_body(json!(ops[..3])), &limits).is_ok());
}

#[test]
fn not_found_for_an_unknown_schema_document() {
    let reg = registry();
    expect_error(
        scim::discovery::schema_document(&reg, "urn:example:nope", "https://x/scim/v2"),
        404,
        &[],
    );
    expect_error(
        scim::discovery::resource_type_document(&reg, "Printers", "https://x/scim/v2"),
        404,
        &[],
    );
    assert!(scim::discovery::schema_document(&reg, ENT, "https://x/scim/v2").is_ok());
}

#[test]
fn precondition_failed_is_what_a_stale_if_match_leads_to() {
    let current = 7;
    let stale = scim::meta::IfMatch::parse("W/\"6\"").expect("parses");
    assert!(!stale.matches(current));
    let any = scim::meta::IfMatch::parse("*").expect("parses");
    assert!(any.matches(current));
    let list = scim::meta::IfMatch::parse("W/\"5\", W/\"7\"").expect("parses");
    assert!(list.matches(current));
    let strong = scim::meta::IfMatch::parse("\"7\"").expect("parses");
    assert!(
        strong.matches(current),
        "weak comparison (RFC 7232 §2.3.2) is what If-Match on a weak etag needs"
    );
    let e = expect_error(stale.check(current), 412, &[]);
    assert!(!e.detail().is_empty());
    assert!(any.check(current).is_ok());
    expect_error(
        scim::meta::IfMatch::parse("W/\"7"),
        400,
        &[ScimType::InvalidSyntax],
    );
}

#[test]
fn every_scim_type_this_crate_can_produce_is_reached_from_a_client_input() {
    let reg = registry();
    let base = user();
    let p = |ops: Value| patch(&reg, USER, &base, &patch_body(ops)).map(|_| ());
    let reached: Vec<(ScimType, scim::Result<()>)> = vec![
        (
            ScimType::InvalidFilter,
            Filter::parse("userName eq").map(|_| ()),
        ),
        (
            ScimType::InvalidPath,
            p(json!([{"op": "add", "path": "a.b.c", "value": "x"}])),
        ),
        (
            ScimType::InvalidSyntax,
            p(json!([{"op": "upsert", "path": "title", "value": "x"}])),
        ),
        (
            ScimType::Mutability,
            p(json!([{"op": "replace", "path": "id", "value": "x"}])),
        ),
        (ScimType::NoTarget, p(json!([{"op": "remove"}]))),
        (
            ScimType::InvalidValue,
            p(json!([{"op": "replace", "path": "active", "value": 3}])),
        ),
    ];
    for (want, result) in &reached {
        assert_eq!(
            result.as_ref().err().and_then(|e| e.scim_type()),
            Some(*want)
        );
    }
    // The rest belong to other layers (see the module documentation).
    let elsewhere = [
        ScimType::TooMany,
        ScimType::Uniqueness,
        ScimType::InvalidVers,
        ScimType::Sensitive,
    ];
    for t in ScimType::ALL {
        assert!(
            reached.iter().any(|(r, _)| *r == t) ^ elsewhere.contains(&t),
            "{t} is neither reached nor accounted for"
        );
    }
}
