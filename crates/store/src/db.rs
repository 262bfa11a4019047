//! Connecting to PostgreSQL or SQLite and running the migrations.

use crate::migration::Migrator;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// The pool type the store runs on.
pub type Connection = DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use std::time::Duration;

/// Opens a pool. `postgres://…` or `sqlite://path?mode=rwc` / `sqlite::memory:`.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    // Every pooled SQLite connection gets the same settings (a PRAGMA on one connection
    // would leave the others on defaults): WAL so readers run beside the serialised writer, a
    // generous busy timeout, NORMAL sync (safe with WAL).
    opts.map_sqlx_sqlite_opts(|o| {
        use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
        o.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .create_if_missing(true)
    });
    let db = Database::connect(opts).await?;
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}
