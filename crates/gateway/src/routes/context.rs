//! [`Ctx`]: one authenticated SCIM request, as the handlers see it — the tenant, its base URL,
//! the decoded query, the headers, the trace context and the request's deadline.

use crate::auth::Tenant;
use crate::error::GatewayError;
use crate::extract::{TraceContext, json_body};
use crate::state::Inner;
use axum::body::Body;
use http::HeaderMap;
use scim::path::AttrPath;
use scim::projection::Projection;
use scim::schema::{Registry, ResourceKind};
use scim::search::SearchRequest;
use serde_json::Value;
use std::sync::Arc;
use tokio::time::Instant;

/// One authenticated request.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The gateway's state.
    pub(crate) state: Arc<Inner>,
    /// Who is asking.
    pub(crate) tenant: Tenant,
    /// `{origin}/scim/v2/{tenant}`, no trailing slash.
    pub(crate) base: String,
    /// Decoded query parameters.
    pub(crate) query: Vec<(String, String)>,
    /// Request headers.
    pub(crate) headers: HeaderMap,
    /// W3C trace context to pass on.
    pub(crate) trace: TraceContext,
    /// When the request must have been answered (writes: slot wait + queue + reply).
    pub(crate) deadline: Instant,
}

impl Ctx {
    pub(crate) fn registry(&self) -> &Registry {
        &self.state.registry
    }

    /// The request body as JSON: content type checked, read within the body limit and the
    /// request's deadline, parsed.
    pub(crate) async fn json_body(&self, body: Body) -> Result<Value, GatewayError> {
        json_body(
            &self.headers,
            body,
            self.state.config.max_body_bytes,
            self.deadline,
        )
        .await
    }

    /// The query as a `SearchRequest` (lists): unknown parameters ignored.
    pub(crate) fn search_request(&self) -> Result<SearchRequest, GatewayError> {
        Ok(SearchRequest::from_query(
            self.query.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )?)
    }

    /// `attributes` / `excludedAttributes` of a single-resource request; every other
    /// parameter is ignored (paging and filters mean nothing there).
    pub(crate) fn projection(&self) -> Result<Projection, GatewayError> {
        let wanted = self.query.iter().filter(|(k, _)| {
            k.trim().eq_ignore_ascii_case("attributes")
                || k.trim().eq_ignore_ascii_case("excludedAttributes")
        });
        let req = SearchRequest::from_query(wanted.map(|(k, v)| (k.as_str(), v.as_str())))?;
        Ok(Projection::from_lists(
            req.attributes,
            req.excluded_attributes,
        )?)
    }

    /// Whether the query names `attributes` (RFC 7644 §3.5.2: then a PATCH must answer 200
    /// with the resource rather than 204).
    pub(crate) fn asks_for_attributes(&self) -> bool {
        self.query
            .iter()
            .any(|(k, v)| k.trim().eq_ignore_ascii_case("attributes") && !v.trim().is_empty())
    }
}

/// What the store must load for `projection`: group `members` and user `groups` only when the
/// response will carry them (`excludedAttributes=members` must never load a 100 000-member
/// list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Relations {
    pub(crate) members: bool,
    pub(crate) groups: bool,
}

impl Relations {
    /// Only the resource itself (a version check needs nothing more).
    pub(crate) const NONE: Relations = Relations {
        members: false,
        groups: false,
    };

    pub(crate) fn wanted(registry: &Registry, kind: ResourceKind, projection: &Projection) -> Self {
        let wants = |name: &str| projection.wants(registry, kind, &AttrPath::new(name));
        Self {
            members: kind == ResourceKind::Group && wants("members"),
            groups: kind == ResourceKind::User && wants("groups"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_groups_are_loaded_only_when_the_projection_wants_them() {
        let reg = Registry::new();
        let default = Projection::default();
        let no_members = Projection::parse(None, Some("members")).unwrap();
        let only_name = Projection::parse(Some("displayName"), None).unwrap();
        let only_members = Projection::parse(Some("members.value"), None).unwrap();
        let g = ResourceKind::Group;
        let u = ResourceKind::User;
        assert!(Relations::wanted(&reg, g, &default).members);
        assert!(!Relations::wanted(&reg, g, &no_members).members);
        assert!(!Relations::wanted(&reg, g, &only_name).members);
        assert!(Relations::wanted(&reg, g, &only_members).members);
        assert!(!Relations::wanted(&reg, g, &default).groups);
        assert!(Relations::wanted(&reg, u, &default).groups);
        assert!(
            !Relations::wanted(&reg, u, &Projection::parse(None, Some("groups")).unwrap()).groups
        );
        assert!(!Relations::wanted(&reg, u, &default).members);
    }
}
