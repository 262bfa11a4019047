//! `groups`: the canonical SCIM body without members (members are `group_members` rows).

use sea_orm::entity::prelude::*;

/// A group row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "groups")]
pub struct Model {
    /// Owning tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// SCIM `id` (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `displayName` as sent.
    pub display_name: String,
    /// `displayName` case-folded; unique per tenant (Entra matches groups on it).
    pub display_name_fold: String,
    /// `externalId`.
    pub external_id: Option<String>,
    /// Canonical SCIM body without `members`.
    pub body: Json,
    /// Folded search document.
    pub search: Json,
    /// Version.
    pub version: i64,
    /// `meta.created`.
    pub created: DateTimeUtc,
    /// `meta.lastModified`.
    pub last_modified: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
