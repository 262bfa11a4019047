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
use tokio::sync::{Mutex, MutexGuard, OwnedSemaphorePermit, Semaphore};

/// The directory over one database.
///
/// Two kinds of work share the database and must not share its connections blindly: the
/// *synchronous path* — authentication, reads, applying a change command while an identity
/// provider waits for the answer — and *background work* — fan-out jobs, the outbox relay's
/// claims and marks, lag reports — that nobody waits on. Background work runs on its own
/// connections ([`Directory::with_background`]: a separate pool in the store role) and is
/// admitted a bounded number at a time, so that a burst of fan-out can never take the
/// connections an `Authenticate` or a member `PATCH` needs (DESIGN §7).
#[derive(Debug, Clone)]
pub struct Directory {
    /// The connection pool of the synchronous path.
    pub(crate) db: DatabaseConnection,
    /// Connections of background work (may be `db` itself, with the admission limit below).
    pub(crate) background: DatabaseConnection,
    /// Fan-out jobs and relay rounds running at once. One fewer than the background pool's
    /// connections when it has its own, so that a lag report always finds one free.
    background_slots: Arc<Semaphore>,
    /// Schemas, for validation, PATCH and filter translation.
    pub(crate) registry: Arc<Registry>,
    /// SQLite allows one writer: every write of this process (command batches, fan-out jobs,
    /// outbox marks, tenant and token changes, log rows) takes this lock first, so they queue
    /// here, in order, instead of sleeping in SQLite's busy handler. `None` on PostgreSQL,
    /// where row locks and versions arbitrate.
    write_lock: Option<Arc<Mutex<()>>>,
}

/// The largest pool size `db` may open (for sizing admission limits).
fn max_connections(db: &DatabaseConnection) -> usize {
    crate::db::pool_stats(db).map_or(4, |(_, _, max)| max as usize)
}

impl Directory {
    /// A directory over an open (and migrated) database, whose background work shares the
    /// pool but may hold at most a quarter of its connections.
    pub fn new(db: DatabaseConnection, registry: Arc<Registry>) -> Self {
        let slots = (max_connections(&db) / 4).max(1);
        Self::build(db.clone(), db, slots, registry)
    }

    /// A directory whose background work runs on its own pool `background` (the same
    /// database), at most one job fewer than that pool's connections at once.
    pub fn with_background(
        db: DatabaseConnection,
        background: DatabaseConnection,
        registry: Arc<Registry>,
    ) -> Self {
        let slots = max_connections(&background).saturating_sub(1).max(1);
        Self::build(db, background, slots, registry)
    }

    fn build(
        db: DatabaseConnection,
        background: DatabaseConnection,
        slots: usize,
        registry: Arc<Registry>,
    ) -> Self {
        let write_lock =
            (db.get_database_backend() == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Self {
            db,
            background,
            background_slots: Arc::new(Semaphore::new(slots)),
            registry,
            write_lock,
        }
    }

    /// Waits for a background slot (fan-out job, relay round). Never fails: the semaphore is
    /// never closed.
    pub(crate) async fn background_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.background_slots.clone().acquire_owned().await.ok()
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

    /// Closes both pools (closing the background pool when it is `db` itself is harmless: a
    /// closed pool closes again at once).
    pub async fn close(self) -> Result<(), sea_orm::DbErr> {
        self.background.close().await?;
        self.db.close().await
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

/// Begins a write transaction on `conn`. On SQLite `BEGIN IMMEDIATE`: the write lock is taken
/// at once, so the transaction never starts as a reader that must upgrade later — an upgrade
/// after another process (the `tenant` CLI on the same file) wrote fails with
/// `SQLITE_BUSY_SNAPSHOT`, which no wait resolves. Within this process writers already queue on
/// `write_guard`, so the lock is free and nothing waits in SQLite's busy handler.
pub(crate) async fn begin_write(
    conn: &DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    conn.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Now, truncated to microseconds: what PostgreSQL stores, so a value read back equals the one
/// returned by the write.
pub(crate) fn now() -> DateTime<Utc> {
    let t = Utc::now();
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}
