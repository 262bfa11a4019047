//! `provisioning_log`: one row per write: who/what/when/outcome (BlogIn's mirror of Entra's
//! provisioning logs). Never holds attribute values.

use sea_orm::entity::prelude::*;

/// A log entry.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provisioning_log")]
pub struct Model {
    /// Sequence number.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Tenant.
    pub tenant_id: Uuid,
    /// When.
    pub at: DateTimeUtc,
    /// The command id.
    pub command_id: String,
    /// `create`, `replace`, `patch`, `delete`.
    pub operation: String,
    /// `User` or `Group`.
    pub resource_kind: String,
    /// The resource id, when known.
    pub resource_id: Option<String>,
    /// Whether the write succeeded.
    pub success: bool,
    /// HTTP status the client got.
    pub status: i32,
    /// SCIM error keyword, on failure.
    pub scim_type: Option<String>,
    /// SCIM error detail, on failure (never attribute values).
    pub detail: Option<String>,
    /// W3C trace id of the request, when traced.
    pub trace_id: Option<String>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
