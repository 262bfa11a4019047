//! Group membership fan-out: the transactional `outbox` (fan-out jobs and downstream events,
//! written in the same transaction as the change that causes them) and the `user_groups`
//! projection the jobs maintain, which feeds the User resource's read-only `groups`.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000002_fanout"
    }
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    TenantId,
    Kind,
    Payload,
    RoutingKey,
    Created,
    PublishedAt,
    LeaseUntil,
}

#[derive(DeriveIden)]
enum UserGroups {
    Table,
    TenantId,
    UserId,
    GroupId,
    Kind,
}

fn ts(col: impl IntoIden, null: bool) -> ColumnDef {
    let mut c = ColumnDef::new(col);
    c.timestamp_with_time_zone();
    if null {
        c.null();
    } else {
        c.not_null();
    }
    c.to_owned()
}

fn uuid(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A queue, not a per-tenant table: one relay claims across tenants in id order, so the
        // key is the sequence alone (like `provisioning_log`). When the database is sharded by
        // tenant, each shard keeps its own outbox and relay and this stays as it is.
        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .col(
                    ColumnDef::new(Outbox::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(uuid(Outbox::TenantId))
                // `OutboxKind` numbers: 1 fan-out job, 2 event.
                .col(ColumnDef::new(Outbox::Kind).small_integer().not_null())
                .col(ColumnDef::new(Outbox::Payload).binary().not_null())
                .col(ColumnDef::new(Outbox::RoutingKey).text().null())
                .col(ts(Outbox::Created, false))
                .col(ts(Outbox::PublishedAt, true))
                .col(ts(Outbox::LeaseUntil, true))
                .to_owned(),
        )
        .await?;
        // ClaimOutbox: never-published rows (`published_at IS NULL`) and long-published jobs
        // (`published_at < cutoff`), oldest id first.
        m.create_index(
            Index::create()
                .name("outbox_due")
                .table(Outbox::Table)
                .col(Outbox::PublishedAt)
                .col(Outbox::Id)
                .to_owned(),
        )
        .await?;
        // FanoutLag: counts and the oldest row per tenant and kind.
        m.create_index(
            Index::create()
                .name("outbox_tenant")
                .table(Outbox::Table)
                .col(Outbox::TenantId)
                .col(Outbox::Kind)
                .col(Outbox::Created)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(UserGroups::Table)
                .col(uuid(UserGroups::TenantId))
                .col(uuid(UserGroups::UserId))
                .col(uuid(UserGroups::GroupId))
                // `direct` or `indirect`.
                .col(ColumnDef::new(UserGroups::Kind).text().not_null())
                .primary_key(
                    Index::create()
                        .col(UserGroups::TenantId)
                        .col(UserGroups::UserId)
                        .col(UserGroups::GroupId),
                )
                .to_owned(),
        )
        .await?;
        // Reads by group (who is in G, directly or not); fan-out itself reads by user.
        m.create_index(
            Index::create()
                .name("user_groups_group")
                .table(UserGroups::Table)
                .col(UserGroups::TenantId)
                .col(UserGroups::GroupId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [UserGroups::Table.into_iden(), Outbox::Table.into_iden()] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
