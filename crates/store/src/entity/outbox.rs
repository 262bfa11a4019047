//! `outbox`: fan-out jobs and downstream events waiting to be published, written in the same
//! transaction as the change that caused them.

use sea_orm::entity::prelude::*;

/// An outbox row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    /// Sequence number: publishing order.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Tenant.
    pub tenant_id: Uuid,
    /// `pb::OutboxKind` as a number: 1 fan-out job, 2 event.
    pub kind: i16,
    /// The encoded `pb::FanoutJob` or `pb::MembershipChanged`.
    pub payload: Vec<u8>,
    /// Routing key (events only).
    pub routing_key: Option<String>,
    /// When the change that wrote it ran.
    pub created: DateTimeUtc,
    /// When a relay published it with confirms (jobs stay until they complete).
    pub published_at: Option<DateTimeUtc>,
    /// A relay holds it until then.
    pub lease_until: Option<DateTimeUtc>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
