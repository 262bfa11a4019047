//! The consume loop: up to `concurrency` deliveries in flight, each handled to completion;
//! on shutdown, stop taking deliveries, finish the ones in flight (reply and ack), return.

use crate::config::WorkerConfig;
use scim_bus::{BusError, CommandConsumer};
use scim_wire::pb::directory_service_client::DirectoryServiceClient;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// A command worker over one store client. Cheap to clone; clones share nothing mutable.
#[derive(Debug, Clone)]
pub struct Worker {
    /// The store's gRPC client (a tonic channel multiplexes every call).
    pub(crate) store: DirectoryServiceClient<Channel>,
    /// Retry and concurrency settings.
    pub(crate) config: Arc<WorkerConfig>,
}

impl Worker {
    /// A worker applying commands through the store behind `store`.
    pub fn new(store: Channel, config: WorkerConfig) -> Self {
        Self {
            store: DirectoryServiceClient::new(store)
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20),
            config: Arc::new(config),
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
        let mut in_flight = JoinSet::new();
        let limit = self.config.concurrency.max(1);
        let result = loop {
            while in_flight.len() >= limit {
                in_flight.join_next().await;
            }
            // Cancel-safe: a delivery is either returned by `next` or stays with the consumer.
            let next = tokio::select! {
                () = shutdown.cancelled() => break Ok(()),
                next = consumer.next() => next,
            };
            match next {
                Ok(Some(delivery)) => {
                    let worker = self.clone();
                    in_flight.spawn(async move { worker.handle(delivery).await });
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
            while in_flight.try_join_next().is_some() {}
        };
        while in_flight.join_next().await.is_some() {}
        result
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
