//! `GET /{Users|Groups}/{id}` and `GET /{Users|Groups}` (and the page fetch the `.search`
//! endpoints share). Reads go straight to the store, scoped by the authenticated tenant's id:
//! an id of another tenant is simply `404`.
//!
//! A query is always a `ListResponse`, `200` with `Resources: []` when nothing matches — never
//! a `404` (ENTRA §1.1: Test Connection expects exactly that).

use super::context::{Ctx, Relations};
use crate::error::GatewayError;
use crate::render::render;
use crate::response;
use axum::response::Response;
use http::StatusCode;
use http::header::IF_NONE_MATCH;
use scim::list::{ListQuery, ListResponse, SortOrder};
use scim::meta::IfMatch;
use scim::projection::Projection;
use scim::schema::ResourceKind;
use scim_wire::convert::{filter_to_pb, kind_to_pb, path_to_pb};
use scim_wire::pb;
use serde_json::Value;

/// Reads one resource with what `projection` needs loaded.
pub(super) async fn fetch(
    ctx: &Ctx,
    kind: ResourceKind,
    id: &str,
    relations: Relations,
) -> Result<pb::Resource, GatewayError> {
    let req = pb::GetResourceRequest {
        tenant_id: ctx.tenant.id.clone(),
        kind: kind_to_pb(kind),
        id: id.to_owned(),
        include_members: relations.members,
        include_groups: relations.groups,
    };
    let _slot = ctx
        .state
        .read_gate
        .acquire(&ctx.tenant.id, ctx.deadline)
        .await?;
    Ok(ctx.state.reads.get(req, &ctx.trace).await?)
}

pub(super) async fn get(ctx: &Ctx, kind: ResourceKind, id: &str) -> Result<Response, GatewayError> {
    let projection = ctx.projection()?;
    let relations = Relations::wanted(ctx.registry(), kind, &projection);
    let res = fetch(ctx, kind, id, relations).await?;
    let rendered = render(ctx.registry(), kind, &ctx.base, &res, &projection)?;
    // RFC 7644 §3.14: a client holding the current version may skip the body. A malformed
    // header only loses that shortcut.
    let current = ctx
        .headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| IfMatch::parse(v).ok())
        .is_some_and(|m| m.matches(rendered.version));
    if current {
        return Ok(response::not_modified(&rendered.etag));
    }
    Ok(response::resource(StatusCode::OK, &rendered))
}

pub(super) async fn list(ctx: &Ctx, kind: ResourceKind) -> Result<Response, GatewayError> {
    let req = ctx.search_request()?;
    let query = ListQuery::from_search(ctx.registry(), kind, &req, &ctx.state.limits)?;
    respond(ctx, kind, &query).await
}

/// Runs a checked query and answers with its `ListResponse`.
pub(super) async fn respond(
    ctx: &Ctx,
    kind: ResourceKind,
    query: &ListQuery,
) -> Result<Response, GatewayError> {
    let (total, resources) = page(
        ctx,
        kind,
        query,
        query.paging.start_index,
        query.paging.count,
    )
    .await?;
    let list = ListResponse::new(total, query.paging.start_index, resources);
    Ok(response::json(StatusCode::OK, &list.to_json()))
}

/// One page of `query` from `start_index` (1-based), at most `count` resources, rendered and
/// projected; with the total number of matches.
pub(super) async fn page(
    ctx: &Ctx,
    kind: ResourceKind,
    query: &ListQuery,
    start_index: u64,
    count: u32,
) -> Result<(u64, Vec<Value>), GatewayError> {
    let relations = Relations::wanted(ctx.registry(), kind, &query.projection);
    let req = pb::ListResourcesRequest {
        tenant_id: ctx.tenant.id.clone(),
        kind: kind_to_pb(kind),
        filter: query.filter.as_ref().map(filter_to_pb),
        sort_by: query.sort.as_ref().map(|s| path_to_pb(&s.by)),
        sort_order: match query.sort.as_ref().map(|s| s.order) {
            Some(SortOrder::Descending) => pb::SortOrder::Descending as i32,
            Some(SortOrder::Ascending) => pb::SortOrder::Ascending as i32,
            None => pb::SortOrder::Unspecified as i32,
        },
        start_index,
        count: u64::from(count),
        include_members: relations.members,
        include_groups: relations.groups,
    };
    let res = {
        let _slot = ctx
            .state
            .read_gate
            .acquire(&ctx.tenant.id, ctx.deadline)
            .await?;
        ctx.state.reads.list(req, &ctx.trace).await?
    };
    // A page ends early once it holds PAGE_BYTES (RFC 7644 §3.4.2.4 lets a server return fewer
    // results than asked for; clients page on with startIndex + itemsPerPage), but always has
    // one resource, so paging makes progress.
    let mut bytes = 0usize;
    let mut resources = Vec::new();
    for r in res.resources.iter().take(count as usize) {
        if !resources.is_empty() && bytes + r.wire_size() > PAGE_BYTES {
            break;
        }
        bytes += r.wire_size();
        resources.push(render_one(ctx, kind, r, &query.projection)?);
    }
    Ok((res.total_results, resources))
}

/// The most a list page carries (its resources as the store sent them; the JSON is of the
/// same order): a page of groups with all their members could otherwise run to hundreds of MB.
pub(super) const PAGE_BYTES: usize = 8 << 20;

fn render_one(
    ctx: &Ctx,
    kind: ResourceKind,
    res: &pb::Resource,
    projection: &Projection,
) -> Result<Value, GatewayError> {
    Ok(render(ctx.registry(), kind, &ctx.base, res, projection)?.body)
}
