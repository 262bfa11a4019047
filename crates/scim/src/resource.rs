//! Rendering a stored resource as the SCIM resource a client receives (RFC 7643 §3):
//! `schemas`, `id`, the stored attributes, then `meta`.
//!
//! The stored body (see [`crate::validate::normalize_resource`]) holds neither `id`, `meta`
//! nor `schemas`: `id` and `meta` are the store's columns, and `schemas` follows from which
//! extension objects the body holds, so it can never disagree with them. Attribute values are
//! returned exactly as stored (ENTRA §1.13: a value rendered differently from how Entra wrote
//! it makes Entra re-PATCH it every cycle). Projection (`attributes`, `excludedAttributes`) is
//! a separate step, [`crate::projection::Projection::apply`].

use crate::meta::Meta;
use crate::schema::{Registry, ResourceKind};
use serde_json::{Map, Value};

/// Builds the full resource: `schemas` (the core schema, then every extension the body has an
/// object for, in registration order), `id`, the body's attributes in stored order, and
/// `meta`. Any `id`, `meta` or `schemas` key in `body` is ignored: those are the service's.
///
/// For groups the caller puts the loaded `members` into `body` first (unless the projection
/// does not want them); for users, the read-only `groups`.
pub fn render(
    registry: &Registry,
    kind: ResourceKind,
    id: &str,
    body: &Value,
    meta: &Meta,
) -> Value {
    let mut out = Map::new();
    out.insert(
        "schemas".to_owned(),
        Value::Array(schemas_of(registry, kind, body)),
    );
    out.insert("id".to_owned(), Value::String(id.to_owned()));
    if let Value::Object(body) = body {
        for (key, value) in body {
            if matches!(key.as_str(), "id" | "meta" | "schemas") {
                continue;
            }
            out.insert(key.clone(), value.clone());
        }
    }
    out.insert("meta".to_owned(), meta.to_json());
    Value::Object(out)
}

/// The `schemas` list for a canonical body: the core URN and the URN of every extension with a
/// (non-empty) object in the body.
pub fn schemas_of(registry: &Registry, kind: ResourceKind, body: &Value) -> Vec<Value> {
    let core = registry.core_schema(kind).id.clone();
    let extensions = registry
        .extensions(kind)
        .filter(|ext| {
            body.get(&ext.id)
                .is_some_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
        })
        .map(|ext| ext.id.clone());
    std::iter::once(core)
        .chain(extensions)
        .map(Value::String)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_USER, GROUP, USER};
    use crate::validate::normalize_resource;
    use chrono::{TimeZone, Utc};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn meta(kind: ResourceKind, id: &str, version: u64) -> Meta {
        let t = Utc.with_ymd_and_hms(2010, 1, 23, 4, 56, 22).unwrap();
        Meta::new(kind, "https://example.com/v2", id, t, t, version)
    }

    /// RFC 7643 §8.2 (Full User), as a client would POST it: read-only attributes and
    /// `groups` included. `password` is dropped, `groups` is ignored (the store adds the real
    /// ones), everything else renders back as sent.
    #[test]
    fn rfc7643_full_user_normalizes_and_renders_back() {
        let reg = Registry::new();
        let sent = json!({
            "schemas": [USER],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "701984",
            "userName": "bjensen@example.com",
            "name": {
                "formatted": "Ms. Barbara J Jensen, III",
                "familyName": "Jensen",
                "givenName": "Barbara",
                "middleName": "Jane",
                "honorificPrefix": "Ms.",
                "honorificSuffix": "III"
            },
            "displayName": "Babs Jensen",
            "nickName": "Babs",
            "profileUrl": "https://login.example.com/bjensen",
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "addresses": [
                {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                 "region": "CA", "postalCode": "91608", "country": "USA",
                 "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true},
                {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood",
                 "region": "CA", "postalCode": "91608", "country": "USA",
                 "formatted": "456 Hollywood Blvd\nHollywood, CA 91608 USA"}
            ],
            "phoneNumbers": [
                {"value": "555-555-5555", "type": "work"},
                {"value": "555-555-4444", "type": "mobile"}
            ],
            "ims": [{"value": "someaimhandle", "type": "aim"}],
            "photos": [
                {"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"},
                {"value": "https://photos.example.com/profilephoto/72930000000Ccne/T", "type": "thumbnail"}
            ],
            "userType": "Employee",
            "title": "Tour Guide",
            "preferredLanguage": "en-US",
            "locale": "en-US",
            "timezone": "America/Los_Angeles",
            "active": true,
            "password": "t1meMa$heen",
            "groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "$ref": "https://example.com/v2/Groups/e9e30dba", "display": "Tour Guides"}],
            "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
                "version": "W/\"a330bc54f0671c9\"",
                "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
            }
        });
        let stored = normalize_resource(&reg, ResourceKind::User, sent.clone()).unwrap();
        let id = "2819c223-7f76-453a-919d-413861904646";
        let rendered = render(
            &reg,
            ResourceKind::User,
            id,
            &stored,
            &meta(ResourceKind::User, id, 3),
        );

        let mut expected = sent;
        let obj = expected.as_object_mut().unwrap();
        obj.remove("password");
        obj.remove("groups");
        obj.insert(
            "meta".into(),
            json!({
                "resourceType": "User",
                "created": "2010-01-23T04:56:22.000Z",
                "lastModified": "2010-01-23T04:56:22.000Z",
                "location": format!("https://example.com/v2/Users/{id}"),
                "version": "W/\"3\""
            }),
        );
        assert_eq!(rendered, expected);
        let keys: Vec<&String> = rendered.as_object().unwrap().keys().collect();
        assert_eq!(keys.first().map(|k| k.as_str()), Some("schemas"));
        assert_eq!(keys.get(1).map(|k| k.as_str()), Some("id"));
        assert_eq!(keys.last().map(|k| k.as_str()), Some("meta"));
    }

    /// RFC 7643 §8.3 (Enterprise User): the extension object renders under its URN and the
    /// URN is listed in `schemas`.
    #[test]
    fn rfc7643_enterprise_user_lists_the_extension_in_schemas() {
        let reg = Registry::new();
        let sent = json!({
            "schemas": [USER, ENTERPRISE_USER],
            "userName": "bjensen@example.com",
            ENTERPRISE_USER: {
                "employeeNumber": "701984",
                "costCenter": "4130",
                "organization": "Universal Studios",
                "division": "Theme Park",
                "department": "Tour Operations",
                "manager": {
                    "value": "26118915-6090-4610-87e4-49d8ca9f808d",
                    "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
                    "displayName": "John Smith"
                }
            }
        });
        let stored = normalize_resource(&reg, ResourceKind::User, sent).unwrap();
        let rendered = render(
            &reg,
            ResourceKind::User,
            "u1",
            &stored,
            &meta(ResourceKind::User, "u1", 1),
        );
        assert_eq!(rendered["schemas"], json!([USER, ENTERPRISE_USER]));
        assert_eq!(
            rendered[ENTERPRISE_USER]["manager"],
            json!({"value": "26118915-6090-4610-87e4-49d8ca9f808d", "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d"})
        );
        assert_eq!(rendered[ENTERPRISE_USER]["employeeNumber"], "701984");
    }

    #[test]
    fn enterprise_urn_in_schemas_without_an_extension_object_is_not_rendered() {
        let reg = Registry::new();
        let stored = normalize_resource(
            &reg,
            ResourceKind::User,
            json!({"schemas": [USER, ENTERPRISE_USER], "userName": "a"}),
        )
        .unwrap();
        let rendered = render(
            &reg,
            ResourceKind::User,
            "u1",
            &stored,
            &meta(ResourceKind::User, "u1", 1),
        );
        assert_eq!(rendered["schemas"], json!([USER]));
    }

    /// RFC 7643 §8.4 (Group) with members the store loaded into the body.
    #[test]
    fn rfc7643_group_renders_with_members_from_the_store() {
        let reg = Registry::new();
        let mut stored = normalize_resource(
            &reg,
            ResourceKind::Group,
            json!({"displayName": "Tour Guides"}),
        )
        .unwrap();
        let members = json!([
            {"value": "2819c223-7f76-453a-919d-413861904646", "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a", "$ref": "https://example.com/v2/Users/902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}
        ]);
        stored
            .as_object_mut()
            .unwrap()
            .insert("members".into(), members.clone());
        let id = "e9e30dba-f08f-4109-8486-d5c6a331660a";
        let rendered = render(
            &reg,
            ResourceKind::Group,
            id,
            &stored,
            &meta(ResourceKind::Group, id, 1),
        );
        assert_eq!(
            rendered,
            json!({
                "schemas": [GROUP],
                "id": id,
                "displayName": "Tour Guides",
                "members": members,
                "meta": {
                    "resourceType": "Group",
                    "created": "2010-01-23T04:56:22.000Z",
                    "lastModified": "2010-01-23T04:56:22.000Z",
                    "location": format!("https://example.com/v2/Groups/{id}"),
                    "version": "W/\"1\""
                }
            })
        );
    }

    #[test]
    fn service_owned_keys_in_the_body_are_never_rendered_from_it() {
        let reg = Registry::new();
        let body = json!({"id": "other", "meta": {"x": 1}, "schemas": ["x"], "userName": "a"});
        let rendered = render(
            &reg,
            ResourceKind::User,
            "u1",
            &body,
            &meta(ResourceKind::User, "u1", 1),
        );
        assert_eq!(rendered["id"], "u1");
        assert_eq!(rendered["schemas"], json!([USER]));
        assert_eq!(rendered["meta"]["resourceType"], "User");
    }
}
