//! Resource metadata (RFC 7643 §3.1 `meta`) and versioning (RFC 7644 §3.14): the stored
//! version number becomes a weak entity tag `W/"<version>"`, returned as `meta.version` and
//! in the `ETag` header, and compared with `If-Match` / `If-None-Match`.
//!
//! Tags are compared weakly (the `W/` prefix is ignored). RFC 7232 §3.1 asks for the strong
//! comparison on `If-Match`, under which a weak tag never matches; but RFC 7644 §3.14 pairs
//! weak tags with `If-Match` in its own examples, and SCIM versions are whole-resource
//! revision numbers, so the weak comparison is the one that gives a useful answer.

use crate::schema::ResourceKind;
use crate::{Result, ScimError};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// The service-maintained metadata of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The resource type (`meta.resourceType`).
    pub resource_type: ResourceKind,
    /// When the resource was created.
    pub created: DateTime<Utc>,
    /// When the resource last changed (membership fan-out counts as a change).
    pub last_modified: DateTime<Utc>,
    /// The absolute URI of the resource (`meta.location`, also the `Location` header).
    pub location: String,
    /// The stored revision number; [`etag`] turns it into `meta.version`.
    pub version: u64,
}

impl Meta {
    /// Metadata for the resource `id` of `kind` served under `base_url` (the tenant's SCIM
    /// base, without a trailing slash): the location is `{base_url}/Users/{id}` or
    /// `{base_url}/Groups/{id}`.
    pub fn new(
        kind: ResourceKind,
        base_url: &str,
        id: &str,
        created: DateTime<Utc>,
        last_modified: DateTime<Utc>,
        version: u64,
    ) -> Self {
        Self {
            resource_type: kind,
            created,
            last_modified,
            location: location(base_url, kind, id),
            version,
        }
    }

    /// The entity tag of this version, `W/"<version>"`.
    pub fn etag(&self) -> String {
        etag(self.version)
    }

    /// The `meta` object: `resourceType`, `created`, `lastModified` (RFC 3339, UTC, with
    /// milliseconds), `location`, `version`.
    pub fn to_json(&self) -> Value {
        json!({
            "resourceType": self.resource_type.name(),
            "created": format_datetime(&self.created),
            "lastModified": format_datetime(&self.last_modified),
            "location": self.location,
            "version": self.etag(),
        })
    }
}

/// The absolute location of a resource: `{base_url}{endpoint}/{id}`; a trailing `/` on the base
/// is tolerated so that `…/scim/` and `…/scim` give the same URI.
pub fn location(base_url: &str, kind: ResourceKind, id: &str) -> String {
    format!("{}{}/{id}", base_url.trim_end_matches('/'), kind.endpoint())
}

/// A dateTime as SCIM resources carry it: RFC 3339 in UTC with milliseconds and `Z`
/// (`2018-03-27T19:59:26.000Z`, the form in Microsoft's examples).
pub fn format_datetime(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The weak entity tag for a version: `W/"<version>"`.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// The version an entity tag this service issued stands for (`W/"7"` or `"7"`); `None` for
/// tags it could not have issued.
pub fn parse_etag(tag: &str) -> Option<u64> {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    let inner = tag.strip_prefix('"')?.strip_suffix('"')?;
    if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    inner.parse().ok()
}

/// A parsed `If-Match` (or `If-None-Match`) header: `*` or a list of entity tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version.
    Any,
    /// The opaque tags listed (without `W/` and quotes). Tags this service cannot have issued
    /// are kept, and simply match nothing.
    Tags(Vec<String>),
}

impl IfMatch {
    /// Parses a header value: `*`, or a comma-separated list of `W/"…"` / `"…"` tags. A bare
    /// unquoted tag (`7`) is accepted leniently. An empty list or an unterminated quote is
    /// `400 invalidSyntax`.
    pub fn parse(header: &str) -> Result<Self> {
        let header = header.trim();
        if header == "*" {
            return Ok(IfMatch::Any);
        }
        let bad = || ScimError::invalid_syntax("the entity-tag precondition header is malformed");
        let mut tags = Vec::new();
        for item in split_tags(header).ok_or_else(bad)? {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let opaque = item.strip_prefix("W/").unwrap_or(item);
            let opaque = match opaque.strip_prefix('"') {
                Some(rest) => rest.strip_suffix('"').ok_or_else(bad)?,
                None if opaque.contains('"') || item == "*" => return Err(bad()),
                None => opaque,
            };
            tags.push(opaque.to_owned());
        }
        if tags.is_empty() {
            return Err(bad());
        }
        Ok(IfMatch::Tags(tags))
    }

    /// Whether the resource at `version` satisfies the precondition (for `If-Match`: proceed;
    /// for `If-None-Match`: the client's copy is current).
    pub fn matches(&self, version: u64) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Tags(tags) => {
                let current = version.to_string();
                tags.contains(&current)
            }
        }
    }

    /// `Ok(())` when the precondition holds, else `412 Precondition Failed`.
    pub fn check(&self, version: u64) -> Result<()> {
        if self.matches(version) {
            Ok(())
        } else {
            Err(ScimError::precondition_failed(
                "the resource has changed: its version does not match If-Match",
            ))
        }
    }
}

/// Splits at commas outside quotes; `None` when a quote is left open.
fn split_tags(s: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return None;
    }
    out.push(&s[start..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScimType;
    use chrono::TimeZone;
    use pretty_assertions::assert_eq;

    fn t(secs: i64, millis: u32) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, millis * 1_000_000).unwrap()
    }

    #[test]
    fn meta_renders_rfc3339_millisecond_utc_times_and_a_weak_etag() {
        let meta = Meta::new(
            ResourceKind::User,
            "https://example.com/scim/v2/acme/",
            "2819c223",
            t(1_522_180_766, 0),
            t(1_522_180_767, 42),
            7,
        );
        assert_eq!(
            meta.to_json(),
            json!({
                "resourceType": "User",
                "created": "2018-03-27T19:59:26.000Z",
                "lastModified": "2018-03-27T19:59:27.042Z",
                "location": "https://example.com/scim/v2/acme/Users/2819c223",
                "version": "W/\"7\"",
            })
        );
    }

    #[test]
    fn group_location_uses_the_groups_endpoint() {
        assert_eq!(
            location("https://h/scim", ResourceKind::Group, "g1"),
            "https://h/scim/Groups/g1"
        );
    }

    #[test]
    fn etag_round_trips_through_parse_etag() {
        for v in [0, 1, 42, u64::MAX] {
            assert_eq!(parse_etag(&etag(v)), Some(v));
        }
        assert_eq!(parse_etag("\"5\""), Some(5));
        for bad in [
            "5",
            "W/\"\"",
            "W/\"e180ee84f0671b1\"",
            "W/\"-1\"",
            "\"99999999999999999999\"",
        ] {
            assert_eq!(parse_etag(bad), None, "{bad}");
        }
    }

    #[test]
    fn if_match_star_matches_every_version() {
        let m = IfMatch::parse(" * ").unwrap();
        assert_eq!(m, IfMatch::Any);
        assert!(m.matches(0) && m.matches(99));
    }

    #[test]
    fn if_match_compares_weak_and_strong_tags_weakly() {
        let m = IfMatch::parse("W/\"3\", \"5\"").unwrap();
        assert_eq!(m, IfMatch::Tags(vec!["3".into(), "5".into()]));
        assert!(m.matches(3) && m.matches(5));
        assert!(!m.matches(4));
        assert_eq!(m.check(4).unwrap_err().status(), 412);
        assert!(m.check(5).is_ok());
    }

    #[test]
    fn if_match_with_a_foreign_tag_matches_nothing() {
        let m = IfMatch::parse("W/\"e180ee84f0671b1\"").unwrap();
        assert!(!m.matches(1));
    }

    #[test]
    fn if_match_tags_may_contain_commas_inside_quotes() {
        assert_eq!(
            IfMatch::parse("\"a,b\", W/\"2\"").unwrap(),
            IfMatch::Tags(vec!["a,b".into(), "2".into()])
        );
    }

    #[test]
    fn unquoted_if_match_tag_is_accepted_leniently() {
        assert!(IfMatch::parse("7").unwrap().matches(7));
    }

    #[test]
    fn malformed_if_match_is_invalid_syntax() {
        for bad in ["", " , ", "\"3", "W/\"3", "a\"b", "*, \"3\""] {
            let e = IfMatch::parse(bad).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidSyntax), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn if_match_parsing_never_panics_and_our_own_etags_always_match(header in ".{0,40}", v in 0u64..) {
            let _ = IfMatch::parse(&header);
            let m = IfMatch::parse(&etag(v)).unwrap();
            proptest::prop_assert!(m.matches(v));
            proptest::prop_assert!(!m.matches(v.wrapping_add(1)));
        }
    }
}
