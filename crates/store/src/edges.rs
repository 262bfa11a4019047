//! Member edges: a membership delta from the PATCH engine becomes batched row inserts and
//! deletes, so adding one member to a 100,000-member group touches one row and adding 10,000
//! members is a handful of statements. Every change reports the edges it actually inserted or
//! deleted ([`EdgeChanges`]): that, not the request, decides which users fan-out recomputes,
//! so re-adding a member or re-sending the same member list schedules nothing.

use crate::entity::group_member;
use crate::error::StoreResult;
use crate::reads::parse_id;
use scim::ScimError;
use scim::members::{Member, MembersDelta};
use sea_orm::sea_query::{ExprTrait, LockType, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Rows per statement: 4 bound values each stays far below SQLite's variable limit.
const BATCH: usize = 1_000;

/// `member_type` of a user member.
pub(crate) const USER: &str = "User";
/// `member_type` of a group member.
pub(crate) const GROUP: &str = "Group";

/// A member edge of one group: the member id and its `member_type`.
pub(crate) type Edge = (Uuid, &'static str);

/// The edges of one group a write inserted and deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EdgeChanges {
    /// Members that were not members before.
    pub(crate) added: Vec<Edge>,
    /// Members that are not members any more.
    pub(crate) removed: Vec<Edge>,
}

impl EdgeChanges {
    /// Whether no edge changed.
    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }

    /// Whether a group-in-group edge changed (the hierarchy).
    pub(crate) fn touches_groups(&self) -> bool {
        self.added
            .iter()
            .chain(&self.removed)
            .any(|(_, t)| *t == GROUP)
    }

    /// Group members that were added.
    pub(crate) fn added_groups(&self) -> Vec<Uuid> {
        self.added
            .iter()
            .filter(|(_, t)| *t == GROUP)
            .map(|(id, _)| *id)
            .collect()
    }

    /// User members added or removed.
    pub(crate) fn user_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.added
            .iter()
            .chain(&self.removed)
            .filter(|(_, t)| *t == USER)
            .map(|(id, _)| *id)
    }

    /// Group members added or removed.
    pub(crate) fn group_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.added
            .iter()
            .chain(&self.removed)
            .filter(|(_, t)| *t == GROUP)
            .map(|(id, _)| *id)
    }
}

/// A stored `member_type` as the constant (anything but `Group` is a user, as it always was).
fn member_type(s: &str) -> &'static str {
    if s == GROUP { GROUP } else { USER }
}

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
            // The shortest cycle; longer ones are found by `fanout::refuse_cycles`.
            return Err(crate::fanout::cycle(id, group_id));
        }
        if seen.insert(id) {
            ids.push(id);
        }
    }
    let mut types: HashMap<Uuid, &'static str> = HashMap::with_capacity(ids.len());
    // FOR KEY SHARE on PostgreSQL: a concurrent delete of a member waits for this transaction
    // (or wins first and the member is reported missing), so no edge to a deleted row
    // survives. KEY SHARE, not SHARE: it does not conflict with the `FOR NO KEY UPDATE` that
    // fan-out jobs and other writes of these users take, so a member PATCH never queues behind
    // a fan-out job recomputing the very users it adds (DESIGN §7).
    let share = db.get_database_backend() == sea_orm::DbBackend::Postgres;
    // Locked in id order, as fan-out jobs lock users, so the two queue rather than deadlock.
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    for chunk in sorted.chunks(BATCH) {
        let mut users = crate::entity::user::Entity::find()
            .select_only()
            .column(crate::entity::user::Column::Id)
            .filter(crate::entity::user::Column::TenantId.eq(tenant))
            .filter(crate::entity::user::Column::Id.is_in(chunk.iter().copied()));
        if share {
            users = users.lock(LockType::KeyShare);
        }
        let users: Vec<Uuid> = users.into_tuple().all(db).await?;
        types.extend(users.into_iter().map(|u| (u, USER)));
        let mut groups = crate::entity::group::Entity::find()
            .select_only()
            .column(crate::entity::group::Column::Id)
            .filter(crate::entity::group::Column::TenantId.eq(tenant))
            .filter(crate::entity::group::Column::Id.is_in(chunk.iter().copied()));
        if share {
            groups = groups.lock(LockType::KeyShare);
        }
        let groups: Vec<Uuid> = groups.into_tuple().all(db).await?;
        types.extend(groups.into_iter().map(|g| (g, GROUP)));
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

/// Applies a delta: with `clear`, the members become exactly `add`; otherwise `remove` goes and
/// `add` comes. Returns the edges that really changed.
pub(crate) async fn apply_delta<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    group_id: Uuid,
    delta: &MembersDelta,
) -> StoreResult<EdgeChanges> {
    let added = resolve_members(db, tenant, group_id, &delta.add).await?;
    if delta.clear {
        return replace_all(db, tenant, group_id, &added).await;
    }
    // Removing a non-member is a no-op; an id that is not a UUID cannot be a member.
    let remove: Vec<Uuid> = delta.remove.iter().filter_map(|v| parse_id(v)).collect();
    let removed = edges_of(db, tenant, group_id, Some(&remove)).await?;
    delete(db, tenant, group_id, &removed).await?;
    let add_ids: Vec<Uuid> = added.iter().map(|(id, _)| *id).collect();
    let present: HashSet<Uuid> = edges_of(db, tenant, group_id, Some(&add_ids))
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let added: Vec<Edge> = added
        .into_iter()
        .filter(|(id, _)| !present.contains(id))
        .collect();
    insert(db, tenant, group_id, &added).await?;
    Ok(EdgeChanges { added, removed })
}

/// Replaces a group's whole member set (PUT, or PATCH `replace members`), touching only the
/// edges that differ: re-sending the same 10,000 members rewrites nothing.
pub(crate) async fn replace_all<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    group_id: Uuid,
    members: &[Edge],
) -> StoreResult<EdgeChanges> {
    let old = edges_of(db, tenant, group_id, None).await?;
    let old_ids: HashSet<Uuid> = old.iter().map(|(id, _)| *id).collect();
    let new_ids: HashSet<Uuid> = members.iter().map(|(id, _)| *id).collect();
    let removed: Vec<Edge> = old
        .into_iter()
        .filter(|(id, _)| !new_ids.contains(id))
        .collect();
    let added: Vec<Edge> = members
        .iter()
        .filter(|(id, _)| !old_ids.contains(id))
        .copied()
        .collect();
    delete(db, tenant, group_id, &removed).await?;
    insert(db, tenant, group_id, &added).await?;
    Ok(EdgeChanges { added, removed })
}

/// A group's edges: all of them, or those to the members in `only`.
pub(crate) async fn edges_of<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    group_id: Uuid,
    only: Option<&[Uuid]>,
) -> StoreResult<Vec<Edge>> {
    let scope = || {
        group_member::Entity::find()
            .select_only()
            .column(group_member::Column::MemberId)
            .column(group_member::Column::MemberType)
            .filter(group_member::Column::TenantId.eq(tenant))
            .filter(group_member::Column::GroupId.eq(group_id))
    };
    let rows: Vec<(Uuid, String)> = match only {
        None => scope().into_tuple().all(db).await?,
        Some(ids) => {
            let mut rows = Vec::new();
            for chunk in ids.chunks(BATCH) {
                rows.extend(
                    scope()
                        .filter(group_member::Column::MemberId.is_in(chunk.iter().copied()))
                        .into_tuple::<(Uuid, String)>()
                        .all(db)
                        .await?,
                );
            }
            rows
        }
    };
    Ok(rows
        .into_iter()
        .map(|(id, t)| (id, member_type(&t)))
        .collect())
}

async fn delete<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    group_id: Uuid,
    edges: &[Edge],
) -> StoreResult<()> {
    for chunk in edges.chunks(BATCH) {
        group_member::Entity::delete_many()
            .filter(group_member::Column::TenantId.eq(tenant))
            .filter(group_member::Column::GroupId.eq(group_id))
            .filter(group_member::Column::MemberId.is_in(chunk.iter().map(|(id, _)| *id)))
            .exec(db)
            .await?;
    }
    Ok(())
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
