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
