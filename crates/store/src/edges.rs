//! Member edges: a membership delta from the PATCH engine becomes batched row inserts and
//! deletes, so adding one member to a 100,000-member group touches one row and adding 10,000
//! members is a handful of statements.

use crate::entity::group_member;
use crate::error::StoreResult;
use crate::reads::parse_id;
use scim::ScimError;
use scim::members::{Member, MembersDelta};
use sea_orm::sea_query::{ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Rows per statement: 4 bound values each stays far below SQLite's variable limit.
const BATCH: usize = 1_000;

/// Resolves member ids to their types, rejecting ids that name nothing in this tenant.
pub(crate) async fn resolve_members<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    group_id: Uuid,
    members: &[Member],
) -> StoreResult<Vec<(Uuid, &'static str)>> {
    let mut ids = Vec::with_capacity(members.len());
    let mut seen = HashSet::with_capacity(members.len());
    for m in members {
        let id = parse_id(&m.value).ok_or_else(|| {
            ScimError::invalid_value(format!("member value '{}' is not a resource id", m.value))
        })?;
        if id == group_id {
            return Err(ScimError::invalid_value("a group cannot be a member of itself").into());
        }
        if seen.insert(id) {
            ids.push(id);
        }
    }
    let mut types: HashMap<Uuid, &'static str> = HashMap::with_capacity(ids.len());
    // FOR SHARE on PostgreSQL: a concurrent delete of a member waits for this transaction (or
    // wins first and the member is reported missing), so no edge to a deleted row survives.
    let share = db.get_database_backend() == sea_orm::DbBackend::Postgres;
    for chunk in ids.chunks(BATCH) {
        let mut users = crate::entity::user::Entity::find()
            .select_only()
            .column(crate::entity::user::Column::Id)
            .filter(crate::entity::user::Column::TenantId.eq(tenant))
            .filter(crate::entity::user::Column::Id.is_in(chunk.iter().copied()));
        if share {
            users = users.lock_shared();
        }
        let users: Vec<Uuid> = users.into_tuple().all(db).await?;
        types.extend(users.into_iter().map(|u| (u, "User")));
        let mut groups = crate::entity::group::Entity::find()
            .select_only()
            .column(crate::entity::group::Column::Id)
            .filter(crate::entity::group::Column::TenantId.eq(tenant))
            .filter(crate::entity::group::Column::Id.is_in(chunk.iter().copied()));
        if share {
            groups = groups.lock_shared();
        }
        let groups: Vec<Uuid> = groups.into_tuple().all(db).await?;
        types.extend(groups.into_iter().map(|g| (g, "Group")));
    }
    ids.into_iter()
        .map(|id| {
            types.get(&id).map(|t| (id, *t)).ok_or_else(|| {
                ScimError::invalid_value(format!("member '{id}' does not exist")).into()
            })
        })
        .collect()
}

/// Inserts edges, ignoring ones that exist (re-adding a member is a no-op).
pub(crate) async fn insert<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    group_id: Uuid,
    members: &[(Uuid, &'static str)],
) -> StoreResult<()> {
    for chunk in members.chunks(BATCH) {
        let rows = chunk.iter().map(|(id, t)| group_member::ActiveModel {
            tenant_id: Set(tenant),
            group_id: Set(group_id),
            member_id: Set(*id),
            member_type: Set((*t).to_owned()),
        });
        group_member::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    group_member::Column::TenantId,
                    group_member::Column::GroupId,
                    group_member::Column::MemberId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Applies a delta: clear first when asked, then deletes, then inserts.
pub(crate) async fn apply_delta<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    group_id: Uuid,
    delta: &MembersDelta,
) -> StoreResult<()> {
    let added = resolve_members(db, tenant, group_id, &delta.add).await?;
    let scope = || {
        group_member::Entity::delete_many()
            .filter(group_member::Column::TenantId.eq(tenant))
            .filter(group_member::Column::GroupId.eq(group_id))
    };
    if delta.clear {
        scope().exec(db).await?;
    } else {
        // Removing a non-member is a no-op; an id that is not a UUID cannot be a member.
        let removed: Vec<Uuid> = delta.remove.iter().filter_map(|v| parse_id(v)).collect();
        for chunk in removed.chunks(BATCH) {
            scope()
                .filter(group_member::Column::MemberId.is_in(chunk.iter().copied()))
                .exec(db)
                .await?;
        }
    }
    insert(db, tenant, group_id, &added).await
}

/// Replaces a group's whole member set (PUT).
pub(crate) async fn replace_all<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    group_id: Uuid,
    members: &[(Uuid, &'static str)],
) -> StoreResult<()> {
    group_member::Entity::delete_many()
        .filter(group_member::Column::TenantId.eq(tenant))
        .filter(group_member::Column::GroupId.eq(group_id))
        .exec(db)
        .await?;
    insert(db, tenant, group_id, members).await
}

/// Removes every edge into or out of a deleted resource. Groups that lose a member get a new
/// version and lastModified: their member list changed, so an old ETag must no longer match.
pub(crate) async fn remove_resource<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    id: Uuid,
) -> StoreResult<()> {
    let parents: Vec<Uuid> = group_member::Entity::find()
        .select_only()
        .column(group_member::Column::GroupId)
        .filter(group_member::Column::TenantId.eq(tenant))
        .filter(group_member::Column::MemberId.eq(id))
        .into_tuple()
        .all(db)
        .await?;
    for chunk in parents.chunks(BATCH) {
        use crate::entity::group;
        group::Entity::update_many()
            .col_expr(
                group::Column::Version,
                sea_orm::sea_query::Expr::col(group::Column::Version).add(1),
            )
            .col_expr(
                group::Column::LastModified,
                sea_orm::sea_query::Expr::value(crate::directory::now()),
            )
            .filter(group::Column::TenantId.eq(tenant))
            .filter(group::Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    group_member::Entity::delete_many()
        .filter(group_member::Column::TenantId.eq(tenant))
        .filter(
            group_member::Column::GroupId
                .eq(id)
                .or(group_member::Column::MemberId.eq(id)),
        )
        .exec(db)
        .await?;
    Ok(())
}
