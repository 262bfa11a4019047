//! [`Directory`]: the store's operations over one database, shared by the gRPC adapter and the
//! tests. Reads are in `reads.rs`, writes in `writes.rs`, tenants in `tenants.rs`, fan-out jobs
//! in `fanout.rs` and the outbox relay's side in `outbox.rs`.
//!
//! Tracing: sea-orm has no spans of its own worth exporting (and sqlx's statement logs carry
//! SQL with values), so each public operation — the write transaction of a command, each
//! main query — is one `db.query` span with `db.system` and a `db.operation` naming the
//! statement kind and table (`select resource`, `transaction apply_change`). The outbox
//! polls are at debug level: several a second while idle would drown the traces.

use chrono::{DateTime, Timelike, Utc};
use scim::schema::Registry;
use sea_orm::{DatabaseConnection, DbBackend};
use std::sync::Arc;
use tokio::sync::{Mutex, MutexGuard};

/// The directory over one database.
#[derive(Debug, Clone)]
pub struct Directory {
    /// The connection pool.
    pub(crate) db: DatabaseConnection,
    /// Schemas, for validation, PATCH and filter translation.
    pub(crate) registry: Arc<Registry>,
    /// SQLite allows one writer: serialising write transactions in-process turns lock errors
    /// into a short queue. `None` on PostgreSQL, where row versions arbitrate.
    write_lock: Option<Arc<Mutex<()>>>,
}

impl Directory {
    /// A directory over an open (and migrated) database.
    pub fn new(db: DatabaseConnection, registry: Arc<Registry>) -> Self {
        let write_lock =
            (db.get_database_backend() == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Self {
            db,
            registry,
            write_lock,
        }
    }

    /// The schema registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The database backend.
    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// `db.system` of the `db.query` spans: `postgresql` or `sqlite`.
    pub(crate) fn db_system(&self) -> &'static str {
        match self.backend() {
            DbBackend::Postgres => "postgresql",
            DbBackend::Sqlite => "sqlite",
            _ => "other_sql",
        }
    }

    /// The connection (for health checks and tests).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub(crate) async fn write_guard(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }
}

/// Now, truncated to microseconds: what PostgreSQL stores, so a value read back equals the one
/// returned by the write.
pub(crate) fn now() -> DateTime<Utc> {
    let t = Utc::now();
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}
