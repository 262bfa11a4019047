//! Attribute paths (RFC 7644 §3.10): `userName`, `name.givenName`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, and PATCH target
//! paths with a value filter, `emails[type eq "work"].value` (RFC 7644 §3.5.2).

use crate::filter::Filter;
use crate::{Result, ScimError};
use std::fmt;

/// A possibly URN-qualified attribute name with an optional sub-attribute.
///
/// Names keep the case they were written in; [`crate::schema::Registry::resolve`] matches them
/// case-insensitively and yields the canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN prefix, when the path is qualified.
    pub urn: Option<String>,
    /// The top-level attribute name.
    pub name: String,
    /// The sub-attribute name, for `name.sub`.
    pub sub: Option<String>,
}

/// Whether `s` starts with `urn:` (any case) and has more after it: what names a schema
/// rather than an attribute. Byte-safe for any input (a multi-byte first character must not
/// be cut in half).
pub(crate) fn is_urn_like(s: &str) -> bool {
    s.len() > 4 && s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// Whether `s` is an RFC 7644 ATTRNAME (`ALPHA *(nameChar)`) or `$ref`.
pub fn is_attr_name(s: &str) -> bool {
    if s == "$ref" {
        return true;
    }
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl AttrPath {
    /// An unqualified path to a top-level attribute.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            urn: None,
            name: name.into(),
            sub: None,
        }
    }

    /// Adds a sub-attribute.
    pub fn with_sub(mut self, sub: impl Into<String>) -> Self {
        self.sub = Some(sub.into());
        self
    }

    /// Parses `attr`, `attr.sub`, `urn:…:attr` or `urn:…:attr.sub`. The URN ends at the last
    /// `:` because URNs themselves contain dots (`…:2.0:User`).
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || ScimError::invalid_path(format!("'{s}' is not a valid attribute path"));
        let (urn, rest) =
            if s.len() > 4 && s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
                let i = s.rfind(':').ok_or_else(bad)?;
                (Some(s[..i].to_owned()), &s[i + 1..])
            } else {
                (None, s)
            };
        let (name, sub) = match rest.split_once('.') {
            Some((n, sub)) => (n, Some(sub)),
            None => (rest, None),
        };
        if !is_attr_name(name) || sub.is_some_and(|s| !is_attr_name(s)) {
            return Err(bad());
        }
        if urn
            .as_deref()
            .is_some_and(|u| u.len() <= 4 || u.ends_with(':') || u.chars().any(char::is_whitespace))
        {
            return Err(bad());
        }
        Ok(Self {
            urn,
            name: name.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A PATCH target (RFC 7644 §3.5.2 `path`): an attribute path, optionally with a value filter
/// on a multi-valued attribute and a sub-attribute after it.
///
/// `emails[type eq "work"].value` is `{ attr: emails.value, filter: Some(type eq "work") }`;
/// `name.givenName` is `{ attr: name.givenName, filter: None }`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute (and sub-attribute) addressed.
    pub attr: AttrPath,
    /// The value filter selecting elements of a multi-valued attribute; its attribute paths
    /// are relative to the element (sub-attribute names).
    pub filter: Option<Filter>,
}

impl PatchPath {
    /// Parses a PATCH `path`: `attr`, `attr.sub`, `urn:…:attr(.sub)`, `attr[filter]`,
    /// `attr[filter].sub`, `urn:…:attr[filter].sub`. Structural errors are `invalidPath`; errors
    /// inside the brackets are `invalidFilter`. Inputs over 4096 characters are rejected.
    pub fn parse(s: &str) -> Result<Self> {
        crate::filter::parse_patch_path(s)
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.filter {
            None => write!(f, "{}", self.attr),
            Some(filter) => {
                if let Some(urn) = &self.attr.urn {
                    write!(f, "{urn}:")?;
                }
                write!(f, "{}[{filter}]", self.attr.name)?;
                if let Some(sub) = &self.attr.sub {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multibyte_name_is_not_cut_when_looking_for_a_urn() {
        for s in ["\"🇫🇷\"", "€€", "é.urn", "urn:x", "URN:ietf"] {
            let _ = is_urn_like(s);
        }
        assert!(is_urn_like("URN:ietf"));
        assert!(!is_urn_like("\"🇫🇷\""));
        assert!(!is_urn_like("urn:"));
    }

    #[test]
    fn urn_qualified_path_splits_at_the_last_colon() {
        let p = AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .unwrap();
        assert_eq!(
            p.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(p.name, "manager");
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert_eq!(
            p.to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        );
    }

    #[test]
    fn dotted_path_has_a_sub_attribute() {
        assert_eq!(
            AttrPath::parse("name.givenName").unwrap(),
            AttrPath::new("name").with_sub("givenName")
        );
        assert_eq!(
            AttrPath::parse("members.$ref").unwrap(),
            AttrPath::new("members").with_sub("$ref")
        );
    }

    #[test]
    fn malformed_paths_are_invalid_path() {
        for p in ["", "1abc", "a.b.c", "a b", "urn:", "urn::x", "name.", ".x"] {
            let e = AttrPath::parse(p).unwrap_err();
            assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidPath), "{p}");
        }
    }
}
