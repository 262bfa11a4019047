//! RFC 7643 §8 examples (`tests/data/rfc/7643_*.json`): the example resources are accepted as
//! create/replace bodies, stored without their read-only parts, and rendered back in the RFC
//! representation; the discovery documents have the §8.5–§8.7 shape.
//!
//! The example JSON was transcribed from RFC 7643 §8.1–§8.6 (checked against published
//! transcriptions of the RFC text); JSON object member order is not significant.

use crate::support::{ENT, client_view, contains_null, data, meta, registry, stored};
use pretty_assertions::assert_eq;
use scim::schema::ResourceKind;
use serde_json::{Value, json};

const USER: ResourceKind = ResourceKind::User;
const GROUP: ResourceKind = ResourceKind::Group;

/// The example without what a service never stores from a client: `schemas`, `id`, `meta`,
/// read-only `groups` and `manager.displayName`, never-stored `password`, and (groups)
/// `members`, which live as rows.
fn writable_part(example: &Value) -> Value {
    let mut v = example.clone();
    let obj = v.as_object_mut().expect("object");
    for key in ["schemas", "id", "meta", "groups", "password", "members"] {
        obj.remove(key);
    }
    if let Some(manager) = obj
        .get_mut(ENT)
        .and_then(|e| e.get_mut("manager"))
        .and_then(Value::as_object_mut)
    {
        manager.remove("displayName");
    }
    v
}

#[test]
fn section_8_examples_store_exactly_their_writable_attributes() {
    let reg = registry();
    for (file, kind) in [
        ("rfc/7643_8_1_minimal_user.json", USER),
        ("rfc/7643_8_2_full_user.json", USER),
        ("rfc/7643_8_3_enterprise_user.json", USER),
        ("rfc/7643_8_4_group.json", GROUP),
    ] {
        let example = data(file);
        let got = stored(&reg, kind, &example);
        assert_eq!(got.body, writable_part(&example), "{file}");
    }
}

#[test]
fn section_8_4_group_members_are_handed_over_in_order() {
    let got = stored(&registry(), GROUP, &data("rfc/7643_8_4_group.json"));
    let ids: Vec<&str> = got.members.iter().map(|m| m.value.as_str()).collect();
    assert_eq!(
        ids,
        [
            "2819c223-7f76-453a-919d-413861904646",
            "902c246b-6245-4190-8e05-00816be7344a"
        ]
    );
    // "$ref": ".../Users/..." says what the member is.
    assert!(
        got.members
            .iter()
            .all(|m| m.kind.as_deref() == Some("User")),
        "{:?}",
        got.members
    );
    assert!(
        got.members.iter().all(|m| m.display.is_none()),
        "display is read-only: never taken from input"
    );
}

#[test]
fn section_8_3_enterprise_user_renders_back_as_in_the_rfc() {
    let reg = registry();
    let example = data("rfc/7643_8_3_enterprise_user.json");
    let id = example["id"].as_str().expect("id");
    let got = stored(&reg, USER, &example);
    let view = client_view(&reg, USER, id, &got.body);
    let mut want = writable_part(&example);
    let obj = want.as_object_mut().expect("object");
    obj.insert("schemas".into(), example["schemas"].clone());
    obj.insert("id".into(), json!(id));
    let mut shown = view.clone();
    shown.as_object_mut().expect("object").remove("meta");
    assert_eq!(shown, want);
    // RFC order: schemas and id first, meta last.
    let keys: Vec<&String> = view.as_object().expect("object").keys().collect();
    assert_eq!(keys.first().map(|k| k.as_str()), Some("schemas"));
    assert_eq!(keys.get(1).map(|k| k.as_str()), Some("id"));
    assert_eq!(keys.last().map(|k| k.as_str()), Some("meta"));
}

#[test]
fn rendered_meta_has_rfc_3339_millisecond_utc_times_location_and_weak_version() {
    let reg = registry();
    let example = data("rfc/7643_8_1_minimal_user.json");
    let got = stored(&reg, USER, &example);
    let m = meta(USER, "2819c223-7f76-453a-919d-413861904646");
    let view = scim::resource::render(
        &reg,
        USER,
        "2819c223-7f76-453a-919d-413861904646",
        &got.body,
        &m,
    );
    assert_eq!(
        view,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "userName": "bjensen@example.com",
            "meta": {
                "resourceType": "User",
                "created": "2018-03-27T19:59:26.000Z",
                "lastModified": "2018-03-27T19:59:26.000Z",
                "location": "https://blogin.example/scim/v2/Users/2819c223-7f76-453a-919d-413861904646",
                "version": "W/\"1\""
            }
        })
    );
    assert_eq!(scim::meta::etag(1), "W/\"1\"");
    assert_eq!(scim::meta::etag(3_694_059), "W/\"3694059\"");
}

#[test]
fn section_8_2_password_is_accepted_and_never_stored_or_returned() {
    let reg = registry();
    let example = data("rfc/7643_8_2_full_user.json");
    let got = stored(&reg, USER, &example);
    let view = client_view(&reg, USER, "u1", &got.body);
    assert!(
        !crate::support::contains_string(&view, "t1meMa$heen"),
        "{view}"
    );
    assert!(view.get("password").is_none());
    // Even when asked for by name (returned: never).
    let p = scim::projection::Projection::parse(Some("password,userName"), None).expect("parses");
    let shown = p.apply(&reg, USER, &view);
    assert!(shown.get("password").is_none());
    assert_eq!(shown["userName"], "bjensen@example.com");
}

#[test]
fn section_8_5_service_provider_config_has_every_member_and_our_values() {
    let rfc = data("rfc/7643_8_5_service_provider_config.json");
    let cfg = scim::discovery::ProviderConfig {
        documentation_uri: Some("https://blogin.example/help/scim".to_owned()),
        ..scim::discovery::ProviderConfig::default()
    };
    let doc = scim::discovery::service_provider_config(&cfg, "https://blogin.example/scim/v2");
    for (key, _) in rfc.as_object().expect("object") {
        assert!(doc.get(key).is_some(), "{key} missing from {doc}");
    }
    assert_eq!(doc["documentationUri"], "https://blogin.example/help/scim");
    // documentationUri is OPTIONAL (RFC 7643 §5): without one it is omitted, never null.
    let bare = scim::discovery::service_provider_config(
        &scim::discovery::ProviderConfig::default(),
        "https://x",
    );
    assert!(
        bare.get("documentationUri").is_none() && !contains_null(&bare),
        "{bare}"
    );
    for feature in ["patch", "bulk", "filter", "changePassword", "sort", "etag"] {
        assert!(
            doc[feature]["supported"].is_boolean(),
            "{feature}.supported in {doc}"
        );
    }
    assert_eq!(doc["schemas"], rfc["schemas"]);
    assert_eq!(doc["patch"]["supported"], true);
    assert_eq!(doc["filter"]["supported"], true);
    assert_eq!(doc["filter"]["maxResults"], json!(cfg.max_results));
    assert_eq!(doc["bulk"]["supported"], false);
    assert!(
        doc["bulk"]["maxOperations"].is_u64() && doc["bulk"]["maxPayloadSize"].is_u64(),
        "{doc}"
    );
    assert_eq!(doc["changePassword"]["supported"], false);
    assert_eq!(doc["etag"]["supported"], true);
    assert_eq!(doc["sort"]["supported"], true);
    let schemes = doc["authenticationSchemes"].as_array().expect("array");
    assert_eq!(schemes[0]["type"], "oauthbearertoken");
    assert_eq!(schemes[0]["primary"], true);
    for key in ["name", "description"] {
        assert!(
            schemes[0][key].is_string(),
            "authenticationSchemes[0].{key}"
        );
    }
    assert_eq!(doc["meta"]["resourceType"], "ServiceProviderConfig");
    assert_eq!(
        doc["meta"]["location"],
        "https://blogin.example/scim/v2/ServiceProviderConfig"
    );
    assert!(!contains_null(&doc), "{doc}");
}

#[test]
fn section_8_6_resource_types_have_the_rfc_shape() {
    let reg = registry();
    let rfc = data("rfc/7643_8_6_resource_types.json");
    let list = scim::discovery::resource_types_document(&reg, "https://example.com/v2");
    assert_eq!(
        list["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(list["totalResults"], 2);
    let resources = list["Resources"].as_array().expect("Resources");
    // ENTRA §11: the reference tests read Resources[0].endpoint == "/Users".
    assert_eq!(resources[0]["endpoint"], "/Users");
    for (got, want) in resources.iter().zip(rfc.as_array().expect("array")) {
        for key in [
            "schemas",
            "id",
            "name",
            "endpoint",
            "description",
            "schema",
            "meta",
        ] {
            assert_eq!(got[key], want[key], "{key} of {}", want["id"]);
        }
    }
    assert_eq!(
        resources[0]["schemaExtensions"],
        json!([{"schema": ENT, "required": false}])
    );
    let one = scim::discovery::resource_type_document(&reg, "Group", "https://example.com/v2")
        .expect("Group exists");
    assert_eq!(&one, &resources[1]);
    assert!(!contains_null(&list));
}

#[test]
fn section_8_7_schemas_document_is_a_list_response_with_camel_case_values_and_no_nulls() {
    let reg = registry();
    let doc = scim::discovery::schemas_document(&reg, "https://example.com/v2");
    assert_eq!(
        doc["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert!(!contains_null(&doc), "ENTRA §3: no null values in /Schemas");
    let resources = doc["Resources"].as_array().expect("Resources");
    assert_eq!(doc["totalResults"], json!(resources.len()));
    let ids: Vec<&str> = resources
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    for urn in [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        ENT,
    ] {
        assert!(ids.contains(&urn), "{urn} missing from /Schemas");
    }
    let user = resources
        .iter()
        .find(|s| s["id"] == "urn:ietf:params:scim:schemas:core:2.0:User")
        .expect("User");
    assert_eq!(user["meta"]["resourceType"], "Schema");
    assert_eq!(
        user["meta"]["location"],
        "https://example.com/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"
    );
    let user_name = user["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .find(|a| a["name"] == "userName")
        .expect("userName");
    for (key, want) in [
        ("type", json!("string")),
        ("required", json!(true)),
        ("caseExact", json!(false)),
        ("mutability", json!("readWrite")),
        ("returned", json!("default")),
        ("uniqueness", json!("server")),
    ] {
        assert_eq!(user_name[key], want, "userName.{key}");
    }
    fn walk(attrs: &Value, path: &str) {
        for a in attrs.as_array().into_iter().flatten() {
            let name = format!("{path}{}", a["name"].as_str().expect("name"));
            assert!(
                ["readOnly", "readWrite", "immutable", "writeOnly"]
                    .contains(&a["mutability"].as_str().unwrap_or("")),
                "{name}"
            );
            assert!(
                ["always", "never", "default", "request"]
                    .contains(&a["returned"].as_str().unwrap_or("")),
                "{name}"
            );
            assert!(
                a["multiValued"].is_boolean()
                    && a["required"].is_boolean()
                    && a["caseExact"].is_boolean(),
                "{name}"
            );
            walk(&a["subAttributes"], &format!("{name}."));
        }
    }
    for s in resources {
        walk(&s["attributes"], "");
    }
    let one =
        scim::discovery::schema_document(&reg, ENT, "https://example.com/v2").expect("exists");
    assert!(
        one["attributes"]
            .as_array()
            .expect("attributes")
            .iter()
            .any(|a| a["name"] == "employeeNumber")
    );
}
