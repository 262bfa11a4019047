//! Group commit: several change commands applied in one database transaction, one savepoint
//! each, committed once (DESIGN §6).
//!
//! Each command keeps exactly the semantics of [`Directory::apply`]: a command id seen before
//! (or earlier in the same batch) returns its first outcome; a refusal (`409`, `412`, `400`,
//! `404`) rolls back its own savepoint only and is recorded as that command's answer; its
//! outbox rows and fan-out jobs are written inside its savepoint, its idempotency and
//! provisioning-log rows with the batch's (one statement each, before the one commit). The
//! commands are applied in the order given, so two commands on one resource keep their order.
//!
//! What a savepoint cannot contain — a command that must take the tenant's membership lock
//! exclusively, a lock another batch holds for more than 100 ms (it may be waiting for ours),
//! contention that outlasts the retries, any unexpected failure of one command, a command
//! whose client stopped waiting before the commit — abandons the batch: the transaction is
//! rolled back and every command applied on its own, so no command's failure becomes
//! another's. Only a database that cannot be reached fails the whole batch (every command
//! would fail alike; the caller retries them, and idempotency answers those already
//! committed). On PostgreSQL a long batch commits in parts, each under 64 subtransactions.

use crate::directory::{Directory, begin_write};
use crate::error::{StoreError, StoreResult, is_unreachable};
use crate::idempotency;
use crate::log;
use crate::model::{Command, Outcome};
use crate::writes::Abort;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, TransactionTrait};
use std::time::SystemTime;

/// Attempts of one command inside its savepoint before the batch is abandoned.
const ATTEMPTS_IN_BATCH: usize = 4;

/// Savepoints one transaction of a batch may open (each is a subtransaction on PostgreSQL,
/// which caches 64 per transaction; a rolled-back savepoint stays open as one more level).
const SUBTRANSACTIONS: usize = 48;

/// How long a batch's statement waits for a lock on PostgreSQL before the batch is abandoned.
const BATCH_LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// One command of a batch.
#[derive(Debug, Clone)]
pub struct Batched {
    /// The command.
    pub command: Command,
    /// When its client stops waiting: a command reached after it is not applied (its client
    /// was answered `503` and will retry).
    pub deadline: Option<SystemTime>,
}

impl Batched {
    fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| SystemTime::now() >= d)
    }
}

/// Why the batch could not be applied in one transaction.
enum Abandon {
    /// Apply the commands one at a time instead.
    OneByOne,
    /// The database is unreachable: nothing was applied.
    Unreachable(StoreError),
}

impl From<StoreError> for Abandon {
    fn from(e: StoreError) -> Self {
        if is_unreachable(&e) {
            Abandon::Unreachable(e)
        } else {
            Abandon::OneByOne
        }
    }
}

impl From<sea_orm::DbErr> for Abandon {
    fn from(e: sea_orm::DbErr) -> Self {
        StoreError::from(e).into()
    }
}

impl Directory {
    /// Applies `batch` in one transaction (see the module docs); one answer per command, in
    /// order: its outcome, [`StoreError::Expired`] for a command whose deadline passed before
    /// it was reached, or the failure of a command applied on its own after the batch was
    /// abandoned. `Err` only when the database is unreachable (the commands of a part that
    /// committed before then return their recorded answers when retried).
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "transaction apply_batch", batch.size = batch.len()))]
    pub async fn apply_batch(&self, batch: &[Batched]) -> StoreResult<Vec<StoreResult<Outcome>>> {
        if batch.len() > 1 {
            match self.try_batch(batch).await {
                Ok(answers) => return Ok(answers),
                Err(Abandon::Unreachable(e)) => return Err(e),
                Err(Abandon::OneByOne) => {
                    tracing::debug!(
                        size = batch.len(),
                        "batch abandoned: applying its commands one at a time"
                    );
                }
            }
        }
        let mut answers = Vec::with_capacity(batch.len());
        for b in batch {
            answers.push(if b.expired() {
                Err(StoreError::Expired)
            } else {
                self.apply(&b.command).await
            });
        }
        Ok(answers)
    }

    async fn try_batch(&self, batch: &[Batched]) -> Result<Vec<StoreResult<Outcome>>, Abandon> {
        let _guard = self.write_guard().await;
        let mut txn = self.begin_batch().await?;
        let keys: Vec<_> = batch
            .iter()
            .map(|b| (b.command.tenant, b.command.id.as_str(), b.command.kind))
            .collect();
        // First answers of the commands applied before: one query for the batch. A command
        // repeated later in the same batch is answered from here too.
        let mut firsts = idempotency::find_many(&txn, &keys).await?;
        let mut answers = Vec::with_capacity(batch.len());
        let mut part: Vec<(&Batched, Outcome)> = Vec::with_capacity(batch.len());
        let mut savepoints = 0;
        for b in batch {
            let cmd = &b.command;
            if let Some(first) = firsts.get(&(cmd.tenant, cmd.id.clone())) {
                answers.push(Ok(first.clone()));
                continue;
            }
            if b.expired() {
                answers.push(Err(StoreError::Expired));
                continue;
            }
            // PostgreSQL caches 64 subtransactions per transaction (more slow down every
            // session's snapshots): commit what is applied before the next command could pass
            // that. (Should a later part be abandoned, the commands of this one are applied
            // again one at a time, which returns their recorded answers.)
            if savepoints + ATTEMPTS_IN_BATCH > SUBTRANSACTIONS {
                Self::commit_part(txn, &part).await?;
                part.clear();
                savepoints = 0;
                txn = self.begin_batch().await?;
            }
            let (outcome, used) = self.apply_in_savepoint(&txn, cmd).await?;
            savepoints += used;
            firsts.insert((cmd.tenant, cmd.id.clone()), outcome.clone());
            part.push((b, outcome.clone()));
            answers.push(Ok(outcome));
        }
        Self::commit_part(txn, &part).await?;
        Ok(answers)
    }

    /// A batch's transaction. On PostgreSQL a lock wait longer than [`BATCH_LOCK_WAIT`]
    /// abandons the batch: another batch holds the row (or the tenant's membership lock) and
    /// may be waiting for one of ours, and a deadlock would only be found after a second.
    async fn begin_batch(&self) -> Result<DatabaseTransaction, Abandon> {
        let txn = begin_write(&self.db).await?;
        if self.backend() == DbBackend::Postgres {
            txn.execute_unprepared(&format!(
                "SET LOCAL lock_timeout = '{}ms'",
                BATCH_LOCK_WAIT.as_millis()
            ))
            .await?;
        }
        Ok(txn)
    }

    /// Writes the idempotency and provisioning-log rows of `part` (one statement each) and
    /// commits. A unique violation: a concurrent delivery of one of the commands committed
    /// first; applied one at a time, that command returns its first answer. A command whose
    /// client stopped waiting while later ones were applied must not commit after its `503`:
    /// then the part is rolled back and the commands applied one at a time.
    async fn commit_part(
        txn: DatabaseTransaction,
        part: &[(&Batched, Outcome)],
    ) -> Result<(), Abandon> {
        let rows: Vec<(&Command, &Outcome)> = part.iter().map(|(b, o)| (&b.command, o)).collect();
        idempotency::record_many(&txn, &rows).await?;
        log::append_many(&txn, &rows).await?;
        if part.iter().any(|(b, _)| b.expired()) {
            txn.rollback().await?;
            return Err(Abandon::OneByOne);
        }
        txn.commit().await?;
        Ok(())
    }

    /// One command inside its own savepoint of `txn`: its answer (a refusal rolls back
    /// everything the command wrote), and how many savepoints that took.
    async fn apply_in_savepoint(
        &self,
        txn: &DatabaseTransaction,
        cmd: &Command,
    ) -> Result<(Outcome, usize), Abandon> {
        for attempt in 1..=ATTEMPTS_IN_BATCH {
            let sp = txn.begin().await?;
            match self.apply_once(&sp, cmd, false).await {
                Ok(applied) => {
                    sp.commit().await?;
                    return Ok((Ok(applied), attempt));
                }
                Err(Abort::Refused(e)) => {
                    sp.rollback().await?;
                    return Ok((Err(e), attempt));
                }
                Err(Abort::Raced) => sp.rollback().await?,
                Err(Abort::Escalate) => return Err(Abandon::OneByOne),
                Err(Abort::Failed(e)) => return Err(e.into()),
            }
        }
        Err(Abandon::OneByOne)
    }
}
