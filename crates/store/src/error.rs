//! Store errors. A [`StoreError::Scim`] is the answer the client gets (400/404/409/412);
//! everything else is infrastructure, which callers retry when [`StoreError::is_transient`].

use scim::ScimError;
use sea_orm::{DbErr, RuntimeErr, SqlxError};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request was refused: this is the client's SCIM answer.
    #[error(transparent)]
    Scim(#[from] ScimError),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// A stored row could not be read back (a bug or manual tampering, never client input).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A malformed wire message (sender bug or version skew).
    #[error(transparent)]
    Convert(#[from] scim_wire::ConvertError),
    /// A malformed request from another role, such as a fan-out job naming a non-UUID (sender
    /// bug or version skew, never client input).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Conflicting writes kept winning the race; the caller may retry later.
    #[error("the resource is being modified concurrently; retry")]
    Contended,
    /// A batched command's client stopped waiting before the command was reached: it was not
    /// applied (its client was answered `503` and will retry).
    #[error("the command's deadline passed before it was applied")]
    Expired,
}

impl StoreError {
    /// Whether retrying the same operation may succeed (connection loss, lock timeouts,
    /// serialization failures, contention).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Contended | StoreError::Expired => true,
            StoreError::Db(e) => is_transient_db(e),
            _ => false,
        }
    }
}

/// Transient database failures: the pool or connection, SQLite's lock errors, PostgreSQL's
/// serialization failures and deadlocks, and a server going away (a restart terminates every
/// session: `57P01`, then I/O errors until the pool reconnects). Retrying after a lost
/// connection is safe even if the commit went through: writes are idempotent by command id.
pub(crate) fn is_transient_db(e: &DbErr) -> bool {
    if is_unreachable_db(e) {
        return true;
    }
    if let Some(SqlxError::Database(db)) = statement_error(e)
        && matches!(db.code().as_deref(), Some("40001" | "40P01"))
    {
        return true;
    }
    if !matches!(e, DbErr::Exec(_) | DbErr::Query(_)) {
        return false;
    }
    // SQLite reports its lock errors by message (its codes vary with the extended-code flag).
    let msg = e.to_string();
    [
        "database is locked",
        "database table is locked",
        "SQLITE_BUSY",
        "could not serialize",
        "deadlock detected",
        "connection reset",
        "broken pipe",
    ]
    .iter()
    .any(|m| msg.contains(m))
}

/// Whether the database itself cannot be reached (connection, pool, server shutting down): a
/// failure every statement would share, unlike a conflict or one statement's own error.
pub(crate) fn is_unreachable(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(e) if is_unreachable_db(e))
}

fn is_unreachable_db(e: &DbErr) -> bool {
    if matches!(e, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
        return true;
    }
    match statement_error(e) {
        Some(
            SqlxError::Io(_)
            | SqlxError::Tls(_)
            | SqlxError::Protocol(_)
            | SqlxError::PoolTimedOut
            | SqlxError::PoolClosed
            | SqlxError::WorkerCrashed,
        ) => true,
        Some(SqlxError::Database(db)) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "53300" | "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// Whether the database cancelled a statement for running too long (see `db.rs`):
/// PostgreSQL's `statement_timeout` (`57014`), SQLite's progress handler (`SQLITE_INTERRUPT`).
pub(crate) fn is_statement_timeout(e: &DbErr) -> bool {
    matches!(
        statement_error(e),
        Some(SqlxError::Database(db)) if matches!(db.code().as_deref(), Some("57014" | "9"))
    )
}

/// The driver's error behind a failed statement (execution or query), if it came from sqlx.
fn statement_error(e: &DbErr) -> Option<&SqlxError> {
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x)) => {
            Some(x.as_ref())
        }
        _ => None,
    }
}

/// A read's database error as the client's answer: a statement cancelled for running too long
/// is the filter's fault — `400 tooMany` (RFC 7644 §3.12: more than the server is willing to
/// process) — not a server error.
pub(crate) fn read_error(e: DbErr) -> StoreError {
    if is_statement_timeout(&e) {
        ScimError::new(
            scim::ScimType::TooMany,
            "the query takes longer than this service allows; narrow the filter",
        )
        .into()
    } else {
        e.into()
    }
}

/// Result alias.
pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn exec(e: SqlxError) -> DbErr {
        DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e)))
    }

    #[test]
    fn a_lost_connection_is_transient_and_a_constraint_is_not() {
        // What a worker saw while PostgreSQL restarted: "error communicating with database".
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(StoreError::Db(exec(SqlxError::Io(reset))).is_transient());
        assert!(StoreError::Db(exec(SqlxError::PoolTimedOut)).is_transient());
        assert!(StoreError::Db(exec(SqlxError::Protocol("unexpected EOF".into()))).is_transient());
        // Unreachable (a batch fails as a whole) versus one statement's own trouble.
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(is_unreachable(&StoreError::Db(exec(SqlxError::Io(reset)))));
        assert!(!is_unreachable(&StoreError::Contended));
        assert!(!is_unreachable(&StoreError::Db(exec(
            SqlxError::RowNotFound
        ))));
        assert!(!StoreError::Db(exec(SqlxError::RowNotFound)).is_transient());
        assert!(!StoreError::Db(DbErr::Custom("x".into())).is_transient());
    }
}
