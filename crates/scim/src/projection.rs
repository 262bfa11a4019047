//! Which attributes a response carries: the `attributes` and `excludedAttributes` parameters
//! (RFC 7644 §3.4.2.5, §3.9) combined with each attribute's `returned` characteristic
//! (RFC 7643 §7).
//!
//! Rules, for top-level attributes and sub-attributes alike:
//! - `returned: never` (`password`) is never returned; `returned: always` (`id`, `schemas`) is
//!   always returned, whatever the parameters say.
//! - `returned: default` is returned unless excluded; when `attributes` is given, only if it
//!   names the attribute, one of its sub-attributes (then only the named sub-attributes are
//!   returned: `name.givenName`, `emails.value`), or its schema URN.
//! - `returned: request` is returned only when `attributes` names it.
//! - When both parameters are given, an attribute must be named by `attributes` and not named
//!   by `excludedAttributes` (RFC 7644 leaves the combination open; this is the reading in
//!   which neither parameter is silently ignored).
//! - Names are matched case-insensitively, URN-qualified or not, as in filters. A schema URN
//!   alone names all of that schema's attributes (`excludedAttributes=urn:…:enterprise:2.0:User`
//!   drops the extension object). Names no schema defines are ignored: RFC 7644 does not make
//!   them an error, and a client asking for an attribute the server does not have should get
//!   the resource without it rather than a failure. Malformed names are `400 invalidValue`.
//! - Values left empty by projection (an element with no returned sub-attribute, an empty
//!   extension object) are dropped, and `schemas` loses the URNs of dropped extensions.

use crate::path::AttrPath;
use crate::schema::{AttrType, Attribute, Registry, ResourceKind, Returned, Schema};
use crate::{Result, ScimError};
use serde_json::{Map, Value};

/// A parsed `attributes` / `excludedAttributes` pair. The default value returns every
/// `returned: default` attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    attributes: Option<Vec<Selector>>,
    excluded: Vec<Selector>,
}

/// One name from a parameter: a schema URN or an attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selector {
    raw: String,
    path: Option<AttrPath>,
}

/// A selector resolved against the registry, in canonical names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// Every attribute of a schema; `None` is the core schema (and the common attributes).
    Schema(Option<String>),
    /// `urn` is the extension URN, `None` for core and common attributes.
    Attr {
        urn: Option<String>,
        name: String,
        sub: Option<String>,
    },
}

/// The resolved parameters for one resource type.
#[derive(Debug)]
struct Resolved {
    attributes: Option<Vec<Target>>,
    excluded: Vec<Target>,
}

/// Whether a top-level attribute is returned, and if so whether as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Exclude,
    /// `whole: false` when only some named sub-attributes are wanted.
    Include {
        whole: bool,
    },
}

impl Projection {
    /// Parses the query parameters: comma-separated attribute names, whitespace around names
    /// ignored, empty entries skipped. An absent or empty `attributes` means "the defaults".
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self> {
        Self::from_lists(attributes.map(|a| vec![a]), excluded.map(|e| vec![e]))
    }

    /// Builds a projection from name lists (the array form of a `SearchRequest`); each entry
    /// may itself be comma-separated.
    pub fn from_lists<S: AsRef<str>>(
        attributes: Option<Vec<S>>,
        excluded: Option<Vec<S>>,
    ) -> Result<Self> {
        let attributes = match attributes {
            Some(list) => Some(parse_list("attributes", &list)?).filter(|l| !l.is_empty()),
            None => None,
        };
        let excluded = match excluded {
            Some(list) => parse_list("excludedAttributes", &list)?,
            None => Vec::new(),
        };
        Ok(Self {
            attributes,
            excluded,
        })
    }

    /// Whether this is the default projection (no parameters).
    pub fn is_default(&self) -> bool {
        self.attributes.is_none() && self.excluded.is_empty()
    }

    /// Projects a rendered resource (see [`crate::resource::render`]).
    pub fn apply(&self, registry: &Registry, kind: ResourceKind, resource: &Value) -> Value {
        let Value::Object(obj) = resource else {
            return resource.clone();
        };
        let r = self.resolve(registry, kind);
        let core = registry.core_schema(kind);
        let mut out = Map::with_capacity(obj.len());
        for (key, value) in obj {
            if let Some(ext) = registry.extension(kind, key) {
                if let Some(v) = r.project_schema_object(Some(&ext.id), ext, value) {
                    out.insert(ext.id.clone(), v);
                }
                continue;
            }
            let path = AttrPath {
                urn: Some(core.id.clone()),
                name: key.clone(),
                sub: None,
            };
            match registry.resolve(kind, &path) {
                Some(res) => {
                    if let Some(v) = r.project_value(None, res.attr, value) {
                        out.insert(key.clone(), v);
                    }
                }
                // Not a schema attribute: nothing says how to return it, so only the
                // parameter-free default returns it.
                None if r.attributes.is_none() => {
                    out.insert(key.clone(), value.clone());
                }
                None => {}
            }
        }
        if let Some(Value::Array(schemas)) = out.get("schemas") {
            let kept: Vec<Value> = schemas
                .iter()
                .filter(|s| {
                    let urn = s.as_str().unwrap_or_default();
                    registry
                        .extension(kind, urn)
                        .is_none_or(|ext| out.contains_key(&ext.id))
                })
                .cloned()
                .collect();
            out.insert("schemas".to_owned(), Value::Array(kept));
        }
        Value::Object(out)
    }

    /// Whether a response would carry (some of) the attribute at `path`, so the store can skip
    /// loading what is not wanted (`members` with `excludedAttributes=members`). Unknown
    /// paths are not wanted.
    pub fn wants(&self, registry: &Registry, kind: ResourceKind, path: &AttrPath) -> bool {
        let Some(res) = registry.resolve(kind, path) else {
            return false;
        };
        let r = self.resolve(registry, kind);
        let urn = res.in_extension.then_some(res.schema);
        match (r.decide(urn, res.attr), res.sub) {
            (Decision::Exclude, _) => false,
            (Decision::Include { .. }, None) => true,
            (Decision::Include { whole }, Some(sub)) => r.keep_sub(urn, res.attr, whole, sub),
        }
    }

    fn resolve(&self, registry: &Registry, kind: ResourceKind) -> Resolved {
        let targets = |list: &[Selector]| -> Vec<Target> {
            list.iter()
                .filter_map(|s| resolve_selector(registry, kind, s))
                .collect()
        };
        Resolved {
            attributes: self.attributes.as_deref().map(targets),
            excluded: targets(&self.excluded),
        }
    }
}

fn parse_list<S: AsRef<str>>(param: &str, list: &[S]) -> Result<Vec<Selector>> {
    let mut out = Vec::new();
    for name in list
        .iter()
        .flat_map(|s| s.as_ref().split(','))
        .map(str::trim)
    {
        if name.is_empty() {
            continue;
        }
        let path = AttrPath::parse(name).ok();
        if path.is_none() && !looks_like_urn(name) {
            return Err(ScimError::invalid_value(format!(
                "'{name}' in {param} is not an attribute name"
            )));
        }
        out.push(Selector {
            raw: name.to_owned(),
            path,
        });
    }
    Ok(out)
}

fn looks_like_urn(s: &str) -> bool {
    crate::path::is_urn_like(s) && !s.chars().any(char::is_whitespace)
}

fn resolve_selector(registry: &Registry, kind: ResourceKind, s: &Selector) -> Option<Target> {
    if s.raw.eq_ignore_ascii_case(&registry.core_schema(kind).id) {
        return Some(Target::Schema(None));
    }
    if let Some(ext) = registry.extension(kind, &s.raw) {
        return Some(Target::Schema(Some(ext.id.clone())));
    }
    let res = registry.resolve(kind, s.path.as_ref()?)?;
    Some(Target::Attr {
        urn: res.in_extension.then(|| res.schema.to_owned()),
        name: res.attr.name.clone(),
        sub: res.sub.map(|s| s.name.clone()),
    })
}

impl Resolved {
    fn names(list: &[Target], urn: Option<&str>, attr: &str, sub: Option<&str>) -> bool {
        list.iter().any(|t| match t {
            Target::Attr {
                urn: u,
                name,
                sub: s,
            } => u.as_deref() == urn && name == attr && s.as_deref() == sub,
            Target::Schema(_) => false,
        })
    }

    fn names_schema(list: &[Target], urn: Option<&str>) -> bool {
        list.iter()
            .any(|t| matches!(t, Target::Schema(u) if u.as_deref() == urn))
    }

    fn names_some_sub(list: &[Target], urn: Option<&str>, attr: &str) -> bool {
        list.iter().any(|t| {
            matches!(t, Target::Attr { urn: u, name, sub: Some(_) } if u.as_deref() == urn && name == attr)
        })
    }

    fn decide(&self, urn: Option<&str>, attr: &Attribute) -> Decision {
        match attr.returned {
            Returned::Never => return Decision::Exclude,
            Returned::Always => return Decision::Include { whole: true },
            Returned::Default | Returned::Request => {}
        }
        if Self::names(&self.excluded, urn, &attr.name, None)
            || Self::names_schema(&self.excluded, urn)
        {
            return Decision::Exclude;
        }
        match &self.attributes {
            None if attr.returned == Returned::Default => Decision::Include { whole: true },
            None => Decision::Exclude,
            Some(list)
                if Self::names(list, urn, &attr.name, None) || Self::names_schema(list, urn) =>
            {
                Decision::Include { whole: true }
            }
            Some(list) if Self::names_some_sub(list, urn, &attr.name) => {
                Decision::Include { whole: false }
            }
            Some(_) => Decision::Exclude,
        }
    }

    fn keep_sub(&self, urn: Option<&str>, attr: &Attribute, whole: bool, sub: &Attribute) -> bool {
        match sub.returned {
            Returned::Never => false,
            Returned::Always => true,
            Returned::Default | Returned::Request => {
                if Self::names(&self.excluded, urn, &attr.name, Some(&sub.name)) {
                    return false;
                }
                let named = self
                    .attributes
                    .as_deref()
                    .is_some_and(|l| Self::names(l, urn, &attr.name, Some(&sub.name)));
                named || (whole && sub.returned == Returned::Default)
            }
        }
    }

    fn project_schema_object(
        &self,
        urn: Option<&str>,
        schema: &Schema,
        value: &Value,
    ) -> Option<Value> {
        let Value::Object(obj) = value else {
            return None;
        };
        let mut out = Map::new();
        for (key, v) in obj {
            match schema.attribute(key) {
                Some(attr) => {
                    if let Some(v) = self.project_value(urn, attr, v) {
                        out.insert(key.clone(), v);
                    }
                }
                None if self.attributes.is_none() => {
                    out.insert(key.clone(), v.clone());
                }
                None => {}
            }
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }

    fn project_value(&self, urn: Option<&str>, attr: &Attribute, value: &Value) -> Option<Value> {
        let Decision::Include { whole } = self.decide(urn, attr) else {
            return None;
        };
        if attr.ty != AttrType::Complex || attr.sub_attributes.is_empty() {
            return Some(value.clone());
        }
        match value {
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .iter()
                    .filter_map(|item| self.project_element(urn, attr, whole, item))
                    .collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            item => self.project_element(urn, attr, whole, item),
        }
    }

    fn project_element(
        &self,
        urn: Option<&str>,
        attr: &Attribute,
        whole: bool,
        item: &Value,
    ) -> Option<Value> {
        let Value::Object(obj) = item else {
            return whole.then(|| item.clone());
        };
        let kept: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| match attr.sub(k) {
                Some(sub) => self.keep_sub(urn, attr, whole, sub),
                None => whole,
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScimType;
    use crate::schema::{ENTERPRISE_USER, GROUP, USER};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [USER, ENTERPRISE_USER],
            "id": "u1",
            "externalId": "x1",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [
                {"value": "b@x.com", "type": "work", "primary": true},
                {"value": "b@home.org", "type": "home"}
            ],
            "groups": [{"value": "g1", "display": "Tour Guides"}],
            ENTERPRISE_USER: {"employeeNumber": "7", "manager": {"value": "m1"}},
            "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22.000Z", "version": "W/\"1\""}
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        let p = Projection::parse(attributes, excluded).unwrap();
        p.apply(&Registry::new(), ResourceKind::User, &user())
    }

    #[test]
    fn default_projection_returns_the_resource_unchanged() {
        assert_eq!(project(None, None), user());
        assert!(Projection::default().is_default());
        assert_eq!(project(Some(""), Some(" , ")), user());
    }

    #[test]
    fn attributes_returns_only_the_named_attributes_plus_always_returned_ones() {
        assert_eq!(
            project(Some("userName"), None),
            json!({"schemas": [USER], "id": "u1", "userName": "bjensen"})
        );
    }

    #[test]
    fn attributes_id_alone_gives_id_and_schemas_for_the_entra_reference_check() {
        assert_eq!(
            project(Some("id"), None),
            json!({"schemas": [USER], "id": "u1"})
        );
    }

    #[test]
    fn projection_table() {
        let cases: Vec<(Option<&str>, Option<&str>, Value)> = vec![
            (
                Some("name.givenName"),
                None,
                json!({"schemas": [USER], "id": "u1", "name": {"givenName": "Barbara"}}),
            ),
            (
                Some("emails.value, userName"),
                None,
                json!({"schemas": [USER], "id": "u1", "userName": "bjensen",
                       "emails": [{"value": "b@x.com"}, {"value": "b@home.org"}]}),
            ),
            (
                Some("EMAILS.TYPE,Name"),
                None,
                json!({"schemas": [USER], "id": "u1", "name": {"givenName": "Barbara", "familyName": "Jensen"},
                       "emails": [{"type": "work"}, {"type": "home"}]}),
            ),
            (
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
                None,
                json!({"schemas": [USER, ENTERPRISE_USER], "id": "u1", ENTERPRISE_USER: {"manager": {"value": "m1"}}}),
            ),
            (
                Some("manager.value"),
                None,
                json!({"schemas": [USER, ENTERPRISE_USER], "id": "u1", ENTERPRISE_USER: {"manager": {"value": "m1"}}}),
            ),
            (
                Some(ENTERPRISE_USER),
                None,
                json!({"schemas": [USER, ENTERPRISE_USER], "id": "u1",
                       ENTERPRISE_USER: {"employeeNumber": "7", "manager": {"value": "m1"}}}),
            ),
            (
                Some("meta.lastModified,meta.version"),
                None,
                json!({"schemas": [USER], "id": "u1", "meta": {"version": "W/\"1\""}}),
            ),
            (
                Some("userName,noSuchAttribute"),
                None,
                json!({"schemas": [USER], "id": "u1", "userName": "bjensen"}),
            ),
            (
                Some("userName,name"),
                Some("name.familyName"),
                json!({"schemas": [USER], "id": "u1", "userName": "bjensen", "name": {"givenName": "Barbara"}}),
            ),
            (
                Some("userName,externalId"),
                Some("externalId"),
                json!({"schemas": [USER], "id": "u1", "userName": "bjensen"}),
            ),
        ];
        for (attributes, excluded, expected) in cases {
            assert_eq!(
                project(attributes, excluded),
                expected,
                "{attributes:?} / {excluded:?}"
            );
        }
    }

    #[test]
    fn excluded_attributes_remove_attributes_sub_attributes_and_whole_extensions() {
        let mut expected = user();
        let obj = expected.as_object_mut().unwrap();
        obj.remove("groups");
        obj.remove("meta");
        obj["name"].as_object_mut().unwrap().remove("givenName");
        assert_eq!(
            project(None, Some("groups, META ,name.givenName")),
            expected
        );

        let mut expected = user();
        expected.as_object_mut().unwrap().remove(ENTERPRISE_USER);
        expected["schemas"] = json!([USER]);
        assert_eq!(project(None, Some(ENTERPRISE_USER)), expected);
    }

    #[test]
    fn excluding_every_extension_attribute_drops_the_extension_and_its_schema_urn() {
        let out = project(None, Some("employeeNumber,manager"));
        assert!(out.get(ENTERPRISE_USER).is_none());
        assert_eq!(out["schemas"], json!([USER]));
    }

    #[test]
    fn always_returned_attributes_cannot_be_excluded() {
        let out = project(None, Some("id,schemas"));
        assert_eq!(out["id"], "u1");
        assert_eq!(out["schemas"], json!([USER, ENTERPRISE_USER]));
    }

    #[test]
    fn never_returned_attributes_are_dropped_even_when_requested() {
        let mut resource = user();
        resource["password"] = json!("secret");
        let reg = Registry::new();
        for p in [
            Projection::default(),
            Projection::parse(Some("password,userName"), None).unwrap(),
        ] {
            assert!(
                p.apply(&reg, ResourceKind::User, &resource)
                    .get("password")
                    .is_none()
            );
        }
    }

    #[test]
    fn request_returned_attributes_appear_only_when_named() {
        let mut reg = Registry::new();
        let schema = Schema::from_json(&json!({
            "id": "urn:example:custom:2.0:User",
            "attributes": [{"name": "secretCode", "type": "string", "returned": "request"}, {"name": "badge", "type": "string"}]
        }))
        .unwrap();
        reg.register_extension(ResourceKind::User, schema, false)
            .unwrap();
        let urn = "urn:example:custom:2.0:User";
        let resource = json!({"schemas": [USER, urn], "id": "u1", "userName": "a", urn: {"secretCode": "s", "badge": "b"}});
        let default = Projection::default().apply(&reg, ResourceKind::User, &resource);
        assert_eq!(default[urn], json!({"badge": "b"}));
        let named = Projection::parse(Some("secretCode"), None).unwrap().apply(
            &reg,
            ResourceKind::User,
            &resource,
        );
        assert_eq!(
            named,
            json!({"schemas": [USER, urn], "id": "u1", urn: {"secretCode": "s"}})
        );
    }

    #[test]
    fn group_members_are_excluded_for_entra_and_not_wanted_by_the_store() {
        let reg = Registry::new();
        let group = json!({"schemas": [GROUP], "id": "g1", "displayName": "G", "members": [{"value": "u1"}], "meta": {"resourceType": "Group"}});
        let p = Projection::parse(None, Some("members")).unwrap();
        assert_eq!(
            p.apply(&reg, ResourceKind::Group, &group),
            json!({"schemas": [GROUP], "id": "g1", "displayName": "G", "meta": {"resourceType": "Group"}})
        );
        let members = AttrPath::new("members");
        assert!(!p.wants(&reg, ResourceKind::Group, &members));
        assert!(Projection::default().wants(&reg, ResourceKind::Group, &members));
        let only_name = Projection::parse(Some("displayName"), None).unwrap();
        assert!(!only_name.wants(&reg, ResourceKind::Group, &members));
        let member_values = Projection::parse(Some("members.value"), None).unwrap();
        assert!(member_values.wants(&reg, ResourceKind::Group, &members));
        assert!(member_values.wants(
            &reg,
            ResourceKind::Group,
            &AttrPath::new("members").with_sub("value")
        ));
        assert!(!member_values.wants(
            &reg,
            ResourceKind::Group,
            &AttrPath::new("members").with_sub("display")
        ));
        assert!(!Projection::default().wants(&reg, ResourceKind::Group, &AttrPath::new("nope")));
    }

    #[test]
    fn users_groups_attribute_is_wanted_unless_excluded() {
        let reg = Registry::new();
        let groups = AttrPath::new("groups");
        assert!(Projection::default().wants(&reg, ResourceKind::User, &groups));
        assert!(!Projection::parse(None, Some("groups")).unwrap().wants(
            &reg,
            ResourceKind::User,
            &groups
        ));
        assert!(Projection::parse(None, Some("groups")).unwrap().wants(
            &reg,
            ResourceKind::User,
            &AttrPath::new("id")
        ));
    }

    #[test]
    fn from_lists_accepts_search_request_arrays() {
        let p = Projection::from_lists(Some(vec!["userName", "emails.value"]), None::<Vec<&str>>)
            .unwrap();
        assert_eq!(
            p,
            Projection::parse(Some("userName,emails.value"), None).unwrap()
        );
    }

    #[test]
    fn malformed_attribute_names_are_invalid_value() {
        for bad in ["emails[type eq \"work\"]", "a.b.c", "1abc", "user name"] {
            let e = Projection::parse(Some(bad), None).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidValue), "{bad}");
            let e = Projection::parse(None, Some(bad)).unwrap_err();
            assert!(e.detail().contains("excludedAttributes"), "{}", e.detail());
        }
    }
}
