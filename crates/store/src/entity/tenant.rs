//! `tenants`: one BlogIn customer, addressed by its slug in the SCIM base URL.

use sea_orm::entity::prelude::*;

/// A tenant row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    /// Tenant id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// URL slug (`/scim/v2/{slug}/`).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Whether SCIM provisioning is switched on.
    pub provisioning_enabled: bool,
    /// Creation time.
    pub created: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
