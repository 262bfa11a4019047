//! Work on one value of a complex attribute: value filters in paths (resolution, matching, and
//! turning `type eq "work"` into a new element), sub-attribute merges with mutability checks,
//! and the equality notions `add` and `remove` use.

use crate::filter::{CompValue, CompareOp, Filter};
use crate::path::AttrPath;
use crate::schema::{AttrType, Attribute, Mutability};
use crate::value::coerce;
use crate::{Result, ScimError};
use serde_json::{Map, Value};

/// Resolves a path's value filter against its attribute: every attribute path in it must be a
/// sub-attribute of `parent` (written plainly, `type`, not `emails.type`), names become
/// canonical, and `"True"`/`"False"` strings compared with a boolean sub-attribute become
/// booleans (`roles[primary eq "True"]`, ENTRA §6.3).
pub(super) fn resolve_filter(filter: &Filter, parent: &Attribute) -> Result<Filter> {
    let sub_path = |p: &AttrPath| -> Result<(&Attribute, AttrPath)> {
        let sub = match (&p.urn, &p.sub) {
            (None, None) => parent.sub(&p.name),
            _ => None,
        }
        .ok_or_else(|| {
            ScimError::invalid_filter(format!(
                "'{p}' is not a sub-attribute of '{}' in its value filter",
                parent.name
            ))
        })?;
        Ok((sub, AttrPath::new(sub.name.clone())))
    };
    Ok(match filter {
        Filter::Compare(p, op, v) => {
            let (sub, path) = sub_path(p)?;
            let value = match v {
                CompValue::Str(s)
                    if sub.ty == AttrType::Boolean && s.eq_ignore_ascii_case("true") =>
                {
                    CompValue::Bool(true)
                }
                CompValue::Str(s)
                    if sub.ty == AttrType::Boolean && s.eq_ignore_ascii_case("false") =>
                {
                    CompValue::Bool(false)
                }
                other => other.clone(),
            };
            Filter::Compare(path, *op, value)
        }
        Filter::Present(p) => Filter::Present(sub_path(p)?.1),
        Filter::And(a, b) => Filter::And(
            Box::new(resolve_filter(a, parent)?),
            Box::new(resolve_filter(b, parent)?),
        ),
        Filter::Or(a, b) => Filter::Or(
            Box::new(resolve_filter(a, parent)?),
            Box::new(resolve_filter(b, parent)?),
        ),
        Filter::Not(a) => Filter::Not(Box::new(resolve_filter(a, parent)?)),
        Filter::ValuePath(..) => {
            return Err(ScimError::invalid_filter(
                "value filters cannot be nested inside a PATCH path filter",
            ));
        }
    })
}

/// Whether one element of `parent` matches a resolved value filter.
pub(super) fn matches(filter: &Filter, parent: &Attribute, element: &Value) -> bool {
    crate::filter::matches_element(filter, parent, element)
}

/// The element a filter describes, when it is a conjunction of `eq` comparisons with non-null
/// values (`type eq "work" and primary eq true` → `{"type": "work", "primary": true}`).
pub(super) fn element_from_filter(filter: &Filter) -> Option<Map<String, Value>> {
    fn collect(f: &Filter, out: &mut Map<String, Value>) -> bool {
        match f {
            Filter::And(a, b) => collect(a, out) && collect(b, out),
            Filter::Compare(p, CompareOp::Eq, v) => {
                let value = match v {
                    CompValue::Str(s) => Value::String(s.clone()),
                    CompValue::Num(n) => Value::Number(n.clone()),
                    CompValue::Bool(b) => Value::Bool(*b),
                    CompValue::Null => return false,
                };
                // `type eq "a" and type eq "b"` describes no element.
                match out.get(&p.name) {
                    Some(existing) => *existing == value,
                    None => {
                        out.insert(p.name.clone(), value);
                        true
                    }
                }
            }
            _ => false,
        }
    }
    let mut out = Map::new();
    collect(filter, &mut out).then_some(out)
}

/// Sets (`Some`) or clears (`None`) one sub-attribute of an element, enforcing its mutability.
pub(super) fn set_sub(
    element: &mut Map<String, Value>,
    sub: &Attribute,
    new: Option<Value>,
    path: &str,
) -> Result<()> {
    check_immutable(sub, path, element.get(&sub.name), new.as_ref())?;
    match new {
        Some(v) => {
            element.insert(sub.name.clone(), v);
        }
        None => {
            element.shift_remove(&sub.name);
        }
    }
    Ok(())
}

/// Merges a coerced object into an element sub-attribute by sub-attribute; sub-attributes the
/// client sent as `null` (listed in `raw`) are cleared.
pub(super) fn merge(
    parent: &Attribute,
    element: &mut Map<String, Value>,
    raw: &Value,
    coerced: Map<String, Value>,
    path: &str,
) -> Result<()> {
    for (name, v) in coerced {
        // `coerce` keeps only defined sub-attributes, under their canonical names.
        let Some(sub) = parent.sub(&name) else {
            continue;
        };
        set_sub(element, sub, Some(v), &format!("{path}.{name}"))?;
    }
    if let Value::Object(raw) = raw {
        for (key, v) in raw {
            let Some(sub) = parent.sub(key).filter(|s| !s.is_read_only()) else {
                continue;
            };
            if v.is_null() || (sub.name == "value" && v.as_str() == Some("")) {
                set_sub(element, sub, None, &format!("{path}.{}", sub.name))?;
            }
        }
    }
    Ok(())
}

/// Coerces a value for one sub-attribute. An empty `value` sub-attribute is absent, as
/// [`crate::value::coerce`] treats `{"value": ""}`, so writing `emails[…].value` with `""`
/// and sending the element with `"value": ""` store the same thing.
pub(super) fn coerce_sub(sub: &Attribute, value: Value, path: &str) -> Result<Option<Value>> {
    Ok(coerce(sub, value, path)?.filter(|v| !(sub.name == "value" && v.as_str() == Some(""))))
}

/// `400 mutability` when an immutable attribute that has a value would change.
pub(super) fn check_immutable(
    attr: &Attribute,
    path: &str,
    current: Option<&Value>,
    new: Option<&Value>,
) -> Result<()> {
    if attr.mutability == Mutability::Immutable && current.is_some() && current != new {
        return Err(ScimError::mutability(format!(
            "attribute '{path}' is immutable and already has a value"
        )));
    }
    Ok(())
}

/// Whether `element` carries everything `pattern` lists (strings compared per `caseExact`):
/// `remove` with a value removes the elements its values describe.
pub(super) fn pattern_matches(parent: &Attribute, pattern: &Value, element: &Value) -> bool {
    match (pattern, element) {
        (Value::Object(p), Value::Object(e)) => p.iter().all(|(name, pv)| {
            let case_exact = parent.sub(name).is_some_and(|s| s.case_exact);
            e.get(name)
                .is_some_and(|ev| same_scalar(case_exact, pv, ev))
        }),
        _ => same_scalar(parent.case_exact, pattern, element),
    }
}

fn same_scalar(case_exact: bool, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) if !case_exact => {
            crate::text::fold(a) == crate::text::fold(b)
        }
        _ => a == b,
    }
}

/// An element with no data: nothing but `type`/`primary` (what is left of a work email whose
/// address was removed).
pub(super) fn is_empty_element(element: &Value) -> bool {
    match element {
        Value::Object(o) => o.keys().all(|k| k == "type" || k == "primary"),
        Value::Null => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScimType;
    use crate::path::PatchPath;
    use crate::schema::{Registry, ResourceKind};
    use serde_json::json;

    fn attr(name: &str) -> Attribute {
        let reg = Registry::new();
        reg.resolve(ResourceKind::User, &AttrPath::new(name))
            .unwrap()
            .attr
            .clone()
    }

    fn filter(p: &str) -> Filter {
        PatchPath::parse(p).unwrap().filter.unwrap()
    }

    #[test]
    fn filter_names_become_canonical_and_boolean_strings_booleans() {
        let roles = attr("roles");
        let got = resolve_filter(
            &filter("roles[PRIMARY eq \"True\" and Type eq \"x\"]"),
            &roles,
        )
        .unwrap();
        assert_eq!(
            element_from_filter(&got),
            Some(
                json!({"primary": true, "type": "x"})
                    .as_object()
                    .unwrap()
                    .clone()
            )
        );
    }

    #[test]
    fn filter_on_an_unknown_qualified_or_nested_path_is_invalid_filter() {
        let eq = |p: AttrPath| Filter::Compare(p, CompareOp::Eq, CompValue::Str("x".into()));
        for f in [
            eq(AttrPath::new("colour")),
            eq(AttrPath::new("value").with_sub("x")),
            eq(AttrPath {
                urn: Some("urn:x".into()),
                name: "type".into(),
                sub: None,
            }),
            Filter::ValuePath(AttrPath::new("type"), Box::new(eq(AttrPath::new("value")))),
            Filter::Not(Box::new(Filter::Present(AttrPath::new("colour")))),
        ] {
            let e = resolve_filter(&f, &attr("emails")).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter), "{f:?}");
        }
    }

    #[test]
    fn only_conjunctions_of_non_null_eq_describe_an_element() {
        let emails = attr("emails");
        let r = |p: &str| resolve_filter(&filter(p), &emails).unwrap();
        assert!(element_from_filter(&r("emails[type eq \"work\" and value eq \"a\"]")).is_some());
        for p in [
            "emails[type eq \"work\" or type eq \"home\"]",
            "emails[type ne \"work\"]",
            "emails[value co \"a\"]",
            "emails[value pr]",
            "emails[not (type eq \"work\")]",
            "emails[type eq null]",
            "emails[type eq \"work\" and type eq \"home\"]",
        ] {
            assert_eq!(element_from_filter(&r(p)), None, "{p}");
        }
    }

    #[test]
    fn patterns_match_case_insensitively_unless_case_exact() {
        let emails = attr("emails");
        let el = json!({"value": "A@x.com", "type": "work"});
        assert!(pattern_matches(&emails, &json!({"value": "a@X.com"}), &el));
        assert!(!pattern_matches(
            &emails,
            &json!({"value": "a@X.com", "type": "home"}),
            &el
        ));
        let ext = attr("externalId");
        assert!(!pattern_matches(&ext, &json!("ABC"), &json!("abc")));
    }

    #[test]
    fn changing_an_immutable_value_is_mutability_but_setting_it_once_is_fine() {
        let sub = Attribute::string("v", "").mutability(Mutability::Immutable);
        let mut el = Map::new();
        set_sub(&mut el, &sub, Some(json!("a")), "x.v").unwrap();
        set_sub(&mut el, &sub, Some(json!("a")), "x.v").unwrap();
        let e = set_sub(&mut el, &sub, Some(json!("b")), "x.v").unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::Mutability));
        assert!(set_sub(&mut el, &sub, None, "x.v").is_err());
    }

    #[test]
    fn elements_with_only_type_and_primary_are_empty() {
        assert!(is_empty_element(&json!({"type": "work", "primary": true})));
        assert!(!is_empty_element(&json!({"type": "work", "value": "x"})));
    }
}
