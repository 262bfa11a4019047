//! In-memory evaluation of filters against resources in the canonical stored shape.
//!
//! These are THE semantics of a SCIM filter in this service; the store's SQL translation must
//! give the same answers. [`Filter::resolve`] first normalises a filter (canonical paths, no
//! `null`, no `ne`, typed values); evaluation gives the same result on a filter and on its
//! resolved form. On filters that do not resolve, a comparison on an unknown attribute is
//! false whatever the operator, and a filter value of the wrong type equals nothing.
//!
//! - **Values at a path.** A core attribute is `resource[name]`, an extension attribute
//!   `resource[urn][name]` (canonical names and URN; lookups are exact). A multi-valued
//!   attribute yields one candidate per array element; `attr.sub` yields `element[sub]` of each
//!   element (or `attr[sub]` of a single complex value). A comparison matches when ANY candidate
//!   matches. Absent keys give no candidate. `id`, `meta` and `schemas` are not in the stored
//!   body, so in memory they match only when the caller puts them in (a rendered resource
//!   works); the store answers them from its own columns with the same rules (`id` caseExact,
//!   `meta.created`/`meta.lastModified` as dateTimes).
//! - **Strings** (string, reference, binary): `caseExact` attributes compare as stored; others
//!   compare after `text::fold` (compatibility caseless) of both sides. `co`/`sw`/`ew` are substring, prefix
//!   and suffix tests on those forms (so `co ""` matches any string value); `gt`/`ge`/`lt`/`le`
//!   compare the (folded) strings by Unicode code point.
//! - **dateTime**: both sides parsed as RFC 3339 and compared as instants (`…T01:00:00+01:00`
//!   equals `…T00:00:00Z`); a stored value that does not parse matches nothing.
//! - **Numbers** (integer, decimal): numeric comparison, exact when both are 64-bit integers,
//!   otherwise as `f64`.
//! - **Booleans**: `eq` only; the strings `"true"`/`"false"` (any case) in a filter are booleans.
//! - **`pr`**: some candidate is not `null`, `""`, `[]` or `{}` (shallow: `{"a": ""}` is present).
//! - **`ne`** is exactly `not (eq)`: an attribute that is absent, or whose every value differs,
//!   matches `ne`; for multi-valued attributes `emails.value ne "x"` means no value equals "x".
//!   `eq null` is `not pr`, `ne null` is `pr`; other operators with `null` match nothing.
//! - **Type mismatch** between a stored value and the filter value (a number stored where a
//!   string is expected, …): that candidate does not match `eq` (so `ne` matches).
//! - A comparison on a complex attribute without sub-attribute compares its `value`
//!   sub-attribute (`emails co "x"` is `emails.value co "x"`); without one it matches nothing.
//! - **Value filters** `attr[f]`: some element of `attr` satisfies `f`, where `f`'s paths are
//!   sub-attributes of that same element (`emails[type eq "work" and value co "@x"]` needs one
//!   element with both, unlike `emails.type eq "work" and emails.value co "@x"`). A value
//!   filter on an attribute that is not multi-valued complex matches nothing (resolve rejects
//!   it; PATCH's `manager[value eq "…"]` goes through [`matches_element`] instead).
//! - `and`, `or`, `not` are two-valued boolean logic (no SQL `NULL`/unknown: the SQL must map an
//!   absent attribute to false before negating).

use super::resolve::check_value;
use super::{CompValue, CompareOp, Filter};
use crate::path::AttrPath;
use crate::schema::{AttrType, Attribute, Registry, ResourceKind};
use serde_json::Value;
use std::cmp::Ordering;

impl Filter {
    /// Whether `resource` (canonical stored shape, see the module documentation) satisfies
    /// this filter. Meant for resolved filters ([`Filter::resolve`]); parts naming unknown
    /// attributes match nothing.
    pub fn matches(&self, registry: &Registry, kind: ResourceKind, resource: &Value) -> bool {
        match self {
            Filter::And(a, b) => {
                a.matches(registry, kind, resource) && b.matches(registry, kind, resource)
            }
            Filter::Or(a, b) => {
                a.matches(registry, kind, resource) || b.matches(registry, kind, resource)
            }
            Filter::Not(a) => !a.matches(registry, kind, resource),
            Filter::Present(path) => registry.resolve(kind, path).is_some_and(|r| {
                let mut found = Vec::new();
                candidates(top_value(&r, resource), r.sub, &mut found);
                found.into_iter().any(crate::validate::has_value)
            }),
            Filter::Compare(path, op, value) => {
                let Some(r) = registry.resolve(kind, path) else {
                    return false;
                };
                if *value == CompValue::Null {
                    return null_comparison(*op, top_value(&r, resource), r.sub);
                }
                let Some(target) = comparison_target(r.attr, r.sub) else {
                    return false;
                };
                let mut found = Vec::new();
                candidates(
                    top_value(&r, resource),
                    Some(target).filter(|_| r.attr.ty == AttrType::Complex),
                    &mut found,
                );
                compare(target, &found, *op, value)
            }
            Filter::ValuePath(path, inner) => registry.resolve(kind, path).is_some_and(|r| {
                r.sub.is_none()
                    && r.attr.multi_valued
                    && r.attr.ty == AttrType::Complex
                    && elements(top_value(&r, resource)).any(|e| matches_element(inner, r.attr, e))
            }),
        }
    }
}

/// Whether one element of the multi-valued complex attribute `parent` satisfies `filter`,
/// whose paths are sub-attribute names of `parent` (the inside of `emails[type eq "work"]`).
/// Sub-attribute names match case-insensitively, so the PATCH engine can pass filters straight
/// from [`crate::path::PatchPath::parse`]; semantics are those of the module documentation.
pub fn matches_element(filter: &Filter, parent: &Attribute, element: &Value) -> bool {
    let sub_of = |path: &AttrPath| {
        if path.urn.is_some() || path.sub.is_some() {
            return None;
        }
        parent.sub(&path.name)
    };
    match filter {
        Filter::And(a, b) => {
            matches_element(a, parent, element) && matches_element(b, parent, element)
        }
        Filter::Or(a, b) => {
            matches_element(a, parent, element) || matches_element(b, parent, element)
        }
        Filter::Not(a) => !matches_element(a, parent, element),
        Filter::Present(path) => sub_of(path).is_some_and(|sub| {
            let mut found = Vec::new();
            candidates(element.get(&sub.name), None, &mut found);
            found.into_iter().any(crate::validate::has_value)
        }),
        Filter::Compare(path, op, value) => {
            let Some(sub) = sub_of(path) else {
                return false;
            };
            if *value == CompValue::Null {
                return null_comparison(*op, element.get(&sub.name), None);
            }
            let mut found = Vec::new();
            candidates(element.get(&sub.name), None, &mut found);
            compare(sub, &found, *op, value)
        }
        Filter::ValuePath(..) => false,
    }
}

/// The attribute's value in the resource, if any.
fn top_value<'v>(r: &crate::schema::Resolved<'_>, resource: &'v Value) -> Option<&'v Value> {
    let holder = if r.in_extension {
        resource.get(r.schema)?
    } else {
        resource
    };
    holder.get(&r.attr.name)
}

/// The simple attribute a comparison on `attr`(`.sub`) compares: the sub-attribute, the
/// attribute itself, or the `value` sub-attribute of a complex attribute named alone.
fn comparison_target<'a>(attr: &'a Attribute, sub: Option<&'a Attribute>) -> Option<&'a Attribute> {
    match sub {
        Some(sub) => Some(sub),
        None if attr.ty == AttrType::Complex => attr.sub("value"),
        None => Some(attr),
    }
}

/// The elements of a (possibly multi-valued) value.
fn elements(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    let (many, one) = match value {
        Some(Value::Array(items)) => (items.as_slice(), None),
        other => (&[][..], other),
    };
    many.iter().chain(one)
}

/// Pushes the candidate values of `value` (or of its `sub` in each element) onto `out`.
fn candidates<'v>(value: Option<&'v Value>, sub: Option<&Attribute>, out: &mut Vec<&'v Value>) {
    for element in elements(value) {
        match sub {
            None => out.push(element),
            Some(sub) => out.extend(elements(element.get(&sub.name))),
        }
    }
}

fn null_comparison(op: CompareOp, value: Option<&Value>, sub: Option<&Attribute>) -> bool {
    let mut found = Vec::new();
    candidates(value, sub, &mut found);
    let present = found.into_iter().any(crate::validate::has_value);
    match op {
        CompareOp::Eq => !present,
        CompareOp::Ne => present,
        _ => false,
    }
}

/// Whether any candidate compares true; `ne` is the negation of `eq`.
fn compare(target: &Attribute, found: &[&Value], op: CompareOp, value: &CompValue) -> bool {
    let (op, negate) = if op == CompareOp::Ne {
        (CompareOp::Eq, true)
    } else {
        (op, false)
    };
    let Ok(value) = check_value(target, op, value) else {
        return negate;
    };
    found.iter().any(|c| compare_one(target, c, op, &value)) != negate
}

fn compare_one(target: &Attribute, stored: &Value, op: CompareOp, value: &CompValue) -> bool {
    match (target.ty, stored, value) {
        (AttrType::Boolean, Value::Bool(a), CompValue::Bool(b)) => op == CompareOp::Eq && a == b,
        (
            AttrType::String | AttrType::Reference | AttrType::Binary,
            Value::String(a),
            CompValue::Str(b),
        ) => {
            if target.case_exact {
                compare_str(a, b, op)
            } else {
                compare_str(&crate::text::fold(a), &crate::text::fold(b), op)
            }
        }
        (AttrType::DateTime, Value::String(a), CompValue::Str(b)) => {
            match (
                chrono::DateTime::parse_from_rfc3339(a),
                chrono::DateTime::parse_from_rfc3339(b),
            ) {
                (Ok(a), Ok(b)) => ordering_holds(op, a.cmp(&b)),
                _ => false,
            }
        }
        (AttrType::Integer | AttrType::Decimal, Value::Number(a), CompValue::Num(b)) => {
            let ord = match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
                (Some(a), Some(b), _, _) => Some(a.cmp(&b)),
                (_, _, Some(a), Some(b)) => Some(a.cmp(&b)),
                _ => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(a, b)| a.partial_cmp(&b)),
            };
            ord.is_some_and(|ord| ordering_holds(op, ord))
        }
        _ => false,
    }
}

fn compare_str(a: &str, b: &str, op: CompareOp) -> bool {
    match op {
        CompareOp::Co => a.contains(b),
        CompareOp::Sw => a.starts_with(b),
        CompareOp::Ew => a.ends_with(b),
        _ => ordering_holds(op, a.cmp(b)),
    }
}

/// Whether an ordering-or-equality operator holds for `stored.cmp(filter value)`.
fn ordering_holds(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Ne | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
