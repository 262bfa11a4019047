//! `/healthz` (the process is alive: always `200`) and `/readyz` (`200` only when the store
//! answers and the command bus can publish, else `503`), for orchestrators; no authentication.
//! The readiness body says which dependency is down, never why (errors are logged).
//! `/metrics` is not served here but on the binary's separate metrics listener.

use crate::error::GatewayError;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Value, json};

const GET_ONLY: &[Method] = &[Method::GET];

fn reply(status: StatusCode, body: Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

fn check_method(method: &Method) -> Result<(), GatewayError> {
    if method == Method::GET || method == Method::HEAD {
        Ok(())
    } else {
        Err(GatewayError::MethodNotAllowed { allow: GET_ONLY })
    }
}

pub(super) async fn healthz(method: Method) -> Result<Response, GatewayError> {
    check_method(&method)?;
    Ok(reply(StatusCode::OK, json!({"status": "ok"})))
}

pub(super) async fn readyz(
    State(state): State<AppState>,
    method: Method,
) -> Result<Response, GatewayError> {
    check_method(&method)?;
    let (store, bus) = tokio::join!(state.inner.reads.ready(), state.inner.commands.ready());
    if let Err(e) = &store {
        tracing::warn!(error.message = %e, "readiness: store not ready");
    }
    if let Err(e) = &bus {
        tracing::warn!(error.message = %e, "readiness: command bus not ready");
    }
    let ready = store.is_ok() && bus.is_ok();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(reply(
        status,
        json!({
            "status": if ready { "ready" } else { "unavailable" },
            "store": store.is_ok(),
            "bus": bus.is_ok(),
        }),
    ))
}
