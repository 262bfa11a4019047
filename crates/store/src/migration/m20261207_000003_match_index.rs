//! The matching index: the multi-valued (and extension) attributes an identity provider can
//! choose to match users on — any e-mail, the work e-mail, the enterprise `employeeNumber` —
//! as rows `(tenant_id, attr, value_hash, user_id)`, so that an `eq` filter on one of them is
//! an index lookup instead of a scan of the tenant's JSON (see `match_index.rs`). Existing
//! users are indexed here, in batches.

use crate::match_index;
use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000003_match_index"
    }
}

#[derive(DeriveIden)]
enum UserMatch {
    Table,
    TenantId,
    Attr,
    ValueHash,
    UserId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: a backfill cut short must leave nothing behind, or the
    /// next start would find the table (or the index swap) half done.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(UserMatch::Table)
                .col(ColumnDef::new(UserMatch::TenantId).uuid().not_null())
                // `match_index::Attr` numbers.
                .col(ColumnDef::new(UserMatch::Attr).small_integer().not_null())
                .col(
                    ColumnDef::new(UserMatch::ValueHash)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(UserMatch::UserId).uuid().not_null())
                // The lookup order: tenant first (DESIGN §4), then what a filter names.
                .primary_key(
                    Index::create()
                        .col(UserMatch::TenantId)
                        .col(UserMatch::Attr)
                        .col(UserMatch::ValueHash)
                        .col(UserMatch::UserId),
                )
                .to_owned(),
        )
        .await?;
        // Rewriting one user's rows on every write.
        m.create_index(
            Index::create()
                .name("user_match_user")
                .table(UserMatch::Table)
                .col(UserMatch::TenantId)
                .col(UserMatch::UserId)
                .to_owned(),
        )
        .await?;

        // `externalId eq` (Entra's object id, a common matching choice) with the list's `ORDER
        // BY id`: an index that ends in `id` serves the filter and the order at once, so no
        // planner prefers walking the whole tenant in id order instead (SQLite did: ~50 ms at
        // 100,000 users).
        for (table, old_name, new_name) in [
            ("users", "users_external_id", "users_external_id_id"),
            ("groups", "groups_external_id", "groups_external_id_id"),
        ] {
            m.drop_index(
                Index::drop()
                    .name(old_name)
                    .table(Alias::new(table))
                    .to_owned(),
            )
            .await?;
            m.create_index(
                Index::create()
                    .name(new_name)
                    .table(Alias::new(table))
                    .col(Alias::new("tenant_id"))
                    .col(Alias::new("external_id"))
                    .col(Alias::new("id"))
                    .to_owned(),
            )
            .await?;
        }

        let db = m.get_connection();
        let mut after: Option<(uuid::Uuid, uuid::Uuid)> = None;
        loop {
            let rows = super::next_batch(db, "users", "search", after).await?;
            if rows.is_empty() {
                return Ok(());
            }
            let mut batch = Vec::new();
            for row in &rows {
                let tenant: uuid::Uuid = row.try_get("", "tenant_id")?;
                let id: uuid::Uuid = row.try_get("", "id")?;
                let search: serde_json::Value = row.try_get("", "search")?;
                batch.extend(match_index::rows(tenant, id, &search));
                after = Some((tenant, id));
            }
            match_index::insert(db, batch)
                .await
                .map_err(|e| DbErr::Custom(e.to_string()))?;
        }
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, old_name, new_name) in [
            ("users", "users_external_id", "users_external_id_id"),
            ("groups", "groups_external_id", "groups_external_id_id"),
        ] {
            m.drop_index(
                Index::drop()
                    .name(new_name)
                    .table(Alias::new(table))
                    .to_owned(),
            )
            .await?;
            m.create_index(
                Index::create()
                    .name(old_name)
                    .table(Alias::new(table))
                    .col(Alias::new("tenant_id"))
                    .col(Alias::new("external_id"))
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(UserMatch::Table).to_owned())
            .await
    }
}
