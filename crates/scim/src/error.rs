//! SCIM protocol errors (RFC 7644 §3.12): every failure a client can see, with its HTTP status
//! and `scimType`, and the `urn:ietf:params:scim:api:messages:2.0:Error` body it renders to.
//!
//! Details never carry attribute *values* (they may be personal data), only attribute names,
//! positions and reasons.

use serde::{Deserialize, Serialize};

/// URN of the SCIM error message schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` detail error keywords of RFC 7644 §3.12, table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    /// The filter syntax was invalid or the operator/attribute combination is not supported (400).
    InvalidFilter,
    /// The filter yields too many results for the server to process (400).
    TooMany,
    /// One or more attribute values are already in use or reserved (409).
    Uniqueness,
    /// The modification is incompatible with the target attribute's mutability (400).
    Mutability,
    /// The request body structure was invalid or did not conform to the schema (400).
    InvalidSyntax,
    /// The `path` attribute was invalid or malformed (400).
    InvalidPath,
    /// The specified `path` did not yield an attribute or value that could be operated on (400).
    NoTarget,
    /// A required value was missing, or the value was not compatible with the attribute (400).
    InvalidValue,
    /// The specified SCIM protocol version is not supported (400).
    InvalidVers,
    /// The request cannot be completed because of sensitive information in the URI (403).
    Sensitive,
}

impl ScimType {
    /// Every keyword defined by RFC 7644 §3.12.
    pub const ALL: [ScimType; 10] = [
        ScimType::InvalidFilter,
        ScimType::TooMany,
        ScimType::Uniqueness,
        ScimType::Mutability,
        ScimType::InvalidSyntax,
        ScimType::InvalidPath,
        ScimType::NoTarget,
        ScimType::InvalidValue,
        ScimType::InvalidVers,
        ScimType::Sensitive,
    ];

    /// The HTTP status RFC 7644 §3.12 pairs with this keyword.
    pub fn status(self) -> u16 {
        match self {
            ScimType::Uniqueness => 409,
            ScimType::Sensitive => 403,
            _ => 400,
        }
    }

    /// The keyword as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

impl std::fmt::Display for ScimType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM error: an HTTP status, an optional `scimType` and a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}{}: {detail}", scim_type.map(|t| format!(" {t}")).unwrap_or_default())]
pub struct ScimError {
    status: u16,
    scim_type: Option<ScimType>,
    detail: String,
}

/// Longest `detail` kept, in bytes. Details quote the client's input (an attribute name, a
/// filter, an id) to say what was wrong; a client sending megabytes must not get them echoed
/// back, stored in the provisioning log or written to a log line.
pub const MAX_DETAIL: usize = 512;

/// `detail` with control characters escaped (`\u{0}`: a quoted NUL would break the
/// provisioning log on PostgreSQL, and a raw newline or escape sequence forge log lines), cut
/// to [`MAX_DETAIL`] bytes at a character boundary, marked with `…` when cut.
fn bounded(detail: String) -> String {
    let detail = if detail.chars().any(char::is_control) {
        detail
            .chars()
            .map(|c| {
                if c.is_control() {
                    format!("\\u{{{:x}}}", u32::from(c))
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        detail
    };
    if detail.len() <= MAX_DETAIL {
        return detail;
    }
    let mut end = MAX_DETAIL;
    while !detail.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &detail[..end])
}

impl ScimError {
    /// An error with a `scimType`; the status is the one RFC 7644 assigns to that keyword.
    pub fn new(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self {
            status: scim_type.status(),
            scim_type: Some(scim_type),
            detail: bounded(detail.into()),
        }
    }

    /// An error with only a status (404, 412, 413, 500, 501, 503, …).
    pub fn status_only(status: u16, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: bounded(detail.into()),
        }
    }

    /// `400 invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidFilter, detail)
    }
    /// `400 invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidPath, detail)
    }
    /// `400 invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidValue, detail)
    }
    /// `400 invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidSyntax, detail)
    }
    /// `400 mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(ScimType::Mutability, detail)
    }
    /// `400 noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(ScimType::NoTarget, detail)
    }
    /// `409 uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(ScimType::Uniqueness, detail)
    }
    /// `400 tooMany`.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::new(ScimType::TooMany, detail)
    }
    /// `404`: the resource does not exist (in this tenant).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::status_only(404, detail)
    }
    /// `412`: the `If-Match` version is stale.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::status_only(412, detail)
    }

    /// HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The `scimType` keyword, if any.
    pub fn scim_type(&self) -> Option<ScimType> {
        self.scim_type
    }
    /// Human-readable detail (never contains attribute values).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The RFC 7644 §3.12 JSON body.
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody {
            schemas: vec![ERROR_SCHEMA.to_owned()],
            status: self.status.to_string(),
            scim_type: self.scim_type,
            detail: Some(self.detail.clone()),
        }
    }

    /// Rebuilds an error from a received body (for clients and transports that carry the body).
    pub fn from_body(body: &ErrorBody) -> Self {
        Self {
            status: body.status.parse().unwrap_or(500),
            scim_type: body.scim_type,
            detail: body.detail.clone().unwrap_or_default(),
        }
    }
}

/// The `urn:ietf:params:scim:api:messages:2.0:Error` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Always `[ERROR_SCHEMA]`.
    pub schemas: Vec<String>,
    /// HTTP status as a string (RFC 7644 §3.12).
    pub status: String,
    /// `scimType` keyword, when one applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<ScimType>,
    /// Human-readable detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Result alias for SCIM operations.
pub type Result<T, E = ScimError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_details_are_escaped() {
        let e = ScimError::invalid_value("member value 'a\0b\nc\u{85}' is not a resource id");
        assert_eq!(
            e.detail(),
            "member value 'a\\u{0}b\\u{a}c\\u{85}' is not a resource id"
        );
    }

    #[test]
    fn every_scim_type_has_the_status_rfc_7644_assigns() {
        for t in ScimType::ALL {
            let expected = match t {
                ScimType::Uniqueness => 409,
                ScimType::Sensitive => 403,
                _ => 400,
            };
            let e = ScimError::new(t, "x");
            assert_eq!(e.status(), expected, "{t}");
            let body = serde_json::to_value(e.to_body()).unwrap();
            assert_eq!(body["status"], expected.to_string());
            assert_eq!(body["scimType"], t.as_str());
            assert_eq!(body["schemas"][0], ERROR_SCHEMA);
        }
    }

    #[test]
    fn status_only_errors_omit_scim_type_and_render_status_as_string() {
        let body =
            serde_json::to_value(ScimError::not_found("Resource not found").to_body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "schemas": [ERROR_SCHEMA], "status": "404", "detail": "Resource not found"
            })
        );
    }

    #[test]
    fn error_body_round_trips() {
        let e = ScimError::uniqueness("userName is already taken");
        assert_eq!(ScimError::from_body(&e.to_body()), e);
    }

    #[test]
    fn details_quoting_huge_input_are_bounded() {
        let e =
            ScimError::invalid_filter(format!("attribute '{}' is not defined", "é".repeat(10_000)));
        assert!(e.detail().len() <= MAX_DETAIL + '…'.len_utf8());
        assert!(e.detail().ends_with('…'));
        assert_eq!(ScimError::not_found("short").detail(), "short");
    }
}
