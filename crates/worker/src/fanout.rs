//! The fan-out consumer: runs each `FanoutJob` through the store's `RunFanoutJob` (which
//! recomputes the users' memberships from the edges — idempotent, so redelivery and reordering
//! are harmless) and acks only after it committed. Transient store failures requeue the job;
//! a job that keeps failing is dead-lettered (its outbox row stays, so the lag shows it and
//! the relay re-publishes it later).

use crate::run::consume;
use crate::{consume_span, traced};
use prost::Message;
use scim_bus::{BusError, JobConsumer, JobDelivery};
use scim_wire::pb::{self, directory_service_client::DirectoryServiceClient};
use scim_wire::role_auth::StoreChannel;
use scim_wire::status::is_transient;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

/// What became of one job delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobHandled {
    /// Ran and committed; acked.
    Done,
    /// Failed transiently; requeued.
    Requeued,
    /// Undecodable or failing for good; dead-lettered.
    DeadLettered,
}

impl JobHandled {
    /// The `outcome` label and span attribute.
    pub fn name(self) -> &'static str {
        match self {
            JobHandled::Done => "done",
            JobHandled::Requeued => "requeued",
            JobHandled::DeadLettered => "dead_lettered",
        }
    }
}

/// Runs fan-out jobs against one store.
#[derive(Debug, Clone)]
pub struct FanoutWorker {
    store: DirectoryServiceClient<StoreChannel>,
    concurrency: usize,
    max_deliveries: u32,
}

impl FanoutWorker {
    /// A consumer running up to `concurrency` jobs at once.
    pub fn new(store: StoreChannel, concurrency: usize, max_deliveries: u32) -> Self {
        Self {
            store: DirectoryServiceClient::new(store),
            concurrency: concurrency.max(1),
            max_deliveries: max_deliveries.max(1),
        }
    }

    /// Runs, settles and reports one delivery, in its `amqp.consume` span.
    pub async fn handle(&self, delivery: JobDelivery) -> JobHandled {
        let span = consume_span(&delivery.queue, &delivery.headers);
        span.record("delivery_count", delivery.delivery_count);
        if let Some(tenant) = delivery.headers.get("tenant") {
            span.record("tenant_id", tenant.as_str());
        }
        let handled = self.run_job(delivery).instrument(span.clone()).await;
        span.record("outcome", handled.name());
        if handled == JobHandled::DeadLettered {
            span.record("otel.status_code", "ERROR");
        }
        let metrics = scim_telemetry::metrics();
        scim_telemetry::Metrics::count(&metrics.fanout_jobs, "outcome", handled.name());
        handled
    }

    async fn run_job(&self, delivery: JobDelivery) -> JobHandled {
        let job = match pb::FanoutJob::decode(delivery.body.as_slice()) {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(error.message = %e, "undecodable fan-out job: dead-lettered");
                settle(delivery.dead_letter().await);
                return JobHandled::DeadLettered;
            }
        };
        let outbox_id = job.outbox_id;
        // Transient failures are retried here, with backoff, for a while before the job goes
        // back to the queue: a database restart takes about a second, and requeueing at once
        // spent a job's deliveries within it — dead-lettered jobs wait ten minutes for the
        // relay, and the projections with them.
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(200);
        let outcome = loop {
            match self.store.clone().run_fanout_job(traced(job.clone())).await {
                Err(status) if is_transient(&status) && started.elapsed() < RETRY_WINDOW => {
                    tracing::debug!(outbox_id, code = ?status.code(), retry_in = ?pause, "fan-out job failed transiently");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(5));
                }
                outcome => break outcome,
            }
        };
        match outcome {
            Ok(done) => {
                tracing::debug!(
                    outbox_id,
                    changed = done.into_inner().changed_users,
                    "fan-out job done"
                );
                settle(delivery.ack().await);
                JobHandled::Done
            }
            Err(status)
                if is_transient(&status) && delivery.delivery_count + 1 < self.max_deliveries =>
            {
                tracing::warn!(outbox_id, code = ?status.code(), "fan-out job failed transiently: requeued");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                settle(delivery.requeue().await);
                JobHandled::Requeued
            }
            Err(status) => {
                tracing::error!(outbox_id, code = ?status.code(), message = status.message(), "fan-out job dead-lettered; the relay re-publishes it later");
                settle(delivery.dead_letter().await);
                JobHandled::DeadLettered
            }
        }
    }

    /// Consumes until `shutdown` (drains in-flight jobs) or the consumer fails.
    pub async fn run(
        &self,
        consumer: &mut dyn JobConsumer,
        shutdown: &CancellationToken,
    ) -> Result<(), BusError> {
        let fanout = self.clone();
        consume(consumer, self.concurrency, shutdown, move |delivery| {
            let fanout = fanout.clone();
            async move { fanout.handle(delivery).await }
        })
        .await
    }
}

/// How long a job's transient failures are retried before it is requeued.
const RETRY_WINDOW: std::time::Duration = std::time::Duration::from_secs(20);

fn settle(result: Result<(), BusError>) {
    if let Err(e) = result {
        tracing::warn!(error.message = %e, "could not settle a fan-out job; it will be redelivered");
    }
}
