//! Routing inside a tenant's SCIM base: method + path → [`Operation`], before anything else
//! runs. The operation's [`name`](Operation::name) is the stable span name of DESIGN §9
//! (`scim.users.create`), so traces and logs group by what a request did, not by its URL (which
//! carries ids).
//!
//! Endpoint names match case-insensitively and a trailing slash is tolerated (`/Users/`):
//! clients build URLs by appending to a free-form tenant URL (ENTRA §2).

use crate::error::GatewayError;
use http::Method;
use scim::schema::ResourceKind;

/// What a SCIM request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `GET /Users`.
    UsersList,
    /// `GET /Users/{id}`.
    UsersGet,
    /// `POST /Users`.
    UsersCreate,
    /// `PUT /Users/{id}`.
    UsersReplace,
    /// `PATCH /Users/{id}`.
    UsersPatch,
    /// `DELETE /Users/{id}`.
    UsersDelete,
    /// `POST /Users/.search`.
    UsersSearch,
    /// `GET /Groups`.
    GroupsList,
    /// `GET /Groups/{id}`.
    GroupsGet,
    /// `POST /Groups`.
    GroupsCreate,
    /// `PUT /Groups/{id}`.
    GroupsReplace,
    /// `PATCH /Groups/{id}`.
    GroupsPatch,
    /// `DELETE /Groups/{id}`.
    GroupsDelete,
    /// `POST /Groups/.search`.
    GroupsSearch,
    /// `POST /.search` (every resource type).
    RootSearch,
    /// `GET /Schemas`.
    Schemas,
    /// `GET /Schemas/{id}`.
    SchemaGet,
    /// `GET /ResourceTypes`.
    ResourceTypes,
    /// `GET /ResourceTypes/{id}`.
    ResourceTypeGet,
    /// `GET /ServiceProviderConfig`.
    ServiceProviderConfig,
    /// Anything under `/Bulk` (not implemented: `501`).
    Bulk,
    /// Anything under `/Me` (not implemented: `501`).
    Me,
}

impl Operation {
    /// The stable name: span name, log field and metrics label.
    pub fn name(self) -> &'static str {
        use Operation::*;
        match self {
            UsersList => "scim.users.list",
            UsersGet => "scim.users.get",
            UsersCreate => "scim.users.create",
            UsersReplace => "scim.users.replace",
            UsersPatch => "scim.users.patch",
            UsersDelete => "scim.users.delete",
            UsersSearch => "scim.users.search",
            GroupsList => "scim.groups.list",
            GroupsGet => "scim.groups.get",
            GroupsCreate => "scim.groups.create",
            GroupsReplace => "scim.groups.replace",
            GroupsPatch => "scim.groups.patch",
            GroupsDelete => "scim.groups.delete",
            GroupsSearch => "scim.groups.search",
            RootSearch => "scim.search",
            Schemas => "scim.schemas.list",
            SchemaGet => "scim.schemas.get",
            ResourceTypes => "scim.resource_types.list",
            ResourceTypeGet => "scim.resource_types.get",
            ServiceProviderConfig => "scim.service_provider_config",
            Bulk => "scim.bulk",
            Me => "scim.me",
        }
    }

    /// The resource type a `/Users` or `/Groups` operation is about.
    pub fn kind(self) -> Option<ResourceKind> {
        use Operation::*;
        match self {
            UsersList | UsersGet | UsersCreate | UsersReplace | UsersPatch | UsersDelete
            | UsersSearch => Some(ResourceKind::User),
            GroupsList | GroupsGet | GroupsCreate | GroupsReplace | GroupsPatch | GroupsDelete
            | GroupsSearch => Some(ResourceKind::Group),
            _ => None,
        }
    }
}

/// A resolved request: the operation and, for `/{endpoint}/{id}` operations, the id as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// What to do.
    pub op: Operation,
    /// The path's last segment for single-resource and single-document operations.
    pub id: Option<String>,
}

const COLLECTION: &[Method] = &[Method::GET, Method::POST];
const ITEM: &[Method] = &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE];
const SEARCH: &[Method] = &[Method::POST];
const READ_ONLY: &[Method] = &[Method::GET];

/// Resolves `method` and `rest`, the path below `/scim/v2/{tenant}` (already percent-decoded,
/// with or without leading and trailing slashes). Unknown paths are [`GatewayError::NotFound`];
/// known paths with another method are [`GatewayError::MethodNotAllowed`] with the `Allow` list.
pub fn resolve(method: &Method, rest: &str) -> Result<Route, GatewayError> {
    let trimmed = rest.trim_matches('/');
    let segments: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    };
    let is = |s: &str, name: &str| s.eq_ignore_ascii_case(name);
    let route = |op, id: Option<&str>| {
        Ok(Route {
            op,
            id: id.map(str::to_owned),
        })
    };
    let not_allowed = |allow| Err(GatewayError::MethodNotAllowed { allow });
    use Operation::*;
    match segments.as_slice() {
        [first, ..] if is(first, "Bulk") => route(Bulk, None),
        [first, ..] if is(first, "Me") => route(Me, None),
        [s] if is(s, ".search") => match *method {
            Method::POST => route(RootSearch, None),
            _ => not_allowed(SEARCH),
        },
        [e] if is(e, "Schemas") => read_only(method, Schemas, None),
        [e, id] if is(e, "Schemas") => read_only(method, SchemaGet, Some(id)),
        [e] if is(e, "ResourceTypes") => read_only(method, ResourceTypes, None),
        [e, id] if is(e, "ResourceTypes") => read_only(method, ResourceTypeGet, Some(id)),
        [e] if is(e, "ServiceProviderConfig") => read_only(method, ServiceProviderConfig, None),
        [e, rest @ ..] if is(e, "Users") || is(e, "Groups") => {
            let users = is(e, "Users");
            let pick = |u: Operation, g: Operation| if users { u } else { g };
            match rest {
                [] => match *method {
                    Method::GET => route(pick(UsersList, GroupsList), None),
                    Method::POST => route(pick(UsersCreate, GroupsCreate), None),
                    _ => not_allowed(COLLECTION),
                },
                [s] if is(s, ".search") => match *method {
                    Method::POST => route(pick(UsersSearch, GroupsSearch), None),
                    _ => not_allowed(SEARCH),
                },
                [id] => {
                    let op = match *method {
                        Method::GET => pick(UsersGet, GroupsGet),
                        Method::PUT => pick(UsersReplace, GroupsReplace),
                        Method::PATCH => pick(UsersPatch, GroupsPatch),
                        Method::DELETE => pick(UsersDelete, GroupsDelete),
                        _ => return not_allowed(ITEM),
                    };
                    route(op, Some(id))
                }
                _ => Err(GatewayError::NotFound),
            }
        }
        _ => Err(GatewayError::NotFound),
    }
}

fn read_only(method: &Method, op: Operation, id: Option<&str>) -> Result<Route, GatewayError> {
    if *method == Method::GET {
        Ok(Route {
            op,
            id: id.map(str::to_owned),
        })
    } else {
        Err(GatewayError::MethodNotAllowed { allow: READ_ONLY })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// garage's `test_cases!` idea: method, path → operation name and id.
    #[test]
    fn method_and_path_resolve_to_the_operation_table() {
        let cases: &[(Method, &str, &str, Option<&str>)] = &[
            (Method::GET, "/Users", "scim.users.list", None),
            (Method::GET, "/Users/", "scim.users.list", None),
            (Method::POST, "/Users", "scim.users.create", None),
            (Method::GET, "/Users/u1", "scim.users.get", Some("u1")),
            (Method::GET, "/Users/u1/", "scim.users.get", Some("u1")),
            (Method::PUT, "/Users/u1", "scim.users.replace", Some("u1")),
            (Method::PATCH, "/Users/u1", "scim.users.patch", Some("u1")),
            (Method::DELETE, "/Users/u1", "scim.users.delete", Some("u1")),
            (Method::POST, "/Users/.search", "scim.users.search", None),
            (Method::GET, "/Groups", "scim.groups.list", None),
            (Method::POST, "/Groups", "scim.groups.create", None),
            (Method::GET, "/Groups/g1", "scim.groups.get", Some("g1")),
            (Method::PUT, "/Groups/g1", "scim.groups.replace", Some("g1")),
            (Method::PATCH, "/Groups/g1", "scim.groups.patch", Some("g1")),
            (
                Method::DELETE,
                "/Groups/g1",
                "scim.groups.delete",
                Some("g1"),
            ),
            (Method::POST, "/Groups/.search", "scim.groups.search", None),
            (Method::POST, "/.search", "scim.search", None),
            (Method::POST, ".search/", "scim.search", None),
            (Method::GET, "/Schemas", "scim.schemas.list", None),
            (
                Method::GET,
                "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
                "scim.schemas.get",
                Some("urn:ietf:params:scim:schemas:core:2.0:User"),
            ),
            (
                Method::GET,
                "/ResourceTypes",
                "scim.resource_types.list",
                None,
            ),
            (
                Method::GET,
                "/ResourceTypes/User",
                "scim.resource_types.get",
                Some("User"),
            ),
            (
                Method::GET,
                "/ServiceProviderConfig",
                "scim.service_provider_config",
                None,
            ),
            (
                Method::GET,
                "/serviceproviderconfig/",
                "scim.service_provider_config",
                None,
            ),
            (Method::GET, "/users", "scim.users.list", None),
            (Method::POST, "/Bulk", "scim.bulk", None),
            (Method::GET, "/Me", "scim.me", None),
            (Method::PATCH, "/Me/anything", "scim.me", None),
        ];
        for (method, path, name, id) in cases {
            let route = resolve(method, path).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            assert_eq!(
                (route.op.name(), route.id.as_deref()),
                (*name, *id),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn known_paths_with_another_method_are_405_with_their_allow_list() {
        let cases: &[(Method, &str, &[Method])] = &[
            (Method::DELETE, "/Users", COLLECTION),
            (Method::PUT, "/Groups/", COLLECTION),
            (Method::POST, "/Users/u1", ITEM),
            (Method::GET, "/Users/.search", SEARCH),
            (Method::GET, "/.search", SEARCH),
            (Method::POST, "/Schemas", READ_ONLY),
            (Method::DELETE, "/ResourceTypes/User", READ_ONLY),
            (Method::PATCH, "/ServiceProviderConfig", READ_ONLY),
            (Method::OPTIONS, "/Users/u1", ITEM),
            (Method::HEAD, "/Users", COLLECTION),
        ];
        for (method, path, allow) in cases {
            match resolve(method, path) {
                Err(GatewayError::MethodNotAllowed { allow: got }) => {
                    assert_eq!(got, *allow, "{method} {path}")
                }
                other => panic!("{method} {path}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in [
            "",
            "/",
            "/Printers",
            "/Users/u1/emails",
            "/Schemas/a/b",
            "/Groups/g/x/y",
        ] {
            assert!(
                matches!(resolve(&Method::GET, path), Err(GatewayError::NotFound)),
                "{path}"
            );
        }
    }

    #[test]
    fn operation_kind_follows_the_endpoint() {
        assert_eq!(Operation::UsersPatch.kind(), Some(ResourceKind::User));
        assert_eq!(Operation::GroupsSearch.kind(), Some(ResourceKind::Group));
        assert_eq!(Operation::RootSearch.kind(), None);
        assert_eq!(Operation::Schemas.kind(), None);
    }
}
