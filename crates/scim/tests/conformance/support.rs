//! Shared helpers: loading the JSON data files, running a body through the same steps the
//! service does (normalize → store shape → PATCH → render), and asserting on what a client
//! would see (resulting JSON, error status and `scimType`).

use scim::members::{Member, MembersDelta, take_members};
use scim::meta::Meta;
use scim::patch::{PatchOutcome, PatchRequest, apply};
use scim::schema::{AttrType, Attribute, Registry, ResourceKind, Schema};
use scim::validate::normalize_resource;
use scim::{ScimError, ScimType};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// URN of the Enterprise User extension.
pub(crate) const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// URN of the custom extension of ENTRA §6.4.
pub(crate) const CUSTOM: &str =
    "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";

/// `tests/data`.
pub(crate) fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
}

/// Loads `tests/data/<rel>` (e.g. `entra/create_user.json`).
pub(crate) fn data(rel: &str) -> Value {
    let path = data_dir().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every `*.json` file name in `tests/data/<dir>` whose name starts with `prefix`, sorted.
pub(crate) fn data_files(dir: &str, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data_dir().join(dir))
        .unwrap_or_else(|e| panic!("cannot list tests/data/{dir}: {e}"))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".json") && n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// The standard registry, or (`"custom"`) one with the ENTRA §6.4 custom extension registered.
pub(crate) fn registry_named(name: Option<&str>) -> Registry {
    let mut reg = Registry::new();
    if name == Some("custom") {
        let schema = Schema {
            id: CUSTOM.to_owned(),
            name: "CustomExtensionName".to_owned(),
            description: "Custom attributes mapped in Entra (ENTRA §6.4)".to_owned(),
            attributes: vec![Attribute::new(
                "CustomAttribute",
                AttrType::String,
                "A custom string attribute.",
            )],
        };
        reg.register_extension(ResourceKind::User, schema, false)
            .expect("custom extension registers");
    }
    reg
}

/// The standard registry.
pub(crate) fn registry() -> Registry {
    Registry::new()
}

/// `"User"` / `"Group"` from a data file.
pub(crate) fn kind(name: &str) -> ResourceKind {
    match name {
        "User" => ResourceKind::User,
        "Group" => ResourceKind::Group,
        other => panic!("unknown resource kind {other} in a data file"),
    }
}

/// What the store holds after a create: the canonical body and, for groups, the members.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    /// Canonical stored body (no `id`, `meta`, `schemas`, `members`).
    pub(crate) body: Value,
    /// Members taken from the body.
    pub(crate) members: Vec<Member>,
}

/// Runs a create/replace request body through validation as the service does.
pub(crate) fn create(reg: &Registry, kind: ResourceKind, request: &Value) -> scim::Result<Stored> {
    let mut body = normalize_resource(reg, kind, request.clone())?;
    let members = if kind == ResourceKind::Group {
        take_members(&mut body)?
    } else {
        Vec::new()
    };
    Ok(Stored { body, members })
}

/// Like [`create`], panicking with the error (for bases that must be valid).
pub(crate) fn stored(reg: &Registry, kind: ResourceKind, request: &Value) -> Stored {
    create(reg, kind, request).unwrap_or_else(|e| panic!("create failed: {e}\nbody: {request:#}"))
}

/// Parses and applies a PATCH request body to a stored body.
pub(crate) fn patch(
    reg: &Registry,
    kind: ResourceKind,
    body: &Value,
    request: &Value,
) -> scim::Result<PatchOutcome> {
    let req = PatchRequest::parse(request)?;
    apply(reg, kind, body, &req)
}

/// A PATCH body with the given operations.
pub(crate) fn patch_body(ops: Value) -> Value {
    serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// Asserts an error with `status` and one of `types` (none: no `scimType`), and that the
/// rendered error body says the same.
#[track_caller]
pub(crate) fn expect_error<T: std::fmt::Debug>(
    result: scim::Result<T>,
    status: u16,
    types: &[ScimType],
) -> ScimError {
    let err = match result {
        Ok(v) => panic!("expected {status} {types:?}, got success: {v:#?}"),
        Err(e) => e,
    };
    assert_eq!(err.status(), status, "status of {err}");
    if types.is_empty() {
        assert_eq!(err.scim_type(), None, "scimType of {err}");
    } else {
        assert!(
            err.scim_type().is_some_and(|t| types.contains(&t)),
            "scimType of {err}: expected one of {types:?}"
        );
    }
    let body = serde_json::to_value(err.to_body()).expect("error body serializes");
    assert_eq!(
        body["status"],
        Value::String(status.to_string()),
        "error body {body}"
    );
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    err
}

/// Parses a `scimType` keyword from a data file.
pub(crate) fn scim_type(name: &str) -> ScimType {
    ScimType::ALL
        .into_iter()
        .find(|t| t.as_str() == name)
        .unwrap_or_else(|| panic!("unknown scimType {name}"))
}

/// `base` with each JSON-pointer change applied: a `null` change removes the member (then
/// removes objects left empty); an index equal to an array's length appends.
pub(crate) fn with_changes(base: &Value, changes: &Map<String, Value>) -> Value {
    let mut out = base.clone();
    for (pointer, value) in changes {
        set_pointer(&mut out, pointer, value.clone());
    }
    out
}

fn set_pointer(root: &mut Value, pointer: &str, value: Value) {
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    assert!(!tokens.is_empty(), "empty pointer");
    set_tokens(root, &tokens, value);
}

fn set_tokens(node: &mut Value, tokens: &[String], value: Value) {
    let (head, rest) = tokens.split_first().expect("non-empty");
    match node {
        Value::Array(items) => {
            let i: usize = head
                .parse()
                .unwrap_or_else(|_| panic!("array index expected, got {head}"));
            if rest.is_empty() {
                if value.is_null() {
                    items.remove(i);
                } else if i == items.len() {
                    items.push(value);
                } else {
                    items[i] = value;
                }
            } else {
                set_tokens(&mut items[i], rest, value);
            }
        }
        other => {
            if !other.is_object() {
                *other = Value::Object(Map::new());
            }
            let obj = other.as_object_mut().expect("object");
            if rest.is_empty() {
                if value.is_null() {
                    obj.remove(head);
                } else {
                    obj.insert(head.clone(), value);
                }
            } else {
                let child = obj.entry(head.clone()).or_insert(Value::Null);
                set_tokens(child, rest, value);
                if child.as_object().is_some_and(Map::is_empty) {
                    obj.remove(head);
                }
            }
        }
    }
}

/// Fixed metadata for rendering in tests: created = lastModified = 2018-03-27T19:59:26Z,
/// location under `https://blogin.example/scim/v2`, version 1.
pub(crate) fn meta(kind: ResourceKind, id: &str) -> Meta {
    let at = chrono::DateTime::parse_from_rfc3339("2018-03-27T19:59:26Z")
        .expect("timestamp")
        .to_utc();
    Meta::new(kind, "https://blogin.example/scim/v2", id, at, at, 1)
}

/// The resource as `GET /{Users|Groups}/{id}` returns it.
pub(crate) fn client_view(reg: &Registry, kind: ResourceKind, id: &str, body: &Value) -> Value {
    scim::resource::render(reg, kind, id, body, &meta(kind, id))
}

/// `value`s of members, in order.
pub(crate) fn member_ids(members: &[Member]) -> Vec<&str> {
    members.iter().map(|m| m.value.as_str()).collect()
}

/// The delta as `{"clear", "add": [ids], "remove": [ids]}` for comparison with data files.
pub(crate) fn delta_json(delta: &MembersDelta) -> Value {
    serde_json::json!({
        "clear": delta.clear,
        "add": member_ids(&delta.add),
        "remove": delta.remove,
    })
}

/// Whether any string anywhere in `v` equals `needle` (to check a value never leaks out).
pub(crate) fn contains_string(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s == needle,
        Value::Array(items) => items.iter().any(|i| contains_string(i, needle)),
        Value::Object(obj) => obj
            .iter()
            .any(|(k, i)| k == needle || contains_string(i, needle)),
        _ => false,
    }
}

/// Whether `v` contains a JSON `null` anywhere.
pub(crate) fn contains_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(items) => items.iter().any(contains_null),
        Value::Object(obj) => obj.values().any(contains_null),
        _ => false,
    }
}
