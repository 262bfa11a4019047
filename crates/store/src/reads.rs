//! Reads: get by id, list with filter/sort/paging, a group's members (keyset-paged), a user's
//! groups. Every query is scoped by tenant first: an id from another tenant is simply absent.
//!
//! A user's `groups` comes from the `user_groups` projection, so it is eventual: it shows a
//! membership change once fan-out has run (DESIGN §7). Group names are joined in at read
//! time, so a rename shows at once and needs no fan-out.

use crate::directory::Directory;
use crate::entity::{group, group_member, user, user_group};
use crate::error::{StoreError, StoreResult, read_error};
use crate::model::{GroupMembership, MemberRef, StoredResource};
use crate::query::filter::Translator;
use scim::ScimError;
use scim::filter::Filter;
use scim::path::AttrPath;
use scim::schema::ResourceKind;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockType, NullOrdering, Order};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement, TransactionTrait,
};
use uuid::Uuid;

/// What a list call asks for.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// A filter (resolved again here against the registry).
    pub filter: Option<Filter>,
    /// `sortBy`.
    pub sort_by: Option<AttrPath>,
    /// `sortOrder=descending`.
    pub descending: bool,
    /// 1-based `startIndex`.
    pub start_index: u64,
    /// `count` (already clamped by the caller; 0 returns only `totalResults`).
    pub count: u64,
    /// Load group members.
    pub include_members: bool,
    /// Load user groups.
    pub include_groups: bool,
}

/// What a list call returns.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// Every match, not only this page.
    pub total_results: u64,
    /// This page.
    pub resources: Vec<StoredResource>,
}

/// Parses an id the way clients send it; an id that is not a canonical UUID names nothing.
pub(crate) fn parse_id(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok().filter(|u| u.to_string() == id)
}

pub(crate) fn not_found(kind: ResourceKind, id: &str) -> StoreError {
    ScimError::not_found(format!("{} {id} not found", kind.name())).into()
}

pub(crate) fn user_resource(m: user::Model) -> StoredResource {
    StoredResource {
        kind: ResourceKind::User,
        id: m.id,
        body: m.body,
        version: m.version,
        created: m.created,
        last_modified: m.last_modified,
        members: None,
        groups: None,
    }
}

pub(crate) fn group_resource(m: group::Model) -> StoredResource {
    StoredResource {
        kind: ResourceKind::Group,
        id: m.id,
        body: m.body,
        version: m.version,
        created: m.created,
        last_modified: m.last_modified,
        members: None,
        groups: None,
    }
}

impl Directory {
    /// One resource, or `404`.
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "select resource"))]
    pub async fn get(
        &self,
        tenant: Uuid,
        kind: ResourceKind,
        id: &str,
        include_members: bool,
        include_groups: bool,
    ) -> StoreResult<StoredResource> {
        let uid = parse_id(id).ok_or_else(|| not_found(kind, id))?;
        let mut r = self
            .find(&self.db, tenant, kind, uid)
            .await?
            .ok_or_else(|| not_found(kind, id))?;
        self.load_relations(tenant, &mut r, include_members, include_groups)
            .await?;
        Ok(r)
    }

    pub(crate) async fn find<C: ConnectionTrait>(
        &self,
        db: &C,
        tenant: Uuid,
        kind: ResourceKind,
        id: Uuid,
    ) -> StoreResult<Option<StoredResource>> {
        self.find_locked(db, tenant, kind, id, false).await
    }

    /// Like `find`; with `lock`, on PostgreSQL the row stays locked until the transaction ends
    /// (`FOR NO KEY UPDATE`: a write never changes the key), so concurrent writers of one
    /// resource queue instead of racing, while member checks (`FOR KEY SHARE`) pass. SQLite
    /// needs no lock: its writers are serialised by `Directory::write_guard`.
    pub(crate) async fn find_locked<C: ConnectionTrait>(
        &self,
        db: &C,
        tenant: Uuid,
        kind: ResourceKind,
        id: Uuid,
        lock: bool,
    ) -> StoreResult<Option<StoredResource>> {
        let lock = lock && self.backend() == sea_orm::DbBackend::Postgres;
        Ok(match kind {
            ResourceKind::User => {
                let mut q = user::Entity::find_by_id((tenant, id));
                if lock {
                    q = q.lock(LockType::NoKeyUpdate);
                }
                q.one(db).await?.map(user_resource)
            }
            ResourceKind::Group => {
                let mut q = group::Entity::find_by_id((tenant, id));
                if lock {
                    q = q.lock(LockType::NoKeyUpdate);
                }
                q.one(db).await?.map(group_resource)
            }
        })
    }

    async fn load_relations(
        &self,
        tenant: Uuid,
        r: &mut StoredResource,
        include_members: bool,
        include_groups: bool,
    ) -> StoreResult<()> {
        match r.kind {
            ResourceKind::Group if include_members => {
                r.members = Some(self.all_members(tenant, r.id).await?)
            }
            ResourceKind::User if include_groups => {
                r.groups = Some(self.user_groups(tenant, r.id).await?)
            }
            _ => {}
        }
        Ok(())
    }

    /// Every member of a group, ordered by member id.
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "select members"))]
    pub async fn all_members(&self, tenant: Uuid, group_id: Uuid) -> StoreResult<Vec<MemberRef>> {
        let rows = group_member::Entity::find()
            .filter(group_member::Column::TenantId.eq(tenant))
            .filter(group_member::Column::GroupId.eq(group_id))
            .order_by_asc(group_member::Column::MemberId)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| MemberRef {
                id: m.member_id,
                member_type: m.member_type,
            })
            .collect())
    }

    /// One page of a group's members after `after` (keyset paging: constant cost at any depth).
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "select members"))]
    pub async fn members_page(
        &self,
        tenant: Uuid,
        group_id: &str,
        after: Option<Uuid>,
        limit: u64,
    ) -> StoreResult<(Vec<MemberRef>, Option<Uuid>)> {
        let gid = parse_id(group_id).ok_or_else(|| not_found(ResourceKind::Group, group_id))?;
        if self
            .find(&self.db, tenant, ResourceKind::Group, gid)
            .await?
            .is_none()
        {
            return Err(not_found(ResourceKind::Group, group_id));
        }
        let mut q = group_member::Entity::find()
            .filter(group_member::Column::TenantId.eq(tenant))
            .filter(group_member::Column::GroupId.eq(gid));
        if let Some(after) = after {
            q = q.filter(group_member::Column::MemberId.gt(after));
        }
        let limit = limit.clamp(1, 10_000);
        let rows = q
            .order_by_asc(group_member::Column::MemberId)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let more = rows.len() as u64 > limit;
        let page: Vec<MemberRef> = rows
            .into_iter()
            .take(limit as usize)
            .map(|m| MemberRef {
                id: m.member_id,
                member_type: m.member_type,
            })
            .collect();
        let next = if more {
            page.last().map(|m| m.id)
        } else {
            None
        };
        Ok((page, next))
    }

    /// A user's groups, direct and indirect, by group id, from the fan-out projection.
    async fn user_groups(&self, tenant: Uuid, user_id: Uuid) -> StoreResult<Vec<GroupMembership>> {
        let rows: Vec<(Uuid, String)> = user_group::Entity::find()
            .select_only()
            .column(user_group::Column::GroupId)
            .column(user_group::Column::Kind)
            .filter(user_group::Column::TenantId.eq(tenant))
            .filter(user_group::Column::UserId.eq(user_id))
            .into_tuple()
            .all(&self.db)
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let kinds: std::collections::HashMap<Uuid, String> = rows.into_iter().collect();
        // An inner join in effect: a row left by a group deleted a moment ago (its job has not
        // run yet) names nothing and is not shown.
        let groups: Vec<(Uuid, String)> = group::Entity::find()
            .select_only()
            .column(group::Column::Id)
            .column(group::Column::DisplayName)
            .filter(group::Column::TenantId.eq(tenant))
            .filter(group::Column::Id.is_in(kinds.keys().copied()))
            .order_by_asc(group::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(groups
            .into_iter()
            .filter_map(|(id, display)| {
                kinds.get(&id).map(|kind| GroupMembership {
                    id,
                    display,
                    kind: kind.clone(),
                })
            })
            .collect())
    }

    /// A page of resources matching the request, with the exact total.
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "select resources"))]
    pub async fn list(
        &self,
        tenant: Uuid,
        kind: ResourceKind,
        req: &ListRequest,
    ) -> StoreResult<ListPage> {
        let (total, mut resources) = match kind {
            ResourceKind::User => {
                let (count, page) = self.list_queries::<user::Entity>(tenant, kind, req)?;
                let rows = page.all(&self.db).await.map_err(read_error)?;
                (
                    self.total(req, rows.len(), count).await?,
                    rows.into_iter().map(user_resource).collect::<Vec<_>>(),
                )
            }
            ResourceKind::Group => {
                let (count, page) = self.list_queries::<group::Entity>(tenant, kind, req)?;
                let rows = page.all(&self.db).await.map_err(read_error)?;
                (
                    self.total(req, rows.len(), count).await?,
                    rows.into_iter().map(group_resource).collect::<Vec<_>>(),
                )
            }
        };
        for r in &mut resources {
            self.load_relations(tenant, r, req.include_members, req.include_groups)
                .await?;
        }
        Ok(ListPage {
            total_results: total,
            resources,
        })
    }

    /// `totalResults` of a list call whose page query returned `rows`: a page that is not full
    /// and is not past the end holds the last match, so the total is known without counting
    /// (a `userName eq` lookup, the last page of an import); otherwise `count` is run.
    async fn total<E>(
        &self,
        req: &ListRequest,
        rows: usize,
        count: sea_orm::Select<E>,
    ) -> StoreResult<u64>
    where
        E: EntityTrait,
        E::Model: sea_orm::FromQueryResult + Send + Sync,
    {
        let (rows, offset) = (rows as u64, Ord::max(req.start_index, 1) - 1);
        if rows < req.count && (rows > 0 || offset == 0) {
            return Ok(offset + rows);
        }
        count.count(&self.db).await.map_err(read_error)
    }

    /// The two statements of a list call on entity `E` (`users` or `groups`): all matches
    /// (for `totalResults`) and the requested page, sorted, with `id` as the tie-breaker.
    fn list_queries<E: EntityTrait>(
        &self,
        tenant: Uuid,
        kind: ResourceKind,
        req: &ListRequest,
    ) -> StoreResult<(sea_orm::Select<E>, sea_orm::Select<E>)> {
        let tr = Translator {
            backend: self.backend(),
            registry: &self.registry,
            kind,
            tenant,
        };
        let mut all = E::find().filter(Expr::col(Alias::new("tenant_id")).eq(tenant));
        if let Some(f) = &req.filter {
            all = all.filter(tr.condition(&f.resolve(&self.registry, kind)?)?);
        }
        let order = if req.descending {
            Order::Desc
        } else {
            Order::Asc
        };
        let mut page = all.clone();
        if let Some(p) = &req.sort_by {
            page = page.order_by_with_nulls(tr.sort_key(p)?, order.clone(), NullOrdering::Last);
        }
        let page = page
            .order_by(Expr::cust("id"), order)
            .offset(Ord::max(req.start_index, 1) - 1)
            .limit(req.count);
        Ok((all, page))
    }

    /// The database's plan for the page query of a list call (`EXPLAIN QUERY PLAN` on SQLite,
    /// `EXPLAIN` on PostgreSQL, there with sequential scans discouraged so that a usable
    /// index shows even on a small table): for checking that matching filters are index
    /// searches, in tests and by operators.
    pub async fn explain_list(
        &self,
        tenant: Uuid,
        kind: ResourceKind,
        req: &ListRequest,
    ) -> StoreResult<String> {
        let backend = self.backend();
        let page = match kind {
            ResourceKind::User => self
                .list_queries::<user::Entity>(tenant, kind, req)?
                .1
                .build(backend),
            ResourceKind::Group => self
                .list_queries::<group::Entity>(tenant, kind, req)?
                .1
                .build(backend),
        };
        let (prefix, column) = match backend {
            DbBackend::Postgres => ("EXPLAIN ", "QUERY PLAN"),
            _ => ("EXPLAIN QUERY PLAN ", "detail"),
        };
        let stmt = Statement::from_sql_and_values(
            backend,
            format!("{prefix}{}", page.sql),
            page.values.map(|v| v.0).unwrap_or_default(),
        );
        let txn = self.db.begin().await?;
        if backend == DbBackend::Postgres {
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await?;
        }
        let rows = txn.query_all_raw(stmt).await?;
        txn.rollback().await?;
        let lines: Vec<String> = rows
            .iter()
            .filter_map(|r| r.try_get::<String>("", column).ok())
            .collect();
        Ok(lines.join("\n"))
    }
}
