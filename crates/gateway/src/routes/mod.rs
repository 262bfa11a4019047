//! The HTTP surface: [`router`] and the one SCIM entry point that every request under
//! `/scim/v2/{tenant}/…` goes through, in this order:
//!
//! 1. resolve method + path to an [`Operation`] (its name becomes
//!    the span name; the span carries the tenant slug and never tokens, bodies or personal
//!    data);
//! 2. authenticate the tenant — before anything else is revealed or read, so an unknown path
//!    or method under an unknown tenant is the same `401` as everything else there;
//! 3. answer routing errors (`404`, `405` + `Allow`, `501`), then run the handler.
//!
//! Every error becomes a SCIM error body in one place ([`GatewayError`]'s `IntoResponse`);
//! panics are caught into a generic SCIM `500`.

mod command;
mod context;
mod discovery;
mod health;
mod reads;
mod search;
mod writes;

use crate::base_url::tenant_base;
use crate::error::{GatewayError, panic_response};
use crate::extract::{TraceContext, query_pairs};
use crate::operation::{Operation, Route, resolve};
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use context::Ctx;
use std::collections::HashMap;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

/// The gateway's routes: `/healthz`, `/readyz` and the SCIM API under `/scim/v2/{tenant}/`.
/// `/metrics` is not here: it names tenants and their activity, so the binary serves it on a
/// listener of its own (`metrics_listen`), never on the public port.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", any(health::healthz))
        .route("/readyz", any(health::readyz))
        .route("/scim/v2/{tenant}", any(scim))
        .route("/scim/v2/{tenant}/", any(scim))
        .route("/scim/v2/{tenant}/{*rest}", any(scim))
        .fallback(|| async { GatewayError::NotFound })
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

async fn scim(
    State(state): State<AppState>,
    params: Result<Path<HashMap<String, String>>, PathRejection>,
    req: Request,
) -> Response {
    let Ok(Path(params)) = params else {
        return GatewayError::NotFound.into_response();
    };
    let slug = params.get("tenant").cloned().unwrap_or_default();
    let route = resolve(req.method(), params.get("rest").map_or("", String::as_str));
    let op = route.as_ref().map_or("scim.unrouted", |r| r.op.name());
    let resource_type = route
        .as_ref()
        .ok()
        .and_then(|r| r.op.kind())
        .map_or("", |k| k.name());
    let span = tracing::info_span!(
        "scim.request",
        otel.name = op,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        op,
        tenant = %loggable(&slug),
        tenant_id = tracing::field::Empty,
        resource_type,
        resource_id = tracing::field::Empty,
        http.method = %req.method(),
        http.status_code = tracing::field::Empty,
        outcome = tracing::field::Empty,
    );
    // The caller's trace (an identity provider or a proxy that traces) becomes the parent.
    scim_telemetry::set_remote_parent(&span, req.headers());
    // Ids are recorded only when they are ids: the path is client text and could hold anything.
    if let Some(id) = route.as_ref().ok().and_then(|r| r.id.as_deref())
        && uuid::Uuid::parse_str(id).is_ok()
    {
        span.record("resource_id", id);
    }
    async move {
        let started = tokio::time::Instant::now();
        let mut authenticated = false;
        let res = handle(state, slug.clone(), route, req, &mut authenticated)
            .await
            .unwrap_or_else(IntoResponse::into_response);
        let status = res.status().as_u16();
        let span = tracing::Span::current();
        span.record("http.status_code", status);
        span.record("outcome", outcome(status));
        if status >= 500 {
            span.record("otel.status_code", "ERROR");
        }
        let elapsed = started.elapsed();
        // Only an authenticated slug is a label: anyone can put anything in the URL.
        let tenant = if authenticated { slug.as_str() } else { "" };
        scim_telemetry::metrics().observe_request(tenant, op, status, elapsed);
        tracing::info!(
            status,
            elapsed_ms = elapsed.as_millis() as u64,
            "request finished"
        );
        res
    }
    .instrument(span)
    .await
}

/// The tenant segment of the URL as it may appear in a log line or span: a slug-shaped value as
/// it is, anything else (control characters, terminal escapes, megabytes) escaped and cut, so
/// that an unauthenticated client can neither forge log lines nor flood them.
fn loggable(slug: &str) -> String {
    let slug_shaped = slug.len() <= 63
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if slug_shaped {
        slug.to_owned()
    } else {
        slug.chars()
            .take(64)
            .flat_map(char::escape_default)
            .collect()
    }
}

/// The outcome attribute of a request span: what kind of answer the client got.
fn outcome(status: u16) -> &'static str {
    match status {
        200..=399 => "success",
        401 | 403 => "unauthorized",
        400..=499 => "client_error",
        _ => "server_error",
    }
}

async fn handle(
    state: AppState,
    slug: String,
    route: Result<Route, GatewayError>,
    req: Request,
    authenticated: &mut bool,
) -> Result<Response, GatewayError> {
    let deadline = tokio::time::Instant::now() + state.inner.config.request_timeout;
    let (parts, body) = req.into_parts();
    let trace = TraceContext::from_headers(&parts.headers);
    let tenant = state
        .inner
        .auth
        .authenticate(&slug, &parts.headers, &trace)
        .await?;
    *authenticated = true;
    tracing::Span::current().record("tenant_id", tenant.id.as_str());
    let Route { op, id } = route?;
    let ctx = Ctx {
        base: tenant_base(
            &state.inner.config,
            &parts.headers,
            &parts.uri,
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<crate::server::LocalAddr>>()
                .and_then(|c| c.0.0),
            &tenant.slug,
        ),
        state: state.inner.clone(),
        tenant,
        query: query_pairs(&parts.uri),
        headers: parts.headers,
        trace,
        deadline,
    };
    dispatch(&ctx, op, &id.unwrap_or_default(), body).await
}

/// Runs the handler of an authenticated, routed request.
async fn dispatch(
    ctx: &Ctx,
    op: Operation,
    id: &str,
    body: Body,
) -> Result<Response, GatewayError> {
    use Operation::*;
    // Resource ids are UUIDs in canonical form (the store issues nothing else): anything else
    // names no resource, whatever its size, and goes no further than here.
    if matches!(
        op,
        UsersGet
            | GroupsGet
            | UsersReplace
            | GroupsReplace
            | UsersPatch
            | GroupsPatch
            | UsersDelete
            | GroupsDelete
    ) && !uuid::Uuid::parse_str(id).is_ok_and(|u| u.to_string() == id)
    {
        let kind = op.kind().map_or("Resource", |k| k.name());
        return Err(GatewayError::Scim(scim::ScimError::not_found(format!(
            "{kind} {id} not found"
        ))));
    }
    match (op, op.kind()) {
        (UsersList | GroupsList, Some(kind)) => reads::list(ctx, kind).await,
        (UsersGet | GroupsGet, Some(kind)) => reads::get(ctx, kind, id).await,
        (UsersSearch | GroupsSearch, Some(kind)) => search::search(ctx, kind, body).await,
        (RootSearch, _) => search::root_search(ctx, body).await,
        (UsersCreate | GroupsCreate, Some(kind)) => writes::create(ctx, kind, body).await,
        (UsersReplace | GroupsReplace, Some(kind)) => writes::replace(ctx, kind, id, body).await,
        (UsersPatch | GroupsPatch, Some(kind)) => writes::patch(ctx, kind, id, body).await,
        (UsersDelete | GroupsDelete, Some(kind)) => writes::delete(ctx, kind, id).await,
        (Schemas, _) => Ok(discovery::schemas(ctx)),
        (SchemaGet, _) => discovery::schema(ctx, id),
        (ResourceTypes, _) => Ok(discovery::resource_types(ctx)),
        (ResourceTypeGet, _) => discovery::resource_type(ctx, id),
        (ServiceProviderConfig, _) => Ok(discovery::service_provider_config(ctx)),
        (Bulk, _) => Err(GatewayError::NotImplemented("/Bulk")),
        (Me, _) => Err(GatewayError::NotImplemented("/Me")),
        (op, None) => Err(GatewayError::Internal(format!(
            "operation {} has no resource type",
            op.name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::loggable;

    #[test]
    fn a_tenant_segment_with_control_characters_is_escaped_and_cut_for_logs() {
        assert_eq!(loggable("acme-1"), "acme-1");
        assert_eq!(loggable("a\nfake=1\u{1b}[31m"), "a\\nfake=1\\u{1b}[31m");
        assert!(loggable(&"x\n".repeat(10_000)).len() <= 64 * 10);
        assert!(!loggable("é\r").contains('\r'));
    }
}
