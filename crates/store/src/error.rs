//! Store errors. A [`StoreError::Scim`] is the answer the client gets (400/404/409/412);
//! everything else is infrastructure, which callers retry when [`StoreError::is_transient`].

use scim::ScimError;
use sea_orm::DbErr;

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
}

impl StoreError {
    /// Whether retrying the same operation may succeed (connection loss, lock timeouts,
    /// serialization failures, contention).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Contended => true,
            StoreError::Db(e) => is_transient_db(e),
            _ => false,
        }
    }
}

/// Transient database failures: the pool or connection, SQLite's lock errors, PostgreSQL's
/// serialization failures and deadlocks.
pub(crate) fn is_transient_db(e: &DbErr) -> bool {
    match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(_) | DbErr::Query(_) => {
            let msg = e.to_string();
            [
                "database is locked",
                "database table is locked",
                "SQLITE_BUSY",
                "40001",
                "40P01",
                "could not serialize",
                "deadlock detected",
                "connection reset",
                "broken pipe",
            ]
            .iter()
            .any(|m| msg.contains(m))
        }
        _ => false,
    }
}

/// Whether PostgreSQL cancelled a statement that ran past `statement_timeout` (see `db.rs`).
pub(crate) fn is_statement_timeout(e: &DbErr) -> bool {
    e.to_string().contains("statement timeout")
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
