//! Reading the parts of an HTTP request the SCIM handlers need, as clients really send them:
//! query strings form-decoded (`+` and `%20` are both a space, ENTRA §2, §12), JSON bodies in
//! `application/scim+json` or `application/json` (with any parameters) or with no
//! `Content-Type` at all, bounded in size, and the bearer token.
//!
//! Each failure is already the SCIM error the client gets (`415`, `413`, `400 invalidSyntax`),
//! so handlers never see a raw rejection.

use crate::error::GatewayError;
use axum::body::{Body, HttpBody};
use bytes::{Bytes, BytesMut};
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, Uri};
use scim::ScimError;
use serde_json::Value;
use std::pin::Pin;

/// The decoded query parameters, in order. Repeated and unknown parameters are kept: what is
/// an error is for `scim::search::SearchRequest::from_query` to decide.
pub(crate) fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// Checks the `Content-Type` of a request with a body: JSON media types with any parameters
/// (`; charset=utf-8`), or none (Entra's Test Connection sends few headers, ENTRA §2).
pub(crate) fn check_content_type(headers: &HeaderMap) -> Result<(), GatewayError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value
        .to_str()
        .map_err(|_| GatewayError::UnsupportedMediaType)?;
    let essence = text.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/scim+json")
        || essence.eq_ignore_ascii_case("application/json")
    {
        Ok(())
    } else {
        Err(GatewayError::UnsupportedMediaType)
    }
}

/// Reads the body, refusing more than `limit` bytes without reading past the limit (a
/// declared `Content-Length` over it is refused before reading anything).
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, GatewayError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(GatewayError::PayloadTooLarge { limit });
    }
    let mut body = body;
    let mut buf = BytesMut::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| {
            GatewayError::Scim(ScimError::invalid_syntax(
                "the request body could not be read",
            ))
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(GatewayError::PayloadTooLarge { limit });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// Parses a JSON body. The error names the position only, never the content.
pub(crate) fn parse_json(bytes: &[u8]) -> Result<Value, GatewayError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ScimError::invalid_syntax(format!(
            "the request body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
        .into()
    })
}

/// Content type check, bounded read and JSON parse, in that order. A body still incomplete at
/// `deadline` is `408` (a slow sender must not hold a connection, or shutdown, forever).
pub(crate) async fn json_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    deadline: tokio::time::Instant,
) -> Result<Value, GatewayError> {
    check_content_type(headers)?;
    let bytes = tokio::time::timeout_at(deadline, read_body(headers, body, limit))
        .await
        .map_err(|_| {
            GatewayError::Scim(ScimError::status_only(
                408,
                "the request body did not arrive in time",
            ))
        })??;
    parse_json(&bytes)
}

/// The token of an `Authorization: Bearer <token>` header; the scheme matches
/// case-insensitively (RFC 7235 §2.1). `None` for a missing header, another scheme or an empty
/// token.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// The W3C trace context of the incoming request, passed on to the store and the bus so that
/// one Entra request is one trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceContext {
    /// `traceparent`, validated and in canonical form.
    pub traceparent: Option<String>,
    /// `tracestate`, validated (only beside a valid `traceparent`).
    pub tracestate: Option<String>,
}

impl TraceContext {
    /// Reads both headers, keeping only values that are valid W3C trace context (see
    /// `scim_telemetry::w3c`): whatever else a client sends is never passed on to the store
    /// or the queue.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let [traceparent, tracestate] =
            scim_telemetry::w3c::validated(get("traceparent"), get("tracestate"));
        Self {
            traceparent,
            tracestate,
        }
    }

    /// The present headers as (name, value) pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("traceparent", self.traceparent.as_deref()),
            ("tracestate", self.tracestate.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use pretty_assertions::assert_eq;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn plus_and_percent_twenty_both_decode_to_spaces_as_entra_and_okta_send_them() {
        let entra: Uri = "/scim/v2/t/Users?filter=userName+eq+%22a%40b.com%22"
            .parse()
            .unwrap();
        assert_eq!(
            query_pairs(&entra),
            vec![("filter".to_owned(), "userName eq \"a@b.com\"".to_owned())]
        );
        let okta: Uri =
            "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100"
                .parse()
                .unwrap();
        assert_eq!(
            query_pairs(&okta),
            vec![
                (
                    "filter".to_owned(),
                    "userName eq \"test.user@okta.local\"".to_owned()
                ),
                ("startIndex".to_owned(), "1".to_owned()),
                ("count".to_owned(), "100".to_owned()),
            ]
        );
    }

    #[test]
    fn valueless_and_unknown_parameters_survive_decoding() {
        let uri: Uri = "/Groups?aadOptscim062020&excludedAttributes=members"
            .parse()
            .unwrap();
        assert_eq!(
            query_pairs(&uri),
            vec![
                ("aadOptscim062020".to_owned(), String::new()),
                ("excludedAttributes".to_owned(), "members".to_owned()),
            ]
        );
        assert!(query_pairs(&"/Users".parse().unwrap()).is_empty());
    }

    #[test]
    fn json_media_types_with_parameters_or_no_content_type_are_accepted() {
        for ct in [
            "application/scim+json",
            "application/json",
            "application/scim+json; charset=utf-8",
            "Application/JSON;charset=UTF-8",
        ] {
            assert!(
                check_content_type(&headers(&[("content-type", ct)])).is_ok(),
                "{ct}"
            );
        }
        assert!(check_content_type(&HeaderMap::new()).is_ok());
    }

    #[test]
    fn other_media_types_are_unsupported() {
        for ct in [
            "text/plain",
            "application/xml",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            assert!(
                matches!(
                    check_content_type(&headers(&[("content-type", ct)])),
                    Err(GatewayError::UnsupportedMediaType)
                ),
                "{ct}"
            );
        }
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_payload_too_large_whether_declared_or_not() {
        let declared = headers(&[("content-length", "11")]);
        let e = read_body(&declared, Body::from("x".repeat(11)), 10)
            .await
            .unwrap_err();
        assert!(matches!(e, GatewayError::PayloadTooLarge { limit: 10 }));
        let e = read_body(&HeaderMap::new(), Body::from("x".repeat(11)), 10)
            .await
            .unwrap_err();
        assert!(matches!(e, GatewayError::PayloadTooLarge { limit: 10 }));
        let ok = read_body(&HeaderMap::new(), Body::from("x".repeat(10)), 10)
            .await
            .unwrap();
        assert_eq!(ok.len(), 10);
    }

    #[test]
    fn invalid_json_is_invalid_syntax_without_echoing_the_body() {
        let e = parse_json(b"{\"userName\": \"secret-person\"").unwrap_err();
        let scim = e.to_scim();
        assert_eq!(scim.status(), 400);
        assert_eq!(scim.scim_type(), Some(scim::ScimType::InvalidSyntax));
        assert!(!scim.detail().contains("secret-person"));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_other_schemes_are_ignored() {
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Bearer abc")])),
            Some("abc")
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", "bearer  abc ")])),
            Some("abc")
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", "BEARER abc")])),
            Some("abc")
        );
        for bad in ["Basic YWJj", "Bearer", "Bearer ", "abc", "Bearer a b"] {
            assert_eq!(
                bearer_token(&headers(&[("authorization", bad)])),
                None,
                "{bad}"
            );
        }
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn trace_context_is_copied_only_when_present() {
        let h = headers(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )]);
        let t = TraceContext::from_headers(&h);
        assert_eq!(
            t.pairs().collect::<Vec<_>>(),
            vec![(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            )]
        );
        assert_eq!(
            TraceContext::from_headers(&HeaderMap::new())
                .pairs()
                .count(),
            0
        );
    }

    #[test]
    fn oversized_or_malformed_trace_headers_are_never_passed_on() {
        let huge = "z".repeat(120_000);
        let h = headers(&[("traceparent", huge.as_str()), ("tracestate", "k=v")]);
        assert_eq!(TraceContext::from_headers(&h).pairs().count(), 0);
        let h = headers(&[
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("tracestate", huge.as_str()),
        ]);
        let t = TraceContext::from_headers(&h);
        assert_eq!(t.tracestate, None);
        assert!(t.traceparent.is_some());
    }
}
