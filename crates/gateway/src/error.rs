//! Every failure the gateway can answer with, and the one place that turns it into an HTTP
//! response: always a SCIM error body (`urn:ietf:params:scim:api:messages:2.0:Error`, `status`
//! as a string) with `Content-Type: application/scim+json` — never HTML, never an empty body.
//!
//! Infrastructure details (a store or bus failure, a bug) are logged here, inside the request's
//! span, and replaced by a generic detail: they may name hosts or queries, and the client can
//! do nothing with them.

use axum::response::{IntoResponse, Response};
use http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, StatusCode};
use scim::ScimError;

/// The media type of every SCIM response (RFC 7644 §3.1).
pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// `WWW-Authenticate` on every `401` (RFC 6750 §3).
pub(crate) const BEARER_CHALLENGE: &str = "Bearer realm=\"BlogIn SCIM\"";

/// Seconds a client should wait before retrying after a `503`. Entra retries an escrowed
/// object on a later cycle anyway (ENTRA §8); clients that honour the header get a short,
/// bounded pause.
pub(crate) const RETRY_AFTER_SECS: u64 = 10;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A SCIM refusal, from the `scim` crate, the store or the worker, answered as it is.
    #[error(transparent)]
    Scim(#[from] ScimError),
    /// No usable credentials for this tenant. One variant for every cause (missing, malformed,
    /// wrong, revoked, another tenant's token, unknown or disabled tenant), so the answer never
    /// tells which one it was.
    #[error("unauthorized")]
    Unauthorized,
    /// No such endpoint.
    #[error("no such endpoint")]
    NotFound,
    /// The endpoint exists but not for this method; `allow` lists the methods it has.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The methods the endpoint supports (the `Allow` header).
        allow: &'static [Method],
    },
    /// A SCIM endpoint BlogIn does not offer (`/Bulk`, `/Me`).
    #[error("{0} is not implemented")]
    NotImplemented(&'static str),
    /// A request body in a media type other than JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A request body over the configured limit.
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A dependency (store, bus) is unreachable, timed out, or the write was not confirmed.
    /// The reason is logged, never returned.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or a malformed message between our own roles. The reason is logged, never
    /// returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl GatewayError {
    /// The SCIM error the client sees.
    pub fn to_scim(&self) -> ScimError {
        match self {
            GatewayError::Scim(e) => e.clone(),
            GatewayError::Unauthorized => ScimError::status_only(
                401,
                "Authentication failed: send the tenant's provisioning token as 'Authorization: Bearer <token>'",
            ),
            GatewayError::NotFound => ScimError::not_found("No such SCIM endpoint"),
            GatewayError::MethodNotAllowed { allow } => ScimError::status_only(
                405,
                format!("Method not allowed here; allowed: {}", join(allow)),
            ),
            GatewayError::NotImplemented(what) => {
                ScimError::status_only(501, format!("{what} is not supported by this service"))
            }
            GatewayError::UnsupportedMediaType => ScimError::status_only(
                415,
                "Request bodies must be application/scim+json or application/json",
            ),
            GatewayError::PayloadTooLarge { limit } => ScimError::status_only(
                413,
                format!("The request body is larger than {limit} bytes"),
            ),
            GatewayError::Unavailable(_) => {
                ScimError::status_only(503, "The service is temporarily unavailable; retry later")
            }
            GatewayError::Internal(_) => ScimError::status_only(500, "An internal error occurred"),
        }
    }
}

fn join(methods: &[Method]) -> String {
    methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The response for a SCIM error: its body, status and content type; `Retry-After` on `503`.
pub(crate) fn scim_error_response(e: &ScimError) -> Response {
    // An error is never answered with a success status, whatever a buggy peer put in it.
    let status = StatusCode::from_u16(e.status())
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&e.to_body()).unwrap_or_default();
    let mut res = (status, body).into_response();
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    res
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        match &self {
            GatewayError::Unavailable(reason) => {
                tracing::warn!(error.message = %reason, "dependency unavailable");
            }
            GatewayError::Internal(reason) => {
                tracing::error!(error.message = %reason, "internal error");
            }
            _ => {}
        }
        let mut res = scim_error_response(&self.to_scim());
        match &self {
            GatewayError::Unauthorized => {
                res.headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static(BEARER_CHALLENGE));
            }
            GatewayError::MethodNotAllowed { allow } => {
                if let Ok(v) = HeaderValue::from_str(&join(allow)) {
                    res.headers_mut().insert(ALLOW, v);
                }
            }
            _ => {}
        }
        res
    }
}

/// The answer to a panic inside a handler (installed with `CatchPanicLayer`): a generic SCIM
/// `500`. The payload is not logged: it may hold request data.
pub(crate) fn panic_response(_payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    GatewayError::Internal("handler panicked".to_owned()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    async fn parts(e: GatewayError) -> (StatusCode, http::HeaderMap, Value) {
        let res = e.into_response();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn scim_refusal_keeps_status_scim_type_and_detail() {
        let (status, headers, body) =
            parts(ScimError::uniqueness("userName is already in use").into()).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(headers[CONTENT_TYPE], SCIM_JSON);
        assert_eq!(
            body,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "409",
                "scimType": "uniqueness",
                "detail": "userName is already in use"
            })
        );
    }

    #[tokio::test]
    async fn unauthorized_carries_the_bearer_challenge_and_no_scim_type() {
        let (status, headers, body) = parts(GatewayError::Unauthorized).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers[WWW_AUTHENTICATE], BEARER_CHALLENGE);
        assert_eq!(body["status"], "401");
        assert!(body.get("scimType").is_none());
    }

    #[tokio::test]
    async fn method_not_allowed_lists_the_allowed_methods() {
        let (status, headers, body) = parts(GatewayError::MethodNotAllowed {
            allow: &[Method::GET, Method::POST],
        })
        .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers[ALLOW], "GET, POST");
        assert_eq!(body["status"], "405");
    }

    #[tokio::test]
    async fn unavailable_hides_the_reason_and_asks_to_retry_later() {
        let (status, headers, body) = parts(GatewayError::Unavailable(
            "dial tcp 10.0.0.7: refused".into(),
        ))
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[RETRY_AFTER], "10");
        assert!(!body.to_string().contains("10.0.0.7"));
        assert_eq!(body["status"], "503");
    }

    #[tokio::test]
    async fn internal_errors_are_a_generic_500_scim_body() {
        let (status, headers, body) =
            parts(GatewayError::Internal("SELECT * FROM users failed".into())).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(headers[CONTENT_TYPE], SCIM_JSON);
        assert_eq!(body["detail"], "An internal error occurred");
        assert_eq!(
            body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }

    #[tokio::test]
    async fn a_scim_503_from_the_store_also_gets_retry_after() {
        let (status, headers, _) = parts(ScimError::status_only(503, "busy").into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[RETRY_AFTER], "10");
    }
}
