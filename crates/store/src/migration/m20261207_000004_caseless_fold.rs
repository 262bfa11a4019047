//! Case-insensitive strings now fold by Unicode compatibility caseless matching
//! (`scim::text::fold`) instead of lower-casing: the folded columns (`user_name_fold`,
//! `display_name_fold`), the search documents and the matching index of existing rows are
//! recomputed. Only rows whose folded form changes are written (all-ASCII data is untouched).
//!
//! Two existing accounts that the new folding makes equal (`straße` and `STRASSE`) cannot both
//! take the new key under the unique index: the later one keeps its old key (its search
//! document and matching index are still rewritten, and writes keep a key unless the name
//! changes, so it stays usable) and is reported in the migration's log so an operator can
//! merge or rename it. Savepoints are taken only for rows whose key changes.

use super::placeholder as p;
use crate::match_index;
use crate::search::{fold, search_document};
use scim::schema::{Registry, ResourceKind};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use sea_orm_migration::prelude::*;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000004_caseless_fold"
    }
}

async fn refold(m: &SchemaManager<'_>, kind: ResourceKind) -> Result<(), DbErr> {
    let db = m.get_connection();
    let backend = db.get_database_backend();
    let registry = Registry::new();
    let (table, name_col, fold_col) = match kind {
        ResourceKind::User => ("users", "user_name", "user_name_fold"),
        ResourceKind::Group => ("groups", "display_name", "display_name_fold"),
    };
    let columns = format!("{name_col} AS name, {fold_col} AS folded, body, search");
    let mut after: Option<(Uuid, Uuid)> = None;
    loop {
        let rows = super::next_batch(db, table, &columns, after).await?;
        if rows.is_empty() {
            return Ok(());
        }
        for row in &rows {
            let tenant: Uuid = row.try_get("", "tenant_id")?;
            let id: Uuid = row.try_get("", "id")?;
            after = Some((tenant, id));
            let name: String = row.try_get("", "name")?;
            let old_fold: String = row.try_get("", "folded")?;
            let body: Value = row.try_get("", "body")?;
            let old_search: Value = row.try_get("", "search")?;
            let search = search_document(&registry, kind, &body);
            let new_fold = fold(&name);
            if new_fold == old_fold && search == old_search {
                continue;
            }
            let display_fold = body.get("displayName").and_then(Value::as_str).map(fold);
            // First what cannot collide: the search document, the users' displayName key, the
            // matching index — so every row gets the new comparisons, whatever happens below.
            let search_update = match kind {
                ResourceKind::User => Statement::from_sql_and_values(
                    backend,
                    format!(
                        "UPDATE users SET display_name_fold = {}, search = {} WHERE tenant_id = {} AND id = {}",
                        p(backend, 1),
                        p(backend, 2),
                        p(backend, 3),
                        p(backend, 4)
                    ),
                    vec![
                        display_fold.into(),
                        search.clone().into(),
                        tenant.into(),
                        id.into(),
                    ],
                ),
                ResourceKind::Group => Statement::from_sql_and_values(
                    backend,
                    format!(
                        "UPDATE groups SET search = {} WHERE tenant_id = {} AND id = {}",
                        p(backend, 1),
                        p(backend, 2),
                        p(backend, 3)
                    ),
                    vec![search.clone().into(), tenant.into(), id.into()],
                ),
            };
            db.execute_raw(search_update).await?;
            if kind == ResourceKind::User {
                match_index::reindex(db, tenant, id, &search)
                    .await
                    .map_err(|e| DbErr::Custom(e.to_string()))?;
            }
            if new_fold == old_fold {
                continue;
            }
            // Then the unique key, in a savepoint: a key the new folding makes collide fails
            // alone (the row keeps its old key; writes leave a key alone unless the name
            // changes), anything else fails the migration.
            let fold_update = Statement::from_sql_and_values(
                backend,
                format!(
                    "UPDATE {table} SET {fold_col} = {} WHERE tenant_id = {} AND id = {}",
                    p(backend, 1),
                    p(backend, 2),
                    p(backend, 3)
                ),
                vec![new_fold.into(), tenant.into(), id.into()],
            );
            let sp = db.begin().await?;
            match sp.execute_raw(fold_update).await {
                Ok(_) => sp.commit().await?,
                Err(e)
                    if matches!(
                        e.sql_err(),
                        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                    ) =>
                {
                    sp.rollback().await?;
                    tracing::warn!(
                        tenant_id = %tenant,
                        resource_type = kind.name(),
                        resource_id = %id,
                        "kept the old folded key: another resource of the tenant already has the new one (merge or rename them)"
                    );
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: a backfill cut short must leave nothing behind, or the
    /// next start would find the table (or the index swap) half done.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        refold(m, ResourceKind::User).await?;
        refold(m, ResourceKind::Group).await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        // The new keys are valid under the old code too (it only compares stored keys).
        Ok(())
    }
}
