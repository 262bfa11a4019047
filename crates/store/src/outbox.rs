//! The transactional outbox (DESIGN §6–§7): fan-out jobs and `MembershipChanged` events are
//! rows written in the same transaction as the change that causes them, so a committed change
//! always has its follow-up work recorded and a rolled-back one never does. A relay leases due
//! rows ([`Directory::claim_outbox`]), publishes them with confirms and reports them
//! ([`Directory::mark_published`]); a crash anywhere before that leaves the row due again after
//! its lease, so items are published at least once and never dropped.
//!
//! Events leave the outbox once published. Jobs stay until the job has run (the job deletes
//! its own row), so a job whose message was lost or dead-lettered is published again after
//! [`REPUBLISH_AFTER`]; jobs are idempotent, so a spare run costs only time.

use crate::directory::{Directory, begin_write, now};
use crate::entity::{outbox, tenant};
use crate::error::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use prost::Message;
use scim_wire::pb;
use sea_orm::sea_query::{Expr, Func, LockBehavior, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use uuid::Uuid;

/// Users per fan-out job: small enough that one job is one short transaction and a
/// 50,000-member change spreads over every worker, large enough to keep the row count low.
pub const JOB_USERS: usize = 200;

/// A published job still present after this long is published again (its message was lost
/// or dead-lettered, or its worker died): far above any healthy queue wait, so a spare run
/// is rare.
pub const REPUBLISH_AFTER: Duration = Duration::from_secs(600);

/// Lease when the caller asks for none, and the longest granted: a relay that needs more than
/// an hour to publish a batch is stuck, and its items should go to another.
const DEFAULT_LEASE: Duration = Duration::from_secs(30);
const MAX_LEASE: Duration = Duration::from_secs(3_600);

/// Items per claim when the caller asks for none, and at most.
const DEFAULT_CLAIM: u32 = 100;
const MAX_CLAIM: u32 = 1_000;

/// Outbox rows per insert statement (7 bound values each, far below SQLite's limit).
const ROWS_PER_INSERT: usize = 100;

/// Ids per `IN (…)` list.
const IDS_PER_STATEMENT: usize = 1_000;

/// What an outbox item carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxKind {
    /// An encoded `pb::FanoutJob` for the fan-out queue.
    FanoutJob,
    /// An encoded `pb::MembershipChanged` for the `blogin.events` exchange.
    Event,
}

impl OutboxKind {
    /// The stored number: the `pb::OutboxKind` value.
    pub(crate) fn code(self) -> i16 {
        match self {
            OutboxKind::FanoutJob => pb::OutboxKind::FanoutJob as i16,
            OutboxKind::Event => pb::OutboxKind::Event as i16,
        }
    }

    fn from_code(code: i16) -> Option<Self> {
        [OutboxKind::FanoutJob, OutboxKind::Event]
            .into_iter()
            .find(|k| k.code() == code)
    }

    /// The wire enum.
    pub fn to_pb(self) -> pb::OutboxKind {
        match self {
            OutboxKind::FanoutJob => pb::OutboxKind::FanoutJob,
            OutboxKind::Event => pb::OutboxKind::Event,
        }
    }
}

/// A leased outbox item, ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Row id: pass it to [`Directory::mark_published`] once the broker confirmed.
    pub id: i64,
    /// Tenant.
    pub tenant: Uuid,
    /// Job or event.
    pub kind: OutboxKind,
    /// The encoded message. A job's `outbox_id` is this item's id.
    pub payload: Vec<u8>,
    /// Routing key (events).
    pub routing_key: Option<String>,
    /// When the change that wrote it ran.
    pub created: DateTime<Utc>,
}

/// Pending fan-out work of one tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantLag {
    /// Tenant id.
    pub tenant: Uuid,
    /// Its slug.
    pub slug: String,
    /// Jobs not completed yet (published or not).
    pub pending_jobs: u64,
    /// Age of the oldest of them in seconds (0 when none).
    pub oldest_job_age_seconds: f64,
    /// Events not published yet.
    pub pending_events: u64,
}

/// The routing key of a tenant's membership events.
pub fn event_routing_key(tenant: Uuid) -> String {
    format!("membership.changed.{tenant}")
}

/// Writes the jobs that recompute `users`, [`JOB_USERS`] per job, in id order. The payload's
/// `outbox_id` is 0 here: the row id is only known after the insert, and
/// [`Directory::claim_outbox`] fills it in when it hands the job out.
pub(crate) async fn enqueue_jobs<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    users: &BTreeSet<Uuid>,
) -> StoreResult<usize> {
    let users: Vec<Uuid> = users.iter().copied().collect();
    let t = now();
    let rows: Vec<outbox::ActiveModel> = users
        .chunks(JOB_USERS)
        .map(|chunk| {
            let job = pb::FanoutJob {
                outbox_id: 0,
                tenant_id: tenant.to_string(),
                user_ids: chunk.iter().map(Uuid::to_string).collect(),
            };
            row(tenant, OutboxKind::FanoutJob, job.encode_to_vec(), None, t)
        })
        .collect();
    let jobs = rows.len();
    insert_rows(db, rows).await?;
    Ok(jobs)
}

/// Writes `MembershipChanged` events of one tenant.
pub(crate) async fn enqueue_events<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    events: &[pb::MembershipChanged],
) -> StoreResult<()> {
    let t = now();
    let key = event_routing_key(tenant);
    let rows = events
        .iter()
        .map(|e| {
            row(
                tenant,
                OutboxKind::Event,
                e.encode_to_vec(),
                Some(key.clone()),
                t,
            )
        })
        .collect();
    insert_rows(db, rows).await
}

fn row(
    tenant: Uuid,
    kind: OutboxKind,
    payload: Vec<u8>,
    routing_key: Option<String>,
    t: DateTime<Utc>,
) -> outbox::ActiveModel {
    outbox::ActiveModel {
        id: Default::default(),
        tenant_id: Set(tenant),
        kind: Set(kind.code()),
        payload: Set(payload),
        routing_key: Set(routing_key),
        created: Set(t),
        published_at: Set(None),
        lease_until: Set(None),
    }
}

async fn insert_rows<C: ConnectionTrait>(
    db: &C,
    rows: Vec<outbox::ActiveModel>,
) -> StoreResult<()> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<_> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        outbox::Entity::insert_many(batch)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Deletes a completed job's row (absent already when the job ran before).
pub(crate) async fn complete_job<C: ConnectionTrait>(db: &C, outbox_id: i64) -> StoreResult<()> {
    outbox::Entity::delete_many()
        .filter(outbox::Column::Id.eq(outbox_id))
        .filter(outbox::Column::Kind.eq(OutboxKind::FanoutJob.code()))
        .exec(db)
        .await?;
    Ok(())
}

impl Directory {
    /// Leases up to `limit` due items (at most 1,000) for `lease` (at most an hour; 0 means the
    /// defaults: 100 items, 30 s) and returns them oldest first. Due: never published, or a job published more than
    /// [`REPUBLISH_AFTER`] ago and still not completed; and not leased to someone else. On
    /// PostgreSQL concurrent relays skip each other's rows (`FOR UPDATE SKIP LOCKED`), so no
    /// item is handed out twice while its lease runs.
    #[tracing::instrument(name = "db.query", level = "debug", skip_all, fields(db.system = self.db_system(), db.operation = "update outbox claim"))]
    pub async fn claim_outbox(&self, limit: u32, lease: Duration) -> StoreResult<Vec<OutboxItem>> {
        let limit = match limit {
            0 => DEFAULT_CLAIM,
            n => n.min(MAX_CLAIM),
        };
        let lease = if lease.is_zero() {
            DEFAULT_LEASE
        } else {
            lease.min(MAX_LEASE)
        };
        let _slot = self.background_slot().await;
        let _guard = self.write_guard().await;
        let txn = begin_write(&self.background).await?;
        let t = now();
        let cutoff = t - chrono::Duration::from_std(REPUBLISH_AFTER).unwrap_or_default();
        let until = t + chrono::Duration::from_std(lease).unwrap_or_default();
        let due = Condition::any()
            .add(outbox::Column::PublishedAt.is_null())
            .add(
                Condition::all()
                    .add(outbox::Column::Kind.eq(OutboxKind::FanoutJob.code()))
                    .add(outbox::Column::PublishedAt.lt(cutoff)),
            );
        let free = Condition::any()
            .add(outbox::Column::LeaseUntil.is_null())
            .add(outbox::Column::LeaseUntil.lte(t));
        let mut q = outbox::Entity::find()
            .filter(due)
            .filter(free)
            .order_by_asc(outbox::Column::Id)
            .limit(u64::from(limit));
        if self.backend() == DbBackend::Postgres {
            q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let rows = q.all(&txn).await?;
        if rows.is_empty() {
            txn.commit().await?;
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            outbox::Entity::update_many()
                .col_expr(outbox::Column::LeaseUntil, Expr::value(until))
                .filter(outbox::Column::Id.is_in(chunk.iter().copied()))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(rows.into_iter().filter_map(item).collect())
    }

    /// The relay published these items with confirms: events leave the outbox, jobs are
    /// marked published and unleased (they leave when they complete). Unknown ids (a job that
    /// already ran) are ignored.
    #[tracing::instrument(name = "db.query", level = "info", skip_all, fields(db.system = self.db_system(), db.operation = "update outbox published"))]
    pub async fn mark_published(&self, ids: &[i64]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let _slot = self.background_slot().await;
        let _guard = self.write_guard().await;
        let txn = begin_write(&self.background).await?;
        let t = now();
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            outbox::Entity::delete_many()
                .filter(outbox::Column::Id.is_in(chunk.iter().copied()))
                .filter(outbox::Column::Kind.eq(OutboxKind::Event.code()))
                .exec(&txn)
                .await?;
            outbox::Entity::update_many()
                .col_expr(outbox::Column::PublishedAt, Expr::value(Some(t)))
                .col_expr(
                    outbox::Column::LeaseUntil,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(outbox::Column::Id.is_in(chunk.iter().copied()))
                .filter(outbox::Column::Kind.eq(OutboxKind::FanoutJob.code()))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Pending fan-out work of one tenant or of every tenant, by slug — each listed even when
    /// it has none, so that the lag gauges read 0 rather than nothing when all is done. Runs on
    /// the background pool outside the admission limit: a report must come even while
    /// fan-out is saturated.
    #[tracing::instrument(name = "db.query", level = "debug", skip_all, fields(db.system = self.db_system(), db.operation = "select fanout lag"))]
    pub async fn fanout_lag(&self, tenant: Option<Uuid>) -> StoreResult<Vec<TenantLag>> {
        let mut q = outbox::Entity::find()
            .select_only()
            .column(outbox::Column::TenantId)
            .column(outbox::Column::Kind)
            .column_as(Expr::from(Func::count(Expr::col(outbox::Column::Id))), "n")
            .column_as(
                Expr::from(Func::min(Expr::col(outbox::Column::Created))),
                "oldest",
            )
            .group_by(outbox::Column::TenantId)
            .group_by(outbox::Column::Kind);
        if let Some(t) = tenant {
            q = q.filter(outbox::Column::TenantId.eq(t));
        }
        let rows: Vec<(Uuid, i16, i64, Option<DateTime<Utc>>)> =
            q.into_tuple().all(&self.background).await?;
        let t = now();
        let mut lag: BTreeMap<Uuid, (u64, f64, u64)> = BTreeMap::new();
        for (id, kind, n, oldest) in rows {
            let entry = lag.entry(id).or_insert((0, 0.0, 0));
            let n = u64::try_from(n).unwrap_or(0);
            match OutboxKind::from_code(kind) {
                Some(OutboxKind::FanoutJob) => {
                    entry.0 = n;
                    entry.1 = oldest
                        .map(|o| (t - o).num_microseconds().unwrap_or(0).max(0) as f64 / 1e6)
                        .unwrap_or(0.0);
                }
                Some(OutboxKind::Event) => entry.2 = n,
                None => {}
            }
        }
        let mut tenants = tenant::Entity::find().order_by_asc(tenant::Column::Slug);
        if let Some(id) = tenant {
            tenants = tenants.filter(tenant::Column::Id.eq(id));
        }
        let tenants = tenants.all(&self.background).await?;
        Ok(tenants
            .into_iter()
            .map(|t| {
                let (pending_jobs, oldest_job_age_seconds, pending_events) =
                    lag.get(&t.id).copied().unwrap_or((0, 0.0, 0));
                TenantLag {
                    tenant: t.id,
                    slug: t.slug,
                    pending_jobs,
                    oldest_job_age_seconds,
                    pending_events,
                }
            })
            .collect())
    }
}

/// A claimed row as an item; a job's payload gets its `outbox_id`. Rows of an unknown kind or
/// with an undecodable job (never written by this code) are skipped rather than wedging the
/// relay, and logged by id only.
fn item(r: outbox::Model) -> Option<OutboxItem> {
    let Some(kind) = OutboxKind::from_code(r.kind) else {
        tracing::error!(outbox.id = r.id, "outbox row of unknown kind skipped");
        return None;
    };
    let payload = match kind {
        OutboxKind::FanoutJob => match pb::FanoutJob::decode(r.payload.as_slice()) {
            Ok(mut job) => {
                job.outbox_id = r.id;
                job.encode_to_vec()
            }
            Err(_) => {
                tracing::error!(outbox.id = r.id, "undecodable fan-out job skipped");
                return None;
            }
        },
        OutboxKind::Event => r.payload,
    };
    Some(OutboxItem {
        id: r.id,
        tenant: r.tenant_id,
        kind,
        payload,
        routing_key: r.routing_key,
        created: r.created,
    })
}

impl Directory {
    /// Plays relay and fan-out worker in this process until the outbox is empty: claims due
    /// items, runs the jobs, and returns the events (marked published, not sent anywhere) in
    /// outbox order. For tests and offline tools that have no bus; services use the relay.
    pub async fn drain_fanout_inline(&self) -> StoreResult<Vec<pb::MembershipChanged>> {
        let mut events = Vec::new();
        loop {
            let items = self.claim_outbox(100, Duration::from_secs(60)).await?;
            if items.is_empty() {
                return Ok(events);
            }
            for item in items {
                match item.kind {
                    OutboxKind::FanoutJob => {
                        let job = pb::FanoutJob::decode(item.payload.as_slice()).map_err(|e| {
                            StoreError::Invalid(format!("outbox job {}: {e}", item.id))
                        })?;
                        self.mark_published(&[item.id]).await?;
                        self.run_fanout_job(&job).await?;
                    }
                    OutboxKind::Event => {
                        let event = pb::MembershipChanged::decode(item.payload.as_slice())
                            .map_err(|e| {
                                StoreError::Invalid(format!("outbox event {}: {e}", item.id))
                            })?;
                        events.push(event);
                        self.mark_published(&[item.id]).await?;
                    }
                }
            }
        }
    }
}
