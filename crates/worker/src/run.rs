//! The consume loop, one for both queues ([`consume`]): up to `concurrency` deliveries in
//! flight, each handled to completion; on shutdown, stop taking deliveries, finish the ones
//! in flight (reply and ack), return.

use crate::batcher::Batcher;
use crate::config::WorkerConfig;
use async_trait::async_trait;
use scim_bus::{BusError, CommandConsumer, CommandDelivery, JobConsumer, JobDelivery};
use scim_wire::pb::directory_service_client::DirectoryServiceClient;
use scim_wire::role_auth::StoreChannel;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A command worker over one store client. Cheap to clone; clones share nothing mutable.
#[derive(Debug, Clone)]
pub struct Worker {
    /// The store's gRPC client (a tonic channel multiplexes every call).
    pub(crate) store: DirectoryServiceClient<StoreChannel>,
    /// Retry and concurrency settings.
    pub(crate) config: Arc<WorkerConfig>,
    /// Group commit (`None` with a batch size of 1: every command its own `ApplyChange`).
    pub(crate) batcher: Option<Batcher>,
}

impl Worker {
    /// A worker applying commands through the store behind `store`.
    /// Must be called within a Tokio runtime (batching runs in a task of its own).
    pub fn new(store: StoreChannel, config: WorkerConfig) -> Self {
        let store = DirectoryServiceClient::new(store)
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20);
        let batcher =
            (config.batch_size > 1).then(|| Batcher::spawn(store.clone(), config.batch_size));
        Self {
            store,
            config: Arc::new(config),
            batcher,
        }
    }

    /// The settings.
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// Consumes until `shutdown` is cancelled (then drains in-flight deliveries and returns
    /// `Ok`) or the consumer fails (returns its error after draining; the caller reconnects).
    pub async fn run(
        &self,
        consumer: &mut dyn CommandConsumer,
        shutdown: &CancellationToken,
    ) -> Result<(), BusError> {
        let worker = self.clone();
        consume(
            consumer,
            self.config.concurrency,
            shutdown,
            move |delivery| {
                let worker = worker.clone();
                async move { worker.handle(delivery).await }
            },
        )
        .await
    }

    /// Runs with consumers from `connect`, opening a new one whenever the bus connection
    /// breaks, until `shutdown` is cancelled.
    pub async fn run_reconnecting<F, Fut>(&self, connect: F, shutdown: CancellationToken)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Box<dyn CommandConsumer>, BusError>>,
    {
        let stop = shutdown.clone();
        keep_consuming("command", connect, shutdown, move |mut consumer| {
            let (worker, stop) = (self.clone(), stop.clone());
            async move { worker.run(consumer.as_mut(), &stop).await }
        })
        .await;
    }
}

/// Runs `run` on consumers from `connect` until `shutdown`, opening a new consumer (after a
/// pause that doubles up to 10 s) whenever the bus connection breaks. `run` returning `Ok`
/// means it stopped for shutdown.
pub async fn keep_consuming<C, F, Fut, R, RFut>(
    what: &str,
    mut connect: F,
    shutdown: CancellationToken,
    mut run: R,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<C, BusError>>,
    R: FnMut(C) -> RFut,
    RFut: Future<Output = Result<(), BusError>>,
{
    let mut pause = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        let failure = match connect().await {
            Ok(consumer) => {
                pause = Duration::from_millis(200);
                match run(consumer).await {
                    Ok(()) => return,
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        tracing::warn!(error.message = %failure, retry_in = ?pause, "{what} consumer lost; reconnecting");
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

/// Where deliveries come from: the command queue or the fan-out job queue.
#[async_trait]
pub(crate) trait Deliveries: Send {
    /// One delivery of this queue.
    type Delivery: Send + 'static;
    /// The next delivery, waiting for one; `Ok(None)` when the consumer was closed.
    async fn next_delivery(&mut self) -> Result<Option<Self::Delivery>, BusError>;
}

#[async_trait]
impl Deliveries for dyn CommandConsumer + '_ {
    type Delivery = CommandDelivery;
    async fn next_delivery(&mut self) -> Result<Option<CommandDelivery>, BusError> {
        self.next().await
    }
}

#[async_trait]
impl Deliveries for dyn JobConsumer + '_ {
    type Delivery = JobDelivery;
    async fn next_delivery(&mut self) -> Result<Option<JobDelivery>, BusError> {
        self.next().await
    }
}

/// Takes deliveries from `source` and runs `handle` on each, at most `concurrency` at once,
/// until `shutdown` is cancelled (then `Ok`) or the source fails (then its error). Either way
/// the deliveries in flight are finished first: a handler is never cancelled halfway, so an
/// applied change is always settled (or redelivered), never forgotten.
pub(crate) async fn consume<S, H, F>(
    source: &mut S,
    concurrency: usize,
    shutdown: &CancellationToken,
    handle: H,
) -> Result<(), BusError>
where
    S: Deliveries + ?Sized,
    H: Fn(S::Delivery) -> F + Send,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut in_flight = JoinSet::new();
    let limit = concurrency.max(1);
    let result = loop {
        while in_flight.len() >= limit {
            in_flight.join_next().await;
        }
        // Cancel-safe: a delivery is either returned by `next` or stays with the consumer.
        let next = tokio::select! {
            () = shutdown.cancelled() => break Ok(()),
            next = source.next_delivery() => next,
        };
        match next {
            Ok(Some(delivery)) => {
                in_flight.spawn(handle(delivery));
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
        while in_flight.try_join_next().is_some() {}
    };
    while in_flight.join_next().await.is_some() {}
    result
}
