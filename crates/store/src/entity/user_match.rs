//! `user_match`: the matching index of users' multi-valued and extension attributes (e-mails,
//! `employeeNumber`), one row per (attribute, value) a user has; see `match_index.rs`.

use sea_orm::entity::prelude::*;

/// One indexed value of one user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_match")]
pub struct Model {
    /// Owning tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Which attribute (`match_index::Attr`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub attr: i16,
    /// A 64-bit hash of the value as filters compare it (folded unless caseExact).
    #[sea_orm(primary_key, auto_increment = false)]
    pub value_hash: i64,
    /// The user.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
