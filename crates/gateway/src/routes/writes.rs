//! `POST`, `PUT`, `PATCH`, `DELETE` on `/Users` and `/Groups`: validated at the edge (a bad
//! body is a `400` before anything is queued; the store validates again), sent as a change
//! command (see `command`), answered from the worker's result:
//!
//! - create → `201` with the resource, `Location` and `ETag`; replace → `200`;
//! - user PATCH → `200` with the resource; group PATCH → `204` (Entra asks for it, ENTRA §5.2;
//!   a full member list in a PATCH answer helps nobody) unless the query names `attributes`,
//!   when RFC 7644 §3.5.2 requires `200` with the resource;
//! - delete → `204`.
//!
//! The worker's resource carries no group members, so a group created or replaced *with*
//! members is read back (when the projection wants `members`) to show them. Write responses
//! do not carry a user's read-only `groups`: the worker's result has none, identity providers
//! do not read them from a write, and a store round trip per write for them is not worth it
//! (DESIGN §7 makes them eventually consistent anyway); `GET` shows them.
//!
//! The bodies sent on are the normalised ones (`scim::validate::normalize_resource`): what
//! travels through the queue is exactly what was validated, and `password` (type-checked and
//! dropped) never enters it.

use super::command::{Applied, send};
use super::context::{Ctx, Relations};
use super::reads::fetch;
use crate::error::GatewayError;
use crate::precondition::{Precondition, pick};
use crate::render::render;
use crate::response;
use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use scim::patch::{PatchLimits, PatchRequest};
use scim::projection::Projection;
use scim::schema::ResourceKind;
use scim::validate::normalize_resource;
use scim_wire::convert::patch_to_pb;
use scim_wire::pb;
use scim_wire::pb::change_command::Change;
use serde_json::Value;

pub(super) async fn create(
    ctx: &Ctx,
    kind: ResourceKind,
    body: Body,
) -> Result<Response, GatewayError> {
    let projection = ctx.projection()?;
    let resource = validated_body(ctx, kind, body).await?;
    let change = Change::Create(pb::CreateChange {
        body_json: resource.to_string(),
    });
    let res = expect_resource(send(ctx, kind, None, change).await?)?;
    let res = with_members_if_sent(ctx, kind, &resource, res, &projection).await;
    let rendered = render(ctx.registry(), kind, &ctx.base, &res, &projection)?;
    Ok(response::resource(StatusCode::CREATED, &rendered))
}

pub(super) async fn replace(
    ctx: &Ctx,
    kind: ResourceKind,
    id: &str,
    body: Body,
) -> Result<Response, GatewayError> {
    let projection = ctx.projection()?;
    let resource = validated_body(ctx, kind, body).await?;
    let expected = expected_version(ctx, kind, id).await?;
    let change = Change::Replace(pb::ReplaceChange {
        id: id.to_owned(),
        body_json: resource.to_string(),
    });
    let res = expect_resource(send(ctx, kind, expected, change).await?)?;
    let res = with_members_if_sent(ctx, kind, &resource, res, &projection).await;
    let rendered = render(ctx.registry(), kind, &ctx.base, &res, &projection)?;
    Ok(response::resource(StatusCode::OK, &rendered))
}

pub(super) async fn patch(
    ctx: &Ctx,
    kind: ResourceKind,
    id: &str,
    body: Body,
) -> Result<Response, GatewayError> {
    let projection = ctx.projection()?;
    let value = ctx.json_body(body).await?;
    let request = PatchRequest::parse_with_limits(&value, &PatchLimits::default())?;
    let expected = expected_version(ctx, kind, id).await?;
    let change = Change::Patch(pb::PatchChange {
        id: id.to_owned(),
        operations: patch_to_pb(&request),
    });
    let res = expect_resource(send(ctx, kind, expected, change).await?)?;
    if kind == ResourceKind::Group && !ctx.asks_for_attributes() {
        let etag = scim::meta::etag(res.version);
        return Ok(response::no_content(Some(&etag)));
    }
    let res = if Relations::wanted(ctx.registry(), kind, &projection).members {
        reread(ctx, kind, res, &projection).await
    } else {
        res
    };
    let rendered = render(ctx.registry(), kind, &ctx.base, &res, &projection)?;
    Ok(response::resource(StatusCode::OK, &rendered))
}

pub(super) async fn delete(
    ctx: &Ctx,
    kind: ResourceKind,
    id: &str,
) -> Result<Response, GatewayError> {
    let expected = expected_version(ctx, kind, id).await?;
    let change = Change::Delete(pb::DeleteChange { id: id.to_owned() });
    match send(ctx, kind, expected, change).await? {
        Applied::Deleted => Ok(response::no_content(None)),
        Applied::Resource(_) => Err(GatewayError::Internal(
            "delete answered with a resource".into(),
        )),
    }
}

/// A create/replace body: JSON, then normalised and checked (required attributes included)
/// against the schemas.
async fn validated_body(ctx: &Ctx, kind: ResourceKind, body: Body) -> Result<Value, GatewayError> {
    let value = ctx.json_body(body).await?;
    Ok(normalize_resource(ctx.registry(), kind, value)?)
}

fn expect_resource(applied: Applied) -> Result<pb::Resource, GatewayError> {
    match applied {
        Applied::Resource(res) => {
            // A create's id is known only now; the request span gets it (a UUID, not data).
            tracing::Span::current().record("resource_id", res.id.as_str());
            Ok(res)
        }
        Applied::Deleted => Err(GatewayError::Internal("a write answered 'deleted'".into())),
    }
}

/// The `expected_version` of the command for the request's `If-Match`.
async fn expected_version(
    ctx: &Ctx,
    kind: ResourceKind,
    id: &str,
) -> Result<Option<u64>, GatewayError> {
    match Precondition::from_headers(&ctx.headers)? {
        Precondition::None => Ok(None),
        Precondition::Version(v) => Ok(Some(v)),
        Precondition::OneOf(if_match) => {
            let current = fetch(ctx, kind, id, Relations::NONE).await?;
            Ok(Some(pick(&if_match, current.version)?))
        }
    }
}

/// For a group create/replace whose body listed members: the stored group re-read with its
/// members, when the response will show them.
async fn with_members_if_sent(
    ctx: &Ctx,
    kind: ResourceKind,
    sent: &Value,
    res: pb::Resource,
    projection: &Projection,
) -> pb::Resource {
    let sent_members = sent
        .get("members")
        .is_some_and(|m| m.as_array().is_some_and(|a| !a.is_empty()));
    if kind == ResourceKind::Group
        && sent_members
        && Relations::wanted(ctx.registry(), kind, projection).members
    {
        reread(ctx, kind, res, projection).await
    } else {
        res
    }
}

/// Reads `res` back with its members. The write is already confirmed, so a failed read must
/// not turn it into an error (the client would retry a write that happened): it falls back to
/// the worker's copy, without members.
async fn reread(
    ctx: &Ctx,
    kind: ResourceKind,
    res: pb::Resource,
    projection: &Projection,
) -> pb::Resource {
    let relations = Relations::wanted(ctx.registry(), kind, projection);
    // Only within the client's deadline: past it, the confirmed write is answered as is.
    match tokio::time::timeout_at(ctx.deadline, fetch(ctx, kind, &res.id, relations)).await {
        Ok(Ok(fresh)) => fresh,
        Ok(Err(e)) => {
            tracing::warn!(error.message = %e, "could not re-read the written resource");
            res
        }
        Err(_) => {
            tracing::warn!("no time left to re-read the written resource");
            res
        }
    }
}
