//! Parsing of the PATCH request body (RFC 7644 §3.5.2) into [`PatchRequest`], before anything
//! is applied: structure, operation names, target paths, and the size limits.
//!
//! Leniency (each form is sent by a real client, ENTRA §5.3, §13):
//! - member names match case-insensitively (`Operations`/`operations`, `op`/`Op`, `Value`);
//! - `op` matches case-insensitively (`Add`, `add`, `ADD`, `Replace`, `Remove`);
//! - `schemas` may be missing or carry anything: the endpoint already says what the body is;
//! - `"path": null` and a blank path mean "no path"; paths are trimmed;
//! - a missing `value` reads as `null`; unknown members of an operation are ignored.
//!
//! Rejected: a body that is not an object, no `Operations` array or an empty one, an operation
//! that is not an object or has no/unknown `op` (`400 invalidSyntax`); a path-less `remove`
//! (`400 noTarget`, RFC 7644 §3.5.2.2); a path-less `add`/`replace` whose value is not an
//! object (`400 invalidSyntax`); a malformed path (`400 invalidPath`/`invalidFilter`).
//!
//! Limits: more than [`PatchLimits::max_operations`] operations, or more than
//! [`PatchLimits::max_members`] member references across the request, is `413 Payload Too
//! Large` without a `scimType` — the treatment RFC 7644 §3.7.4 gives a bulk request over
//! `maxOperations`: the request is well-formed but larger than this service processes at once,
//! which `invalidValue` would misreport as a data problem the client could fix by editing values.

use crate::path::PatchPath;
use crate::{Result, ScimError};
use serde_json::{Map, Value};

/// URN of the PATCH request message schema.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Bounds on one PATCH request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchLimits {
    /// Maximum number of operations.
    pub max_operations: usize,
    /// Maximum number of member references (`members` values) across all operations.
    pub max_members: usize,
}

impl Default for PatchLimits {
    /// 1000 operations, 10 000 members: Entra sends one operation per attribute and batches
    /// membership changes far below this.
    fn default() -> Self {
        Self {
            max_operations: 1000,
            max_members: 10_000,
        }
    }
}

/// A PATCH operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchOp {
    /// `add` (RFC 7644 §3.5.2.1).
    Add,
    /// `remove` (RFC 7644 §3.5.2.2).
    Remove,
    /// `replace` (RFC 7644 §3.5.2.3).
    Replace,
}

impl PatchOp {
    /// Parses an operation name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        [PatchOp::Add, PatchOp::Remove, PatchOp::Replace]
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(s))
    }

    /// The lower-case RFC name.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOp::Add => "add",
            PatchOp::Remove => "remove",
            PatchOp::Replace => "replace",
        }
    }
}

/// One operation of a PATCH request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// What to do.
    pub op: PatchOp,
    /// The target; `None` targets the resource itself (then `value` is an object, and `op` is
    /// `add` or `replace`).
    pub path: Option<PatchPath>,
    /// The value as sent; `None` when the operation had no `value` member.
    pub value: Option<Value>,
}

/// A parsed `urn:ietf:params:scim:api:messages:2.0:PatchOp` request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// The operations, applied in order.
    pub operations: Vec<PatchOperation>,
}

impl PatchRequest {
    /// Parses a request body with the default [`PatchLimits`].
    pub fn parse(body: &Value) -> Result<Self> {
        Self::parse_with_limits(body, &PatchLimits::default())
    }

    /// Parses a request body with explicit limits.
    pub fn parse_with_limits(body: &Value, limits: &PatchLimits) -> Result<Self> {
        let Value::Object(obj) = body else {
            return Err(ScimError::invalid_syntax(
                "the PATCH body must be a JSON object",
            ));
        };
        let ops = match member(obj, "Operations", "the PATCH body")? {
            Some(Value::Array(ops)) if !ops.is_empty() => ops,
            Some(Value::Array(_)) => {
                return Err(ScimError::invalid_syntax(
                    "'Operations' must contain at least one operation",
                ));
            }
            Some(_) => return Err(ScimError::invalid_syntax("'Operations' must be an array")),
            None => {
                return Err(ScimError::invalid_syntax(
                    "the PATCH body has no 'Operations' array",
                ));
            }
        };
        if ops.len() > limits.max_operations {
            return Err(ScimError::status_only(
                413,
                format!(
                    "the PATCH request has {} operations; at most {} are accepted",
                    ops.len(),
                    limits.max_operations
                ),
            ));
        }
        let operations = ops
            .iter()
            .enumerate()
            .map(|(i, op)| parse_operation(i, op))
            .collect::<Result<Vec<_>>>()?;
        let members: usize = operations.iter().map(member_count).sum();
        if members > limits.max_members {
            return Err(ScimError::status_only(
                413,
                format!(
                    "the PATCH request names {members} group members; at most {} are accepted per request",
                    limits.max_members
                ),
            ));
        }
        Ok(Self { operations })
    }
}

fn parse_operation(i: usize, raw: &Value) -> Result<PatchOperation> {
    let at = format!("Operations[{i}]");
    let Value::Object(obj) = raw else {
        return Err(ScimError::invalid_syntax(format!("{at} must be an object")));
    };
    let op = match member(obj, "op", &at)? {
        Some(Value::String(s)) => PatchOp::parse(s.trim()).ok_or_else(|| {
            ScimError::invalid_syntax(format!(
                "{at}.op must be \"add\", \"remove\" or \"replace\""
            ))
        })?,
        Some(_) => {
            return Err(ScimError::invalid_syntax(format!(
                "{at}.op must be a string"
            )));
        }
        None => return Err(ScimError::invalid_syntax(format!("{at} has no 'op'"))),
    };
    let path = match member(obj, "path", &at)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(PatchPath::parse(s.trim()).map_err(|e| {
            ScimError::new(
                e.scim_type().unwrap_or(crate::ScimType::InvalidPath),
                format!("{at}.path: {}", e.detail()),
            )
        })?),
        Some(_) => {
            return Err(ScimError::invalid_syntax(format!(
                "{at}.path must be a string"
            )));
        }
    };
    let value = member(obj, "value", &at)?.cloned();
    if path.is_none() {
        match op {
            PatchOp::Remove => {
                return Err(ScimError::no_target(format!(
                    "{at}: a remove operation requires a path"
                )));
            }
            _ if !matches!(value, Some(Value::Object(_))) => {
                return Err(ScimError::invalid_syntax(format!(
                    "{at}: an {} operation without a path needs an object of attributes as its value",
                    op.as_str()
                )));
            }
            _ => {}
        }
    }
    Ok(PatchOperation { op, path, value })
}

/// The member `name` of `obj`, matched case-insensitively; two spellings of one member are
/// ambiguous and rejected.
fn member<'a>(obj: &'a Map<String, Value>, name: &str, at: &str) -> Result<Option<&'a Value>> {
    let mut found = obj
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v);
    let first = found.next();
    if found.next().is_some() {
        return Err(ScimError::invalid_syntax(format!(
            "{at} has '{name}' more than once"
        )));
    }
    Ok(first)
}

/// How many member references an operation carries, for [`PatchLimits::max_members`].
fn member_count(op: &PatchOperation) -> usize {
    fn count(v: &Value) -> usize {
        match v {
            Value::Null => 0,
            Value::Array(items) => items.len(),
            _ => 1,
        }
    }
    match (&op.path, &op.value) {
        (Some(p), Some(v)) if p.attr.name.eq_ignore_ascii_case("members") => count(v),
        (None, Some(Value::Object(obj))) => obj
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("members"))
            .map(|(_, v)| count(v))
            .sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScimType;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn ops(body: Value) -> Vec<PatchOperation> {
        PatchRequest::parse(&body).unwrap().operations
    }

    fn err(body: Value) -> ScimError {
        PatchRequest::parse(&body).unwrap_err()
    }

    #[test]
    fn op_names_match_in_any_case() {
        for (name, op) in [
            ("Add", PatchOp::Add),
            ("add", PatchOp::Add),
            ("ADD", PatchOp::Add),
            ("Replace", PatchOp::Replace),
            ("rEmOvE", PatchOp::Remove),
        ] {
            let got = ops(json!({"Operations": [{"op": name, "path": "nickName", "value": "x"}]}));
            assert_eq!(got[0].op, op, "{name}");
        }
    }

    #[test]
    fn entra_default_body_parses_with_paths_and_values() {
        let got = ops(json!({
            "schemas": [PATCH_OP_SCHEMA],
            "Operations": [
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "a@b.c"},
                {"op": "Replace", "path": "name.familyName", "value": "F"}
            ]
        }));
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].path.as_ref().unwrap().to_string(),
            "emails[type eq \"work\"].value"
        );
        assert_eq!(got[1].path.as_ref().unwrap().to_string(), "name.familyName");
        assert_eq!(got[1].value, Some(json!("F")));
    }

    #[test]
    fn member_names_are_case_insensitive_and_schemas_is_optional() {
        let got = ops(json!({"operations": [{"OP": "remove", "Path": "title"}]}));
        assert_eq!(
            got,
            vec![PatchOperation {
                op: PatchOp::Remove,
                path: Some(PatchPath::parse("title").unwrap()),
                value: None
            }]
        );
        let got = ops(
            json!({"schemas": ["urn:something:else"], "Operations": [{"op": "add", "path": "title", "Value": "x"}]}),
        );
        assert_eq!(got[0].value, Some(json!("x")));
    }

    #[test]
    fn null_and_blank_paths_mean_no_path() {
        for path in [json!(null), json!(""), json!("  ")] {
            let got = ops(
                json!({"Operations": [{"op": "replace", "path": path, "value": {"active": false}}]}),
            );
            assert_eq!(got[0].path, None);
        }
        let got =
            ops(json!({"Operations": [{"op": "replace", "path": " active ", "value": false}]}));
        assert_eq!(got[0].path.as_ref().unwrap().to_string(), "active");
    }

    #[test]
    fn malformed_bodies_are_invalid_syntax() {
        for body in [
            json!([]),
            json!({}),
            json!({"Operations": {}}),
            json!({"Operations": []}),
            json!({"Operations": [5]}),
            json!({"Operations": [{"path": "x"}]}),
            json!({"Operations": [{"op": "copy", "path": "x"}]}),
            json!({"Operations": [{"op": 1, "path": "x"}]}),
            json!({"Operations": [{"op": "add", "path": 3, "value": 1}]}),
            json!({"Operations": [{"op": "add", "Op": "add", "path": "x"}]}),
            json!({"Operations": [{"op": "add", "value": "not an object"}]}),
            json!({"Operations": [{"op": "replace"}]}),
        ] {
            assert_eq!(
                err(body.clone()).scim_type(),
                Some(ScimType::InvalidSyntax),
                "{body}"
            );
        }
    }

    #[test]
    fn remove_without_path_is_no_target() {
        let e = err(json!({"Operations": [{"op": "Remove", "value": {"title": "x"}}]}));
        assert_eq!(e.scim_type(), Some(ScimType::NoTarget));
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn malformed_paths_keep_the_path_error_type_and_name_the_operation() {
        let e =
            err(json!({"Operations": [{"op": "add", "path": "a.b.c", "value": 1}, {"op": "add"}]}));
        assert_eq!(e.scim_type(), Some(ScimType::InvalidPath));
        assert!(
            e.detail().starts_with("Operations[0].path"),
            "{}",
            e.detail()
        );
        let e = err(json!({"Operations": [{"op": "add", "path": "emails[type eq]", "value": 1}]}));
        assert!(
            matches!(
                e.scim_type(),
                Some(ScimType::InvalidFilter | ScimType::InvalidPath)
            ),
            "{e}"
        );
    }

    #[test]
    fn too_many_operations_is_413() {
        let limits = PatchLimits {
            max_operations: 2,
            max_members: 10,
        };
        let op = json!({"op": "add", "path": "title", "value": "x"});
        let e = PatchRequest::parse_with_limits(&json!({"Operations": [op, op, op]}), &limits)
            .unwrap_err();
        assert_eq!((e.status(), e.scim_type()), (413, None));
        assert!(PatchRequest::parse_with_limits(&json!({"Operations": [op, op]}), &limits).is_ok());
    }

    #[test]
    fn too_many_members_across_operations_is_413() {
        let limits = PatchLimits {
            max_operations: 10,
            max_members: 3,
        };
        let two = json!([{"value": "a"}, {"value": "b"}]);
        let body = json!({"Operations": [
            {"op": "add", "path": "members", "value": two},
            {"op": "replace", "value": {"Members": two}}
        ]});
        let e = PatchRequest::parse_with_limits(&body, &limits).unwrap_err();
        assert_eq!(e.status(), 413);
        let body = json!({"Operations": [{"op": "add", "path": "members", "value": two}, {"op": "remove", "path": "members", "value": [{"value": "c"}]}]});
        assert!(PatchRequest::parse_with_limits(&body, &limits).is_ok());
    }

    #[test]
    fn missing_value_is_none_and_explicit_null_is_kept() {
        let got = ops(
            json!({"Operations": [{"op": "replace", "path": "title"}, {"op": "replace", "path": "title", "value": null}]}),
        );
        assert_eq!(got[0].value, None);
        assert_eq!(got[1].value, Some(Value::Null));
    }
}
