//! Connecting to PostgreSQL or SQLite and running the migrations.

use crate::migration::Migrator;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// The pool type the store runs on.
pub type Connection = DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use std::time::Duration;

/// Longest a single PostgreSQL statement may run, and a SQLite connection may be held by one
/// use (below the gateway's 25 s request deadline, far above any indexed lookup or fan-out
/// statement).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(15);

/// SQLite virtual-machine steps between two checks of the statement budget (a check is a
/// clock read; ~10,000 steps take well under a millisecond).
const SQLITE_PROGRESS_STEPS: i32 = 10_000;

/// Opens a pool for serving. `postgres://…` or `sqlite://path?mode=rwc` / `sqlite::memory:`.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, max_connections, Some(STATEMENT_TIMEOUT)).await
}

/// Opens a pool for serving whose statements are cancelled after `timeout` (see
/// [`STATEMENT_TIMEOUT`]): for tests of the cancellation, and operators who need another bound.
pub async fn connect_with_timeout(
    url: &str,
    max_connections: u32,
    timeout: Duration,
) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, max_connections, Some(timeout)).await
}

/// Opens a pool for migrations: no statement timeout (building an index over a large table
/// may take minutes).
pub async fn connect_for_migrations(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, 2, None).await
}

async fn connect_with(
    url: &str,
    max_connections: u32,
    statement_timeout: Option<Duration>,
) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    // Every pooled SQLite connection gets the same settings (a PRAGMA on one connection
    // would leave the others on defaults): WAL so readers run beside the serialised writer, a
    // generous busy timeout, and FULL sync: every commit is fsynced before the `201` goes out,
    // so an acknowledged write survives a power loss, not only a crash of the process (NORMAL
    // would lose the last commits since the checkpoint). With group commit that is one fsync
    // per batch; measured on the Entra mix, within the run-to-run noise (README "Benchmarks").
    opts.map_sqlx_sqlite_opts(|o| {
        use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
        o.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .create_if_missing(true)
    });
    // PostgreSQL switches a prepared statement to a generic plan after five runs, and the
    // store's statements carry `IN (…)` lists of ids whose generic plan ignores the indexes
    // that make them cheap: fan-out's member lookups went from ~1 ms to ~200 ms per job once
    // the tables held a few tens of thousands of rows. Re-planning each execution costs far
    // less than that.
    //
    // No statement may hold a connection longer than STATEMENT_TIMEOUT: one tenant's
    // pathological filter must not keep connections (and CPU) from everybody else. A read
    // cancelled this way is answered `400 tooMany` (`error::read_error`).
    opts.map_sqlx_postgres_opts(move |o| {
        let o = o.options([("plan_cache_mode", "force_custom_plan")]);
        match statement_timeout {
            Some(t) => o.options([("statement_timeout", format!("{}ms", t.as_millis()))]),
            None => o,
        }
    });
    // SQLite has no statement timeout: a progress handler, installed each time a connection
    // is handed out, interrupts whatever runs on it once it has been out for the timeout
    // (SQLITE_INTERRUPT, answered like PostgreSQL's cancellation). Per hand-out rather than
    // per statement, which SQLite offers no hook for; every use of a connection here is one
    // statement or one short transaction.
    // (`after_connect` for a new connection's first hand-out, `before_acquire` for the next.)
    if let Some(budget) = statement_timeout {
        opts.map_sqlx_sqlite_pool_opts(move |p| {
            p.after_connect(move |conn, _meta| {
                Box::pin(async move { restart_budget(conn, budget).await })
            })
            .before_acquire(move |conn, _meta| {
                Box::pin(async move { restart_budget(conn, budget).await.map(|()| true) })
            })
        });
    }
    let db = Database::connect(opts).await?;
    Ok(db)
}

/// Interrupts whatever runs on `conn` once `budget` has passed from now.
async fn restart_budget(
    conn: &mut sea_orm::sqlx::SqliteConnection,
    budget: Duration,
) -> Result<(), sea_orm::sqlx::Error> {
    let handed_out = std::time::Instant::now();
    conn.lock_handle()
        .await?
        .set_progress_handler(SQLITE_PROGRESS_STEPS, move || handed_out.elapsed() < budget);
    Ok(())
}

/// Applies every pending migration; on SQLite then refreshes the planner's statistics where
/// they are missing or stale (`PRAGMA optimize`, bounded work): without them SQLite guesses,
/// and a guess can prefer scanning a tenant in id order over an index that matches the filter.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        use sea_orm::ConnectionTrait;
        db.execute_unprepared("PRAGMA optimize=0x10002").await?;
    }
    Ok(())
}

/// Pool use for the `scim_db_pool_connections` gauges: (open, idle, max) connections.
pub fn pool_stats(db: &DatabaseConnection) -> Option<(u32, u32, u32)> {
    fn of<D: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<D>) -> (u32, u32, u32) {
        let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
        (pool.size(), idle, pool.options().get_max_connections())
    }
    // The backend decides which pool accessor is safe to call (the other one panics).
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => Some(of(db.get_postgres_connection_pool())),
        sea_orm::DbBackend::Sqlite => Some(of(db.get_sqlite_connection_pool())),
        _ => None,
    }
}
