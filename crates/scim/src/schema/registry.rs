//! The [`Registry`]: resource types, their schemas and extensions, and name resolution.
//!
//! Every part of the crate asks the registry what an attribute name means, so case-insensitive
//! names, URN-qualified names and the unqualified-extension fallback (Entra's old `manager`
//! path, ENTRA §5.1 Example 5) are decided in exactly one place.

use super::{
    Attribute, ENTERPRISE_USER, GROUP, Schema, USER, common_attributes, enterprise_user_schema,
    group_schema, schemas_attribute, user_schema,
};
use crate::path::AttrPath;
use crate::{Result, ScimError};
use serde_json::{Value, json};

/// The two resource kinds BlogIn provisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
}

impl ResourceKind {
    /// The resource type name (`User`, `Group`), as in `meta.resourceType`.
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }
    /// The endpoint, relative to the base URL (`/Users`, `/Groups`).
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "/Users",
            ResourceKind::Group => "/Groups",
        }
    }
}

/// An extension schema attached to a resource type.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaExtension {
    /// The extension schema URN.
    pub schema: String,
    /// Whether every resource must carry it.
    pub required: bool,
}

/// A resource type (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// Which kind it is.
    pub kind: ResourceKind,
    /// Description.
    pub description: String,
    /// The core schema URN.
    pub schema: String,
    /// Extension schemas.
    pub extensions: Vec<SchemaExtension>,
}

impl ResourceType {
    /// The `/ResourceTypes/{id}` document; `base` is the tenant base URL (no trailing slash).
    pub fn to_json(&self, base: &str) -> Value {
        let name = self.kind.name();
        let extensions: Vec<Value> = self
            .extensions
            .iter()
            .map(|e| json!({ "schema": e.schema, "required": e.required }))
            .collect();
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": name,
            "name": name,
            "endpoint": self.kind.endpoint(),
            "description": self.description,
            "schema": self.schema,
            "schemaExtensions": extensions,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{name}") },
        })
    }
}

/// What a name resolved to: the attribute, where it lives, and the sub-attribute if one was named.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// The canonical URN of the schema that defines the attribute (the core URN for `id`,
    /// `externalId`, `meta`, `schemas`).
    pub schema: &'a str,
    /// Whether the attribute lives in an extension object (`resource[schema][name]`) rather than at
    /// the top level.
    pub in_extension: bool,
    /// The top-level attribute.
    pub attr: &'a Attribute,
    /// The sub-attribute, when the path named one.
    pub sub: Option<&'a Attribute>,
}

impl Resolved<'_> {
    /// The attribute the path ends at: the sub-attribute if any, else the attribute.
    pub fn target(&self) -> &Attribute {
        self.sub.unwrap_or(self.attr)
    }

    /// The canonical path, e.g. `name.givenName` or
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
    pub fn canonical_path(&self) -> AttrPath {
        AttrPath {
            urn: self.in_extension.then(|| self.schema.to_owned()),
            name: self.attr.name.clone(),
            sub: self.sub.map(|s| s.name.clone()),
        }
    }
}

/// All schemas and resource types one service provider serves.
#[derive(Debug, Clone)]
pub struct Registry {
    schemas: Vec<Schema>,
    resource_types: Vec<ResourceType>,
    common: Vec<Attribute>,
    schemas_attr: Attribute,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// The standard registry: core User with the Enterprise extension, core Group.
    pub fn new() -> Self {
        Self {
            schemas: vec![user_schema(), group_schema(), enterprise_user_schema()],
            resource_types: vec![
                ResourceType {
                    kind: ResourceKind::User,
                    description: "User Account".to_owned(),
                    schema: USER.to_owned(),
                    extensions: vec![SchemaExtension {
                        schema: ENTERPRISE_USER.to_owned(),
                        required: false,
                    }],
                },
                ResourceType {
                    kind: ResourceKind::Group,
                    description: "Group".to_owned(),
                    schema: GROUP.to_owned(),
                    extensions: Vec::new(),
                },
            ],
            common: common_attributes(),
            schemas_attr: schemas_attribute(),
        }
    }

    /// Registers an extension schema for a resource type at run time (custom attributes,
    /// ENTRA §6.4). Rejects a URN that is already registered.
    pub fn register_extension(
        &mut self,
        kind: ResourceKind,
        schema: Schema,
        required: bool,
    ) -> Result<()> {
        if self.schema(&schema.id).is_some() {
            return Err(ScimError::invalid_value(format!(
                "schema {} is already registered",
                schema.id
            )));
        }
        let rt = self
            .resource_types
            .iter_mut()
            .find(|r| r.kind == kind)
            .expect("both kinds are registered");
        rt.extensions.push(SchemaExtension {
            schema: schema.id.clone(),
            required,
        });
        self.schemas.push(schema);
        Ok(())
    }

    /// Every schema, core first.
    pub fn schemas(&self) -> &[Schema] {
        &self.schemas
    }

    /// Every resource type.
    pub fn resource_types(&self) -> &[ResourceType] {
        &self.resource_types
    }

    /// The schema with this URN (case-insensitive).
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The resource type of a kind.
    pub fn resource_type(&self, kind: ResourceKind) -> &ResourceType {
        self.resource_types
            .iter()
            .find(|r| r.kind == kind)
            .expect("both kinds are registered")
    }

    /// The core schema of a kind.
    pub fn core_schema(&self, kind: ResourceKind) -> &Schema {
        self.schema(&self.resource_type(kind).schema)
            .expect("core schemas are registered")
    }

    /// The extension schemas of a kind, in registration order.
    pub fn extensions(&self, kind: ResourceKind) -> impl Iterator<Item = &Schema> {
        self.resource_type(kind)
            .extensions
            .iter()
            .filter_map(|e| self.schema(&e.schema))
    }

    /// The extension of `kind` whose URN is `urn` (case-insensitive).
    pub fn extension(&self, kind: ResourceKind, urn: &str) -> Option<&Schema> {
        self.extensions(kind)
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The common attributes `id`, `externalId`, `meta`.
    pub fn common_attributes(&self) -> &[Attribute] {
        &self.common
    }

    /// Resolves a path's attribute and sub-attribute for a resource kind. Unqualified names
    /// look in the common attributes, then the core schema, then (when exactly one matches) the
    /// extensions. Returns `None` for names no registered schema defines.
    pub fn resolve(&self, kind: ResourceKind, path: &AttrPath) -> Option<Resolved<'_>> {
        let top = self.resolve_top(kind, path.urn.as_deref(), &path.name)?;
        match &path.sub {
            None => Some(top),
            Some(sub) => Some(Resolved {
                sub: Some(top.attr.sub(sub)?),
                ..top
            }),
        }
    }

    /// Like [`Registry::resolve`], but a `400 invalidValue`/`invalidPath` that names the path.
    pub fn resolve_or_err(&self, kind: ResourceKind, path: &AttrPath) -> Result<Resolved<'_>> {
        self.resolve(kind, path).ok_or_else(|| {
            ScimError::invalid_path(format!(
                "attribute '{path}' is not defined by any schema of {}",
                kind.name()
            ))
        })
    }

    fn resolve_top(
        &self,
        kind: ResourceKind,
        urn: Option<&str>,
        name: &str,
    ) -> Option<Resolved<'_>> {
        let core = self.core_schema(kind);
        let common = || {
            self.common
                .iter()
                .chain(std::iter::once(&self.schemas_attr))
                .find(|a| a.name.eq_ignore_ascii_case(name))
        };
        match urn {
            Some(urn) if urn.eq_ignore_ascii_case(&core.id) => common()
                .or_else(|| core.attribute(name))
                .map(|attr| Resolved {
                    schema: &core.id,
                    in_extension: false,
                    attr,
                    sub: None,
                }),
            Some(urn) => {
                let ext = self.extension(kind, urn)?;
                ext.attribute(name).map(|attr| Resolved {
                    schema: &ext.id,
                    in_extension: true,
                    attr,
                    sub: None,
                })
            }
            None => {
                if let Some(attr) = common().or_else(|| core.attribute(name)) {
                    return Some(Resolved {
                        schema: &core.id,
                        in_extension: false,
                        attr,
                        sub: None,
                    });
                }
                let mut found = self
                    .extensions(kind)
                    .filter_map(|ext| ext.attribute(name).map(|attr| (ext, attr)));
                let (ext, attr) = found.next()?;
                if found.next().is_some() {
                    return None;
                }
                Some(Resolved {
                    schema: &ext.id,
                    in_extension: true,
                    attr,
                    sub: None,
                })
            }
        }
    }
}
