//! `group_members`: one row per member edge.

use sea_orm::entity::prelude::*;

/// A member edge.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "group_members")]
pub struct Model {
    /// Owning tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// The group.
    #[sea_orm(primary_key, auto_increment = false)]
    pub group_id: Uuid,
    /// The member (a user or a group).
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: Uuid,
    /// `User` or `Group`.
    pub member_type: String,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
