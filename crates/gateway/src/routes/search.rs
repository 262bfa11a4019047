//! `POST /{Users|Groups}/.search` and `POST /.search` (RFC 7644 §3.4.3): the query in a
//! `SearchRequest` body instead of the URL, same semantics as `GET` with parameters.
//!
//! The root search spans both resource types. The filter is resolved per type: a type whose
//! schemas do not define every attribute the filter names contributes no results (so
//! `userName eq "x"` finds only users and `members[value eq "x"]` only groups), and so does a
//! filter that names no attribute of either. A `sortBy` a type does not define leaves that
//! type unsorted. Results are paged across users, then groups, with one `totalResults`.

use super::context::Ctx;
use super::reads::{page, respond};
use crate::error::GatewayError;
use crate::response;
use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use scim::filter::{Filter, parse_with_limits};
use scim::list::{ListQuery, ListResponse, Paging};
use scim::path::AttrPath;
use scim::schema::{Registry, ResourceKind};
use scim::search::SearchRequest;

async fn search_request(ctx: &Ctx, body: Body) -> Result<SearchRequest, GatewayError> {
    let value = ctx.json_body(body).await?;
    Ok(SearchRequest::parse(&value)?)
}

pub(super) async fn search(
    ctx: &Ctx,
    kind: ResourceKind,
    body: Body,
) -> Result<Response, GatewayError> {
    let req = search_request(ctx, body).await?;
    let query = ListQuery::from_search(ctx.registry(), kind, &req, &ctx.state.limits)?;
    respond(ctx, kind, &query).await
}

pub(super) async fn root_search(ctx: &Ctx, body: Body) -> Result<Response, GatewayError> {
    let req = search_request(ctx, body).await?;
    let limits = &ctx.state.limits;
    // Syntax first, once: a malformed filter is 400 whatever the types.
    let filter = match req.filter.as_deref().map(str::trim) {
        Some(f) if !f.is_empty() => Some(parse_with_limits(f, &limits.filter)?),
        _ => None,
    };
    let mut queries = Vec::new();
    for kind in [ResourceKind::User, ResourceKind::Group] {
        if filter
            .as_ref()
            .is_some_and(|f| !names_known_attributes(ctx.registry(), kind, f))
        {
            continue;
        }
        let req = without_unknown_sort(ctx.registry(), kind, &req);
        queries.push((
            kind,
            ListQuery::from_search(ctx.registry(), kind, &req, limits)?,
        ));
    }
    let paging = Paging::new(req.start_index, req.count, limits.max_results);
    let (mut total, mut resources) = (0, Vec::new());
    // `skip`: how many matches of the remaining types still lie before the page.
    let mut skip = paging.offset();
    // A page of one type cut short by its byte budget ends the whole page (the next type's
    // resources would otherwise sit where the cut ones belong); later types still count
    // toward totalResults.
    let mut cut_short = false;
    for (kind, query) in &queries {
        let remaining = if cut_short {
            0
        } else {
            paging.count - resources.len() as u32
        };
        let (matches, found) = page(ctx, *kind, query, skip + 1, remaining).await?;
        total += matches;
        cut_short |= (found.len() as u64) < u64::from(remaining).min(matches.saturating_sub(skip));
        resources.extend(found);
        skip = skip.saturating_sub(matches);
    }
    let list = ListResponse::new(total, paging.start_index, resources);
    Ok(response::json(StatusCode::OK, &list.to_json()))
}

/// Whether every attribute path `filter` names exists for `kind` (for a value filter, the
/// multi-valued attribute it filters; its inner paths are checked when the filter resolves).
fn names_known_attributes(registry: &Registry, kind: ResourceKind, filter: &Filter) -> bool {
    match filter {
        Filter::Compare(path, ..) | Filter::Present(path) | Filter::ValuePath(path, _) => {
            registry.resolve(kind, path).is_some()
        }
        Filter::And(a, b) | Filter::Or(a, b) => {
            names_known_attributes(registry, kind, a) && names_known_attributes(registry, kind, b)
        }
        Filter::Not(inner) => names_known_attributes(registry, kind, inner),
    }
}

fn without_unknown_sort(
    registry: &Registry,
    kind: ResourceKind,
    req: &SearchRequest,
) -> SearchRequest {
    let mut req = req.clone();
    let known = req
        .sort_by
        .as_deref()
        .and_then(|s| AttrPath::parse(s.trim()).ok())
        .is_some_and(|p| registry.resolve(kind, &p).is_some());
    if !known {
        req.sort_by = None;
        req.sort_order = None;
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(kind: ResourceKind, filter: &str) -> bool {
        let f = scim::filter::parse(filter).unwrap();
        names_known_attributes(&Registry::new(), kind, &f)
    }

    #[test]
    fn a_filter_belongs_to_the_types_that_define_all_its_attributes() {
        use ResourceKind::{Group, User};
        let cases = [
            (r#"userName eq "x""#, true, false),
            (r#"displayName eq "x""#, true, true),
            (r#"members[value eq "x"]"#, false, true),
            (r#"emails[type eq "work"].value eq "a@b.c""#, true, false),
            (r#"externalId eq "x" and not (meta.created pr)"#, true, true),
            (r#"userName eq "x" or displayName eq "y""#, true, false),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7""#,
                true,
                false,
            ),
            (r#"printer eq "x""#, false, false),
        ];
        for (filter, user, group) in cases {
            assert_eq!(
                (known(User, filter), known(Group, filter)),
                (user, group),
                "{filter}"
            );
        }
    }

    #[test]
    fn a_sort_key_a_type_lacks_is_dropped_for_that_type_only() {
        let reg = Registry::new();
        let req = SearchRequest {
            sort_by: Some("userName".into()),
            sort_order: Some("descending".into()),
            ..Default::default()
        };
        assert_eq!(without_unknown_sort(&reg, ResourceKind::User, &req), req);
        let group = without_unknown_sort(&reg, ResourceKind::Group, &req);
        assert_eq!((group.sort_by, group.sort_order), (None, None));
    }
}
