//! Successful responses: JSON bodies as `application/scim+json`, with `ETag` on
//! single-resource responses and `Location` on `201` (RFC 7644 §3.1, §3.14).

use crate::error::SCIM_JSON;
use crate::render::Rendered;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, ETAG, LOCATION};
use http::{HeaderValue, StatusCode};
use serde_json::Value;

/// A JSON document (a list, a discovery document).
pub(crate) fn json(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut res = (status, bytes).into_response();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    res
}

/// One resource with its `ETag`; `201` also gets `Location`.
pub(crate) fn resource(status: StatusCode, rendered: &Rendered) -> Response {
    let mut res = json(status, &rendered.body);
    set_etag(&mut res, &rendered.etag);
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&rendered.location)
    {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

/// `204 No Content`, with the resource's new `ETag` when there is one.
pub(crate) fn no_content(etag: Option<&str>) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Some(etag) = etag {
        set_etag(&mut res, etag);
    }
    res
}

/// `304 Not Modified` for a matching `If-None-Match`.
pub(crate) fn not_modified(etag: &str) -> Response {
    let mut res = StatusCode::NOT_MODIFIED.into_response();
    set_etag(&mut res, etag);
    res
}

fn set_etag(res: &mut Response, etag: &str) {
    if let Ok(v) = HeaderValue::from_str(etag) {
        res.headers_mut().insert(ETAG, v);
    }
}
