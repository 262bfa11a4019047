//! SCIM schemas (RFC 7643 §2, §7): attribute definitions with every characteristic, the core
//! User/Group and EnterpriseUser definitions, and the [`Registry`] that resolves attribute names
//! (case-insensitively, URN-qualified or not) for every other part of the crate.
//!
//! The `/Schemas` and `/ResourceTypes` documents are rendered from these same values
//! ([`Schema::to_json`], [`ResourceType::to_json`]), so a definition is never written twice.

mod common;
mod enterprise;
mod group;
mod registry;
mod user;

pub use common::{common_attributes, schemas_attribute};
pub use enterprise::{ENTERPRISE_USER, enterprise_user_schema};
pub use group::{GROUP, group_schema};
pub use registry::{Registry, Resolved, ResourceKind, ResourceType, SchemaExtension};
pub use user::{USER, user_schema};

use serde_json::{Map, Value, json};

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrType {
    /// A sequence of Unicode characters.
    String,
    /// `true` or `false`.
    Boolean,
    /// A real number.
    Decimal,
    /// A whole number.
    Integer,
    /// An `xsd:dateTime` (RFC 3339) string.
    DateTime,
    /// Base64-encoded bytes.
    Binary,
    /// A URI referring to a resource.
    Reference,
    /// A set of sub-attributes.
    Complex,
}

impl AttrType {
    /// The name used in schema documents.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }

    /// Parses a schema document's type name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => AttrType::String,
            "boolean" => AttrType::Boolean,
            "decimal" => AttrType::Decimal,
            "integer" => AttrType::Integer,
            "dateTime" => AttrType::DateTime,
            "binary" => AttrType::Binary,
            "reference" => AttrType::Reference,
            "complex" => AttrType::Complex,
            _ => return None,
        })
    }
}

/// Whether and how an attribute may be modified (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Set by the service provider only; ignored on create/replace, rejected by PATCH.
    ReadOnly,
    /// Freely modified.
    ReadWrite,
    /// Set once (on create or when absent), never changed.
    Immutable,
    /// Accepted but never returned.
    WriteOnly,
}

impl Mutability {
    /// The name used in schema documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "readOnly" => Mutability::ReadOnly,
            "readWrite" => Mutability::ReadWrite,
            "immutable" => Mutability::Immutable,
            "writeOnly" => Mutability::WriteOnly,
            _ => return None,
        })
    }
}

/// When an attribute is returned in a response (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Returned {
    /// Always, even when excluded.
    Always,
    /// Never.
    Never,
    /// Unless excluded, or unless `attributes` names others only.
    Default,
    /// Only when named in `attributes`.
    Request,
}

impl Returned {
    /// The name used in schema documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "always" => Returned::Always,
            "never" => Returned::Never,
            "default" => Returned::Default,
            "request" => Returned::Request,
            _ => return None,
        })
    }
}

/// How the service provider enforces uniqueness (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Uniqueness {
    /// No uniqueness.
    None,
    /// Unique within the tenant (the "server" in BlogIn is one tenant's endpoint).
    Server,
    /// Globally unique.
    Global,
}

impl Uniqueness {
    /// The name used in schema documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Uniqueness::None,
            "server" => Uniqueness::Server,
            "global" => Uniqueness::Global,
            _ => return None,
        })
    }
}

/// One attribute definition with all RFC 7643 §7 characteristics.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// Attribute name, in its canonical case.
    pub name: String,
    /// Data type.
    pub ty: AttrType,
    /// Whether the attribute holds a list of values.
    pub multi_valued: bool,
    /// Human-readable description.
    pub description: String,
    /// Whether a create/replace must carry it.
    pub required: bool,
    /// Whether string comparisons are case-sensitive.
    pub case_exact: bool,
    /// Mutability.
    pub mutability: Mutability,
    /// Returned.
    pub returned: Returned,
    /// Uniqueness.
    pub uniqueness: Uniqueness,
    /// Suggested values (not enforced: RFC 7643 lets providers accept others, and Entra does).
    pub canonical_values: Vec<String>,
    /// For references: the resource types or `external`/`uri` it may point to.
    pub reference_types: Vec<String>,
    /// For complex attributes: the sub-attributes.
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// A single-valued, optional, case-insensitive, readWrite, default-returned attribute.
    pub fn new(name: &str, ty: AttrType, description: &str) -> Self {
        Self {
            name: name.to_owned(),
            ty,
            multi_valued: false,
            description: description.to_owned(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }
    /// Shorthand for a `string` attribute.
    pub fn string(name: &str, description: &str) -> Self {
        Self::new(name, AttrType::String, description)
    }
    /// Shorthand for a `complex` attribute with the given sub-attributes.
    pub fn complex(name: &str, description: &str, subs: Vec<Attribute>) -> Self {
        Self {
            sub_attributes: subs,
            ..Self::new(name, AttrType::Complex, description)
        }
    }
    /// Marks the attribute multi-valued.
    pub fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    /// Marks the attribute required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// Marks string comparisons case-sensitive.
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    /// Sets the mutability.
    pub fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    /// Sets when the attribute is returned.
    pub fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    /// Sets the uniqueness.
    pub fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }
    /// Sets the canonical values.
    pub fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }
    /// Sets the reference types.
    pub fn references(mut self, types: &[&str]) -> Self {
        self.reference_types = types.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    /// The sub-attribute named `name`, compared case-insensitively.
    pub fn sub(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether PATCH and create may write it.
    pub fn is_read_only(&self) -> bool {
        self.mutability == Mutability::ReadOnly
    }

    /// The attribute's RFC 7643 §7 JSON representation (no `null`s, camelCase values).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.ty.as_str()));
        m.insert("multiValued".into(), json!(self.multi_valued));
        m.insert("description".into(), json!(self.description));
        m.insert("required".into(), json!(self.required));
        if !self.canonical_values.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        m.insert("caseExact".into(), json!(self.case_exact));
        m.insert("mutability".into(), json!(self.mutability.as_str()));
        m.insert("returned".into(), json!(self.returned.as_str()));
        m.insert("uniqueness".into(), json!(self.uniqueness.as_str()));
        if !self.reference_types.is_empty() {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if !self.sub_attributes.is_empty() {
            let subs: Vec<Value> = self.sub_attributes.iter().map(Attribute::to_json).collect();
            m.insert("subAttributes".into(), Value::Array(subs));
        }
        Value::Object(m)
    }

    /// Reads an attribute definition from its RFC 7643 §7 JSON form (used to register custom
    /// extension schemas at run time). Missing characteristics take the RFC 7643 §2.2 defaults.
    pub fn from_json(v: &Value) -> crate::Result<Self> {
        let bad = |what: &str| crate::ScimError::invalid_value(format!("schema attribute: {what}"));
        let o = v.as_object().ok_or_else(|| bad("must be an object"))?;
        let text = |k: &str| o.get(k).and_then(Value::as_str);
        let flag = |k: &str| o.get(k).and_then(Value::as_bool).unwrap_or(false);
        let list = |k: &str| -> Vec<String> {
            o.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let name = text("name").ok_or_else(|| bad("name is required"))?;
        if !crate::path::is_attr_name(name) {
            return Err(bad("name is not a valid attribute name"));
        }
        let ty =
            AttrType::parse(text("type").unwrap_or("string")).ok_or_else(|| bad("unknown type"))?;
        let sub_attributes = match o.get("subAttributes").and_then(Value::as_array) {
            Some(subs) => subs
                .iter()
                .map(Attribute::from_json)
                .collect::<crate::Result<_>>()?,
            None => Vec::new(),
        };
        Ok(Self {
            name: name.to_owned(),
            ty,
            multi_valued: flag("multiValued"),
            description: text("description").unwrap_or_default().to_owned(),
            required: flag("required"),
            case_exact: flag("caseExact"),
            mutability: text("mutability")
                .map(|s| Mutability::parse(s).ok_or_else(|| bad("unknown mutability")))
                .transpose()?
                .unwrap_or(Mutability::ReadWrite),
            returned: text("returned")
                .map(|s| Returned::parse(s).ok_or_else(|| bad("unknown returned")))
                .transpose()?
                .unwrap_or(Returned::Default),
            uniqueness: text("uniqueness")
                .map(|s| Uniqueness::parse(s).ok_or_else(|| bad("unknown uniqueness")))
                .transpose()?
                .unwrap_or(Uniqueness::None),
            canonical_values: list("canonicalValues"),
            reference_types: list("referenceTypes"),
            sub_attributes,
        })
    }
}

/// A schema: a URN and its attributes (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The schema URN, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Human-readable description.
    pub description: String,
    /// Top-level attributes (common attributes `id`, `externalId`, `meta` are not listed here).
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// The attribute named `name`, compared case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The schema's `/Schemas/{id}` document; `location` is the absolute or relative URL of it.
    pub fn to_json(&self, location: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(Attribute::to_json).collect::<Vec<_>>(),
            "meta": { "resourceType": "Schema", "location": location },
        })
    }

    /// Reads a schema from its `/Schemas` JSON form (custom extensions, ENTRA §6.4).
    pub fn from_json(v: &Value) -> crate::Result<Self> {
        let bad = |what: &str| crate::ScimError::invalid_value(format!("schema: {what}"));
        let id = v
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("id is required"))?;
        if !id.to_ascii_lowercase().starts_with("urn:") {
            return Err(bad("id must be a URN"));
        }
        let attrs = v
            .get("attributes")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("attributes is required"))?;
        Ok(Self {
            id: id.to_owned(),
            name: v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            description: v
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            attributes: attrs
                .iter()
                .map(Attribute::from_json)
                .collect::<crate::Result<_>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_json_round_trips_through_from_json() {
        for schema in [user_schema(), group_schema(), enterprise_user_schema()] {
            let back = Schema::from_json(&schema.to_json("/x")).unwrap();
            assert_eq!(back, schema);
        }
    }

    #[test]
    fn schema_documents_contain_no_nulls() {
        fn no_nulls(v: &Value) -> bool {
            match v {
                Value::Null => false,
                Value::Array(a) => a.iter().all(no_nulls),
                Value::Object(o) => o.values().all(no_nulls),
                _ => true,
            }
        }
        assert!(no_nulls(&user_schema().to_json("/Schemas/u")));
    }
}
