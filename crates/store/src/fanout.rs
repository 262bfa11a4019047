//! Group membership fan-out (DESIGN §7): which users a membership write affects, the cycle
//! check for nested groups, and the job that recomputes users' effective groups into the
//! `user_groups` projection.
//!
//! A job never applies a delta: it recomputes each of its users' direct and indirect groups
//! from the edge rows and compares them with the projection, so redelivered, duplicated and
//! reordered jobs all converge on the same state and a second run writes nothing.
//!
//! Why this is enough on PostgreSQL, where writes and jobs run concurrently:
//! - a job locks its users' rows (`FOR UPDATE`, id order) before it reads any edge, so two
//!   jobs for one user run one after the other and the later one reads every edge committed
//!   before it started — including the edges of the write whose job it is;
//! - every group write of a tenant takes a transaction-scoped advisory lock, shared; one that
//!   turns out to change group members (the hierarchy) retries holding it exclusively, and a
//!   group delete always does. A write that expands a group member into the users under it therefore never runs
//!   beside a write that changes who is under that group, so its affected-user set cannot miss
//!   a user added concurrently, and two hierarchy changes cannot each pass the cycle check and
//!   together close a cycle. Hierarchy changes are rare (Entra does not nest groups); member
//!   adds and removes, the bulk of traffic, share the lock and still run in parallel.
//!
//! SQLite serialises every write through `Directory::write_guard`, so none of this is needed.

use crate::directory::{Directory, begin_write, now};
use crate::edges::EdgeChanges;
use crate::entity::{group_member, user, user_group};
use crate::error::{StoreError, StoreResult, is_transient_db};
use crate::outbox;
use crate::query::filter::numbered;
use scim::ScimError;
use scim_wire::convert::timestamp_to_pb;
use scim_wire::pb;
use sea_orm::sea_query::{Expr, ExprTrait, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, Value,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;
use uuid::Uuid;

/// `user_groups.kind` of a group with an edge to the user.
pub const DIRECT: &str = "direct";
/// `user_groups.kind` of a group the user is in through nested groups only.
pub const INDIRECT: &str = "indirect";

/// Ids per `IN (…)` list in the recursive queries.
const SEEDS: usize = 500;

/// Rows per `user_groups` insert (4 bound values each).
const ROWS_PER_INSERT: usize = 1_000;

/// Attempts of one job chunk before a transient failure is returned to the caller.
const MAX_ATTEMPTS: u32 = 6;

/// A statement with `?` placeholders on either backend.
fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        numbered(sql)
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The advisory-lock key of a tenant's membership writes.
fn lock_key(tenant: Uuid) -> i64 {
    let v = tenant.as_u128();
    ((v >> 64) as u64 ^ v as u64) as i64
}

/// Takes the tenant's membership lock for the rest of the transaction (PostgreSQL only; see
/// the module notes). Taken before any row lock of the transaction, so it never closes a
/// deadlock with them.
pub(crate) async fn membership_lock<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    exclusive: bool,
) -> StoreResult<()> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let f = if exclusive {
        "pg_advisory_xact_lock"
    } else {
        "pg_advisory_xact_lock_shared"
    };
    db.execute_raw(stmt(
        DbBackend::Postgres,
        &format!("SELECT {f}(?)"),
        vec![lock_key(tenant).into()],
    ))
    .await?;
    Ok(())
}

/// The users whose memberships a change of these member edges can alter: a user member
/// itself, a group member every user transitively under it. Read before the edges of a
/// deleted group go, after them otherwise (the subtree under a changed member is the same
/// either way: a group cannot be under its own member).
pub(crate) async fn affected_users<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    changes: &EdgeChanges,
) -> StoreResult<BTreeSet<Uuid>> {
    let mut users: BTreeSet<Uuid> = changes.user_ids().collect();
    let groups: Vec<Uuid> = changes.group_ids().collect();
    users.extend(users_under(db, tenant, &groups).await?);
    Ok(users)
}

/// Every user transitively under these groups. `UNION` (not `UNION ALL`) makes the
/// recursion stop at groups already visited, so even a cycle could not make it loop.
pub(crate) async fn users_under<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    groups: &[Uuid],
) -> StoreResult<BTreeSet<Uuid>> {
    let backend = db.get_database_backend();
    let mut users = BTreeSet::new();
    for chunk in groups.chunks(SEEDS) {
        let sql = format!(
            "WITH RECURSIVE sub(id) AS (\
               SELECT id FROM groups WHERE tenant_id = ? AND id IN ({}) \
               UNION \
               SELECT gm.member_id FROM group_members gm JOIN sub ON gm.group_id = sub.id \
               WHERE gm.tenant_id = ? AND gm.member_type = 'Group') \
             SELECT DISTINCT gm.member_id AS id FROM group_members gm JOIN sub ON gm.group_id = sub.id \
             WHERE gm.tenant_id = ? AND gm.member_type = 'User'",
            placeholders(chunk.len())
        );
        let mut values: Vec<Value> = vec![tenant.into()];
        values.extend(chunk.iter().map(|g| Value::from(*g)));
        values.push(tenant.into());
        values.push(tenant.into());
        for row in db.query_all_raw(stmt(backend, &sql, values)).await? {
            users.insert(row.try_get::<Uuid>("", "id")?);
        }
    }
    Ok(users)
}

/// Refuses edges `group → m` (already inserted, inside the transaction) that close a cycle:
/// `group` reachable downward from some new group member `m`. Only new edges can close one,
/// because the edges before this write had none.
pub(crate) async fn refuse_cycles<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    group: Uuid,
    added_groups: &[Uuid],
) -> StoreResult<()> {
    let backend = db.get_database_backend();
    for chunk in added_groups.chunks(SEEDS) {
        let sql = format!(
            "WITH RECURSIVE down(root, id) AS (\
               SELECT id, id FROM groups WHERE tenant_id = ? AND id IN ({}) \
               UNION \
               SELECT down.root, gm.member_id FROM group_members gm JOIN down ON gm.group_id = down.id \
               WHERE gm.tenant_id = ? AND gm.member_type = 'Group') \
             SELECT root FROM down WHERE id = ? LIMIT 1",
            placeholders(chunk.len())
        );
        let mut values: Vec<Value> = vec![tenant.into()];
        values.extend(chunk.iter().map(|g| Value::from(*g)));
        values.push(tenant.into());
        values.push(group.into());
        if let Some(row) = db.query_one_raw(stmt(backend, &sql, values)).await? {
            let member: Uuid = row.try_get("", "root")?;
            return Err(cycle(member, group));
        }
    }
    Ok(())
}

/// The refusal for adding group `member` to `group`.
pub(crate) fn cycle(member: Uuid, group: Uuid) -> StoreError {
    ScimError::invalid_value(format!(
        "adding group {member} to {group} would create a cycle"
    ))
    .into()
}

/// A user is being deleted: its projection rows go in the same transaction, and when it had
/// any, one `MembershipChanged` (`user_deleted`) tells consumers every group it left.
/// `last_version` is the deleted row's version: the event's `set_version` is one above it, so
/// it supersedes every earlier event of the user.
pub(crate) async fn user_deleted<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    user_id: Uuid,
    last_version: i64,
) -> StoreResult<()> {
    let rows = user_group::Entity::find()
        .filter(user_group::Column::TenantId.eq(tenant))
        .filter(user_group::Column::UserId.eq(user_id))
        .order_by_asc(user_group::Column::GroupId)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    user_group::Entity::delete_many()
        .filter(user_group::Column::TenantId.eq(tenant))
        .filter(user_group::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    let event = pb::MembershipChanged {
        tenant_id: tenant.to_string(),
        user_id: user_id.to_string(),
        groups_added: Vec::new(),
        groups_removed: rows
            .into_iter()
            .map(|r| membership_ref(r.group_id, &r.kind))
            .collect(),
        groups: Vec::new(),
        set_version: u64::try_from(last_version + 1).unwrap_or(0),
        at: Some(timestamp_to_pb(now())),
        user_deleted: true,
    };
    outbox::enqueue_events(db, tenant, &[event]).await
}

fn membership_ref(group: Uuid, kind: &str) -> pb::MembershipRef {
    pb::MembershipRef {
        group_id: group.to_string(),
        r#type: kind.to_owned(),
    }
}

/// A user's effective groups: group id → `direct` / `indirect`.
type GroupSet = BTreeMap<Uuid, String>;

impl Directory {
    /// Runs a fan-out job: recomputes its users' effective groups from the edges, rewrites the
    /// projection rows of those whose set changed, bumps their version and lastModified and
    /// writes one `MembershipChanged` each to the outbox; finally deletes the job's outbox row
    /// (`outbox_id`, when it is still there). One transaction per [`outbox::JOB_USERS`] users.
    /// Returns how many users changed: 0 when the job ran before.
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "transaction fanout_job"))]
    pub async fn run_fanout_job(&self, job: &pb::FanoutJob) -> StoreResult<u32> {
        let tenant = Uuid::parse_str(&job.tenant_id)
            .map_err(|_| StoreError::Invalid("FanoutJob: tenant_id is not a UUID".into()))?;
        let mut users = job
            .user_ids
            .iter()
            .map(|u| {
                Uuid::parse_str(u)
                    .map_err(|_| StoreError::Invalid("FanoutJob: a user id is not a UUID".into()))
            })
            .collect::<StoreResult<Vec<Uuid>>>()?;
        users.sort_unstable();
        users.dedup();
        let chunks: Vec<&[Uuid]> = if users.is_empty() {
            vec![&[]]
        } else {
            users.chunks(outbox::JOB_USERS).collect()
        };
        let last = chunks.len() - 1;
        let mut changed = 0;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let complete = (i == last && job.outbox_id > 0).then_some(job.outbox_id);
            changed += self.recompute_retrying(tenant, chunk, complete).await?;
        }
        Ok(changed)
    }

    async fn recompute_retrying(
        &self,
        tenant: Uuid,
        users: &[Uuid],
        complete: Option<i64>,
    ) -> StoreResult<u32> {
        let mut attempt = 0;
        loop {
            match self.recompute(tenant, users, complete).await {
                Err(StoreError::Db(e)) if is_transient_db(&e) && attempt + 1 < MAX_ATTEMPTS => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// One transaction: lock the users, recompute, rewrite what differs.
    async fn recompute(
        &self,
        tenant: Uuid,
        users: &[Uuid],
        complete: Option<i64>,
    ) -> StoreResult<u32> {
        let _slot = self.background_slot().await;
        let _guard = self.write_guard().await;
        let txn = begin_write(&self.background).await?;
        let mut live = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::Version)
            .filter(user::Column::TenantId.eq(tenant))
            .filter(user::Column::Id.is_in(users.iter().copied()))
            .order_by_asc(user::Column::Id);
        if self.backend() == DbBackend::Postgres {
            // In id order, so concurrent jobs over overlapping users queue instead of
            // deadlocking. `FOR NO KEY UPDATE`, not `FOR UPDATE`: a job changes the users' version,
            // never their key, so a member PATCH checking that these users exist (`FOR KEY
            // SHARE`, see `edges::resolve_members`) never waits for a job.
            live = live.lock(LockType::NoKeyUpdate);
        }
        let live: Vec<(Uuid, i64)> = live.into_tuple().all(&txn).await?;
        let live_ids: Vec<Uuid> = live.iter().map(|(id, _)| *id).collect();
        // Deleted users: their delete removed their rows and wrote their event; this only
        // clears what an older job may have left behind.
        let gone: Vec<Uuid> = {
            let alive: BTreeSet<Uuid> = live_ids.iter().copied().collect();
            users
                .iter()
                .copied()
                .filter(|u| !alive.contains(u))
                .collect()
        };
        if !gone.is_empty() {
            user_group::Entity::delete_many()
                .filter(user_group::Column::TenantId.eq(tenant))
                .filter(user_group::Column::UserId.is_in(gone))
                .exec(&txn)
                .await?;
        }
        let want = effective_groups(&txn, tenant, &live_ids).await?;
        let have = projection(&txn, tenant, &live_ids).await?;
        let empty = GroupSet::new();
        let t = now();
        let mut changed = Vec::new();
        let mut events = Vec::new();
        for (id, version) in &live {
            let (new, old) = (
                want.get(id).unwrap_or(&empty),
                have.get(id).unwrap_or(&empty),
            );
            if new == old {
                continue;
            }
            changed.push(*id);
            events.push(pb::MembershipChanged {
                tenant_id: tenant.to_string(),
                user_id: id.to_string(),
                groups_added: new
                    .iter()
                    .filter(|(g, _)| !old.contains_key(g))
                    .map(|(g, k)| membership_ref(*g, k))
                    .collect(),
                groups_removed: old
                    .iter()
                    .filter(|(g, _)| !new.contains_key(g))
                    .map(|(g, k)| membership_ref(*g, k))
                    .collect(),
                groups: new.iter().map(|(g, k)| membership_ref(*g, k)).collect(),
                set_version: u64::try_from(version + 1).unwrap_or(0),
                at: Some(timestamp_to_pb(t)),
                user_deleted: false,
            });
        }
        if !changed.is_empty() {
            user_group::Entity::delete_many()
                .filter(user_group::Column::TenantId.eq(tenant))
                .filter(user_group::Column::UserId.is_in(changed.iter().copied()))
                .exec(&txn)
                .await?;
            let rows: Vec<user_group::ActiveModel> = changed
                .iter()
                .flat_map(|u| {
                    want.get(u)
                        .into_iter()
                        .flatten()
                        .map(|(g, k)| user_group::ActiveModel {
                            tenant_id: Set(tenant),
                            user_id: Set(*u),
                            group_id: Set(*g),
                            kind: Set(k.clone()),
                        })
                })
                .collect();
            for batch in rows.chunks(ROWS_PER_INSERT) {
                user_group::Entity::insert_many(batch.to_vec())
                    .exec_without_returning(&txn)
                    .await?;
            }
            // `groups` is part of the User resource: its ETag and lastModified move with it.
            user::Entity::update_many()
                .col_expr(
                    user::Column::Version,
                    Expr::col(user::Column::Version).add(1),
                )
                .col_expr(user::Column::LastModified, Expr::value(t))
                .filter(user::Column::TenantId.eq(tenant))
                .filter(user::Column::Id.is_in(changed.iter().copied()))
                .exec(&txn)
                .await?;
            outbox::enqueue_events(&txn, tenant, &events).await?;
        }
        if let Some(id) = complete {
            outbox::complete_job(&txn, id).await?;
        }
        txn.commit().await?;
        Ok(changed.len() as u32)
    }
}

/// The effective groups of `users` from the edges: direct = groups with an edge to the user;
/// indirect = every ancestor of those through group-in-group edges that is not direct too.
async fn effective_groups<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    users: &[Uuid],
) -> StoreResult<HashMap<Uuid, GroupSet>> {
    let mut out: HashMap<Uuid, GroupSet> = HashMap::with_capacity(users.len());
    if users.is_empty() {
        return Ok(out);
    }
    let edges: Vec<(Uuid, Uuid)> = group_member::Entity::find()
        .select_only()
        .column(group_member::Column::GroupId)
        .column(group_member::Column::MemberId)
        .filter(group_member::Column::TenantId.eq(tenant))
        .filter(group_member::Column::MemberId.is_in(users.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let direct: Vec<Uuid> = edges
        .iter()
        .map(|(g, _)| *g)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ancestors = ancestors(db, tenant, &direct).await?;
    for (g, u) in &edges {
        // A group missing from `ancestors` does not exist (never the case while deletes
        // remove edges in the same transaction): it is nobody's group.
        if ancestors.contains_key(g) {
            out.entry(*u).or_default().insert(*g, DIRECT.to_owned());
        }
    }
    for (g, u) in &edges {
        for a in ancestors.get(g).into_iter().flatten() {
            out.entry(*u)
                .or_default()
                .entry(*a)
                .or_insert_with(|| INDIRECT.to_owned());
        }
    }
    Ok(out)
}

/// For each existing group of `groups`: the groups it is transitively a member of (without
/// itself).
async fn ancestors<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    groups: &[Uuid],
) -> StoreResult<HashMap<Uuid, Vec<Uuid>>> {
    let backend = db.get_database_backend();
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::with_capacity(groups.len());
    for chunk in groups.chunks(SEEDS) {
        let sql = format!(
            "WITH RECURSIVE up(root, id) AS (\
               SELECT id, id FROM groups WHERE tenant_id = ? AND id IN ({}) \
               UNION \
               SELECT up.root, gm.group_id FROM group_members gm JOIN up ON gm.member_id = up.id \
               WHERE gm.tenant_id = ? AND gm.member_type = 'Group') \
             SELECT root, id FROM up",
            placeholders(chunk.len())
        );
        let mut values: Vec<Value> = vec![tenant.into()];
        values.extend(chunk.iter().map(|g| Value::from(*g)));
        values.push(tenant.into());
        for row in db.query_all_raw(stmt(backend, &sql, values)).await? {
            let (root, id): (Uuid, Uuid) = (row.try_get("", "root")?, row.try_get("", "id")?);
            let list = out.entry(root).or_default();
            if id != root {
                list.push(id);
            }
        }
    }
    Ok(out)
}

/// The projection rows of `users`.
async fn projection<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    users: &[Uuid],
) -> StoreResult<HashMap<Uuid, GroupSet>> {
    let mut out: HashMap<Uuid, GroupSet> = HashMap::with_capacity(users.len());
    if users.is_empty() {
        return Ok(out);
    }
    let rows = user_group::Entity::find()
        .filter(user_group::Column::TenantId.eq(tenant))
        .filter(user_group::Column::UserId.is_in(users.iter().copied()))
        .all(db)
        .await?;
    for r in rows {
        out.entry(r.user_id).or_default().insert(r.group_id, r.kind);
    }
    Ok(out)
}
