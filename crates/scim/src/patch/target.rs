//! What a PATCH path (or a key of a path-less value) names: an attribute of the resource with
//! its schema characteristics, an optional sub-attribute and a resolved value filter — or a
//! whole extension object.

use super::element;
use crate::filter::Filter;
use crate::path::AttrPath;
use crate::schema::{AttrType, Attribute, Registry, ResourceKind, Schema};
use crate::{Result, ScimError};

/// Where the name came from; it decides the error type of an unknown name (RFC 7644 §3.12:
/// `invalidPath` for a bad `path`, `invalidValue` for a bad attribute inside a value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// The operation's `path`.
    Path,
    /// A key of a path-less operation's value object.
    Value,
}

/// A resolved attribute target.
#[derive(Debug, Clone)]
pub(super) struct Target<'r> {
    /// Canonical URN of the defining schema.
    pub(super) schema: &'r str,
    /// Whether the attribute lives under `body[schema]`.
    pub(super) in_extension: bool,
    /// The top-level attribute.
    pub(super) attr: &'r Attribute,
    /// The sub-attribute, if the path named one.
    pub(super) sub: Option<&'r Attribute>,
    /// The value filter, resolved against `attr` (canonical sub-attribute names).
    pub(super) filter: Option<Filter>,
    /// The canonical path for error details; a filter shows as `[…]` because its comparison
    /// values may be personal data.
    pub(super) path: String,
}

impl Target<'_> {
    /// The path of the attribute or, when named, the sub-attribute (for coercion errors).
    pub(super) fn attr_path(&self) -> String {
        match self.sub {
            Some(sub) => format!("{}.{}", self.attr.name, sub.name),
            None => self.attr.name.clone(),
        }
    }
}

/// What a path resolved to.
#[derive(Debug)]
pub(super) enum Resolution<'r> {
    /// An attribute.
    Attr(Target<'r>),
    /// An extension object as a whole (`path: "urn:…:enterprise:2.0:User"`).
    Extension(&'r Schema),
}

/// Resolves a path and its filter for `kind`.
pub(super) fn resolve<'r>(
    registry: &'r Registry,
    kind: ResourceKind,
    path: &AttrPath,
    filter: Option<&Filter>,
    origin: Origin,
) -> Result<Resolution<'r>> {
    let unknown = |what: &str| {
        let detail = format!(
            "attribute '{what}' is not defined by any schema of {}",
            kind.name()
        );
        match origin {
            Origin::Path => ScimError::invalid_path(detail),
            Origin::Value => ScimError::invalid_value(detail),
        }
    };
    let top = AttrPath {
        urn: path.urn.clone(),
        name: path.name.clone(),
        sub: None,
    };
    let (resolved, sub_name) = match registry.resolve(kind, &top) {
        Some(r) => (r, path.sub.as_deref()),
        None => {
            // `urn:…:2.0:User` parses as URN `urn:…:2.0` + name `User`; `urn:…:2.0:User.manager`
            // (the pre-2018 Entra dot form) as that plus sub `manager`.
            let ext = path
                .urn
                .as_ref()
                .filter(|_| filter.is_none())
                .and_then(|urn| registry.extension(kind, &format!("{urn}:{}", path.name)))
                .ok_or_else(|| unknown(&path.to_string()))?;
            let Some(name) = &path.sub else {
                return Ok(Resolution::Extension(ext));
            };
            let inner = AttrPath {
                urn: Some(ext.id.clone()),
                name: name.clone(),
                sub: None,
            };
            (
                registry
                    .resolve(kind, &inner)
                    .ok_or_else(|| unknown(&path.to_string()))?,
                None,
            )
        }
    };
    let attr = resolved.attr;
    let prefix = if resolved.in_extension {
        format!("{}:", resolved.schema)
    } else {
        String::new()
    };
    let sub = match sub_name {
        Some(name) => Some(
            attr.sub(name)
                .ok_or_else(|| unknown(&format!("{prefix}{}.{name}", attr.name)))?,
        ),
        None => None,
    };
    let filter = match filter {
        Some(_) if attr.ty != AttrType::Complex => {
            return Err(ScimError::invalid_path(format!(
                "attribute '{prefix}{}' is not complex; a value filter cannot select its values",
                attr.name
            )));
        }
        Some(f) => Some(element::resolve_filter(f, attr)?),
        None => None,
    };
    let mut shown = format!("{prefix}{}", attr.name);
    if filter.is_some() {
        shown.push_str("[…]");
    }
    if let Some(sub) = sub {
        shown = format!("{shown}.{}", sub.name);
    }
    Ok(Resolution::Attr(Target {
        schema: resolved.schema,
        in_extension: resolved.in_extension,
        attr,
        sub,
        filter,
        path: shown,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScimType;
    use crate::path::PatchPath;
    use crate::schema::ENTERPRISE_USER;

    fn target(kind: ResourceKind, p: &str, origin: Origin) -> Result<String> {
        let reg = Registry::new();
        let pp = PatchPath::parse(p).unwrap();
        Ok(
            match resolve(&reg, kind, &pp.attr, pp.filter.as_ref(), origin)? {
                Resolution::Attr(t) => t.path,
                Resolution::Extension(s) => format!("extension {}", s.id),
            },
        )
    }

    #[test]
    fn names_resolve_case_insensitively_to_canonical_paths() {
        let user = ResourceKind::User;
        assert_eq!(
            target(user, "NAME.givenname", Origin::Path).unwrap(),
            "name.givenName"
        );
        assert_eq!(
            target(user, "emails[type eq \"work\"].Value", Origin::Path).unwrap(),
            "emails[…].value"
        );
        assert_eq!(
            target(
                user,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:Manager",
                Origin::Path
            )
            .unwrap(),
            format!("{ENTERPRISE_USER}:manager")
        );
        assert_eq!(
            target(user, "manager", Origin::Path).unwrap(),
            format!("{ENTERPRISE_USER}:manager")
        );
    }

    #[test]
    fn an_extension_urn_path_names_the_extension_object() {
        let got = target(
            ResourceKind::User,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user",
            Origin::Path,
        );
        assert_eq!(got.unwrap(), format!("extension {ENTERPRISE_USER}"));
    }

    #[test]
    fn the_old_dot_form_of_extension_attributes_resolves() {
        let got = target(
            ResourceKind::User,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.employeeNumber",
            Origin::Path,
        );
        assert_eq!(got.unwrap(), format!("{ENTERPRISE_USER}:employeeNumber"));
    }

    #[test]
    fn unknown_names_are_invalid_path_or_invalid_value_by_origin() {
        let e = target(ResourceKind::User, "favouriteColour", Origin::Path).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidPath));
        assert!(e.detail().contains("favouriteColour"), "{e}");
        let e = target(ResourceKind::User, "name.nickname", Origin::Value).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        assert!(e.detail().contains("name.nickname"), "{e}");
        assert!(target(ResourceKind::Group, "userName", Origin::Path).is_err());
    }

    #[test]
    fn a_value_filter_on_a_simple_attribute_is_invalid_path() {
        let e = target(ResourceKind::User, "userName[value eq \"x\"]", Origin::Path).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidPath));
    }

    #[test]
    fn filter_values_never_appear_in_the_shown_path() {
        let p = target(
            ResourceKind::User,
            "emails[value eq \"secret@x.com\"]",
            Origin::Path,
        )
        .unwrap();
        assert!(!p.contains("secret"), "{p}");
    }
}
