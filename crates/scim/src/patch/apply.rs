//! The engine: runs a [`PatchRequest`]'s operations in order on a copy of the stored body,
//! routes each to its attribute (path, path-less key, extension object, group members), and
//! checks the result. See the module docs of [`crate::patch`] for the semantics.

use super::op::{PatchOp, PatchOperation, PatchRequest};
use super::target::{self, Origin, Resolution, Target};
use super::{group, multi, single};
use crate::members::MembersDelta;
use crate::path::AttrPath;
use crate::schema::{Mutability, Registry, ResourceKind, Schema};
use crate::value::coerce;
use crate::{Result, ScimError};
use serde_json::{Map, Value};

/// The result of applying a PATCH.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    /// The new stored body (canonical shape; never contains `members`).
    pub resource: Value,
    /// Membership changes (Group only; empty otherwise).
    pub members: MembersDelta,
    /// Whether anything changed: the body differs from the input or the delta is non-empty.
    /// A non-empty delta may still be a no-op for the store (re-adding a member).
    pub changed: bool,
}

/// Applies `req` to the stored body `resource` of a `kind` resource. Atomic: on error nothing is
/// applied (the input is never modified; the caller keeps it).
pub fn apply(
    registry: &Registry,
    kind: ResourceKind,
    resource: &Value,
    req: &PatchRequest,
) -> Result<PatchOutcome> {
    let Value::Object(before) = resource else {
        return Err(ScimError::status_only(
            500,
            "the stored resource body is not a JSON object",
        ));
    };
    let mut engine = Engine {
        registry,
        kind,
        body: before.clone(),
        members: MembersDelta::default(),
    };
    for (i, op) in req.operations.iter().enumerate() {
        engine.operation(op).map_err(|e| at_operation(i, e))?;
    }
    kept_required(registry, kind, before, &engine.body)?;
    let after = Value::Object(engine.body);
    // The check create/replace use, so a PATCH cannot produce what a create would reject.
    crate::validate::check_required(registry, kind, &after)?;
    let changed = after != *resource || !engine.members.is_empty();
    Ok(PatchOutcome {
        resource: after,
        members: engine.members,
        changed,
    })
}

struct Engine<'r> {
    registry: &'r Registry,
    kind: ResourceKind,
    body: Map<String, Value>,
    members: MembersDelta,
}

impl<'r> Engine<'r> {
    fn operation(&mut self, op: &PatchOperation) -> Result<()> {
        let value = op.value.clone().unwrap_or(Value::Null);
        match &op.path {
            None => match value {
                Value::Object(obj) => self.keys(op.op, None, obj),
                _ => Err(ScimError::invalid_syntax(
                    "an operation without a path needs an object of attributes as its value",
                )),
            },
            Some(path) => match target::resolve(
                self.registry,
                self.kind,
                &path.attr,
                path.filter.as_ref(),
                Origin::Path,
            )? {
                Resolution::Extension(ext) => self.extension(op.op, ext, value),
                Resolution::Attr(t) => self.write(op.op, &t, value, Origin::Path),
            },
        }
    }

    /// A path-less value object: one operation per key. `scope` is the URN of the object the
    /// keys are in (an extension or core object), `None` at the top level.
    fn keys(&mut self, op: PatchOp, scope: Option<&str>, obj: Map<String, Value>) -> Result<()> {
        for (key, value) in obj {
            // A `schemas` list names schemas, it is not an attribute: ignored at the top level
            // and inside an extension object (scim2-tester sends the extension's own URN there).
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            if scope.is_none() {
                if let Some(ext) = self.registry.extension(self.kind, &key) {
                    self.extension(op, ext, value)?;
                    continue;
                }
                let core = self.registry.core_schema(self.kind);
                if key.eq_ignore_ascii_case(&core.id) {
                    match value {
                        Value::Object(inner) => self.keys(op, Some(&core.id), inner)?,
                        Value::Null => {}
                        _ => {
                            return Err(ScimError::invalid_value(format!(
                                "'{}' must be an object of attributes",
                                core.id
                            )));
                        }
                    }
                    continue;
                }
            }
            let mut path = AttrPath::parse(&key).map_err(|_| {
                ScimError::invalid_value(format!("'{key}' is not a valid attribute name"))
            })?;
            if path.urn.is_none() {
                path.urn = scope.map(str::to_owned);
            }
            match target::resolve(self.registry, self.kind, &path, None, Origin::Value)? {
                Resolution::Extension(ext) => self.extension(op, ext, value)?,
                Resolution::Attr(t) => self.write(op, &t, value, Origin::Value)?,
            }
        }
        Ok(())
    }

    /// An extension object as a whole: an object value applies its keys; `null` or `remove`
    /// clears every attribute of the extension.
    fn extension(&mut self, op: PatchOp, ext: &'r Schema, value: Value) -> Result<()> {
        match value {
            Value::Object(obj) if op != PatchOp::Remove => self.keys(op, Some(&ext.id), obj),
            _ if op == PatchOp::Remove || value.is_null() => {
                let present: Vec<String> = match self.body.get(&ext.id) {
                    Some(Value::Object(obj)) => obj.keys().cloned().collect(),
                    _ => Vec::new(),
                };
                for name in present {
                    let path = AttrPath {
                        urn: Some(ext.id.clone()),
                        name,
                        sub: None,
                    };
                    match target::resolve(self.registry, self.kind, &path, None, Origin::Path) {
                        // As in a path-less value, read-only attributes are left alone.
                        Ok(Resolution::Attr(t)) => {
                            self.write(PatchOp::Remove, &t, Value::Null, Origin::Value)?
                        }
                        // Not defined (any more): nothing can keep it.
                        _ => self.put_raw(&ext.id, &path.name, None),
                    }
                }
                Ok(())
            }
            _ => Err(ScimError::invalid_value(format!(
                "'{}' must be an object of that extension's attributes",
                ext.id
            ))),
        }
    }

    fn write(&mut self, op: PatchOp, t: &Target<'r>, value: Value, origin: Origin) -> Result<()> {
        // The renderer derives `schemas` from the body; there is nothing to write.
        if !t.in_extension && t.attr.name == "schemas" {
            return Ok(());
        }
        if t.attr.is_read_only() || t.sub.is_some_and(|s| s.is_read_only()) {
            return match origin {
                Origin::Value => Ok(()),
                Origin::Path => Err(ScimError::mutability(format!(
                    "attribute '{}' is read-only",
                    t.path
                ))),
            };
        }
        if self.kind == ResourceKind::Group && !t.in_extension && t.attr.name == "members" {
            return group::apply(&mut self.members, op, t, value);
        }
        if t.attr.mutability == Mutability::WriteOnly {
            // `password`: checked like any value, never stored (users sign in through the IdP).
            if op != PatchOp::Remove {
                coerce(t.sub.unwrap_or(t.attr), value, &t.attr_path())?;
            }
            return Ok(());
        }
        let current = self.current(t);
        let new = if t.attr.multi_valued {
            multi::apply(op, t, current, value)?
        } else {
            single::apply(op, t, current, value)?
        };
        if t.in_extension {
            self.put_raw(t.schema, &t.attr.name, new);
        } else {
            put(&mut self.body, &t.attr.name, new);
        }
        Ok(())
    }

    fn current(&self, t: &Target<'_>) -> Option<&Value> {
        let container = if t.in_extension {
            self.body.get(t.schema)?.as_object()?
        } else {
            &self.body
        };
        container.get(&t.attr.name).filter(|v| !v.is_null())
    }

    /// Writes `body[urn][name]`, creating the extension object on demand and dropping it when
    /// it becomes empty.
    fn put_raw(&mut self, urn: &str, name: &str, new: Option<Value>) {
        if new.is_none() && !self.body.contains_key(urn) {
            return;
        }
        let ext = self
            .body
            .entry(urn.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !ext.is_object() {
            *ext = Value::Object(Map::new());
        }
        if let Value::Object(obj) = ext {
            put(obj, name, new);
            if obj.is_empty() {
                self.body.shift_remove(urn);
            }
        }
    }
}

fn put(obj: &mut Map<String, Value>, name: &str, new: Option<Value>) {
    match new {
        Some(v) => {
            obj.insert(name.to_owned(), v);
        }
        None => {
            obj.shift_remove(name);
        }
    }
}

/// RFC 7644 §3.5.2.2: removing a required attribute (or leaving it unassigned) is `mutability`.
fn kept_required(
    registry: &Registry,
    kind: ResourceKind,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Result<()> {
    let present = |body: &Map<String, Value>, urn: Option<&str>, name: &str| {
        let container = match urn {
            Some(urn) => body.get(urn).and_then(Value::as_object),
            None => Some(body),
        };
        // `""` counts as unassigned, as in the required check create uses.
        container
            .and_then(|c| c.get(name))
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
    };
    let core = registry
        .core_schema(kind)
        .attributes
        .iter()
        .map(|a| (None, a));
    let exts = registry
        .extensions(kind)
        .flat_map(|s| s.attributes.iter().map(move |a| (Some(s.id.as_str()), a)));
    for (urn, attr) in core.chain(exts).filter(|(_, a)| a.required) {
        if present(before, urn, &attr.name) && !present(after, urn, &attr.name) {
            return Err(ScimError::mutability(format!(
                "attribute '{}' is required and cannot be removed",
                attr.name
            )));
        }
    }
    Ok(())
}

/// Prefixes an operation's error with its position; the status and `scimType` are kept.
fn at_operation(i: usize, e: ScimError) -> ScimError {
    let detail = format!("Operations[{i}]: {}", e.detail());
    match e.scim_type() {
        Some(t) => ScimError::new(t, detail),
        None => ScimError::status_only(e.status(), detail),
    }
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
