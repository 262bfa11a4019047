//! A stored resource from the store (`pb::Resource`) as the SCIM resource a client receives:
//! the loaded relations added (group `members`, user `groups`, each with an absolute `$ref`),
//! `schemas`/`id`/`meta` by `scim::resource::render`, then the projection applied.

use crate::error::GatewayError;
use scim::meta::{Meta, location};
use scim::projection::Projection;
use scim::schema::{Registry, ResourceKind};
use scim_wire::convert::{kind_to_pb, timestamp_from_pb};
use scim_wire::pb;
use serde_json::{Map, Value, json};

/// A rendered resource and the headers that go with it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rendered {
    /// The projected resource.
    pub(crate) body: Value,
    /// `meta.version`, the `ETag`.
    pub(crate) etag: String,
    /// `meta.location`, the `Location` of a created resource.
    pub(crate) location: String,
    /// The stored version.
    pub(crate) version: u64,
}

/// Renders `res` (of `kind`, served under the tenant base URL `base`) through `projection`.
pub(crate) fn render(
    registry: &Registry,
    kind: ResourceKind,
    base: &str,
    res: &pb::Resource,
    projection: &Projection,
) -> Result<Rendered, GatewayError> {
    if res.kind != kind_to_pb(kind) {
        return Err(GatewayError::Internal(format!(
            "store returned a resource of kind {} for a {} request",
            res.kind,
            kind.name()
        )));
    }
    let mut body: Value = serde_json::from_str(&res.body_json)
        .map_err(|_| GatewayError::Internal("stored body is not JSON".into()))?;
    let Value::Object(obj) = &mut body else {
        return Err(GatewayError::Internal(
            "stored body is not an object".into(),
        ));
    };
    if res.members_loaded && !res.members.is_empty() {
        obj.insert("members".into(), members(base, &res.members));
    }
    if !res.groups.is_empty() {
        obj.insert("groups".into(), groups(base, &res.groups));
    }
    let time = |t: &Option<_>, what: &str| {
        t.as_ref()
            .map(timestamp_from_pb)
            .ok_or_else(|| GatewayError::Internal(format!("stored resource has no {what}")))
    };
    let meta = Meta::new(
        kind,
        base,
        &res.id,
        time(&res.created, "created")?,
        time(&res.last_modified, "lastModified")?,
        res.version,
    );
    let full = scim::resource::render(registry, kind, &res.id, &body, &meta);
    Ok(Rendered {
        body: projection.apply(registry, kind, &full),
        etag: meta.etag(),
        location: meta.location,
        version: res.version,
    })
}

fn kind_of(member_type: &str) -> Option<ResourceKind> {
    match member_type {
        "User" => Some(ResourceKind::User),
        "Group" => Some(ResourceKind::Group),
        _ => None,
    }
}

/// `{"value", "$ref", "type", "display"}`; `$ref`/`type` only for a known type, `display`
/// only when the store has one.
fn members(base: &str, members: &[pb::Member]) -> Value {
    let items = members
        .iter()
        .map(|m| {
            let mut o = Map::new();
            o.insert("value".into(), json!(m.value));
            if let Some(kind) = kind_of(&m.r#type) {
                o.insert("$ref".into(), json!(location(base, kind, &m.value)));
                o.insert("type".into(), json!(m.r#type));
            }
            if !m.display.is_empty() {
                o.insert("display".into(), json!(m.display));
            }
            Value::Object(o)
        })
        .collect();
    Value::Array(items)
}

/// `{"value", "$ref", "display", "type"}` (RFC 7643 §4.1.2).
fn groups(base: &str, groups: &[pb::GroupRef]) -> Value {
    let items = groups
        .iter()
        .map(|g| {
            let mut o = Map::new();
            o.insert("value".into(), json!(g.value));
            o.insert(
                "$ref".into(),
                json!(location(base, ResourceKind::Group, &g.value)),
            );
            if !g.display.is_empty() {
                o.insert("display".into(), json!(g.display));
            }
            if !g.r#type.is_empty() {
                o.insert("type".into(), json!(g.r#type));
            }
            Value::Object(o)
        })
        .collect();
    Value::Array(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use pretty_assertions::assert_eq;
    use scim_wire::convert::timestamp_to_pb;

    const BASE: &str = "https://scim.example.com/scim/v2/acme";

    fn group(members: Vec<pb::Member>, loaded: bool) -> pb::Resource {
        let t = Utc.with_ymd_and_hms(2018, 3, 27, 19, 59, 26).unwrap();
        pb::Resource {
            id: "g1".into(),
            kind: kind_to_pb(ResourceKind::Group),
            body_json: r#"{"displayName":"Tour Guides"}"#.into(),
            version: 3,
            created: Some(timestamp_to_pb(t)),
            last_modified: Some(timestamp_to_pb(t)),
            members,
            members_loaded: loaded,
            groups: vec![],
        }
    }

    fn member(value: &str, ty: &str, display: &str) -> pb::Member {
        pb::Member {
            value: value.into(),
            r#type: ty.into(),
            display: display.into(),
        }
    }

    #[test]
    fn a_group_renders_with_absolute_member_refs_and_meta() {
        let res = group(
            vec![member("u1", "User", ""), member("g2", "Group", "Nested")],
            true,
        );
        let out = render(
            &Registry::new(),
            ResourceKind::Group,
            BASE,
            &res,
            &Projection::default(),
        )
        .unwrap();
        assert_eq!(
            out.body,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "id": "g1",
                "displayName": "Tour Guides",
                "members": [
                    {"value": "u1", "$ref": format!("{BASE}/Users/u1"), "type": "User"},
                    {"value": "g2", "$ref": format!("{BASE}/Groups/g2"), "type": "Group", "display": "Nested"}
                ],
                "meta": {
                    "resourceType": "Group",
                    "created": "2018-03-27T19:59:26.000Z",
                    "lastModified": "2018-03-27T19:59:26.000Z",
                    "location": format!("{BASE}/Groups/g1"),
                    "version": "W/\"3\""
                }
            })
        );
        assert_eq!(out.etag, "W/\"3\"");
        assert_eq!(out.location, format!("{BASE}/Groups/g1"));
    }

    #[test]
    fn excluded_members_are_never_rendered_even_if_the_store_sent_them() {
        let res = group(vec![member("u1", "User", "")], true);
        let projection = Projection::parse(None, Some("members")).unwrap();
        let out = render(
            &Registry::new(),
            ResourceKind::Group,
            BASE,
            &res,
            &projection,
        )
        .unwrap();
        assert!(out.body.get("members").is_none());
    }

    #[test]
    fn a_group_without_loaded_or_with_no_members_has_no_members_attribute() {
        for res in [group(vec![], true), group(vec![], false)] {
            let out = render(
                &Registry::new(),
                ResourceKind::Group,
                BASE,
                &res,
                &Projection::default(),
            )
            .unwrap();
            assert!(out.body.get("members").is_none());
        }
    }

    #[test]
    fn user_groups_render_with_value_ref_display_and_type() {
        let mut res = group(vec![], false);
        res.kind = kind_to_pb(ResourceKind::User);
        res.id = "u1".into();
        res.body_json = r#"{"userName":"bjensen"}"#.into();
        res.groups = vec![pb::GroupRef {
            value: "g1".into(),
            display: "Tour Guides".into(),
            r#type: "direct".into(),
        }];
        let out = render(
            &Registry::new(),
            ResourceKind::User,
            BASE,
            &res,
            &Projection::default(),
        )
        .unwrap();
        assert_eq!(
            out.body["groups"],
            json!([{"value": "g1", "$ref": format!("{BASE}/Groups/g1"), "display": "Tour Guides", "type": "direct"}])
        );
    }

    #[test]
    fn a_resource_of_the_wrong_kind_or_with_a_corrupt_body_is_an_internal_error() {
        let res = group(vec![], false);
        let e = render(
            &Registry::new(),
            ResourceKind::User,
            BASE,
            &res,
            &Projection::default(),
        )
        .unwrap_err();
        assert_eq!(e.to_scim().status(), 500);
        let mut res = group(vec![], false);
        res.body_json = "not json".into();
        let e = render(
            &Registry::new(),
            ResourceKind::Group,
            BASE,
            &res,
            &Projection::default(),
        )
        .unwrap_err();
        assert_eq!(e.to_scim().status(), 500);
    }
}
