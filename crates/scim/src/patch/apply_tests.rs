//! Engine tests: every PATCH form of ENTRA §5, §6, §10–§13, the RFC 7644 §3.5.2 examples,
//! error types, atomicity, and property tests over random operation lists.

use super::*;
use crate::ScimType;
use crate::members::Member;
use crate::schema::{Attribute, ENTERPRISE_USER, Schema};
use pretty_assertions::assert_eq;
use serde_json::json;

const EMPLOYEE_NUMBER: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber";
const MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

fn user() -> Value {
    json!({
        "userName": "bjensen@example.com",
        "externalId": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Barbara Jensen"},
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        ENTERPRISE_USER: {"employeeNumber": "701984", "manager": {"value": "m1"}}
    })
}

fn group() -> Value {
    json!({"displayName": "Tour Guides", "externalId": "g-ext"})
}

fn patch_with(
    registry: &Registry,
    kind: ResourceKind,
    resource: &Value,
    ops: Value,
) -> Result<PatchOutcome> {
    let body =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let req = super::super::PatchRequest::parse(&body)?;
    apply(registry, kind, resource, &req)
}

fn patch(kind: ResourceKind, resource: &Value, ops: Value) -> Result<PatchOutcome> {
    patch_with(&Registry::new(), kind, resource, ops)
}

fn patch_user(ops: Value) -> Result<Value> {
    patch(ResourceKind::User, &user(), ops).map(|o| o.resource)
}

fn patch_group(ops: Value) -> Result<MembersDelta> {
    let out = patch(ResourceKind::Group, &group(), ops)?;
    assert_eq!(out.resource.get("members"), None);
    Ok(out.members)
}

fn err_type(r: Result<impl std::fmt::Debug>) -> Option<ScimType> {
    r.unwrap_err().scim_type()
}

// ---- ENTRA §13 quirks ------------------------------------------------------------------

#[test]
fn quirk_01_op_names_in_any_case_apply() {
    let got = patch_user(json!([
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "REPLACE", "path": "title", "value": "Tour Guide"},
        {"op": "remove", "path": "externalId"}
    ]))
    .unwrap();
    assert_eq!(
        (
            got["nickName"].clone(),
            got["title"].clone(),
            got.get("externalId")
        ),
        (json!("Babs"), json!("Tour Guide"), None)
    );
}

#[test]
fn quirk_02_boolean_strings_become_booleans_in_path_and_path_less_forms() {
    let got = patch_user(json!([{"op": "Replace", "path": "active", "value": "False"}])).unwrap();
    assert_eq!(got["active"], json!(false));
    let got = patch_user(json!([{"op": "replace", "value": {"active": "True"}}])).unwrap();
    assert_eq!(got["active"], json!(true));
    let got = patch_user(
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "true"}]),
    )
    .unwrap();
    assert_eq!(
        got["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": false},
            {"value": "babs@jensen.org", "type": "home", "primary": true}
        ])
    );
}

#[test]
fn quirk_03_entra_update_user_multi_valued_request_applies() {
    let got = patch_user(json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
    ]))
    .unwrap();
    assert_eq!(
        got["emails"][0],
        json!({"value": "updatedEmail@microsoft.com", "type": "work", "primary": true})
    );
    assert_eq!(got["name"]["familyName"], "updatedFamilyName");
}

#[test]
fn quirk_03_add_to_a_value_path_creates_the_element_and_later_ops_merge_into_it() {
    let got = patch_user(json!([
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
        {"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
        {"op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Springfield"},
        {"op": "Add", "path": "emails[type eq \"other\"].Value", "value": "proxy@x.com"},
        {"op": "replace", "path": "addresses[type eq \"other\"].Formatted", "value": "Elsewhere"}
    ]))
    .unwrap();
    assert_eq!(
        got["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}])
    );
    assert_eq!(
        got["addresses"],
        json!([
            {"type": "work", "streetAddress": "1 Main St", "locality": "Springfield"},
            {"type": "other", "formatted": "Elsewhere"}
        ])
    );
    assert_eq!(
        got["emails"][2],
        json!({"type": "other", "value": "proxy@x.com"})
    );
}

#[test]
fn quirk_03_value_filters_compare_case_insensitively() {
    let got = patch_user(
        json!([{"op": "replace", "path": "emails[type eq \"WORK\"].value", "value": "n@x.com"}]),
    )
    .unwrap();
    assert_eq!(got["emails"].as_array().unwrap().len(), 2);
    assert_eq!(got["emails"][0]["value"], "n@x.com");
}

#[test]
fn quirk_04_urn_qualified_extension_paths() {
    let got = patch_user(json!([
        {"op": "Replace", "path": EMPLOYEE_NUMBER, "value": "Eqpj"},
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"}
    ]))
    .unwrap();
    assert_eq!(
        got[ENTERPRISE_USER],
        json!({"employeeNumber": "Eqpj", "manager": {"value": "m1"}, "department": "Sales"})
    );
}

#[test]
fn quirk_04_custom_extension_attributes_work_by_urn_path_and_key() {
    let mut reg = Registry::new();
    let urn = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
    let ext = Schema {
        id: urn.to_owned(),
        name: "Custom".to_owned(),
        description: String::new(),
        attributes: vec![Attribute::string("CustomAttribute", "")],
    };
    reg.register_extension(ResourceKind::User, ext, false)
        .unwrap();
    let out = patch_with(
        &reg,
        ResourceKind::User,
        &user(),
        json!([
            {"op": "Add", "path": format!("{urn}:CustomAttribute"), "value": "a"}
        ]),
    )
    .unwrap();
    assert_eq!(out.resource[urn], json!({"CustomAttribute": "a"}));
    let out = patch_with(
        &reg,
        ResourceKind::User,
        &out.resource,
        json!([
            {"op": "replace", "value": {format!("{urn}:customattribute"): "b"}}
        ]),
    )
    .unwrap();
    assert_eq!(out.resource[urn], json!({"CustomAttribute": "b"}));
}

#[test]
fn quirk_05_path_less_replace_with_dotted_and_urn_qualified_keys() {
    let got = patch_user(json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes@test.microsoft.com"},
        {"op": "replace", "value": {
            "displayName": "Bjfe",
            "name.givenName": "Kkom",
            "name.familyName": "Unua",
            EMPLOYEE_NUMBER: "Aklq"
        }}
    ]))
    .unwrap();
    assert_eq!(got["displayName"], "Bjfe");
    assert_eq!(
        got["name"],
        json!({"givenName": "Kkom", "familyName": "Unua", "formatted": "Barbara Jensen"})
    );
    assert_eq!(got[ENTERPRISE_USER]["employeeNumber"], "Aklq");
    assert_eq!(got["emails"][0]["value"], "TestMhvaes@test.microsoft.com");
}

#[test]
fn quirk_05_path_less_extension_and_core_urn_objects() {
    let got = patch_user(json!([{"op": "add", "value": {
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "D", "manager.value": "m2"},
        "urn:ietf:params:scim:schemas:core:2.0:User": {"title": "T", "name": {"middleName": "M"}}
    }}]))
    .unwrap();
    assert_eq!(
        got[ENTERPRISE_USER],
        json!({"employeeNumber": "701984", "manager": {"value": "m2"}, "department": "D"})
    );
    assert_eq!(got["title"], "T");
    assert_eq!(got["name"]["middleName"], "M");
    assert_eq!(got["name"]["givenName"], "Barbara");
}

#[test]
fn quirk_06_manager_set_by_bare_string_object_or_old_array_form() {
    for (op, path, value) in [
        (
            "add",
            MANAGER,
            json!("2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"),
        ),
        (
            "Replace",
            MANAGER,
            json!({"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}),
        ),
        (
            "Add",
            "manager",
            json!([{"$ref": null, "value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}]),
        ),
    ] {
        let got = patch_user(json!([{"op": op, "path": path, "value": value}])).unwrap();
        assert_eq!(
            got[ENTERPRISE_USER]["manager"],
            json!({"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}),
            "{path} {value}"
        );
    }
    let got = patch_user(json!([{"op": "replace", "value": {MANAGER: "m9"}}])).unwrap();
    assert_eq!(got[ENTERPRISE_USER]["manager"], json!({"value": "m9"}));
}

#[test]
fn quirk_06_manager_cleared_by_every_known_removal_form() {
    for op in [
        json!({"op": "remove", "path": MANAGER}),
        json!({"op": "remove", "path": "manager[value eq \"m1\"]"}),
        json!({"op": "remove", "path": format!("{MANAGER}[value eq \"m1\"]")}),
        json!({"op": "Replace", "path": MANAGER, "value": ""}),
        json!({"op": "Replace", "path": MANAGER, "value": null}),
        json!({"op": "Replace", "path": MANAGER, "value": {"value": ""}}),
        json!({"op": "replace", "value": {MANAGER: ""}}),
    ] {
        let got = patch_user(json!([op.clone()])).unwrap();
        assert_eq!(
            got[ENTERPRISE_USER],
            json!({"employeeNumber": "701984"}),
            "{op}"
        );
    }
}

#[test]
fn quirk_06_removing_a_stale_manager_by_filter_keeps_the_current_one() {
    let got = patch_user(json!([{"op": "remove", "path": "manager[value eq \"someone-else\"]"}]))
        .unwrap();
    assert_eq!(got, user());
}

#[test]
fn quirk_07_entra_member_add_and_remove_forms() {
    let d = patch_group(json!([{"op": "Add", "path": "members", "value": [
        {"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}, {"$ref": null, "value": "a2"}
    ]}]))
    .unwrap();
    assert_eq!(
        d,
        MembersDelta {
            clear: false,
            add: vec![Member::new("f648f8d5ea4e4cd38e9c"), Member::new("a2")],
            remove: vec![]
        }
    );
    let d = patch_group(json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}]))
        .unwrap();
    assert_eq!(
        d,
        MembersDelta {
            clear: false,
            add: vec![],
            remove: vec!["f648f8d5ea4e4cd38e9c".to_owned()]
        }
    );
    let d = patch_group(json!([{"op": "remove", "path": "members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"}])).unwrap();
    assert_eq!(
        d.remove,
        vec!["7f4bc1a3-285e-48ae-8202-5accb43efb0e".to_owned()]
    );
    assert!(!d.clear);
}

#[test]
fn quirk_07_reference_code_member_forms() {
    let d = patch_group(json!([{"op": "add", "path": "members", "value": [{"displayName": "new User", "value": "id4"}]}])).unwrap();
    assert_eq!(d.add, vec![Member::new("id4")]);
    let d = patch_group(json!([{"op": "add", "path": "members", "value": "string id 1"}])).unwrap();
    assert_eq!(d.add, vec![Member::new("string id 1")]);
    let d = patch_group(json!([{"op": "remove", "path": "members"}])).unwrap();
    assert_eq!(
        d,
        MembersDelta {
            clear: true,
            add: vec![],
            remove: vec![]
        }
    );
}

#[test]
fn quirk_07_re_adding_and_removing_non_members_is_left_to_the_idempotent_delta() {
    let d = patch_group(json!([
        {"op": "add", "path": "members", "value": [{"value": "a"}]},
        {"op": "add", "path": "members", "value": [{"value": "a"}]},
        {"op": "remove", "path": "members", "value": [{"value": "zz"}]}
    ]))
    .unwrap();
    assert_eq!(
        d,
        MembersDelta {
            clear: false,
            add: vec![Member::new("a")],
            remove: vec!["zz".to_owned()]
        }
    );
}

#[test]
fn quirk_08_extra_schemas_read_only_meta_and_nulls_in_path_less_values_are_tolerated() {
    let got = patch_user(json!([{"op": "replace", "value": {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:x:unknown"],
        "meta": {"resourceType": "User"},
        "id": "ignored",
        "roles": [],
        "title": null,
        "nickName": "Babs"
    }}]))
    .unwrap();
    let mut want = user();
    want["nickName"] = json!("Babs");
    assert_eq!(got, want);
}

#[test]
fn quirk_09_attribute_and_sub_attribute_names_are_case_insensitive() {
    let got = patch_user(json!([
        {"op": "add", "path": "Emails", "value": [{"Value": "o@x.com", "Type": "other", "Primary": "False"}]},
        {"op": "replace", "path": "NAME.Formatted", "value": "B J"},
        {"op": "replace", "value": {"DisplayName": "BJ"}}
    ]))
    .unwrap();
    assert_eq!(
        got["emails"][2],
        json!({"value": "o@x.com", "type": "other", "primary": false})
    );
    assert_eq!(got["name"]["formatted"], "B J");
    assert_eq!(got["displayName"], "BJ");
}

#[test]
fn quirk_12_stringified_json_role_values_are_stored_as_sent() {
    let role = "{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"25\",\"displayName\":\"Role1234\"}";
    let got =
        patch_user(json!([{"op": "Add", "path": "roles", "value": [{"value": role}]}])).unwrap();
    assert_eq!(got["roles"], json!([{"value": role}]));
    let got = patch_user(json!([{"op": "replace", "path": "roles", "value": [
        {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "User", "value": "User"}
    ]}]))
    .unwrap();
    assert_eq!(got["roles"][0]["primary"], false);
}

// ---- SCIM Validator and Okta ------------------------------------------------------------

#[test]
fn validator_path_less_updates_of_user_name_external_id_and_display_name() {
    let got = patch_user(json!([{"op": "replace", "value": {"userName": "new@x.com"}}])).unwrap();
    assert_eq!(got["userName"], "new@x.com");
    let out = patch(ResourceKind::Group, &group(), json!([{"op": "replace", "value": {"externalId": "e2"}}, {"op": "replace", "value": {"displayName": "G2"}}])).unwrap();
    assert_eq!(
        out.resource,
        json!({"displayName": "G2", "externalId": "e2"})
    );
    assert!(out.changed);
}

#[test]
fn validator_replace_of_several_value_paths_in_one_request() {
    let got = patch_user(json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w2@x.com"},
        {"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "1"},
        {"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "S"},
        {"op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "L"}
    ]))
    .unwrap();
    assert_eq!(
        got["addresses"],
        json!([{"type": "work", "streetAddress": "S", "locality": "L"}])
    );
    assert_eq!(got["phoneNumbers"], json!([{"type": "work", "value": "1"}]));
}

#[test]
fn okta_path_less_deactivate() {
    let got = patch_user(json!([{"op": "replace", "value": {"active": false}}])).unwrap();
    assert_eq!(got["active"], false);
}

#[test]
fn empty_then_null_update_reads_back_empty() {
    let got = patch_user(json!([{"op": "Replace", "path": "title", "value": ""}])).unwrap();
    assert_eq!(got["title"], "");
    let got = patch_user(json!([{"op": "Replace", "path": "title", "value": ""}, {"op": "Replace", "path": "title", "value": null}])).unwrap();
    assert_eq!(got.get("title"), None);
}

// ---- RFC 7644 §3.5.2 examples --------------------------------------------------------

#[test]
fn rfc_add_member_with_display_and_ref() {
    let d = patch_group(json!([{"op": "add", "path": "members", "value": [{
        "display": "Babs Jensen",
        "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
        "value": "2819c223-7f76-453a-919d-413861904646"
    }]}]))
    .unwrap();
    assert_eq!(
        d.add,
        vec![Member::new("2819c223-7f76-453a-919d-413861904646").with_kind("User")]
    );
}

#[test]
fn rfc_path_less_add_of_emails_and_nickname() {
    let got = patch_user(json!([{"op": "add", "value": {
        "emails": [{"value": "babs@jensen.org", "type": "home"}, {"value": "b2@x.org", "type": "home"}],
        "nickname": "Babs"
    }}]))
    .unwrap();
    assert_eq!(
        got["emails"].as_array().unwrap().len(),
        3,
        "the identical home email is not added twice"
    );
    assert_eq!(got["nickName"], "Babs");
}

#[test]
fn rfc_remove_all_members_then_add_one() {
    let d = patch_group(json!([
        {"op": "remove", "path": "members"},
        {"op": "add", "path": "members", "value": [{"display": "James Smith", "value": "08e1d05d"}]}
    ]))
    .unwrap();
    assert_eq!(
        d,
        MembersDelta {
            clear: true,
            add: vec![Member::new("08e1d05d")],
            remove: vec![]
        }
    );
}

#[test]
fn rfc_replace_members() {
    let d = patch_group(json!([{"op": "replace", "path": "members", "value": [{"value": "2819c223"}, {"value": "9067729b"}]}])).unwrap();
    assert_eq!(
        d,
        MembersDelta {
            clear: true,
            add: vec![Member::new("2819c223"), Member::new("9067729b")],
            remove: vec![]
        }
    );
}

#[test]
fn rfc_remove_emails_selected_by_a_complex_filter() {
    let got = patch_user(
        json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
    )
    .unwrap();
    assert_eq!(
        got["emails"],
        json!([{"value": "babs@jensen.org", "type": "home"}])
    );
}

#[test]
fn rfc_replace_a_work_address_and_its_street() {
    let start = patch_user(json!([{"op": "add", "path": "addresses", "value": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"}]}])).unwrap();
    let out = patch(ResourceKind::User, &start, json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {
        "type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood",
        "region": "CA", "postalCode": "91608", "country": "US", "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
        "primary": true
    }}]))
    .unwrap();
    assert_eq!(
        out.resource["addresses"][0]["streetAddress"],
        "911 Universal City Plaza"
    );
    assert_eq!(out.resource["addresses"][0]["primary"], true);
    let out = patch(ResourceKind::User, &out.resource, json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}])).unwrap();
    assert_eq!(
        out.resource["addresses"][0]["streetAddress"],
        "1010 Broadway Ave"
    );
    assert_eq!(out.resource["addresses"][0]["region"], "CA");
}

#[test]
fn rfc_path_less_replace_of_emails_and_nickname() {
    let got = patch_user(json!([{"op": "replace", "value": {
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
        "nickName": "Babs"
    }}]))
    .unwrap();
    assert_eq!(got["emails"], user()["emails"]);
    assert_eq!(got["nickName"], "Babs");
}

// ---- errors ---------------------------------------------------------------------------

#[test]
fn read_only_targets_are_mutability_errors() {
    for path in [
        "id",
        "meta",
        "meta.created",
        "groups",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
    ] {
        let e = patch_user(json!([{"op": "replace", "path": path, "value": "x"}])).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::Mutability), "{path}");
        assert!(e.detail().starts_with("Operations[0]:"), "{e}");
    }
    let e = patch(
        ResourceKind::Group,
        &group(),
        json!([{"op": "replace", "path": "members.display", "value": "x"}]),
    )
    .unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::Mutability));
}

#[test]
fn immutable_attributes_can_be_set_once_but_not_changed_or_removed() {
    let mut reg = Registry::new();
    let urn = "urn:example:ext:2.0:User";
    let ext = Schema {
        id: urn.to_owned(),
        name: "X".to_owned(),
        description: String::new(),
        attributes: vec![
            Attribute::string("badge", "").mutability(crate::schema::Mutability::Immutable),
        ],
    };
    reg.register_extension(ResourceKind::User, ext, false)
        .unwrap();
    let path = format!("{urn}:badge");
    let set = patch_with(
        &reg,
        ResourceKind::User,
        &user(),
        json!([{"op": "add", "path": path, "value": "b1"}]),
    )
    .unwrap();
    assert!(
        patch_with(
            &reg,
            ResourceKind::User,
            &set.resource,
            json!([{"op": "replace", "path": path, "value": "b1"}])
        )
        .is_ok()
    );
    for op in [
        json!({"op": "replace", "path": path, "value": "b2"}),
        json!({"op": "remove", "path": path}),
    ] {
        let e = patch_with(&reg, ResourceKind::User, &set.resource, json!([op])).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::Mutability));
    }
}

#[test]
fn removing_a_required_attribute_is_mutability_unless_it_is_set_again() {
    assert_eq!(
        err_type(patch_user(json!([{"op": "remove", "path": "userName"}]))),
        Some(ScimType::Mutability)
    );
    assert_eq!(
        err_type(patch_user(
            json!([{"op": "replace", "value": {"userName": null}}])
        )),
        Some(ScimType::Mutability)
    );
    assert_eq!(
        err_type(patch_user(
            json!([{"op": "replace", "path": "userName", "value": ""}])
        )),
        Some(ScimType::Mutability)
    );
    let e = patch(
        ResourceKind::Group,
        &group(),
        json!([{"op": "remove", "path": "displayName"}]),
    );
    assert_eq!(err_type(e), Some(ScimType::Mutability));
    let got = patch_user(json!([{"op": "remove", "path": "userName"}, {"op": "add", "path": "userName", "value": "u2"}])).unwrap();
    assert_eq!(got["userName"], "u2");
}

#[test]
fn a_resource_that_already_lacked_a_required_attribute_fails_the_required_check() {
    let e = patch(
        ResourceKind::User,
        &json!({"title": "x"}),
        json!([{"op": "add", "path": "nickName", "value": "n"}]),
    )
    .unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    assert!(e.detail().contains("userName"), "{e}");
}

#[test]
fn unknown_attributes_are_invalid_path_by_path_and_invalid_value_by_key() {
    let e =
        patch_user(json!([{"op": "add", "path": "favouriteColour", "value": "red"}])).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidPath));
    assert!(e.detail().contains("favouriteColour"));
    let e = patch_user(json!([{"op": "add", "value": {"favouriteColour": "red"}}])).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    assert!(
        e.detail().contains("favouriteColour") && !e.detail().contains("red"),
        "{e}"
    );
    assert_eq!(
        err_type(patch_user(
            json!([{"op": "add", "path": "members", "value": [{"value": "a"}]}])
        )),
        Some(ScimType::InvalidPath)
    );
    assert_eq!(
        err_type(patch_user(
            json!([{"op": "add", "value": {"name": {"nick": "x"}}}])
        )),
        Some(ScimType::InvalidValue)
    );
}

#[test]
fn values_of_the_wrong_type_are_invalid_value_without_the_value_in_the_detail() {
    let e = patch_user(json!([{"op": "replace", "path": "active", "value": "maybe-secret"}]))
        .unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    assert!(!e.detail().contains("maybe-secret"), "{e}");
}

#[test]
fn replace_through_a_filter_that_cannot_describe_an_element_is_no_target() {
    let e = patch_user(
        json!([{"op": "replace", "path": "phoneNumbers[type ne \"work\"].value", "value": "1"}]),
    )
    .unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::NoTarget));
}

#[test]
fn an_error_in_a_later_operation_applies_nothing() {
    let input = user();
    let before = input.clone();
    let e = patch(
        ResourceKind::User,
        &input,
        json!([
            {"op": "replace", "path": "title", "value": "T"},
            {"op": "add", "path": "nosuch", "value": 1}
        ]),
    )
    .unwrap_err();
    assert!(e.detail().starts_with("Operations[1]:"), "{e}");
    assert_eq!(input, before);
    let e = patch(
        ResourceKind::Group,
        &group(),
        json!([
            {"op": "add", "path": "members", "value": [{"value": "a"}]},
            {"op": "remove", "path": "members[type eq \"User\"]"}
        ]),
    );
    assert_eq!(err_type(e), Some(ScimType::InvalidFilter));
}

#[test]
fn a_stored_body_that_is_not_an_object_is_a_server_error() {
    let req = super::super::PatchRequest::parse(
        &json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}),
    )
    .unwrap();
    let e = apply(&Registry::new(), ResourceKind::User, &json!([1]), &req).unwrap_err();
    assert_eq!(e.status(), 500);
}

// ---- whole-resource behaviour ----------------------------------------------------------

#[test]
fn an_operation_that_changes_nothing_reports_unchanged() {
    let out = patch(ResourceKind::User, &user(), json!([
        {"op": "replace", "path": "userName", "value": "bjensen@example.com"},
        {"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home"}]},
        {"op": "remove", "path": "nickName"},
        {"op": "replace", "path": "password", "value": "t1meMa$heen"}
    ]))
    .unwrap();
    assert_eq!(out.resource, user());
    assert!(!out.changed);
    assert!(
        patch(
            ResourceKind::Group,
            &group(),
            json!([{"op": "add", "path": "members", "value": "a"}])
        )
        .unwrap()
        .changed
    );
}

#[test]
fn removing_the_last_extension_attribute_removes_the_extension_object() {
    let got = patch_user(
        json!([{"op": "remove", "path": EMPLOYEE_NUMBER}, {"op": "remove", "path": MANAGER}]),
    )
    .unwrap();
    assert_eq!(got.get(ENTERPRISE_USER), None);
    let got = patch_user(json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}])).unwrap();
    assert_eq!(got.get(ENTERPRISE_USER), None);
    let got = patch_user(json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"costCenter": "4130"}}])).unwrap();
    assert_eq!(got[ENTERPRISE_USER]["costCenter"], "4130");
}

#[test]
fn an_extension_is_created_when_its_first_attribute_is_added() {
    let out = patch(
        ResourceKind::User,
        &json!({"userName": "u"}),
        json!([{"op": "add", "path": EMPLOYEE_NUMBER, "value": "1"}]),
    )
    .unwrap();
    assert_eq!(
        out.resource,
        json!({"userName": "u", ENTERPRISE_USER: {"employeeNumber": "1"}})
    );
}

#[test]
fn schemas_paths_and_keys_are_ignored() {
    let got =
        patch_user(json!([{"op": "add", "path": "schemas", "value": [ENTERPRISE_USER]}])).unwrap();
    assert_eq!(got, user());
}

#[test]
fn key_order_is_kept_when_an_attribute_is_replaced() {
    let got =
        patch_user(json!([{"op": "replace", "path": "name.givenName", "value": "B"}])).unwrap();
    let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
    let want: Vec<String> = user().as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, want.iter().collect::<Vec<_>>());
}

// ---- properties -------------------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::prelude::*;

    const PATHS: &[&str] = &[
        "userName",
        "active",
        "title",
        "externalId",
        "name",
        "name.givenName",
        "name.nosuch",
        "emails",
        "emails.value",
        "emails.primary",
        "emails[type eq \"work\"]",
        "emails[type eq \"work\"].value",
        "emails[value co \"x\"].type",
        "roles[primary eq \"True\"].value",
        "addresses[type eq \"home\"].locality",
        "manager",
        "manager[value eq \"m1\"]",
        MANAGER,
        EMPLOYEE_NUMBER,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "id",
        "meta.created",
        "groups",
        "password",
        "schemas",
        "members",
        "members[value eq \"a\" or value eq \"b\"]",
        "members[type eq \"User\"]",
        "members.display",
        "displayName",
        "nosuch",
    ];

    fn values() -> Vec<Value> {
        vec![
            Value::Null,
            json!(""),
            json!("x"),
            json!("True"),
            json!(true),
            json!(1),
            json!({}),
            json!([]),
            json!({"value": "m1"}),
            json!({"value": ""}),
            json!([{"value": "a", "type": "work", "primary": true}]),
            json!([{"value": "b", "primary": true}, {"value": "c", "primary": true}]),
            json!({"givenName": "g", "familyName": null}),
            json!({"name.givenName": "z", EMPLOYEE_NUMBER: "9", "schemas": []}),
            json!({"userName": null}),
            json!({"type": "work"}),
            json!([{"$ref": null, "value": "a"}, "b"]),
        ]
    }

    /// Operations a client could reasonably send (most succeed), so that whole requests often
    /// succeed and the "fully applied" property is exercised, not only the error paths.
    fn plausible(kind: ResourceKind) -> Vec<Value> {
        let common = vec![
            json!({"op": "replace", "path": "externalId", "value": "e2"}),
            json!({"op": "remove", "path": "externalId"}),
            json!({"op": "Add", "path": "externalId", "value": "e3"}),
        ];
        let specific = match kind {
            ResourceKind::Group => vec![
                json!({"op": "Add", "path": "members", "value": [{"$ref": null, "value": "a"}, {"value": "b"}]}),
                json!({"op": "add", "path": "members", "value": "c"}),
                json!({"op": "Remove", "path": "members", "value": [{"value": "a"}]}),
                json!({"op": "remove", "path": "members[value eq \"b\" or value eq \"c\"]"}),
                json!({"op": "remove", "path": "members"}),
                json!({"op": "replace", "path": "members", "value": [{"value": "d", "type": "User"}]}),
                json!({"op": "replace", "value": {"displayName": "G2", "members": [{"value": "e"}]}}),
                json!({"op": "replace", "path": "displayName", "value": "G3"}),
            ],
            ResourceKind::User => vec![
                json!({"op": "Replace", "path": "active", "value": "False"}),
                json!({"op": "replace", "value": {"active": true, "name.givenName": "G", EMPLOYEE_NUMBER: "7"}}),
                json!({"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "w@x.com"}),
                json!({"op": "Add", "path": "emails[type eq \"other\"].value", "value": "o@x.com"}),
                json!({"op": "remove", "path": "emails[type eq \"home\"]"}),
                json!({"op": "remove", "path": "emails[type eq \"work\"].value"}),
                json!({"op": "add", "path": "emails", "value": [{"value": "n@x.com", "primary": true}]}),
                json!({"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}),
                json!({"op": "remove", "path": "emails"}),
                json!({"op": "replace", "path": "name", "value": {"familyName": "F", "formatted": null}}),
                json!({"op": "remove", "path": "name.givenName"}),
                json!({"op": "add", "path": MANAGER, "value": "m2"}),
                json!({"op": "remove", "path": "manager[value eq \"m1\"]"}),
                json!({"op": "Replace", "path": MANAGER, "value": ""}),
                json!({"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}),
                json!({"op": "add", "path": "addresses[type eq \"work\"].locality", "value": "L"}),
                json!({"op": "add", "path": "roles", "value": [{"value": "r", "primary": "True"}]}),
                json!({"op": "remove", "path": "userName"}),
                json!({"op": "add", "path": "userName", "value": "u2"}),
                json!({"op": "replace", "path": "password", "value": "p"}),
            ],
        };
        common.into_iter().chain(specific).collect()
    }

    /// Any combination of operation name, path and value, mostly invalid.
    fn noise() -> impl Strategy<Value = Value> {
        let op = prop::sample::select(vec!["add", "Replace", "remove", "ADD", "copy"]);
        let path = prop::option::of(prop::sample::select(PATHS.to_vec()));
        let value = prop::option::of(prop::sample::select(values()));
        (op, path, value).prop_map(|(op, path, value)| {
            let mut o = json!({"op": op});
            if let Some(p) = path {
                o["path"] = json!(p);
            }
            if let Some(v) = value {
                o["value"] = v;
            }
            o
        })
    }

    fn request() -> impl Strategy<Value = (ResourceKind, Vec<Value>)> {
        prop::sample::select(vec![ResourceKind::User, ResourceKind::Group]).prop_flat_map(|kind| {
            let op = prop_oneof![4 => prop::sample::select(plausible(kind)), 1 => noise()];
            (Just(kind), prop::collection::vec(op, 1..8))
        })
    }

    /// No `null`s, empty strings aside no empty containers, no `members` in the body.
    fn well_formed(v: &Value, top: bool) -> bool {
        match v {
            Value::Null => false,
            Value::Array(items) => !items.is_empty() && items.iter().all(|i| well_formed(i, false)),
            Value::Object(o) => {
                (!o.is_empty() || top)
                    && (!top || !o.contains_key("members"))
                    && o.values().all(|i| well_formed(i, false))
            }
            _ => true,
        }
    }

    proptest! {
        #[test]
        fn random_operation_lists_never_panic_and_apply_fully_or_not_at_all((kind, ops) in request()) {
            let input = if kind == ResourceKind::Group { group() } else { user() };
            let before = input.clone();
            let reg = Registry::new();
            let all = patch_with(&reg, kind, &input, json!(ops));
            prop_assert_eq!(&input, &before);
            let Ok(all) = all else { return Ok(()) };
            prop_assert!(well_formed(&all.resource, true), "{}", all.resource);
            // The result is what create/replace would store for the same body.
            let again = crate::validate::normalize_resource(&reg, kind, all.resource.clone());
            prop_assert_eq!(again.as_ref().ok(), Some(&all.resource));
            // Fully applied: the same as applying the operations one request at a time, when
            // each of those succeeds (a single one may fail a check the whole request passes,
            // e.g. remove userName then add it back).
            let mut step = input.clone();
            let mut delta = MembersDelta::default();
            for op in &ops {
                let Ok(out) = patch_with(&reg, kind, &step, json!([op])) else { return Ok(()) };
                step = out.resource;
                if out.members.clear {
                    delta.clear_all();
                }
                out.members.remove.iter().for_each(|m| delta.remove_member(m));
                out.members.add.into_iter().for_each(|m| delta.add_member(m));
            }
            prop_assert_eq!(&all.resource, &step);
            prop_assert_eq!(&all.members, &delta);
        }

        #[test]
        fn arbitrary_json_bodies_never_panic_the_parser(body in arbitrary_json()) {
            let _ = super::super::super::PatchRequest::parse(&body);
            let _ = super::super::super::PatchRequest::parse(&json!({"Operations": [body]}));
        }
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            prop::sample::select(vec![
                "op",
                "add",
                "remove",
                "path",
                "members[value eq \"a\"]",
                "emails[",
                "x.y.z",
                ""
            ])
            .prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "Operations",
                            "op",
                            "path",
                            "value",
                            "schemas",
                            "members"
                        ]),
                        inner
                    ),
                    0..4
                )
                .prop_map(|kv| Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }
}

#[test]
fn an_extension_object_value_may_carry_its_own_schemas_list() {
    // scim2-tester's PATCH of a whole extension: the value repeats the extension's URN.
    let got = patch_user(json!([{
        "op": "replace",
        "path": ENTERPRISE_USER,
        "value": {"schemas": [ENTERPRISE_USER], "employeeNumber": "42", "department": "R&D"}
    }]))
    .unwrap();
    assert_eq!(got[ENTERPRISE_USER]["employeeNumber"], "42");
    assert_eq!(got[ENTERPRISE_USER]["department"], "R&D");
    assert!(got[ENTERPRISE_USER].get("schemas").is_none());
}
