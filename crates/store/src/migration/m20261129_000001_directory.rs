//! The directory tables: tenants, tokens, users, groups, member edges, applied commands and the
//! provisioning log.
//!
//! Uniqueness is enforced by the database, never by a check before an insert: `userName` and
//! group `displayName` are unique per tenant on their case-folded copies (`*_fold`, folded in
//! Rust with full Unicode lower-casing so PostgreSQL and SQLite agree).

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000001_directory"
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Slug,
    Name,
    ProvisioningEnabled,
    Created,
}

#[derive(DeriveIden)]
enum TenantTokens {
    Table,
    TenantId,
    Id,
    TokenSha256,
    Prefix,
    Created,
    Expires,
    Revoked,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    TenantId,
    Id,
    UserName,
    UserNameFold,
    ExternalId,
    DisplayNameFold,
    Active,
    Body,
    Search,
    Version,
    Created,
    LastModified,
}

#[derive(DeriveIden)]
enum Groups {
    Table,
    TenantId,
    Id,
    DisplayName,
    DisplayNameFold,
    ExternalId,
    Body,
    Search,
    Version,
    Created,
    LastModified,
}

#[derive(DeriveIden)]
enum GroupMembers {
    Table,
    TenantId,
    GroupId,
    MemberId,
    MemberType,
}

#[derive(DeriveIden)]
enum AppliedCommands {
    Table,
    TenantId,
    CommandId,
    Result,
    Created,
}

#[derive(DeriveIden)]
enum ProvisioningLog {
    Table,
    Id,
    TenantId,
    At,
    CommandId,
    Operation,
    ResourceKind,
    ResourceId,
    Success,
    Status,
    ScimType,
    Detail,
    TraceId,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().to_owned()
}

fn uuid(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Tenants::Table)
                .col(uuid(Tenants::Id).primary_key())
                .col(text(Tenants::Slug).unique_key())
                .col(text(Tenants::Name))
                .col(
                    ColumnDef::new(Tenants::ProvisioningEnabled)
                        .boolean()
                        .not_null(),
                )
                .col(ts(Tenants::Created))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(TenantTokens::Table)
                .col(uuid(TenantTokens::TenantId))
                .col(uuid(TenantTokens::Id))
                .col(text(TenantTokens::TokenSha256))
                .col(text(TenantTokens::Prefix))
                .col(ts(TenantTokens::Created))
                .col(
                    ColumnDef::new(TenantTokens::Expires)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(ColumnDef::new(TenantTokens::Revoked).boolean().not_null())
                .primary_key(
                    Index::create()
                        .col(TenantTokens::TenantId)
                        .col(TenantTokens::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("tenant_tokens_sha256")
                .table(TenantTokens::Table)
                .col(TenantTokens::TokenSha256)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(uuid(Users::TenantId))
                .col(uuid(Users::Id))
                .col(text(Users::UserName))
                .col(text(Users::UserNameFold))
                .col(ColumnDef::new(Users::ExternalId).text().null())
                .col(ColumnDef::new(Users::DisplayNameFold).text().null())
                .col(ColumnDef::new(Users::Active).boolean().null())
                .col(ColumnDef::new(Users::Body).json_binary().not_null())
                .col(ColumnDef::new(Users::Search).json_binary().not_null())
                .col(ColumnDef::new(Users::Version).big_integer().not_null())
                .col(ts(Users::Created))
                .col(ts(Users::LastModified))
                .primary_key(Index::create().col(Users::TenantId).col(Users::Id))
                .to_owned(),
        )
        .await?;
        for (name, col, unique) in [
            ("users_user_name_fold", Users::UserNameFold, true),
            ("users_external_id", Users::ExternalId, false),
            ("users_display_name_fold", Users::DisplayNameFold, false),
        ] {
            let mut idx = Index::create();
            idx.name(name)
                .table(Users::Table)
                .col(Users::TenantId)
                .col(col);
            if unique {
                idx.unique();
            }
            m.create_index(idx.to_owned()).await?;
        }

        m.create_table(
            Table::create()
                .table(Groups::Table)
                .col(uuid(Groups::TenantId))
                .col(uuid(Groups::Id))
                .col(text(Groups::DisplayName))
                .col(text(Groups::DisplayNameFold))
                .col(ColumnDef::new(Groups::ExternalId).text().null())
                .col(ColumnDef::new(Groups::Body).json_binary().not_null())
                .col(ColumnDef::new(Groups::Search).json_binary().not_null())
                .col(ColumnDef::new(Groups::Version).big_integer().not_null())
                .col(ts(Groups::Created))
                .col(ts(Groups::LastModified))
                .primary_key(Index::create().col(Groups::TenantId).col(Groups::Id))
                .to_owned(),
        )
        .await?;
        for (name, col, unique) in [
            ("groups_display_name_fold", Groups::DisplayNameFold, true),
            ("groups_external_id", Groups::ExternalId, false),
        ] {
            let mut idx = Index::create();
            idx.name(name)
                .table(Groups::Table)
                .col(Groups::TenantId)
                .col(col);
            if unique {
                idx.unique();
            }
            m.create_index(idx.to_owned()).await?;
        }

        // One row per member edge: adding one member to a 100k-member group touches one row.
        m.create_table(
            Table::create()
                .table(GroupMembers::Table)
                .col(uuid(GroupMembers::TenantId))
                .col(uuid(GroupMembers::GroupId))
                .col(uuid(GroupMembers::MemberId))
                .col(text(GroupMembers::MemberType))
                .primary_key(
                    Index::create()
                        .col(GroupMembers::TenantId)
                        .col(GroupMembers::GroupId)
                        .col(GroupMembers::MemberId),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("group_members_member")
                .table(GroupMembers::Table)
                .col(GroupMembers::TenantId)
                .col(GroupMembers::MemberId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AppliedCommands::Table)
                .col(uuid(AppliedCommands::TenantId))
                .col(text(AppliedCommands::CommandId))
                .col(ColumnDef::new(AppliedCommands::Result).binary().not_null())
                .col(ts(AppliedCommands::Created))
                .primary_key(
                    Index::create()
                        .col(AppliedCommands::TenantId)
                        .col(AppliedCommands::CommandId),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ProvisioningLog::Table)
                .col(
                    ColumnDef::new(ProvisioningLog::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(uuid(ProvisioningLog::TenantId))
                .col(ts(ProvisioningLog::At))
                .col(text(ProvisioningLog::CommandId))
                .col(text(ProvisioningLog::Operation))
                .col(text(ProvisioningLog::ResourceKind))
                .col(ColumnDef::new(ProvisioningLog::ResourceId).text().null())
                .col(
                    ColumnDef::new(ProvisioningLog::Success)
                        .boolean()
                        .not_null(),
                )
                .col(ColumnDef::new(ProvisioningLog::Status).integer().not_null())
                .col(ColumnDef::new(ProvisioningLog::ScimType).text().null())
                .col(ColumnDef::new(ProvisioningLog::Detail).text().null())
                .col(ColumnDef::new(ProvisioningLog::TraceId).text().null())
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("provisioning_log_at", ProvisioningLog::At),
            ("provisioning_log_resource", ProvisioningLog::ResourceId),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(ProvisioningLog::Table)
                    .col(ProvisioningLog::TenantId)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            ProvisioningLog::Table.into_iden(),
            AppliedCommands::Table.into_iden(),
            GroupMembers::Table.into_iden(),
            Groups::Table.into_iden(),
            Users::Table.into_iden(),
            TenantTokens::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
