//! The discovery endpoints (RFC 7644 §4): `/ServiceProviderConfig`, `/Schemas`,
//! `/ResourceTypes`. The documents come from `scim::discovery`, generated from the same
//! registry that validates requests, so what is advertised is what is enforced. They need a
//! valid token like everything else under a tenant (no existence leak for unknown tenants).

use super::context::Ctx;
use crate::error::GatewayError;
use crate::response;
use axum::response::Response;
use http::StatusCode;
use scim::discovery;

pub(super) fn service_provider_config(ctx: &Ctx) -> Response {
    let doc = discovery::service_provider_config(&ctx.state.provider, &ctx.base);
    response::json(StatusCode::OK, &doc)
}

pub(super) fn schemas(ctx: &Ctx) -> Response {
    response::json(
        StatusCode::OK,
        &discovery::schemas_document(ctx.registry(), &ctx.base),
    )
}

pub(super) fn schema(ctx: &Ctx, id: &str) -> Result<Response, GatewayError> {
    let doc = discovery::schema_document(ctx.registry(), id, &ctx.base)?;
    Ok(response::json(StatusCode::OK, &doc))
}

pub(super) fn resource_types(ctx: &Ctx) -> Response {
    response::json(
        StatusCode::OK,
        &discovery::resource_types_document(ctx.registry(), &ctx.base),
    )
}

pub(super) fn resource_type(ctx: &Ctx, name: &str) -> Result<Response, GatewayError> {
    let doc = discovery::resource_type_document(ctx.registry(), name, &ctx.base)?;
    Ok(response::json(StatusCode::OK, &doc))
}
