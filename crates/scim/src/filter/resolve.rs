//! Checking a parsed filter against the schemas of a resource type and rewriting it into the
//! canonical form the store translates to SQL and [`Filter::matches`] evaluates.
//!
//! [`Filter::resolve`] guarantees, for the filter it returns:
//!
//! - every attribute path names an attribute of the resource type, written canonically:
//!   canonical case, core attributes without a URN prefix, extension attributes with their
//!   canonical extension URN; paths inside a value filter are bare sub-attribute names;
//! - no comparison is on a complex attribute: `emails co "x"` (and Entra's `manager eq "id"`)
//!   become `emails.value co "x"` / `manager.value eq "id"` for complex attributes that have a
//!   `value` sub-attribute, every other complex comparison is rejected (`pr` stays allowed);
//! - there is no `null` and no `ne`: `x eq null` becomes `not (x pr)`, `x ne null` becomes
//!   `x pr`, and `x ne v` becomes `not (x eq v)`, so the store implements one meaning of each
//!   (an absent attribute matches `ne`, see [`super::eval`]);
//! - values have the attribute's type: `"True"`/`"false"` strings become booleans for boolean
//!   attributes (Entra's `roles[primary eq "True"]`), integer numbers become strings for string
//!   attributes (unquoted `employeeNumber eq 12345`), dateTime values parse as RFC 3339;
//! - operators suit the type: `co`/`sw`/`ew` only on string and reference attributes,
//!   `gt`/`ge`/`lt`/`le` not on boolean or binary ones, booleans and binaries only `eq`;
//! - value filters `attr[…]` only on multi-valued complex attributes;
//! - attributes that are never returned (`password`) are not filterable, so a filter cannot be
//!   used as an oracle for them.
//!
//! Errors are `400 invalidFilter` naming the attribute and the reason, never the value.

use super::{CompValue, CompareOp, Filter};
use crate::path::AttrPath;
use crate::schema::{AttrType, Attribute, Registry, Resolved, ResourceKind, Returned};
use crate::{Result, ScimError};

impl Filter {
    /// Checks every path and comparison against the schemas of `kind` and returns the
    /// canonical filter described in the module documentation.
    pub fn resolve(&self, registry: &Registry, kind: ResourceKind) -> Result<Filter> {
        Ok(match self {
            Filter::And(a, b) => Filter::And(
                Box::new(a.resolve(registry, kind)?),
                Box::new(b.resolve(registry, kind)?),
            ),
            Filter::Or(a, b) => Filter::Or(
                Box::new(a.resolve(registry, kind)?),
                Box::new(b.resolve(registry, kind)?),
            ),
            Filter::Not(a) => Filter::Not(Box::new(a.resolve(registry, kind)?)),
            Filter::Present(path) => {
                Filter::Present(lookup(registry, kind, path)?.canonical_path())
            }
            Filter::Compare(path, op, value) => {
                let r = lookup(registry, kind, path)?;
                if let Some(f) = null_comparison(r.canonical_path(), *op, value)? {
                    return Ok(f);
                }
                let canonical = r.canonical_path();
                let (path, target) = match (r.sub, r.attr.ty) {
                    (Some(sub), _) => (canonical, sub),
                    (None, AttrType::Complex) => match r.attr.sub("value") {
                        Some(value) => (canonical.with_sub(value.name.clone()), value),
                        None => return Err(complex_error(&canonical)),
                    },
                    (None, _) => (canonical, r.attr),
                };
                comparison(path, target, *op, value)?
            }
            Filter::ValuePath(path, inner) => {
                let r = lookup(registry, kind, path)?;
                let canonical = r.canonical_path();
                if r.sub.is_some() || r.attr.ty != AttrType::Complex || !r.attr.multi_valued {
                    return Err(ScimError::invalid_filter(format!(
                        "invalid filter: '{canonical}' is not a multi-valued complex attribute, so it cannot \
                         have a value filter"
                    )));
                }
                let inner = resolve_within(inner, r.attr, &canonical)?;
                Filter::ValuePath(canonical, Box::new(inner))
            }
        })
    }
}

/// Resolves a filter inside `parent[…]`, whose paths are sub-attribute names of `parent`.
fn resolve_within(f: &Filter, parent: &Attribute, parent_path: &AttrPath) -> Result<Filter> {
    let sub_of = |path: &AttrPath| -> Result<&Attribute> {
        let sub = (path.urn.is_none() && path.sub.is_none())
            .then(|| parent.sub(&path.name))
            .flatten();
        let sub = sub.ok_or_else(|| {
            ScimError::invalid_filter(format!(
                "invalid filter: '{path}' is not a sub-attribute of '{parent_path}'"
            ))
        })?;
        check_filterable(sub, &parent_path.clone().with_sub(sub.name.clone()))?;
        Ok(sub)
    };
    Ok(match f {
        Filter::And(a, b) => Filter::And(
            Box::new(resolve_within(a, parent, parent_path)?),
            Box::new(resolve_within(b, parent, parent_path)?),
        ),
        Filter::Or(a, b) => Filter::Or(
            Box::new(resolve_within(a, parent, parent_path)?),
            Box::new(resolve_within(b, parent, parent_path)?),
        ),
        Filter::Not(a) => Filter::Not(Box::new(resolve_within(a, parent, parent_path)?)),
        Filter::Present(path) => Filter::Present(AttrPath::new(sub_of(path)?.name.clone())),
        Filter::Compare(path, op, value) => {
            let sub = sub_of(path)?;
            let canonical = AttrPath::new(sub.name.clone());
            if let Some(f) = null_comparison(canonical.clone(), *op, value)? {
                return Ok(f);
            }
            if sub.ty == AttrType::Complex {
                return Err(complex_error(
                    &parent_path.clone().with_sub(sub.name.clone()),
                ));
            }
            comparison(canonical, sub, *op, value)?
        }
        Filter::ValuePath(..) => {
            return Err(ScimError::invalid_filter(
                "invalid filter: value filters cannot be nested",
            ));
        }
    })
}

fn lookup<'r>(registry: &'r Registry, kind: ResourceKind, path: &AttrPath) -> Result<Resolved<'r>> {
    let r = registry.resolve(kind, path).ok_or_else(|| {
        ScimError::invalid_filter(format!(
            "invalid filter: attribute '{path}' is not defined by any schema of {}",
            kind.name()
        ))
    })?;
    check_filterable(r.attr, &r.canonical_path())?;
    if let Some(sub) = r.sub {
        check_filterable(sub, &r.canonical_path())?;
    }
    Ok(r)
}

fn check_filterable(attr: &Attribute, path: &AttrPath) -> Result<()> {
    if attr.returned == Returned::Never {
        return Err(ScimError::invalid_filter(format!(
            "invalid filter: attribute '{path}' is never returned and cannot be filtered on"
        )));
    }
    Ok(())
}

fn complex_error(path: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!(
        "invalid filter: '{path}' is a complex attribute; compare one of its sub-attributes or use pr"
    ))
}

/// `x eq null` → `not (x pr)`, `x ne null` → `x pr`; other operators with `null` are errors.
fn null_comparison(path: AttrPath, op: CompareOp, value: &CompValue) -> Result<Option<Filter>> {
    if *value != CompValue::Null {
        return Ok(None);
    }
    match op {
        CompareOp::Eq => Ok(Some(Filter::Not(Box::new(Filter::Present(path))))),
        CompareOp::Ne => Ok(Some(Filter::Present(path))),
        _ => Err(ScimError::invalid_filter(format!(
            "invalid filter: '{path}' can be compared with null only by eq or ne"
        ))),
    }
}

/// A checked comparison on a simple attribute, with `ne` expressed as `not (eq)`.
fn comparison(
    path: AttrPath,
    target: &Attribute,
    op: CompareOp,
    value: &CompValue,
) -> Result<Filter> {
    let value = check_value(target, op, value).map_err(|reason| {
        ScimError::invalid_filter(format!(
            "invalid filter: cannot compare '{path}' with {}: {reason}",
            op.as_str()
        ))
    })?;
    Ok(match op {
        CompareOp::Ne => Filter::Not(Box::new(Filter::Compare(path, CompareOp::Eq, value))),
        op => Filter::Compare(path, op, value),
    })
}

/// Whether `op` and a non-null `value` suit the simple attribute `target`; returns the value
/// converted to the attribute's type. Shared with evaluation, where a failure means "no match",
/// so unresolved filters evaluate exactly like their resolved form.
pub(crate) fn check_value(
    target: &Attribute,
    op: CompareOp,
    value: &CompValue,
) -> Result<CompValue, &'static str> {
    let is_integer = |n: &serde_json::Number| n.is_i64() || n.is_u64();
    match target.ty {
        AttrType::Complex => Err("it is a complex attribute"),
        AttrType::Boolean | AttrType::Binary if !matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            Err("boolean and binary attributes support only eq and ne")
        }
        AttrType::Boolean => match value {
            CompValue::Bool(b) => Ok(CompValue::Bool(*b)),
            CompValue::Str(s) if s.eq_ignore_ascii_case("true") => Ok(CompValue::Bool(true)),
            CompValue::Str(s) if s.eq_ignore_ascii_case("false") => Ok(CompValue::Bool(false)),
            _ => Err("a boolean attribute needs true or false"),
        },
        AttrType::String | AttrType::Reference | AttrType::Binary => match value {
            CompValue::Str(s) => Ok(CompValue::Str(s.clone())),
            CompValue::Num(n) if is_integer(n) => Ok(CompValue::Str(n.to_string())),
            _ => Err("a string attribute needs a string value"),
        },
        _ if op.is_substring() => {
            Err("co, sw and ew apply only to string and reference attributes")
        }
        AttrType::DateTime => match value {
            CompValue::Str(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
                Ok(CompValue::Str(s.clone()))
            }
            _ => Err("a dateTime attribute needs an RFC 3339 dateTime string"),
        },
        AttrType::Integer => match value {
            CompValue::Num(n) if is_integer(n) => Ok(CompValue::Num(n.clone())),
            _ => Err("an integer attribute needs an integer value"),
        },
        AttrType::Decimal => match value {
            CompValue::Num(n) => Ok(CompValue::Num(n.clone())),
            _ => Err("a decimal attribute needs a number"),
        },
    }
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
