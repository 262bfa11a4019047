//! Coercion of one attribute's JSON value to its schema, shared by create/replace validation
//! and the PATCH engine so both accept exactly the same client forms:
//!
//! - `null`, an empty array, or an empty complex value mean "absent" (RFC 7643 §2.5);
//! - boolean attributes accept `"True"`/`"False"` in any case and store JSON booleans (ENTRA §13.2);
//! - a complex attribute with a `value` sub-attribute accepts a bare string as `{"value": s}`,
//!   and a single-valued one accepts a one-element array (`manager`, ENTRA §13.6); an empty
//!   bare string or `{"value": ""}` clears it;
//! - sub-attribute names match case-insensitively and are stored in their canonical case;
//! - read-only sub-attributes sent by a client (`manager.displayName`) are ignored;
//! - every other value is kept exactly as sent (ENTRA §1.13).
//!
//! Errors name the attribute and the expected type, never the value (it may be personal data).

use crate::schema::{AttrType, Attribute, Mutability};
use crate::{Result, ScimError};
use serde_json::{Map, Value};

/// Coerces `value` for `attr`; `Ok(None)` means the attribute is absent. `path` names the
/// attribute in errors.
pub fn coerce(attr: &Attribute, value: Value, path: &str) -> Result<Option<Value>> {
    if attr.multi_valued {
        let items = match value {
            Value::Null => return Ok(None),
            Value::Array(items) => items,
            single => vec![single],
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = coerce_single(attr, item, path)?
                && !is_label_only(&v)
            {
                out.push(v);
            }
        }
        Ok((!out.is_empty()).then_some(Value::Array(out)))
    } else {
        let value = match value {
            // A single-valued complex attribute sent as a one-element array (Entra's old manager form).
            Value::Array(mut items) if attr.ty == AttrType::Complex && items.len() <= 1 => {
                items.pop().unwrap_or(Value::Null)
            }
            Value::Array(_) => return Err(type_error(path, attr, "a single value, not an array")),
            v => v,
        };
        coerce_single(attr, value, path)
    }
}

/// Coerces one (non-array) value of `attr`.
pub fn coerce_single(attr: &Attribute, value: Value, path: &str) -> Result<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    match attr.ty {
        AttrType::Complex => coerce_complex(attr, value, path),
        AttrType::Boolean => coerce_bool(value)
            .map(|b| Some(Value::Bool(b)))
            .ok_or_else(|| type_error(path, attr, "a boolean")),
        AttrType::Integer => match &value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(value)),
            _ => Err(type_error(path, attr, "an integer")),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => Ok(Some(value)),
            _ => Err(type_error(path, attr, "a number")),
        },
        AttrType::DateTime => match &value {
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => Ok(Some(value)),
            _ => Err(type_error(path, attr, "an RFC 3339 dateTime string")),
        },
        AttrType::String | AttrType::Reference | AttrType::Binary => match value {
            Value::String(_) => Ok(Some(value)),
            _ => Err(type_error(path, attr, "a string")),
        },
    }
}

/// An element that carries only labels (`type`, `primary`) and no data: it says nothing, and
/// the PATCH engine drops such leftovers too (removing `emails[type eq "work"].value`), so
/// create and PATCH store the same body for the same values.
fn is_label_only(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.keys().all(|k| k == "type" || k == "primary"))
}

/// `true`/`false`, or the strings Entra sends for them (`"True"`, `"False"`, any case).
pub fn coerce_bool(value: Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn coerce_complex(attr: &Attribute, value: Value, path: &str) -> Result<Option<Value>> {
    let has_value_sub = attr.sub("value").is_some();
    let obj = match value {
        Value::Object(obj) => obj,
        Value::String(s) if has_value_sub => {
            if s.is_empty() {
                return Ok(None);
            }
            Map::from_iter([("value".to_owned(), Value::String(s))])
        }
        _ => return Err(type_error(path, attr, "an object")),
    };
    let mut out = Map::with_capacity(obj.len());
    for (key, v) in obj {
        let Some(sub) = attr.sub(&key) else {
            // Member objects are references, not mapped data: clients add `displayName` and
            // similar hints (SCIMReferenceCode), which carry nothing to store.
            if attr.name == "members" {
                continue;
            }
            return Err(ScimError::invalid_value(format!(
                "attribute '{path}.{key}' is not defined by the schema"
            )));
        };
        if sub.mutability == Mutability::ReadOnly {
            continue;
        }
        if let Some(v) = coerce(sub, v, &format!("{path}.{}", sub.name))? {
            out.insert(sub.name.clone(), v);
        }
    }
    // `{"value": ""}` clears a reference-like attribute (ENTRA §6.1 manager removal).
    if has_value_sub && out.get("value").is_some_and(|v| v.as_str() == Some("")) {
        out.remove("value");
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

fn type_error(path: &str, attr: &Attribute, expected: &str) -> ScimError {
    let kind = if attr.multi_valued {
        "multi-valued "
    } else {
        ""
    };
    ScimError::invalid_value(format!(
        "attribute '{path}' ({kind}{}) must be {expected}",
        attr.ty.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::AttrPath;
    use crate::schema::{Registry, ResourceKind};
    use serde_json::json;

    fn attr(reg: &Registry, p: &str) -> Attribute {
        reg.resolve(ResourceKind::User, &AttrPath::parse(p).unwrap())
            .unwrap()
            .target()
            .clone()
    }

    #[test]
    fn boolean_strings_become_json_booleans() {
        let reg = Registry::new();
        let active = attr(&reg, "active");
        assert_eq!(
            coerce(&active, json!("False"), "active").unwrap(),
            Some(json!(false))
        );
        assert_eq!(
            coerce(&active, json!("TRUE"), "active").unwrap(),
            Some(json!(true))
        );
        assert!(coerce(&active, json!("yes"), "active").is_err());
    }

    #[test]
    fn manager_accepts_string_object_and_array_and_returns_object() {
        let reg = Registry::new();
        let m = attr(
            &reg,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        );
        for input in [
            json!("m1"),
            json!({"value": "m1"}),
            json!([{"value": "m1", "$ref": null}]),
            json!({"Value": "m1"}),
        ] {
            assert_eq!(
                coerce(&m, input, "manager").unwrap(),
                Some(json!({"value": "m1"}))
            );
        }
        for clear in [json!(""), json!(null), json!({"value": ""}), json!([])] {
            assert_eq!(coerce(&m, clear, "manager").unwrap(), None);
        }
    }

    #[test]
    fn unknown_sub_attribute_is_invalid_value_naming_it() {
        let reg = Registry::new();
        let e = coerce(
            &attr(&reg, "emails"),
            json!([{"value": "a", "colour": "red"}]),
            "emails",
        )
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidValue));
        assert!(e.detail().contains("emails.colour"), "{}", e.detail());
    }

    #[test]
    fn sub_attribute_names_are_canonicalised_and_values_kept() {
        let reg = Registry::new();
        let out = coerce(
            &attr(&reg, "emails"),
            json!([{"Value": "A@x.com", "Primary": "True", "TYPE": "work"}]),
            "emails",
        )
        .unwrap();
        assert_eq!(
            out,
            Some(json!([{"value": "A@x.com", "primary": true, "type": "work"}]))
        );
    }
}
