//! `applied_commands`: the first outcome of each command id, so a redelivered command returns it
//! and changes nothing. Outcomes are stored as the protobuf `CommandResult` the gateway gets.

use crate::convert::{outcome_from_pb, outcome_to_pb};
use crate::directory::now;
use crate::entity::applied_command;
use crate::error::{StoreError, StoreResult};
use crate::model::Outcome;
use prost::Message;
use scim::schema::ResourceKind;
use scim_wire::pb;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
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
    let result = pb::CommandResult::decode(row.result.as_slice())
        .map_err(|e| StoreError::Corrupt(format!("applied command result: {e}")))?;
    Ok(Some(outcome_from_pb(&result, kind)?))
}

/// Records the outcome. A unique violation means a concurrent delivery recorded it first.
pub(crate) async fn record<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    command_id: &str,
    outcome: &Outcome,
) -> Result<(), sea_orm::DbErr> {
    let bytes = outcome_to_pb(command_id, outcome).encode_to_vec();
    applied_command::Entity::insert(applied_command::ActiveModel {
        tenant_id: Set(tenant),
        command_id: Set(command_id.to_owned()),
        result: Set(bytes),
        created: Set(now()),
    })
    .exec_without_returning(db)
    .await
    .map(|_| ())
}
