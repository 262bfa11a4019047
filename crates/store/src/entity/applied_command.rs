//! `applied_commands`: command id → encoded `CommandResult`, for idempotent redelivery.

use sea_orm::entity::prelude::*;

/// An applied command.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "applied_commands")]
pub struct Model {
    /// Owning tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// The command id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub command_id: String,
    /// The protobuf-encoded `CommandResult` the first application returned.
    pub result: Vec<u8>,
    /// When it was applied.
    pub created: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
