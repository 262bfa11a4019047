//! Property tests on generated input: PATCH never panics and never half-applies (a request
//! succeeds exactly as its operations would one by one, or fails as a whole), error details
//! never echo values, and the parsers never panic and print back what they read.

use crate::support::{ENT, patch, patch_body, registry, stored};
use proptest::prelude::*;
use scim::filter::Filter;
use scim::path::PatchPath;
use scim::schema::ResourceKind;
use scim::validate::{check_required, normalize_resource};
use serde_json::{Value, json};

/// A value no error detail may contain (it stands for personal data).
const SECRET: &str = "p3rs0nal-d4ta";

fn op_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "add", "Add", "ADD", "replace", "Replace", "remove", "Remove", "upsert",
    ])
    .prop_map(str::to_owned)
}

fn user_path() -> impl Strategy<Value = Option<String>> {
    let ent = |a: &str| format!("{ENT}:{a}");
    let paths = vec![
        "userName".to_owned(),
        "nickName".to_owned(),
        "title".to_owned(),
        "active".to_owned(),
        "externalId".to_owned(),
        "name".to_owned(),
        "name.givenName".to_owned(),
        "Name.FamilyName".to_owned(),
        "emails".to_owned(),
        "emails.value".to_owned(),
        "emails[type eq \"work\"].value".to_owned(),
        "emails[type eq \"work\"]".to_owned(),
        "emails[type eq \"home\" and value ew \"x.org\"]".to_owned(),
        "emails[value co \"x\"].type".to_owned(),
        "emails[type eq \"work\"].primary".to_owned(),
        "phoneNumbers[type eq \"mobile\"].value".to_owned(),
        "addresses[type eq \"work\"].locality".to_owned(),
        "roles".to_owned(),
        "x509Certificates".to_owned(),
        ent("employeeNumber"),
        ent("manager"),
        ent("manager.value"),
        "manager[value eq \"m1\"]".to_owned(),
        "urn:ietf:params:scim:schemas:core:2.0:User:displayName".to_owned(),
        "id".to_owned(),
        "meta.created".to_owned(),
        "groups".to_owned(),
        "password".to_owned(),
        "foo".to_owned(),
        "a.b.c".to_owned(),
        "emails[".to_owned(),
        "emails[type eq \"work\"]]".to_owned(),
        String::new(),
    ];
    prop_oneof![1 => Just(None), 8 => prop::sample::select(paths).prop_map(Some)]
}

fn leaf_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!("")),
        Just(json!(SECRET)),
        Just(json!("True")),
        Just(json!("False")),
        Just(json!(true)),
        Just(json!(false)),
        Just(json!(0)),
        Just(json!(1.5)),
        Just(json!([])),
        Just(json!({})),
        "[a-zA-Z@. ]{0,6}".prop_map(Value::String),
    ]
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => leaf_value(),
        1 => Just(json!({"value": SECRET})),
        1 => Just(json!({"value": ""})),
        1 => Just(json!([{"value": SECRET, "type": "work", "primary": true}])),
        1 => Just(json!([{"value": "a@x.com", "primary": "True"}, {"value": "b@x.com", "primary": true}])),
        1 => Just(json!({"givenName": SECRET, "formatted": null})),
        1 => Just(json!({"userName": SECRET, "name.familyName": "F", "active": "False"})),
        1 => Just(json!({ENT: {"department": SECRET, "manager": "m1"}})),
        1 => Just(json!({"colour": SECRET})),
        1 => Just(json!({"id": SECRET, "displayName": "D"})),
        1 => Just(json!(["a", SECRET])),
        1 => Just(json!([{"value": "{\"id\":1}"}])),
        1 => prop::collection::vec(leaf_value(), 0..3).prop_map(Value::Array),
    ]
}

fn operation(path: impl Strategy<Value = Option<String>>) -> impl Strategy<Value = Value> {
    (op_name(), path, prop::option::of(any_value())).prop_map(|(op, path, value)| {
        let mut o = serde_json::Map::new();
        o.insert("op".into(), json!(op));
        if let Some(p) = path {
            o.insert("path".into(), json!(p));
        }
        if let Some(v) = value {
            o.insert("value".into(), v);
        }
        Value::Object(o)
    })
}

fn base_user() -> Value {
    let reg = registry();
    let mut body = stored(
        &reg,
        ResourceKind::User,
        &crate::support::data("rfc/7643_8_3_enterprise_user.json"),
    )
    .body;
    body["roles"] = json!([{"value": "r1", "primary": true}]);
    body
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn patch_on_a_user_never_panics_and_never_half_applies(ops in prop::collection::vec(operation(user_path()), 1..5)) {
        let reg = registry();
        let base = base_user();
        let before = base.clone();
        let whole = patch(&reg, ResourceKind::User, &base, &patch_body(Value::Array(ops.clone())));
        prop_assert_eq!(&base, &before, "input untouched");
        // One by one, each operation as its own request.
        let mut current = base.clone();
        let mut each_ok = true;
        for op in &ops {
            match patch(&reg, ResourceKind::User, &current, &patch_body(json!([op]))) {
                Ok(o) => current = o.resource,
                Err(_) => { each_ok = false; break; }
            }
        }
        match &whole {
            Ok(outcome) => {
                prop_assert_eq!(outcome.changed, outcome.resource != base, "changed flag");
                prop_assert!(outcome.members.is_empty(), "users have no members delta");
                prop_assert!(check_required(&reg, ResourceKind::User, &outcome.resource).is_ok(), "required attributes kept: {}", outcome.resource);
                let again = normalize_resource(&reg, ResourceKind::User, outcome.resource.clone());
                prop_assert_eq!(again.as_ref().ok(), Some(&outcome.resource), "a PATCH result is a valid stored body (PUT of the GET result changes nothing)");
                if each_ok {
                    prop_assert_eq!(&outcome.resource, &current, "same as applying the operations one by one");
                }
            }
            Err(e) => {
                prop_assert!(e.status() == 400 || e.status() == 413, "status {}", e.status());
                prop_assert!(!e.detail().contains(SECRET), "detail echoes a value: {}", e.detail());
                prop_assert!(!each_ok, "every operation applies one by one, yet the request failed: {}", e);
            }
        }
    }

    #[test]
    fn patch_on_a_group_never_panics_and_keeps_the_delta_normalised(
        ops in prop::collection::vec(operation(prop_oneof![
            1 => Just(None::<String>),
            6 => prop::sample::select(vec![
                "members", "Members", "members[value eq \"a\"]", "members[value eq \"a\" or value eq \"b\"]",
                "members[display eq \"x\"]", "members.value", "members.display", "displayName", "externalId", "id",
            ]).prop_map(|s| Some(s.to_owned())),
        ]), 1..6),
        ids in prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 0..4),
    ) {
        let reg = registry();
        let base = json!({"displayName": "G", "externalId": "e"});
        // Member values drawn from a small id set so that adds and removes collide.
        let ops: Vec<Value> = ops.into_iter().enumerate().map(|(i, mut op)| {
            if i % 2 == 0 && op["path"].as_str().is_some_and(|p| p.eq_ignore_ascii_case("members")) {
                op["value"] = json!(ids.iter().map(|v| json!({"value": v, "$ref": null})).collect::<Vec<_>>());
            }
            op
        }).collect();
        if let Ok(outcome) = patch(&reg, ResourceKind::Group, &base, &patch_body(Value::Array(ops))) {
            let d = &outcome.members;
            prop_assert!(outcome.resource.get("members").is_none());
            prop_assert!(d.add.iter().all(|m| !d.remove.contains(&m.value)), "add and remove disjoint: {d:?}");
            let mut adds: Vec<&str> = d.add.iter().map(|m| m.value.as_str()).collect();
            adds.sort_unstable();
            adds.dedup();
            prop_assert_eq!(adds.len(), d.add.len(), "no duplicate adds");
            prop_assert!(!d.clear || d.remove.is_empty(), "clear implies nothing to remove");
            prop_assert!(outcome.resource.get("displayName").is_some(), "required displayName kept");
        }
    }

    #[test]
    fn create_never_panics_and_normalizing_twice_changes_nothing(
        pairs in prop::collection::vec((prop::sample::select(vec![
            "userName", "UserName", "name", "emails", "active", "title", "id", "meta", "groups", "password",
            "schemas", "roles", "foo", ENT, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "urn:ietf:params:scim:schemas:core:2.0:User",
        ]), any_value()), 0..6),
    ) {
        let reg = registry();
        let mut obj = serde_json::Map::new();
        obj.insert("userName".into(), json!("u"));
        for (k, v) in pairs {
            obj.insert(k.to_owned(), v);
        }
        match normalize_resource(&reg, ResourceKind::User, Value::Object(obj)) {
            Ok(body) => {
                prop_assert!(check_required(&reg, ResourceKind::User, &body).is_ok());
                prop_assert_eq!(normalize_resource(&reg, ResourceKind::User, body.clone()).ok(), Some(body));
            }
            Err(e) => {
                prop_assert_eq!(e.status(), 400);
                prop_assert!(!e.detail().contains(SECRET), "detail echoes a value: {}", e.detail());
            }
        }
    }

    #[test]
    fn filter_parsing_never_panics_and_prints_back_what_it_read(
        text in prop_oneof![
            "\\PC{0,40}",
            prop::collection::vec(prop::sample::select(vec![
                "userName", "emails", "[", "]", "(", ")", "type", "value", ".", " eq ", " ne ", " co ", " sw ", " gt ",
                " pr", " and ", " or ", "not ", "\"x\"", "\"a\\\"b\"", "true", "null", "1.5e3", "-2", " ",
                "urn:ietf:params:scim:schemas:core:2.0:User:", "meta.lastModified", "\"2011-05-13T04:42:34Z\"",
            ]), 0..12).prop_map(|parts| parts.concat()),
        ],
    ) {
        if let Ok(f) = Filter::parse(&text) {
            let printed = f.to_string();
            prop_assert_eq!(Filter::parse(&printed).ok(), Some(f.clone()), "printed as {}", printed);
            // Resolution must not panic either, whatever it decides.
            let _ = f.resolve(&registry(), ResourceKind::User);
        }
    }

    #[test]
    fn patch_path_parsing_never_panics_and_prints_back_what_it_read(
        text in prop_oneof![
            "\\PC{0,30}",
            prop::collection::vec(prop::sample::select(vec![
                "emails", "members", "name", "[", "]", ".", "value", "type", " eq ", "\"work\"", " and ", "givenName",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:", "manager", "$ref",
            ]), 0..8).prop_map(|parts| parts.concat()),
        ],
    ) {
        if let Ok(p) = PatchPath::parse(&text) {
            let printed = p.to_string();
            prop_assert_eq!(PatchPath::parse(&printed).ok(), Some(p), "printed as {}", printed);
        }
    }
}
