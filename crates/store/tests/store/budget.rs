//! A statement that runs too long is cancelled on both databases (PostgreSQL's
//! `statement_timeout`, a SQLite progress handler), so one tenant's pathological query cannot
//! hold a connection for ever (a cancelled read answers `400 tooMany`: `error::read_error`).

use crate::support::pg_admin_url;
use sea_orm::ConnectionTrait;
use std::time::{Duration, Instant};

/// A query that never ends by itself.
const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                       SELECT count(*) FROM c";

async fn endless_is_cancelled(url: &str) {
    let db = scim_store::db::connect_with_timeout(url, 2, Duration::from_secs(1))
        .await
        .unwrap();
    let started = Instant::now();
    let cancelled = db.execute_unprepared(ENDLESS).await;
    assert!(cancelled.is_err(), "an endless query finished");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    // The connection is usable again afterwards (the budget restarts with each hand-out).
    db.execute_unprepared("SELECT 1").await.unwrap();
    let _ = db.close().await;
}

#[tokio::test]
async fn sqlite_cancels_a_statement_past_its_budget() {
    let dir = std::env::temp_dir().join(format!("budget-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("b.db").display());
    endless_is_cancelled(&url).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn postgresql_cancels_a_statement_past_its_budget() {
    endless_is_cancelled(&pg_admin_url()).await;
}
