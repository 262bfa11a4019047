//! `applied_commands`: the first outcome of each command id, so a redelivered command returns it
//! and changes nothing. Outcomes are stored as the protobuf `CommandResult` the gateway gets.

use crate::convert::{outcome_from_pb, outcome_to_pb};
use crate::directory::now;
use crate::entity::applied_command;
use crate::error::{StoreError, StoreResult};
use crate::model::{Command, Outcome};
use prost::Message;
use scim::schema::ResourceKind;
use scim_wire::pb;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// The recorded outcome of `command_id`, if it was applied before.
pub(crate) async fn find<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    command_id: &str,
    kind: ResourceKind,
) -> StoreResult<Option<Outcome>> {
    let Some(row) = applied_command::Entity::find_by_id((tenant, command_id.to_owned()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(decode(&row.result, kind)?))
}

/// The recorded outcomes of those of `commands` (tenant, command id, kind) applied before,
/// by (tenant, command id): one query for a batch.
pub(crate) async fn find_many<C: ConnectionTrait>(
    db: &C,
    commands: &[(Uuid, &str, ResourceKind)],
) -> StoreResult<HashMap<(Uuid, String), Outcome>> {
    let tenants: BTreeSet<Uuid> = commands.iter().map(|c| c.0).collect();
    let ids: BTreeSet<&str> = commands.iter().map(|c| c.1).collect();
    let rows = applied_command::Entity::find()
        .filter(applied_command::Column::TenantId.is_in(tenants))
        .filter(applied_command::Column::CommandId.is_in(ids))
        .all(db)
        .await?;
    let mut found = HashMap::new();
    for row in rows {
        // Tenants and ids were matched apart: keep the pairs that were asked for.
        let Some(&(_, _, kind)) = commands
            .iter()
            .find(|c| c.0 == row.tenant_id && c.1 == row.command_id)
        else {
            continue;
        };
        found.insert(
            (row.tenant_id, row.command_id.clone()),
            decode(&row.result, kind)?,
        );
    }
    Ok(found)
}

fn decode(bytes: &[u8], kind: ResourceKind) -> StoreResult<Outcome> {
    let result = pb::CommandResult::decode(bytes)
        .map_err(|e| StoreError::Corrupt(format!("applied command result: {e}")))?;
    outcome_from_pb(&result, kind)
}

/// Records several outcomes in one statement (group commit). A unique violation means a
/// concurrent delivery of one of them recorded it first.
pub(crate) async fn record_many<C: ConnectionTrait>(
    db: &C,
    outcomes: &[(&Command, &Outcome)],
) -> Result<(), sea_orm::DbErr> {
    if outcomes.is_empty() {
        return Ok(());
    }
    applied_command::Entity::insert_many(
        outcomes.iter().map(|(cmd, o)| row(cmd.tenant, &cmd.id, o)),
    )
    .exec_without_returning(db)
    .await
    .map(|_| ())
}

/// Records the outcome. A unique violation means a concurrent delivery recorded it first.
pub(crate) async fn record<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    command_id: &str,
    outcome: &Outcome,
) -> Result<(), sea_orm::DbErr> {
    applied_command::Entity::insert(row(tenant, command_id, outcome))
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

fn row(tenant: Uuid, command_id: &str, outcome: &Outcome) -> applied_command::ActiveModel {
    applied_command::ActiveModel {
        tenant_id: Set(tenant),
        command_id: Set(command_id.to_owned()),
        result: Set(outcome_to_pb(command_id, outcome).encode_to_vec()),
        created: Set(now()),
    }
}
