//! Bulk messages (RFC 7644 §3.7): `BulkRequest`, `BulkResponse` and their operations, as
//! serde types with a structural check. BlogIn advertises `bulk.supported: false` (Entra does
//! not use `/Bulk`, ENTRA §7); these types exist so the gateway can answer precisely and so a
//! later `/Bulk` endpoint starts from checked messages.
//!
//! On the wire `method` is upper-case (read in any case) and `status` is a string (`"201"`,
//! as in RFC 7644's examples; a number is read too).

use crate::{Result, ScimError};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// URN of the `BulkRequest` message.
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// URN of the `BulkResponse` message.
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// The HTTP method of one bulk operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BulkMethod {
    /// Create.
    Post,
    /// Replace.
    Put,
    /// Modify.
    Patch,
    /// Delete.
    Delete,
}

impl BulkMethod {
    /// The method name, upper-case.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }

    /// Parses a method name in any case.
    pub fn parse(s: &str) -> Option<Self> {
        [
            BulkMethod::Post,
            BulkMethod::Put,
            BulkMethod::Patch,
            BulkMethod::Delete,
        ]
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(s))
    }
}

impl Serialize for BulkMethod {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for BulkMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        BulkMethod::parse(&s)
            .ok_or_else(|| D::Error::custom("method must be POST, PUT, PATCH or DELETE"))
    }
}

/// A `BulkRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkRequest {
    /// `[BULK_REQUEST]`.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// How many errors to accept before the rest of the operations are skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_on_errors: Option<u32>,
    /// The operations, in order.
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<BulkOperation>,
}

/// One operation of a `BulkRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    /// The HTTP method.
    pub method: BulkMethod,
    /// The client's surrogate id for a resource this request creates (required for `POST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The entity tag the client expects the resource to have (`PUT`, `PATCH`, `DELETE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `/Users` or `/Groups` for `POST`; `/Users/{id}` or `/Groups/{id}` otherwise.
    pub path: String,
    /// The body of the corresponding single request (absent for `DELETE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// A `BulkResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkResponse {
    /// `[BULK_RESPONSE]`.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// One result per processed operation, in request order.
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<BulkOperationResponse>,
}

/// The result of one bulk operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationResponse {
    /// The method of the operation.
    pub method: BulkMethod,
    /// The operation's `bulkId`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The resource's new entity tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The resource's URI (absent when a `POST` failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The error body when the operation failed (optionally the resource otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// The HTTP status of the operation.
    #[serde(serialize_with = "status_out", deserialize_with = "status_in")]
    pub status: u16,
}

fn status_out<S: Serializer>(status: &u16, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(&status.to_string())
}

fn status_in<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<u16, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| D::Error::custom("status must be an HTTP status code")),
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| D::Error::custom("status must be an HTTP status code")),
        _ => Err(D::Error::custom("status must be an HTTP status code")),
    }
}

impl BulkRequest {
    /// A request with the right `schemas`.
    pub fn new(operations: Vec<BulkOperation>) -> Self {
        Self {
            schemas: vec![BULK_REQUEST.to_owned()],
            fail_on_errors: None,
            operations,
        }
    }

    /// Reads a request body. Structural errors are `400 invalidSyntax`; their detail names a
    /// missing field at most, never a value.
    pub fn parse(body: &Value) -> Result<Self> {
        serde_json::from_value(body.clone()).map_err(|e| {
            let msg = e.to_string();
            let detail = if msg.starts_with("missing field") || msg.starts_with("method must") {
                format!("invalid BulkRequest: {msg}")
            } else {
                "invalid BulkRequest: the body does not have the RFC 7644 §3.7 structure".to_owned()
            };
            ScimError::invalid_syntax(detail)
        })
    }

    /// Checks the request against RFC 7644 §3.7 and the server's limit: at most
    /// `max_operations` operations (else `413`, §3.7.4), a unique `bulkId` and `data` on every
    /// `POST`, `data` on every `PUT`/`PATCH`, and a non-empty `path` (else `400 invalidSyntax`
    /// naming the operation's index).
    pub fn check(&self, max_operations: u32) -> Result<()> {
        if self.operations.len() > max_operations as usize {
            return Err(ScimError::status_only(
                413,
                format!("the bulk request has more than {max_operations} operations"),
            ));
        }
        let mut bulk_ids: Vec<&str> = Vec::new();
        for (i, op) in self.operations.iter().enumerate() {
            let bad = |what: &str| ScimError::invalid_syntax(format!("Operations[{i}]: {what}"));
            if op.path.trim().is_empty() {
                return Err(bad("path is required"));
            }
            if op.method != BulkMethod::Delete && op.data.is_none() {
                return Err(bad("data is required"));
            }
            match op.bulk_id.as_deref() {
                Some(id) if bulk_ids.contains(&id) => return Err(bad("bulkId is not unique")),
                Some(id) if !id.is_empty() => bulk_ids.push(id),
                _ if op.method == BulkMethod::Post => {
                    return Err(bad("bulkId is required for POST"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl BulkResponse {
    /// A response with the right `schemas`.
    pub fn new(operations: Vec<BulkOperationResponse>) -> Self {
        Self {
            schemas: vec![BULK_RESPONSE.to_owned()],
            operations,
        }
    }
}

impl BulkOperationResponse {
    /// The result of an operation that failed: its status and the RFC 7644 §3.12 error body.
    pub fn error(method: BulkMethod, bulk_id: Option<String>, error: &ScimError) -> Self {
        Self {
            method,
            bulk_id,
            version: None,
            location: None,
            response: serde_json::to_value(error.to_body()).ok(),
            status: error.status(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScimType;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    /// RFC 7644 §3.7.2, the request creating a user and a group that references it by bulkId.
    fn rfc_request() -> Value {
        json!({
            "schemas": [BULK_REQUEST],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "qwerty",
                    "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Alice"}
                },
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "ytrewq",
                    "data": {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Tour Guides",
                        "members": [{"type": "User", "value": "bulkId:qwerty"}]
                    }
                },
                {
                    "method": "PATCH",
                    "path": "/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
                    "version": "W/\"lha5bbazU3fNvfe5\"",
                    "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}
                },
                {"method": "DELETE", "path": "/Users/b7c14771-226c-4d05-8860-134711653041", "version": "W/\"0ee8add0a938e1a\""}
            ]
        })
    }

    #[test]
    fn rfc7644_bulk_request_round_trips() {
        let req = BulkRequest::parse(&rfc_request()).unwrap();
        assert_eq!(req.operations.len(), 4);
        assert_eq!(req.operations[0].method, BulkMethod::Post);
        assert_eq!(req.operations[0].bulk_id.as_deref(), Some("qwerty"));
        assert_eq!(req.operations[3].data, None);
        assert_eq!(serde_json::to_value(&req).unwrap(), rfc_request());
        assert!(req.check(10).is_ok());
    }

    /// RFC 7644 §3.7.3, a response with a success and a failure.
    #[test]
    fn rfc7644_bulk_response_round_trips_with_string_statuses() {
        let wire = json!({
            "schemas": [BULK_RESPONSE],
            "Operations": [
                {
                    "location": "https://example.com/v2/Users/92b725cd-9465-4e7d-8c16-01f8e146b87a",
                    "method": "POST",
                    "bulkId": "qwerty",
                    "version": "W/\"4weymrEsh5O6cAEK\"",
                    "status": "201"
                },
                {
                    "method": "POST",
                    "bulkId": "ytrewq",
                    "status": "400",
                    "response": {
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                        "scimType": "invalidSyntax",
                        "detail": "Request is unparsable, syntactically incorrect, or violates schema.",
                        "status": "400"
                    }
                }
            ]
        });
        let resp: BulkResponse = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(resp.operations[0].status, 201);
        assert_eq!(resp.operations[1].status, 400);
        assert_eq!(serde_json::to_value(&resp).unwrap(), wire);
    }

    #[test]
    fn error_results_carry_the_scim_error_body() {
        let e = ScimError::uniqueness("userName is already taken");
        let result = BulkOperationResponse::error(BulkMethod::Post, Some("q".into()), &e);
        let resp = BulkResponse::new(vec![result]);
        assert_eq!(
            serde_json::to_value(&resp).unwrap(),
            json!({
                "schemas": [BULK_RESPONSE],
                "Operations": [{
                    "method": "POST",
                    "bulkId": "q",
                    "response": {
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                        "status": "409",
                        "scimType": "uniqueness",
                        "detail": "userName is already taken"
                    },
                    "status": "409"
                }]
            })
        );
    }

    #[test]
    fn methods_are_read_in_any_case_and_statuses_as_numbers() {
        let req =
            BulkRequest::parse(&json!({"operations": [{"method": "delete", "path": "/Users/1"}]}))
                .unwrap();
        assert_eq!(req.operations[0].method, BulkMethod::Delete);
        let r: BulkOperationResponse =
            serde_json::from_value(json!({"method": "Put", "status": 200})).unwrap();
        assert_eq!((r.method, r.status), (BulkMethod::Put, 200));
    }

    #[test]
    fn malformed_bulk_requests_are_invalid_syntax_without_values() {
        for body in [
            json!([]),
            json!({"schemas": [BULK_REQUEST]}),
            json!({"Operations": [{"method": "GET", "path": "/Users/secret-value"}]}),
            json!({"Operations": [{"method": "POST", "path": 7}]}),
            json!({"failOnErrors": "secret-value", "Operations": []}),
        ] {
            let e = BulkRequest::parse(&body).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidSyntax), "{body}");
            assert!(!e.detail().contains("secret-value"), "{}", e.detail());
        }
    }

    #[test]
    fn check_enforces_rfc_rules_and_the_operation_limit() {
        let op = |method, bulk_id: Option<&str>, data: Option<Value>| BulkOperation {
            method,
            bulk_id: bulk_id.map(str::to_owned),
            version: None,
            path: "/Users".into(),
            data,
        };
        let data = Some(json!({"userName": "a"}));
        let too_many = BulkRequest::new(vec![op(BulkMethod::Delete, None, None); 3]);
        assert_eq!(too_many.check(2).unwrap_err().status(), 413);
        for (req, why) in [
            (vec![op(BulkMethod::Post, None, data.clone())], "bulkId"),
            (vec![op(BulkMethod::Post, Some(""), data.clone())], "bulkId"),
            (vec![op(BulkMethod::Post, Some("a"), None)], "data"),
            (vec![op(BulkMethod::Patch, None, None)], "data"),
            (
                vec![
                    op(BulkMethod::Post, Some("a"), data.clone()),
                    op(BulkMethod::Post, Some("a"), data.clone()),
                ],
                "unique",
            ),
            (
                vec![BulkOperation {
                    path: " ".into(),
                    ..op(BulkMethod::Delete, None, None)
                }],
                "path",
            ),
        ] {
            let e = BulkRequest::new(req).check(10).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidSyntax));
            assert!(e.detail().contains(why), "{}", e.detail());
        }
    }
}
