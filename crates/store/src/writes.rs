//! Writes: create / replace / PATCH / delete, each in one transaction with the idempotency
//! record, the provisioning-log row and, when membership changes, the fan-out jobs of the
//! affected users (the transactional outbox, DESIGN §7).
//!
//! Concurrency: uniqueness is the database's (`*_fold` unique indexes), never a check before
//! the insert; updates are conditional on the version read in the same transaction, so a lost
//! race is detected and the whole command retried on fresh data. A client's `If-Match` that no
//! longer matches is a `412`.

use crate::directory::{Directory, begin_write, now};
use crate::edges::{self, EdgeChanges};
use crate::entity::{group, user};
use crate::error::{StoreError, StoreResult, is_transient_db};
use crate::fanout;
use crate::idempotency;
use crate::log;
use crate::match_index;
use crate::model::{Applied, Change, Command, Outcome, StoredResource};
use crate::outbox;
use crate::reads::{not_found, parse_id};
use crate::search::{fold, search_document};
use scim::ScimError;
use scim::members::take_members;
use scim::schema::ResourceKind;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter,
    SqlErr,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use uuid::Uuid;

/// Attempts before a contended or transiently failing command gives up.
const MAX_ATTEMPTS: u32 = 8;

/// Why one attempt did not commit.
pub(crate) enum Abort {
    /// The client's answer.
    Refused(ScimError),
    /// Another writer changed the row between our read and our write: retry.
    Raced,
    /// The command changes group-in-group edges but holds the tenant's membership lock only
    /// shared: retry holding it exclusively (see `fanout.rs`).
    Escalate,
    /// Infrastructure.
    Failed(StoreError),
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Scim(s) => Abort::Refused(s),
            e => Abort::Failed(e),
        }
    }
}

impl From<DbErr> for Abort {
    fn from(e: DbErr) -> Self {
        Abort::Failed(e.into())
    }
}

/// Maps a unique-index violation to `409 uniqueness` naming the attribute.
fn uniqueness(kind: ResourceKind, e: DbErr) -> Abort {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            Abort::Refused(ScimError::uniqueness(match kind {
                ResourceKind::User => "userName is already in use (compared case-insensitively)",
                ResourceKind::Group => {
                    "a group with this displayName already exists (compared case-insensitively)"
                }
            }))
        }
        _ => Abort::Failed(e.into()),
    }
}

/// Records a command's outcome: its idempotency row and its provisioning-log row.
async fn record_outcome(
    txn: &DatabaseTransaction,
    cmd: &Command,
    outcome: &Outcome,
) -> Result<(), DbErr> {
    idempotency::record(txn, cmd.tenant, &cmd.id, outcome).await?;
    log::append(txn, cmd, outcome).await.map_err(|e| match e {
        StoreError::Db(e) => e,
        e => DbErr::Custom(e.to_string()),
    })
}

fn text(body: &Value, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_owned)
}

impl Directory {
    /// Applies a command exactly once: a command id seen before returns its first outcome.
    /// `Err` only for infrastructure failures (the caller may retry the same command).
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "transaction apply_change"))]
    pub async fn apply(&self, cmd: &Command) -> StoreResult<Outcome> {
        let mut last = StoreError::Contended;
        // Membership commands start with the tenant's membership lock shared and take it
        // exclusively once they turn out to change the group hierarchy.
        let mut exclusive = false;
        let mut backoff = false;
        for attempt in 0..MAX_ATTEMPTS {
            if backoff {
                tokio::time::sleep(Duration::from_millis(5 << attempt.min(6))).await;
            }
            backoff = true;
            let guard = self.write_guard().await;
            let txn = begin_write(&self.db).await?;
            if let Some(prev) = idempotency::find(&txn, cmd.tenant, &cmd.id, cmd.kind).await? {
                return Ok(prev);
            }
            let outcome = match self.apply_once(&txn, cmd, exclusive).await {
                Ok(applied) => Ok(applied),
                Err(Abort::Refused(e)) => Err(e),
                Err(Abort::Raced) => {
                    txn.rollback().await?;
                    continue;
                }
                Err(Abort::Escalate) => {
                    txn.rollback().await?;
                    exclusive = true;
                    backoff = false;
                    continue;
                }
                Err(Abort::Failed(e)) if e.is_transient() => {
                    txn.rollback().await.ok();
                    last = e;
                    continue;
                }
                Err(Abort::Failed(e)) => return Err(e),
            };
            // A refusal leaves nothing of the change behind: record it in a clean transaction.
            let txn = if outcome.is_err() {
                txn.rollback().await?;
                begin_write(&self.db).await?
            } else {
                txn
            };
            match self.finish(txn, cmd, &outcome).await {
                Ok(()) => return Ok(outcome),
                // Another delivery of the same command committed first: the next attempt reads it.
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
                Err(e) if is_transient_db(&e) => last = e.into(),
                Err(e) => return Err(e.into()),
            }
            drop(guard);
        }
        Err(last)
    }

    async fn finish(
        &self,
        txn: DatabaseTransaction,
        cmd: &Command,
        outcome: &Outcome,
    ) -> Result<(), DbErr> {
        record_outcome(&txn, cmd, outcome).await?;
        txn.commit().await
    }

    pub(crate) async fn apply_once(
        &self,
        txn: &DatabaseTransaction,
        cmd: &Command,
        exclusive: bool,
    ) -> Result<Applied, Abort> {
        if cmd.kind == ResourceKind::Group {
            // First, before any row lock (see `fanout.rs`). A group delete removes the group
            // from the hierarchy, so it always holds the lock exclusively.
            let delete = matches!(cmd.change, Change::Delete { .. });
            fanout::membership_lock(txn, cmd.tenant, exclusive || delete).await?;
        }
        match &cmd.change {
            Change::Create(body) => self.create(txn, cmd, body.clone(), exclusive).await,
            Change::Replace { id, body } => {
                let current = self.current(txn, cmd, id).await?;
                self.replace(txn, cmd, current, body.clone(), exclusive)
                    .await
            }
            Change::Patch { id, request } => {
                let current = self.current(txn, cmd, id).await?;
                let out = scim::patch::apply(&self.registry, cmd.kind, &current.body, request)
                    .map_err(Abort::Refused)?;
                if !out.changed {
                    return Ok(Applied::Resource {
                        resource: current,
                        changed: false,
                    });
                }
                let resource = self.update(txn, cmd, &current, out.resource).await?;
                if cmd.kind == ResourceKind::Group && !out.members.is_empty() {
                    let changes =
                        edges::apply_delta(txn, cmd.tenant, current.id, &out.members).await?;
                    self.fan_out(txn, cmd.tenant, current.id, &changes, exclusive)
                        .await?;
                }
                Ok(Applied::Resource {
                    resource,
                    changed: true,
                })
            }
            Change::Delete { id } => {
                let current = self.current(txn, cmd, id).await?;
                // Everyone under a deleted group loses it and its ancestors: read who that is
                // while the group's edges still exist.
                let affected = match cmd.kind {
                    ResourceKind::Group => {
                        fanout::users_under(txn, cmd.tenant, &[current.id]).await?
                    }
                    ResourceKind::User => BTreeSet::new(),
                };
                let res = match cmd.kind {
                    ResourceKind::User => {
                        user::Entity::delete_many()
                            .filter(user::Column::TenantId.eq(cmd.tenant))
                            .filter(user::Column::Id.eq(current.id))
                            .filter(user::Column::Version.eq(current.version))
                            .exec(txn)
                            .await?
                    }
                    ResourceKind::Group => {
                        group::Entity::delete_many()
                            .filter(group::Column::TenantId.eq(cmd.tenant))
                            .filter(group::Column::Id.eq(current.id))
                            .filter(group::Column::Version.eq(current.version))
                            .exec(txn)
                            .await?
                    }
                };
                if res.rows_affected == 0 {
                    return Err(Abort::Raced);
                }
                if cmd.kind == ResourceKind::User {
                    fanout::user_deleted(txn, cmd.tenant, current.id, current.version).await?;
                    match_index::remove(txn, cmd.tenant, current.id).await?;
                }
                edges::remove_resource(txn, cmd.tenant, current.id).await?;
                outbox::enqueue_jobs(txn, cmd.tenant, &affected).await?;
                Ok(Applied::Deleted)
            }
        }
    }

    /// The current row, checked against `If-Match`.
    async fn current(
        &self,
        txn: &DatabaseTransaction,
        cmd: &Command,
        id: &str,
    ) -> Result<StoredResource, Abort> {
        let uid = parse_id(id).ok_or_else(|| Abort::from(not_found(cmd.kind, id)))?;
        let current = self
            .find_locked(txn, cmd.tenant, cmd.kind, uid, true)
            .await?
            .ok_or_else(|| Abort::from(not_found(cmd.kind, id)))?;
        if let Some(v) = cmd.expected_version
            && v != current.version
        {
            return Err(Abort::Refused(ScimError::precondition_failed(format!(
                "the resource was modified: its version is {}, not {v}",
                current.version
            ))));
        }
        Ok(current)
    }

    /// Follows a change of `group`'s member edges, in the same transaction: refuses a cycle,
    /// then writes the fan-out jobs of every user whose memberships may have changed.
    async fn fan_out(
        &self,
        txn: &DatabaseTransaction,
        tenant: Uuid,
        group: Uuid,
        changes: &EdgeChanges,
        exclusive: bool,
    ) -> Result<(), Abort> {
        if changes.is_empty() {
            return Ok(());
        }
        if changes.touches_groups() && !exclusive && self.backend() == DbBackend::Postgres {
            return Err(Abort::Escalate);
        }
        fanout::refuse_cycles(txn, tenant, group, &changes.added_groups()).await?;
        let users = fanout::affected_users(txn, tenant, changes).await?;
        outbox::enqueue_jobs(txn, tenant, &users).await?;
        Ok(())
    }

    async fn create(
        &self,
        txn: &DatabaseTransaction,
        cmd: &Command,
        body: Value,
        exclusive: bool,
    ) -> Result<Applied, Abort> {
        let mut body = scim::validate::normalize_resource(&self.registry, cmd.kind, body)
            .map_err(Abort::Refused)?;
        let members = if cmd.kind == ResourceKind::Group {
            take_members(&mut body).map_err(Abort::Refused)?
        } else {
            Vec::new()
        };
        // Members are rows of their own, not part of the stored body its limits bound.
        scim::text::check_resource(cmd.kind, &body).map_err(Abort::Refused)?;
        let (id, t) = (Uuid::now_v7(), now());
        let search = search_document(&self.registry, cmd.kind, &body);
        match cmd.kind {
            ResourceKind::User => {
                let user_name = text(&body, "userName").unwrap_or_default();
                let matching = match_index::rows(cmd.tenant, id, &search);
                user::Entity::insert(user::ActiveModel {
                    tenant_id: Set(cmd.tenant),
                    id: Set(id),
                    user_name_fold: Set(fold(&user_name)),
                    user_name: Set(user_name),
                    external_id: Set(text(&body, "externalId")),
                    display_name_fold: Set(text(&body, "displayName").map(|s| fold(&s))),
                    active: Set(body.get("active").and_then(Value::as_bool)),
                    body: Set(body.clone()),
                    search: Set(search),
                    version: Set(1),
                    created: Set(t),
                    last_modified: Set(t),
                })
                .exec_without_returning(txn)
                .await
                .map_err(|e| uniqueness(cmd.kind, e))?;
                match_index::insert(txn, matching).await?;
            }
            ResourceKind::Group => {
                let display = text(&body, "displayName").unwrap_or_default();
                group::Entity::insert(group::ActiveModel {
                    tenant_id: Set(cmd.tenant),
                    id: Set(id),
                    display_name_fold: Set(fold(&display)),
                    display_name: Set(display),
                    external_id: Set(text(&body, "externalId")),
                    body: Set(body.clone()),
                    search: Set(search),
                    version: Set(1),
                    created: Set(t),
                    last_modified: Set(t),
                })
                .exec_without_returning(txn)
                .await
                .map_err(|e| uniqueness(cmd.kind, e))?;
                let resolved = edges::resolve_members(txn, cmd.tenant, id, &members).await?;
                edges::insert(txn, cmd.tenant, id, &resolved).await?;
                let changes = EdgeChanges {
                    added: resolved,
                    removed: Vec::new(),
                };
                self.fan_out(txn, cmd.tenant, id, &changes, exclusive)
                    .await?;
            }
        }
        let resource = StoredResource {
            kind: cmd.kind,
            id,
            body,
            version: 1,
            created: t,
            last_modified: t,
            members: None,
            groups: None,
        };
        Ok(Applied::Resource {
            resource,
            changed: true,
        })
    }

    async fn replace(
        &self,
        txn: &DatabaseTransaction,
        cmd: &Command,
        current: StoredResource,
        body: Value,
        exclusive: bool,
    ) -> Result<Applied, Abort> {
        let mut body = scim::validate::normalize_resource(&self.registry, cmd.kind, body)
            .map_err(Abort::Refused)?;
        if cmd.kind == ResourceKind::Group {
            // PUT replaces the whole group, members included: absent members means none.
            let members = take_members(&mut body).map_err(Abort::Refused)?;
            let resolved = edges::resolve_members(txn, cmd.tenant, current.id, &members).await?;
            let resource = self.update(txn, cmd, &current, body).await?;
            let changes = edges::replace_all(txn, cmd.tenant, current.id, &resolved).await?;
            self.fan_out(txn, cmd.tenant, current.id, &changes, exclusive)
                .await?;
            return Ok(Applied::Resource {
                resource,
                changed: true,
            });
        }
        let resource = self.update(txn, cmd, &current, body).await?;
        Ok(Applied::Resource {
            resource,
            changed: true,
        })
    }

    /// Writes a new body with `version + 1`, conditional on the version read.
    async fn update(
        &self,
        txn: &DatabaseTransaction,
        cmd: &Command,
        current: &StoredResource,
        body: Value,
    ) -> Result<StoredResource, Abort> {
        // Replace and PATCH results alike: one check for both databases, before any write —
        // of what changes only, so data stored before a rule existed never blocks an
        // unrelated change such as Entra's `active=false`.
        scim::text::check_changes(cmd.kind, &current.body, &body).map_err(Abort::Refused)?;
        // The folded key is rewritten only when the name changes: a key that an older folding
        // left in place (see the caseless-fold migration) must not turn every later change of
        // the resource into a 409.
        let identity = match cmd.kind {
            ResourceKind::User => "userName",
            ResourceKind::Group => "displayName",
        };
        let renamed = current.body.get(identity) != body.get(identity);
        let t = now();
        let version = current.version + 1;
        let search = search_document(&self.registry, cmd.kind, &body);
        let res = match cmd.kind {
            ResourceKind::User => {
                let user_name = text(&body, "userName").unwrap_or_default();
                match_index::reindex(txn, cmd.tenant, current.id, &search).await?;
                let mut update = user::Entity::update_many();
                if renamed {
                    update =
                        update.col_expr(user::Column::UserNameFold, Expr::value(fold(&user_name)));
                }
                update
                    .col_expr(user::Column::UserName, Expr::value(user_name))
                    .col_expr(
                        user::Column::ExternalId,
                        Expr::value(text(&body, "externalId")),
                    )
                    .col_expr(
                        user::Column::DisplayNameFold,
                        Expr::value(text(&body, "displayName").map(|s| fold(&s))),
                    )
                    .col_expr(
                        user::Column::Active,
                        Expr::value(body.get("active").and_then(Value::as_bool)),
                    )
                    .col_expr(user::Column::Body, Expr::value(body.clone()))
                    .col_expr(user::Column::Search, Expr::value(search))
                    .col_expr(user::Column::Version, Expr::value(version))
                    .col_expr(user::Column::LastModified, Expr::value(t))
                    .filter(user::Column::TenantId.eq(cmd.tenant))
                    .filter(user::Column::Id.eq(current.id))
                    .filter(user::Column::Version.eq(current.version))
                    .exec(txn)
                    .await
            }
            ResourceKind::Group => {
                let display = text(&body, "displayName").unwrap_or_default();
                let mut update = group::Entity::update_many();
                if renamed {
                    update = update
                        .col_expr(group::Column::DisplayNameFold, Expr::value(fold(&display)));
                }
                update
                    .col_expr(group::Column::DisplayName, Expr::value(display))
                    .col_expr(
                        group::Column::ExternalId,
                        Expr::value(text(&body, "externalId")),
                    )
                    .col_expr(group::Column::Body, Expr::value(body.clone()))
                    .col_expr(group::Column::Search, Expr::value(search))
                    .col_expr(group::Column::Version, Expr::value(version))
                    .col_expr(group::Column::LastModified, Expr::value(t))
                    .filter(group::Column::TenantId.eq(cmd.tenant))
                    .filter(group::Column::Id.eq(current.id))
                    .filter(group::Column::Version.eq(current.version))
                    .exec(txn)
                    .await
            }
        }
        .map_err(|e| uniqueness(cmd.kind, e))?;
        if res.rows_affected == 0 {
            return Err(Abort::Raced);
        }
        Ok(StoredResource {
            body,
            version,
            last_modified: t,
            members: None,
            groups: None,
            ..current.clone()
        })
    }
}
