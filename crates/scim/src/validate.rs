//! Validation of create (`POST`) and replace (`PUT`) bodies, and the checks every write shares.
//!
//! [`normalize_resource`] turns whatever shape a client sends into the canonical stored shape:
//! core attributes at the top level under their canonical names, extension attributes nested
//! under the canonical extension URN, no `id`/`meta`/`schemas`, no read-only attributes, values
//! coerced by [`crate::value::coerce`] (the same coercion PATCH uses, so both accept the same
//! client forms). What it accepts, and why:
//!
//! - attribute names in any case (`UserName`, `Emails[].Primary`; ENTRA §13.9);
//! - any `schemas` list: it is not stored, and Entra sends unknown URNs and extension URNs
//!   without their objects (ENTRA §13.8) or omits custom extension URNs (ENTRA §6.4);
//! - read-only attributes (`id`, `meta`, `groups`, `manager.displayName`) are ignored, because
//!   clients echo resources back (RFC 7643 §7: the service provider "SHALL ignore" them);
//! - `null`, `[]` and `{}` mean absent (RFC 7643 §2.5; Entra's old examples send `null`s);
//! - extension attributes either as an object under the extension URN (any case) or as
//!   top-level URN-qualified keys (`"urn:…:enterprise:2.0:User:employeeNumber": "42"`), and the
//!   core URN as an object of core attributes; dotted keys (`"name.givenName"`) set one
//!   sub-attribute of a single-valued complex attribute, as in a path-less PATCH;
//! - `password` is type-checked and dropped: BlogIn users sign in through their identity
//!   provider, so a password has no use here and storing one would only be a liability (Okta
//!   sends one on create, ENTRA §12).
//!
//! It rejects what cannot be stored faithfully: a body that is not an object (`invalidSyntax`),
//! an attribute no schema of the resource type defines (`invalidValue` naming it, so a typo is
//! not silently lost), the same attribute given twice under different spellings
//! (`invalidSyntax`), values of the wrong type, more than one `primary: true` element, and
//! missing required attributes ([`check_required`], which PATCH runs on its result too).

use crate::path::AttrPath;
use crate::schema::{AttrType, Attribute, Mutability, Registry, Resolved, ResourceKind, Schema};
use crate::value::coerce;
use crate::{Result, ScimError};
use serde_json::{Map, Value};

/// Validates a create/replace body and returns it in the canonical stored shape (see the
/// module documentation). Group `members` stay in the result, coerced; the store moves them
/// out with [`crate::members::take_members`].
pub fn normalize_resource(registry: &Registry, kind: ResourceKind, body: Value) -> Result<Value> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax(
            "the resource body must be a JSON object",
        ));
    };
    let mut builder = Builder {
        registry,
        kind,
        out: Map::new(),
    };
    for (key, value) in body {
        builder.add_key(&key, value)?;
    }
    let out = Value::Object(builder.out);
    check_required(registry, kind, &out)?;
    Ok(out)
}

/// Checks that a canonical resource body has every required attribute: the core schema's
/// required attributes, every extension the resource type marks required, the required
/// attributes of each extension present, and the required sub-attributes of every complex
/// value present. A value of `null`, `""`, `[]` or `{}` counts as missing. Errors are
/// `400 invalidValue` naming the attribute.
pub fn check_required(registry: &Registry, kind: ResourceKind, resource: &Value) -> Result<()> {
    let core = registry.core_schema(kind);
    check_schema_required(core, resource, None)?;
    for ext in &registry.resource_type(kind).extensions {
        let Some(schema) = registry.schema(&ext.schema) else {
            continue;
        };
        match resource.get(&schema.id).filter(|v| has_value(v)) {
            Some(obj) => check_schema_required(schema, obj, Some(&schema.id))?,
            None if ext.required => {
                return Err(ScimError::invalid_value(format!(
                    "extension '{}' is required for {} resources",
                    schema.id,
                    kind.name()
                )));
            }
            None => {}
        }
    }
    Ok(())
}

/// Checks a replacement body against the stored one for `immutable` attributes (RFC 7644
/// §3.5.1: once set, "the input value(s) MUST match"): top-level attributes, and
/// sub-attributes of single-valued complex attributes. Immutable sub-attributes of
/// multi-valued attributes (`members.value`) describe elements, which a replace may add or
/// drop, so they are not compared. Errors are `400 mutability` naming the attribute.
pub fn check_immutable(
    registry: &Registry,
    kind: ResourceKind,
    stored: &Value,
    replacement: &Value,
) -> Result<()> {
    let core = registry.core_schema(kind);
    let exts = registry.extensions(kind).map(|s| (Some(s.id.as_str()), s));
    for (urn, schema) in std::iter::once((None, core)).chain(exts) {
        let (old, new) = (container(stored, urn), container(replacement, urn));
        for attr in &schema.attributes {
            let old = old.and_then(|o| o.get(&attr.name)).filter(|v| has_value(v));
            let new = new.and_then(|o| o.get(&attr.name));
            check_immutable_attr(attr, old, new)?;
        }
    }
    Ok(())
}

/// Where a schema's attributes live in a canonical body: the top level, or the extension object.
fn container<'v>(body: &'v Value, urn: Option<&str>) -> Option<&'v Value> {
    match urn {
        Some(urn) => body.get(urn),
        None => Some(body),
    }
}

fn check_immutable_attr(attr: &Attribute, old: Option<&Value>, new: Option<&Value>) -> Result<()> {
    let Some(old) = old else { return Ok(()) };
    if attr.mutability == Mutability::Immutable && Some(old) != new {
        return Err(ScimError::mutability(format!(
            "attribute '{}' is immutable and already has a value",
            attr.name
        )));
    }
    if attr.ty == AttrType::Complex && !attr.multi_valued {
        for sub in &attr.sub_attributes {
            let old_sub = old.get(&sub.name).filter(|v| has_value(v));
            if sub.mutability == Mutability::Immutable
                && old_sub.is_some()
                && old_sub != new.and_then(|n| n.get(&sub.name))
            {
                return Err(ScimError::mutability(format!(
                    "attribute '{}.{}' is immutable and already has a value",
                    attr.name, sub.name
                )));
            }
        }
    }
    Ok(())
}

/// Whether a JSON value counts as assigned (RFC 7643 §2.5).
pub(crate) fn has_value(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn check_schema_required(schema: &Schema, container: &Value, urn: Option<&str>) -> Result<()> {
    let name = |attr: &str| match urn {
        Some(urn) => format!("{urn}:{attr}"),
        None => attr.to_owned(),
    };
    for attr in &schema.attributes {
        let value = container.get(&attr.name).filter(|v| has_value(v));
        if attr.required && value.is_none() {
            return Err(ScimError::invalid_value(format!(
                "required attribute '{}' is missing",
                name(&attr.name)
            )));
        }
        let Some(value) = value else { continue };
        let elements: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        for sub in attr.sub_attributes.iter().filter(|s| s.required) {
            if elements
                .iter()
                .any(|e| e.get(&sub.name).is_none_or(|v| !has_value(v)))
            {
                return Err(ScimError::invalid_value(format!(
                    "required attribute '{}.{}' is missing",
                    name(&attr.name),
                    sub.name
                )));
            }
        }
    }
    Ok(())
}

/// Accumulates the canonical body key by key.
struct Builder<'r> {
    registry: &'r Registry,
    kind: ResourceKind,
    out: Map<String, Value>,
}

impl Builder<'_> {
    fn add_key(&mut self, key: &str, value: Value) -> Result<()> {
        if key.eq_ignore_ascii_case("schemas") {
            return Ok(());
        }
        if let Some(ext) = self.registry.extension(self.kind, key) {
            let ext_id = ext.id.clone();
            return self.add_extension_object(&ext_id, value);
        }
        let core_id = &self.registry.core_schema(self.kind).id;
        if key.eq_ignore_ascii_case(core_id) {
            return match value {
                Value::Null => Ok(()),
                Value::Object(obj) => obj.into_iter().try_for_each(|(k, v)| self.add_key(&k, v)),
                _ => Err(ScimError::invalid_value(format!(
                    "'{core_id}' must be an object of core attributes"
                ))),
            };
        }
        let resolved = AttrPath::parse(key)
            .ok()
            .and_then(|p| self.registry.resolve(self.kind, &p));
        match resolved {
            Some(resolved) => self.put(resolved, value),
            None if value.is_object() && crate::path::is_urn_like(key) => {
                Err(ScimError::invalid_value(format!(
                    "schema '{key}' is not an extension of {}",
                    self.kind.name()
                )))
            }
            None => Err(self.unknown(key)),
        }
    }

    fn add_extension_object(&mut self, ext_id: &str, value: Value) -> Result<()> {
        let obj = match value {
            Value::Null => return Ok(()),
            Value::Object(obj) => obj,
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "extension '{ext_id}' must be an object"
                )));
            }
        };
        for (key, value) in obj {
            // A `schemas` list inside the extension object names schemas, not an attribute.
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            let resolved = AttrPath::parse(&key)
                .ok()
                .filter(|p| p.urn.is_none())
                .and_then(|p| {
                    let path = AttrPath {
                        urn: Some(ext_id.to_owned()),
                        ..p
                    };
                    self.registry.resolve(self.kind, &path)
                })
                .ok_or_else(|| {
                    ScimError::invalid_value(format!(
                        "attribute '{key}' is not defined by schema '{ext_id}'"
                    ))
                })?;
            self.put(resolved, value)?;
        }
        Ok(())
    }

    fn put(&mut self, resolved: Resolved<'_>, value: Value) -> Result<()> {
        let attr = resolved.attr;
        if attr.is_read_only() || resolved.sub.is_some_and(Attribute::is_read_only) {
            return Ok(());
        }
        let path = resolved.canonical_path().to_string();
        let coerced = coerce(resolved.target(), value, &path)?;
        if is_password(&resolved) {
            return Ok(());
        }
        let Some(value) = coerced else { return Ok(()) };
        if resolved.sub.is_none() && attr.multi_valued {
            check_single_primary(attr, &value, &path)?;
        }
        if resolved.sub.is_some() && attr.multi_valued {
            return Err(ScimError::invalid_value(format!(
                "'{path}' addresses a sub-attribute of a multi-valued attribute; send '{}' as a list",
                attr.name
            )));
        }
        let duplicate = || {
            ScimError::invalid_syntax(format!(
                "attribute '{path}' is given more than once (attribute names are case-insensitive)"
            ))
        };
        let container = if resolved.in_extension {
            let ext = self
                .out
                .entry(resolved.schema.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(ext) = ext else {
                return Err(duplicate());
            };
            ext
        } else {
            &mut self.out
        };
        match resolved.sub {
            None => match (container.get_mut(&attr.name), value) {
                (None, value) => {
                    container.insert(attr.name.clone(), value);
                }
                // `name` after `name.givenName`: merge, as long as no sub-attribute repeats.
                (Some(Value::Object(existing)), Value::Object(new)) if !attr.multi_valued => {
                    for (k, v) in new {
                        if existing.contains_key(&k) {
                            return Err(duplicate());
                        }
                        existing.insert(k, v);
                    }
                }
                _ => return Err(duplicate()),
            },
            Some(sub) => {
                let entry = container
                    .entry(attr.name.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                let Value::Object(obj) = entry else {
                    return Err(duplicate());
                };
                if obj.contains_key(&sub.name) {
                    return Err(duplicate());
                }
                obj.insert(sub.name.clone(), value);
            }
        }
        Ok(())
    }

    fn unknown(&self, key: &str) -> ScimError {
        ScimError::invalid_value(format!(
            "attribute '{key}' is not defined by any schema of {}",
            self.kind.name()
        ))
    }
}

/// The core User `password`: accepted, never stored (see the module documentation).
fn is_password(resolved: &Resolved<'_>) -> bool {
    !resolved.in_extension
        && resolved.sub.is_none()
        && resolved.attr.mutability == Mutability::WriteOnly
        && resolved.attr.name == "password"
}

/// RFC 7643 §2.4: "The primary attribute value 'true' MUST appear no more than once."
fn check_single_primary(attr: &Attribute, value: &Value, path: &str) -> Result<()> {
    if attr.sub("primary").is_none() {
        return Ok(());
    }
    let primaries = value.as_array().map_or(0, |a| {
        a.iter()
            .filter(|e| e.get("primary") == Some(&Value::Bool(true)))
            .count()
    });
    if primaries > 1 {
        return Err(ScimError::invalid_value(format!(
            "attribute '{path}' has more than one element with primary true"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScimType;
    use crate::schema::{ENTERPRISE_USER, GROUP, USER};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn user(body: Value) -> Result<Value> {
        normalize_resource(&Registry::new(), ResourceKind::User, body)
    }

    fn group(body: Value) -> Result<Value> {
        normalize_resource(&Registry::new(), ResourceKind::Group, body)
    }

    #[test]
    fn entra_create_user_body_normalizes_to_the_stored_shape() {
        let body = json!({
            "schemas": [USER, ENTERPRISE_USER],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
            "active": true,
            "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": []
        });
        assert_eq!(
            user(body).unwrap(),
            json!({
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                "active": true,
                "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb@testuser.com"}],
                "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"}
            })
        );
    }

    #[test]
    fn old_entra_provision_body_with_nulls_and_a_malformed_urn_in_schemas_is_accepted() {
        let body = json!({
            "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
            "userName": "UserName123",
            "active": true,
            "addresses": null,
            "phoneNumbers": null,
            "title": null,
            "department": null,
            "manager": null,
            "displayName": "Jane"
        });
        assert_eq!(
            user(body).unwrap(),
            json!({"userName": "UserName123", "active": true, "displayName": "Jane"})
        );
    }

    #[test]
    fn entra_create_group_body_with_an_unknown_schema_urn_keeps_only_group_attributes() {
        let body = json!({
            "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": {"resourceType": "Group"}
        });
        assert_eq!(
            group(body).unwrap(),
            json!({"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName"})
        );
    }

    #[test]
    fn group_members_stay_in_the_body_coerced_for_take_members() {
        let body = json!({
            "displayName": "g",
            "members": [{"value": "u1", "$ref": null, "display": "x", "displayName": "y"}, "u2"]
        });
        assert_eq!(
            group(body).unwrap(),
            json!({"displayName": "g", "members": [{"value": "u1"}, {"value": "u2"}]})
        );
    }

    #[test]
    fn attribute_names_in_any_case_get_their_canonical_names() {
        let body = json!({
            "USERNAME": "bjensen",
            "Emails": [{"Value": "b@x.com", "Primary": "True", "TYPE": "work"}],
            "Name": {"GivenName": "Barbara"},
            "ACTIVE": "False"
        });
        assert_eq!(
            user(body).unwrap(),
            json!({
                "userName": "bjensen",
                "emails": [{"value": "b@x.com", "primary": true, "type": "work"}],
                "name": {"givenName": "Barbara"},
                "active": false
            })
        );
    }

    #[test]
    fn extension_object_under_a_urn_in_any_case_is_nested_under_the_canonical_urn() {
        let body = json!({
            "userName": "a",
            "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {
                "Department": "Sales",
                "Manager": {"Value": "m1", "displayName": "Boss"}
            }
        });
        assert_eq!(
            user(body).unwrap(),
            json!({"userName": "a", ENTERPRISE_USER: {"department": "Sales", "manager": {"value": "m1"}}})
        );
    }

    #[test]
    fn a_schemas_list_inside_an_extension_object_is_ignored() {
        let body = json!({"userName": "a", ENTERPRISE_USER: {"schemas": [ENTERPRISE_USER], "department": "Sales"}});
        assert_eq!(
            user(body).unwrap(),
            json!({"userName": "a", ENTERPRISE_USER: {"department": "Sales"}})
        );
    }

    #[test]
    fn manager_as_a_bare_string_is_stored_as_an_object() {
        let body = json!({"userName": "a", ENTERPRISE_USER: {"manager": "123456"}});
        assert_eq!(
            user(body).unwrap(),
            json!({"userName": "a", ENTERPRISE_USER: {"manager": {"value": "123456"}}})
        );
    }

    #[test]
    fn urn_qualified_top_level_keys_and_unqualified_extension_names_nest_under_the_extension() {
        let body = json!({
            "userName": "a",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
            "manager": [{"$ref": "../Users/26118915", "value": "26118915"}]
        });
        assert_eq!(
            user(body).unwrap(),
            json!({
                "userName": "a",
                ENTERPRISE_USER: {
                    "employeeNumber": "701984",
                    "manager": {"value": "26118915", "$ref": "../Users/26118915"}
                }
            })
        );
    }

    #[test]
    fn core_urn_object_and_core_urn_qualified_keys_merge_into_the_top_level() {
        let body = json!({
            "urn:ietf:params:scim:schemas:core:2.0:User": {"userName": "a"},
            "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "A"
        });
        assert_eq!(
            user(body).unwrap(),
            json!({"userName": "a", "displayName": "A"})
        );
    }

    #[test]
    fn dotted_keys_set_one_sub_attribute_and_merge_with_the_object_form() {
        let body =
            json!({"userName": "a", "name.givenName": "Barbara", "name": {"familyName": "Jensen"}});
        assert_eq!(
            user(body).unwrap(),
            json!({"userName": "a", "name": {"givenName": "Barbara", "familyName": "Jensen"}})
        );
    }

    #[test]
    fn read_only_attributes_sent_by_a_client_are_ignored() {
        let body = json!({
            "id": "client-chosen",
            "userName": "a",
            "meta": {"created": "2020-01-01T00:00:00Z"},
            "groups": [{"value": "g1"}]
        });
        assert_eq!(user(body).unwrap(), json!({"userName": "a"}));
    }

    #[test]
    fn password_is_type_checked_and_never_stored() {
        assert_eq!(
            user(json!({"userName": "a", "password": "t1meMa$heen"})).unwrap(),
            json!({"userName": "a"})
        );
        let e = user(json!({"userName": "a", "password": 42})).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        assert!(!e.detail().contains("42"));
    }

    #[test]
    fn unknown_attribute_is_invalid_value_naming_it() {
        let e = user(json!({"userName": "a", "favouriteColour": "red"})).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        assert_eq!(
            e.detail(),
            "attribute 'favouriteColour' is not defined by any schema of User"
        );
        assert!(!e.detail().contains("red"));
    }

    #[test]
    fn unknown_attribute_inside_an_extension_object_is_invalid_value_naming_it() {
        let e = user(json!({"userName": "a", ENTERPRISE_USER: {"shoeSize": "44"}})).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        assert!(e.detail().contains("shoeSize"), "{}", e.detail());
    }

    #[test]
    fn unregistered_extension_object_is_invalid_value_naming_the_schema() {
        let urn = "urn:ietf:params:scim:schemas:extension:custom:2.0:User";
        let e = user(json!({"userName": "a", urn: {"x": "1"}})).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        assert!(e.detail().contains(urn), "{}", e.detail());
    }

    #[test]
    fn group_attributes_are_unknown_on_users_and_vice_versa() {
        assert!(user(json!({"userName": "a", "members": []})).is_err());
        assert!(group(json!({"displayName": "g", "userName": "a"})).is_err());
    }

    #[test]
    fn body_that_is_not_an_object_is_invalid_syntax() {
        for body in [json!([]), json!("x"), json!(null), json!(1)] {
            assert_eq!(
                user(body).unwrap_err().scim_type(),
                Some(ScimType::InvalidSyntax)
            );
        }
    }

    #[test]
    fn missing_required_attribute_is_invalid_value_naming_it() {
        for body in [
            json!({"displayName": "x"}),
            json!({"userName": ""}),
            json!({"userName": null}),
        ] {
            let e = user(body).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
            assert_eq!(e.detail(), "required attribute 'userName' is missing");
        }
        let e = group(json!({"externalId": "x"})).unwrap_err();
        assert_eq!(e.detail(), "required attribute 'displayName' is missing");
    }

    #[test]
    fn the_same_attribute_under_two_spellings_is_invalid_syntax() {
        for body in [
            json!({"userName": "a", "USERNAME": "b"}),
            json!({"userName": "a", "urn:ietf:params:scim:schemas:core:2.0:User": {"userName": "b"}}),
            json!({"userName": "a", "name": {"givenName": "x"}, "name.givenName": "y"}),
            json!({"userName": "a", "employeeNumber": "1", ENTERPRISE_USER: {"employeeNumber": "2"}}),
        ] {
            let e = user(body).unwrap_err();
            assert_eq!(
                e.scim_type(),
                Some(ScimType::InvalidSyntax),
                "{}",
                e.detail()
            );
        }
    }

    #[test]
    fn wrong_value_types_are_invalid_value_without_the_value() {
        for body in [
            json!({"userName": "a", "active": "maybe"}),
            json!({"userName": ["a"]}),
            json!({"userName": "a", "name": "Barbara Jensen"}),
            json!({"userName": "a", ENTERPRISE_USER: "x"}),
        ] {
            let e = user(body.clone()).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidValue), "{body}");
        }
    }

    #[test]
    fn two_primary_elements_are_invalid_value() {
        let e = user(json!({"userName": "a", "emails": [
            {"value": "a@x.com", "primary": true}, {"value": "b@x.com", "primary": "True"}
        ]}))
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    }

    #[test]
    fn sub_attribute_key_of_a_multi_valued_attribute_is_invalid_value() {
        let e = user(json!({"userName": "a", "emails.value": "a@x.com"})).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    }

    #[test]
    fn empty_extension_objects_are_not_stored() {
        let body = json!({"userName": "a", ENTERPRISE_USER: {"manager": {"value": ""}, "department": null}});
        assert_eq!(user(body).unwrap(), json!({"userName": "a"}));
    }

    fn custom_schema(required_attr: bool) -> Schema {
        Schema::from_json(&json!({
            "id": "urn:example:custom:2.0:User",
            "attributes": [
                {"name": "badge", "type": "string", "required": required_attr, "mutability": "immutable"},
                {"name": "desk", "type": "complex", "subAttributes": [
                    {"name": "number", "type": "string", "required": true},
                    {"name": "floor", "type": "integer", "mutability": "immutable"}
                ]}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn required_extension_must_be_present() {
        let mut reg = Registry::new();
        reg.register_extension(ResourceKind::User, custom_schema(false), true)
            .unwrap();
        let e = normalize_resource(&reg, ResourceKind::User, json!({"userName": "a"})).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        assert!(
            e.detail().contains("urn:example:custom:2.0:User"),
            "{}",
            e.detail()
        );
        let ok = json!({"userName": "a", "urn:example:custom:2.0:User": {"badge": "7"}});
        assert!(normalize_resource(&reg, ResourceKind::User, ok).is_ok());
    }

    #[test]
    fn required_attributes_of_a_present_extension_and_required_sub_attributes_are_checked() {
        let mut reg = Registry::new();
        reg.register_extension(ResourceKind::User, custom_schema(true), false)
            .unwrap();
        let urn = "urn:example:custom:2.0:User";
        assert!(normalize_resource(&reg, ResourceKind::User, json!({"userName": "a"})).is_ok());
        let e = normalize_resource(
            &reg,
            ResourceKind::User,
            json!({"userName": "a", urn: {"desk": {"number": "1"}}}),
        )
        .unwrap_err();
        assert_eq!(
            e.detail(),
            format!("required attribute '{urn}:badge' is missing")
        );
        let e = normalize_resource(
            &reg,
            ResourceKind::User,
            json!({"userName": "a", urn: {"badge": "1", "desk": {"floor": 3}}}),
        )
        .unwrap_err();
        assert_eq!(
            e.detail(),
            format!("required attribute '{urn}:desk.number' is missing")
        );
    }

    #[test]
    fn replacing_an_immutable_value_is_mutability_but_keeping_it_is_fine() {
        let mut reg = Registry::new();
        reg.register_extension(ResourceKind::User, custom_schema(false), false)
            .unwrap();
        let urn = "urn:example:custom:2.0:User";
        let stored =
            json!({"userName": "a", urn: {"badge": "7", "desk": {"number": "1", "floor": 3}}});
        let same =
            json!({"userName": "b", urn: {"badge": "7", "desk": {"number": "2", "floor": 3}}});
        assert!(check_immutable(&reg, ResourceKind::User, &stored, &same).is_ok());
        for changed in [
            json!({"userName": "a", urn: {"badge": "8", "desk": {"number": "1", "floor": 3}}}),
            json!({"userName": "a", urn: {"desk": {"number": "1", "floor": 3}}}),
            json!({"userName": "a", urn: {"badge": "7", "desk": {"number": "1", "floor": 4}}}),
        ] {
            let e = check_immutable(&reg, ResourceKind::User, &stored, &changed).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::Mutability), "{changed}");
        }
        let unset = json!({"userName": "a"});
        assert!(check_immutable(&reg, ResourceKind::User, &unset, &stored).is_ok());
    }

    #[test]
    fn group_members_may_change_on_replace_although_their_sub_attributes_are_immutable() {
        let reg = Registry::new();
        let stored = json!({"displayName": "g", "members": [{"value": "u1"}]});
        let new = json!({"displayName": "g", "members": [{"value": "u2"}]});
        assert!(check_immutable(&reg, ResourceKind::Group, &stored, &new).is_ok());
    }

    #[test]
    fn check_required_accepts_a_complete_stored_body() {
        let reg = Registry::new();
        assert!(check_required(&reg, ResourceKind::User, &json!({"userName": "a"})).is_ok());
        assert!(check_required(&reg, ResourceKind::Group, &json!({"displayName": "g"})).is_ok());
    }
}
