//! Schema migrations (sea-orm-migration). They run unchanged on PostgreSQL and SQLite: only
//! portable column types, and every table keyed by `tenant_id` first so the database can be
//! sharded by tenant later (DESIGN §4).

mod m20261129_000001_directory;
mod m20261129_000002_fanout;
mod m20261207_000003_match_index;
mod m20261207_000004_caseless_fold;

use sea_orm_migration::prelude::*;

/// Every migration, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_directory::Migration),
            Box::new(m20261129_000002_fanout::Migration),
            Box::new(m20261207_000003_match_index::Migration),
            Box::new(m20261207_000004_caseless_fold::Migration),
        ]
    }
}

/// Rows per batch when a migration rewrites existing rows.
const BATCH: u64 = 1_000;

/// `$n` on PostgreSQL, `?n` on SQLite.
pub(crate) fn placeholder(backend: sea_orm::DbBackend, n: usize) -> String {
    if backend == sea_orm::DbBackend::Postgres {
        format!("${n}")
    } else {
        format!("?{n}")
    }
}

/// The next [`BATCH`] rows of `table` after the key `after`, in `(tenant_id, id)` order, with
/// `tenant_id`, `id` and `columns`: keyset paging by row values, one index range scan per batch
/// on both databases (an `OR` of the two key conditions was a scan per batch on PostgreSQL).
pub(crate) async fn next_batch(
    db: &SchemaManagerConnection<'_>,
    table: &str,
    columns: &str,
    after: Option<(uuid::Uuid, uuid::Uuid)>,
) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    use sea_orm::ConnectionTrait;
    let backend = db.get_database_backend();
    let (cond, values) = match after {
        None => (String::new(), Vec::new()),
        Some((t, id)) => (
            format!(
                "WHERE (tenant_id, id) > ({}, {})",
                placeholder(backend, 1),
                placeholder(backend, 2)
            ),
            vec![t.into(), id.into()],
        ),
    };
    let sql = format!(
        "SELECT tenant_id, id, {columns} FROM {table} {cond} ORDER BY tenant_id, id LIMIT {BATCH}"
    );
    db.query_all_raw(sea_orm::Statement::from_sql_and_values(
        backend, sql, values,
    ))
    .await
}
