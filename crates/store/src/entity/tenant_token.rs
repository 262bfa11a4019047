//! `tenant_tokens`: bearer tokens, stored only as SHA-256.

use sea_orm::entity::prelude::*;

/// A token row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_tokens")]
pub struct Model {
    /// Owning tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Token id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Hex SHA-256 of the token; the token itself is never stored.
    pub token_sha256: String,
    /// The first characters of the token, to tell tokens apart in listings.
    pub prefix: String,
    /// Issue time.
    pub created: DateTimeUtc,
    /// End of validity (set when a rotation gives the old token a grace period).
    pub expires: Option<DateTimeUtc>,
    /// Revoked tokens never authenticate.
    pub revoked: bool,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
