//! `add`/`replace`/`remove` on a single-valued attribute: simple ones (`userName`, `active`,
//! `employeeNumber`) and complex ones (`name`, `manager`), with or without a sub-attribute, and
//! with a value filter on a complex one (`manager[value eq "…"]`).

use super::element::{self, check_immutable, coerce_sub, merge, set_sub};
use super::op::PatchOp;
use super::target::Target;
use crate::schema::AttrType;
use crate::value::{coerce, coerce_single};
use crate::{Result, ScimError};
use serde_json::{Map, Value};

/// The attribute's new value (`None`: unassigned) after `op` with `value` (`null` when the
/// operation had none).
pub(super) fn apply(
    op: PatchOp,
    t: &Target<'_>,
    current: Option<&Value>,
    value: Value,
) -> Result<Option<Value>> {
    let attr = t.attr;
    if attr.ty != AttrType::Complex {
        let new = match op {
            PatchOp::Remove => None,
            PatchOp::Add | PatchOp::Replace => coerce(attr, value, &t.attr_path())?,
        };
        check_immutable(attr, &t.path, current, new.as_ref())?;
        return Ok(new);
    }
    let mut element = current.and_then(Value::as_object).cloned();
    if let Some(filter) = &t.filter {
        let matched = element
            .as_ref()
            .is_some_and(|e| element::matches(filter, attr, &Value::Object(e.clone())));
        if !matched {
            match (op, &element) {
                (PatchOp::Remove, _) => return Ok(current.cloned()),
                (_, Some(_)) => {
                    return Err(ScimError::no_target(format!(
                        "the value of '{}' does not match the path filter",
                        t.path
                    )));
                }
                (_, None) => element = Some(element_for(t)?),
            }
        }
    }
    let new = write(op, t, element, value)?;
    check_immutable(attr, &t.path, current, new.as_ref())?;
    Ok(new)
}

/// The value a path filter describes, for `add`/`replace` through a filter that matched nothing.
pub(super) fn element_for(t: &Target<'_>) -> Result<Map<String, Value>> {
    let described = t.filter.as_ref().and_then(element::element_from_filter).ok_or_else(|| {
        ScimError::no_target(format!(
            "no value of '{}' matches the path filter, and the filter does not describe a new value \
             (only 'eq' comparisons joined by 'and' do)",
            t.path
        ))
    })?;
    Ok(
        match coerce_single(t.attr, Value::Object(described), &t.attr.name)? {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        },
    )
}

fn write(
    op: PatchOp,
    t: &Target<'_>,
    element: Option<Map<String, Value>>,
    value: Value,
) -> Result<Option<Value>> {
    let attr = t.attr;
    let path = t.attr_path();
    let element = match (op, t.sub) {
        (PatchOp::Remove, None) => None,
        (PatchOp::Remove, Some(sub)) => {
            let mut el = element.unwrap_or_default();
            set_sub(&mut el, sub, None, &path)?;
            Some(el)
        }
        (_, Some(sub)) => {
            let new = coerce_sub(sub, value, &path)?;
            if sub.name == "value" {
                // A new referent: the old `$ref`/`displayName` described the previous one.
                new.map(|v| Map::from_iter([(sub.name.clone(), v)]))
            } else {
                let mut el = element.unwrap_or_default();
                set_sub(&mut el, sub, new, &path)?;
                Some(el)
            }
        }
        (_, None) => {
            // An object merges unless it names a new referent (`{"value": …}` for `manager`).
            let new_referent = |o: &Map<String, Value>| {
                attr.sub("value").is_some() && o.keys().any(|k| k.eq_ignore_ascii_case("value"))
            };
            let merges = matches!(&value, Value::Object(o) if !o.is_empty() && !new_referent(o));
            let coerced = match coerce(attr, value.clone(), &path)? {
                Some(Value::Object(m)) => Some(m),
                _ => None,
            };
            if merges {
                let mut el = element.unwrap_or_default();
                merge(attr, &mut el, &value, coerced.unwrap_or_default(), &path)?;
                Some(el)
            } else {
                coerced
            }
        }
    };
    Ok(element.filter(|e| !e.is_empty()).map(Value::Object))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScimType;
    use crate::patch::target::{Origin, Resolution, resolve};
    use crate::path::PatchPath;
    use crate::schema::{Registry, ResourceKind};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn run(op: PatchOp, path: &str, current: Option<Value>, value: Value) -> Result<Option<Value>> {
        let reg = Registry::new();
        let pp = PatchPath::parse(path).unwrap();
        let Resolution::Attr(t) = resolve(
            &reg,
            ResourceKind::User,
            &pp.attr,
            pp.filter.as_ref(),
            Origin::Path,
        )?
        else {
            panic!("not an attribute")
        };
        apply(op, &t, current.as_ref(), value)
    }

    #[test]
    fn replacing_a_simple_attribute_coerces_the_value() {
        assert_eq!(
            run(
                PatchOp::Replace,
                "active",
                Some(json!(true)),
                json!("False")
            )
            .unwrap(),
            Some(json!(false))
        );
        assert_eq!(
            run(PatchOp::Add, "nickName", None, json!("Babs")).unwrap(),
            Some(json!("Babs"))
        );
        let e = run(PatchOp::Replace, "active", None, json!(3)).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    }

    #[test]
    fn null_clears_and_remove_clears() {
        assert_eq!(
            run(PatchOp::Replace, "title", Some(json!("x")), Value::Null).unwrap(),
            None
        );
        assert_eq!(
            run(PatchOp::Remove, "title", Some(json!("x")), Value::Null).unwrap(),
            None
        );
        assert_eq!(
            run(PatchOp::Replace, "title", Some(json!("x")), json!("")).unwrap(),
            Some(json!(""))
        );
    }

    #[test]
    fn complex_object_values_merge_and_null_sub_attributes_clear() {
        let cur = json!({"givenName": "G", "familyName": "F", "formatted": "G F"});
        let got = run(
            PatchOp::Replace,
            "name",
            Some(cur),
            json!({"GivenName": "H", "formatted": null}),
        )
        .unwrap();
        assert_eq!(got, Some(json!({"givenName": "H", "familyName": "F"})));
    }

    #[test]
    fn setting_and_removing_a_sub_attribute() {
        let got = run(PatchOp::Replace, "name.familyName", None, json!("F")).unwrap();
        assert_eq!(got, Some(json!({"familyName": "F"})));
        let got = run(
            PatchOp::Remove,
            "name.familyName",
            Some(json!({"familyName": "F"})),
            Value::Null,
        )
        .unwrap();
        assert_eq!(got, None);
    }

    #[test]
    fn manager_bare_string_object_and_array_set_the_whole_value() {
        let cur = Some(json!({"value": "m1", "$ref": "../Users/m1"}));
        for v in [
            json!("m2"),
            json!({"value": "m2"}),
            json!([{"$ref": null, "value": "m2"}]),
        ] {
            assert_eq!(
                run(PatchOp::Replace, "manager", cur.clone(), v).unwrap(),
                Some(json!({"value": "m2"}))
            );
        }
        let got = run(PatchOp::Replace, "manager.value", cur, json!("m3")).unwrap();
        assert_eq!(got, Some(json!({"value": "m3"})));
    }

    #[test]
    fn manager_clears_with_empty_string_null_or_empty_value() {
        let cur = Some(json!({"value": "m1"}));
        for v in [
            json!(""),
            Value::Null,
            json!({"value": ""}),
            json!({"value": null}),
            json!({}),
        ] {
            assert_eq!(
                run(PatchOp::Replace, "manager", cur.clone(), v.clone()).unwrap(),
                None,
                "{v}"
            );
        }
    }

    #[test]
    fn manager_filter_removes_only_a_matching_manager() {
        let cur = Some(json!({"value": "m1"}));
        assert_eq!(
            run(
                PatchOp::Remove,
                "manager[value eq \"m1\"]",
                cur.clone(),
                Value::Null
            )
            .unwrap(),
            None
        );
        assert_eq!(
            run(
                PatchOp::Remove,
                "manager[value eq \"m9\"]",
                cur.clone(),
                Value::Null
            )
            .unwrap(),
            cur
        );
    }

    #[test]
    fn a_filter_on_a_single_complex_value_creates_or_rejects() {
        let got = run(
            PatchOp::Add,
            "manager[value eq \"m1\"].$ref",
            None,
            json!("../Users/m1"),
        )
        .unwrap();
        assert_eq!(got, Some(json!({"value": "m1", "$ref": "../Users/m1"})));
        let e = run(
            PatchOp::Replace,
            "manager[value eq \"m2\"].$ref",
            Some(json!({"value": "m1"})),
            json!("x"),
        )
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::NoTarget));
    }

    #[test]
    fn a_string_for_a_complex_attribute_without_value_is_invalid_value() {
        let e = run(PatchOp::Replace, "name", None, json!("Barbara")).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    }

    #[test]
    fn an_empty_manager_value_clears_the_manager() {
        let got = run(
            PatchOp::Replace,
            "manager.value",
            Some(json!({"value": "m1"})),
            json!(""),
        )
        .unwrap();
        assert_eq!(got, None);
    }
}
