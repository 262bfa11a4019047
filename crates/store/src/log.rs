//! The provisioning log: one row per write with its outcome (never attribute values), and the
//! query operators use to answer "what happened to this user?".

use crate::directory::{Directory, now};
use crate::entity::provisioning_log;
use crate::error::StoreResult;
use crate::model::{Applied, Command, Outcome};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

/// A log query.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// From (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Until (exclusive).
    pub until: Option<DateTime<Utc>>,
    /// Only this resource.
    pub resource_id: Option<String>,
    /// Only successes (`Some(true)`) or failures (`Some(false)`).
    pub success: Option<bool>,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: u64,
}

/// Appends the log row of a command's outcome.
pub(crate) async fn append<C: ConnectionTrait>(
    db: &C,
    cmd: &Command,
    outcome: &Outcome,
) -> StoreResult<()> {
    provisioning_log::Entity::insert(row(cmd, outcome))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Appends the log rows of several commands' outcomes in one statement (group commit).
pub(crate) async fn append_many<C: ConnectionTrait>(
    db: &C,
    outcomes: &[(&Command, &Outcome)],
) -> StoreResult<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    provisioning_log::Entity::insert_many(outcomes.iter().map(|(cmd, o)| row(cmd, o)))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn row(cmd: &Command, outcome: &Outcome) -> provisioning_log::ActiveModel {
    let resource_id = match outcome {
        Ok(Applied::Resource { resource, .. }) => Some(resource.id.to_string()),
        _ => cmd.change.target().map(str::to_owned),
    };
    let (success, status, scim_type, detail) = match outcome {
        Ok(Applied::Resource { .. }) if cmd.change.operation() == "create" => {
            (true, 201, None, None)
        }
        Ok(Applied::Resource { .. }) => (true, 200, None, None),
        Ok(Applied::Deleted) => (true, 204, None, None),
        Err(e) => (
            false,
            i32::from(e.status()),
            e.scim_type().map(|t| t.as_str().to_owned()),
            Some(e.detail().to_owned()),
        ),
    };
    provisioning_log::ActiveModel {
        id: Default::default(),
        tenant_id: Set(cmd.tenant),
        at: Set(now()),
        command_id: Set(cmd.id.clone()),
        operation: Set(cmd.change.operation().to_owned()),
        resource_kind: Set(cmd.kind.name().to_owned()),
        resource_id: Set(resource_id),
        success: Set(success),
        status: Set(status),
        scim_type: Set(scim_type),
        detail: Set(detail),
        trace_id: Set(cmd.trace_id.clone()),
    }
}

impl Directory {
    /// Logs a command that was never applied (a worker gave up on it) as a failed write.
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "insert provisioning_log"))]
    pub async fn record_failure(&self, cmd: &Command, error: &scim::ScimError) -> StoreResult<()> {
        let _guard = self.write_guard().await;
        append(&self.db, cmd, &Err(error.clone())).await
    }

    /// Log rows of a tenant, newest first.
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "select provisioning_log"))]
    pub async fn query_log(
        &self,
        tenant: Uuid,
        q: &LogQuery,
    ) -> StoreResult<Vec<provisioning_log::Model>> {
        let mut sel =
            provisioning_log::Entity::find().filter(provisioning_log::Column::TenantId.eq(tenant));
        if let Some(t) = q.since {
            sel = sel.filter(provisioning_log::Column::At.gte(t));
        }
        if let Some(t) = q.until {
            sel = sel.filter(provisioning_log::Column::At.lt(t));
        }
        if let Some(r) = &q.resource_id {
            sel = sel.filter(provisioning_log::Column::ResourceId.eq(r.as_str()));
        }
        if let Some(s) = q.success {
            sel = sel.filter(provisioning_log::Column::Success.eq(s));
        }
        let limit = if q.limit == 0 { 100 } else { q.limit.min(1000) };
        Ok(sel
            .order_by_desc(provisioning_log::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }
}
