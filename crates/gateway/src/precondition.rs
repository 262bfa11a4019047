//! `If-Match` (RFC 7644 §3.14) → the version a write command expects. The store checks the
//! version inside the write's transaction, so the comparison is atomic with the change; the
//! gateway only has to say which version the client meant.

use crate::error::GatewayError;
use http::HeaderMap;
use http::header::IF_MATCH;
use scim::ScimError;
use scim::meta::IfMatch;

/// What an `If-Match` header asks of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Precondition {
    /// No header, or `*`: write whatever the current version is.
    None,
    /// Exactly one of our tags: the write must find this version.
    Version(u64),
    /// Several tags (or one we cannot have issued): the current version must be read first,
    /// and the write then expects it if it is among `tags`, else `412`.
    OneOf(IfMatch),
}

impl Precondition {
    /// Reads the header; a malformed one is `400 invalidSyntax`.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Result<Self, GatewayError> {
        let Some(value) = headers.get(IF_MATCH) else {
            return Ok(Precondition::None);
        };
        let text = value
            .to_str()
            .map_err(|_| ScimError::invalid_syntax("the If-Match header is not visible ASCII"))?;
        Ok(Self::from_if_match(IfMatch::parse(text)?))
    }

    /// Maps a parsed header.
    pub(crate) fn from_if_match(if_match: IfMatch) -> Self {
        match &if_match {
            IfMatch::Any => Precondition::None,
            IfMatch::Tags(tags) => match tags.as_slice() {
                [tag] if !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_digit()) => {
                    match tag.parse() {
                        Ok(version) => Precondition::Version(version),
                        Err(_) => Precondition::OneOf(if_match),
                    }
                }
                _ => Precondition::OneOf(if_match),
            },
        }
    }
}

/// The version to expect given the current one, for [`Precondition::OneOf`].
pub(crate) fn pick(if_match: &IfMatch, current: u64) -> Result<u64, GatewayError> {
    if_match.check(current)?;
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use pretty_assertions::assert_eq;

    fn from(value: &str) -> Result<Precondition, GatewayError> {
        let mut h = HeaderMap::new();
        h.insert(IF_MATCH, HeaderValue::from_str(value).unwrap());
        Precondition::from_headers(&h)
    }

    #[test]
    fn if_match_maps_to_the_expected_version() {
        assert_eq!(
            Precondition::from_headers(&HeaderMap::new()).unwrap(),
            Precondition::None
        );
        assert_eq!(from("*").unwrap(), Precondition::None);
        assert_eq!(from("W/\"7\"").unwrap(), Precondition::Version(7));
        assert_eq!(from("\"7\"").unwrap(), Precondition::Version(7));
        assert_eq!(
            from("W/\"3\", W/\"5\"").unwrap(),
            Precondition::OneOf(IfMatch::Tags(vec!["3".into(), "5".into()]))
        );
        assert_eq!(
            from("W/\"e180ee84f0671b1\"").unwrap(),
            Precondition::OneOf(IfMatch::Tags(vec!["e180ee84f0671b1".into()]))
        );
        assert_eq!(
            from("\"99999999999999999999\"").unwrap(),
            Precondition::OneOf(IfMatch::Tags(vec!["99999999999999999999".into()]))
        );
    }

    #[test]
    fn malformed_if_match_is_invalid_syntax() {
        let e = from("W/\"3").unwrap_err().to_scim();
        assert_eq!(
            (e.status(), e.scim_type()),
            (400, Some(scim::ScimType::InvalidSyntax))
        );
    }

    #[test]
    fn several_tags_pick_the_current_version_or_fail_with_412() {
        let m = IfMatch::Tags(vec!["3".into(), "5".into()]);
        assert_eq!(pick(&m, 5).unwrap(), 5);
        assert_eq!(pick(&m, 4).unwrap_err().to_scim().status(), 412);
    }
}
