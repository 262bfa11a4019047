//! `users`: the canonical SCIM body plus indexed columns for what is filtered and unique.

use sea_orm::entity::prelude::*;

/// A user row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Owning tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// SCIM `id` (UUID v7: ordered by creation, so paging by id is stable and natural).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `userName` as sent.
    pub user_name: String,
    /// `userName` case-folded; unique per tenant.
    pub user_name_fold: String,
    /// `externalId` (case-exact).
    pub external_id: Option<String>,
    /// `displayName` case-folded.
    pub display_name_fold: Option<String>,
    /// `active`.
    pub active: Option<bool>,
    /// Canonical SCIM body (no id/meta/schemas).
    pub body: Json,
    /// The body with case-insensitive strings folded and dateTimes normalised: what filters run on.
    pub search: Json,
    /// Version for ETags and optimistic concurrency.
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
