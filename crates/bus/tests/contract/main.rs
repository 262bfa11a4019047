//! The bus contract: every case in [`cases`] runs against the in-process bus (`memory::*`) and
//! against a real RabbitMQ (`amqp::*`), so that both transports keep the same delivery rules.
//! [`reconnect`] holds what only the broker transport has (losing the broker, unroutable
//! publishes).
//!
//! The RabbitMQ half needs `BLOGIN_SCIM_TEST_AMQP_URL` (`scripts/rmq.sh start` prints one) and
//! fails without it. Each test declares its own queues under a random prefix, and its own
//! events exchange, and deletes them at the end, so tests run in parallel on one broker.

#![allow(missing_docs, unreachable_pub)]

mod cases;
mod job_cases;
mod reconnect;
mod signing;

use lapin::options::{BasicGetOptions, BasicPublishOptions, ExchangeDeleteOptions};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use prost::Message as _;
use scim_bus::amqp::{AmqpBus, AmqpConfig};
use scim_bus::memory::MemoryBus;
use scim_bus::{
    CommandClient, CommandConsumer, EventReceiver, Headers, JobConsumer, Publisher, Topology,
};
use scim_wire::pb;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which transport a case runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    Memory,
    Amqp,
}

/// A fresh topology on one transport, with a client, a publisher and ways to make consumers
/// and subscribers.
#[derive(Debug)]
pub struct Harness {
    pub client: Arc<dyn CommandClient>,
    pub publisher: Arc<dyn Publisher>,
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    Memory(MemoryBus),
    Amqp {
        bus: AmqpBus,
        /// A separate plain lapin connection, for what the bus does not offer (raw publishes,
        /// reading the dead-letter queue).
        raw: Box<Connection>,
    },
}

pub fn amqp_url() -> String {
    std::env::var("BLOGIN_SCIM_TEST_AMQP_URL").unwrap_or_else(|_| {
        panic!(
            "BLOGIN_SCIM_TEST_AMQP_URL is not set: the RabbitMQ half of the bus contract needs a \
             broker. Run `export BLOGIN_SCIM_TEST_AMQP_URL=$(scripts/rmq.sh start)` first."
        )
    })
}

/// Queues and an events exchange of the test's own, so that parallel tests see only their
/// own events.
pub fn test_topology() -> Topology {
    let prefix = format!("test-{}", uuid::Uuid::new_v4());
    Topology {
        events: format!("{prefix}.events"),
        prefix,
    }
}

impl Harness {
    /// A harness with the default delivery limit (10).
    pub async fn start(which: Impl) -> Harness {
        Self::with_delivery_limit(which, 10).await
    }

    pub async fn with_delivery_limit(which: Impl, delivery_limit: u32) -> Harness {
        match which {
            Impl::Memory => {
                let bus = MemoryBus::with_delivery_limit(delivery_limit);
                Harness {
                    client: Arc::new(bus.client()),
                    publisher: Arc::new(bus.publisher()),
                    backend: Backend::Memory(bus),
                }
            }
            Impl::Amqp => {
                let url = amqp_url();
                let config = AmqpConfig {
                    url: url.clone(),
                    topology: test_topology(),
                    prefetch: 10,
                    delivery_limit,
                    confirm_timeout: Duration::from_secs(5),
                    signing_key: None,
                };
                let bus = AmqpBus::connect(config).await.expect("connect to RabbitMQ");
                let client = bus.client().await.expect("AMQP client");
                let publisher = bus.publisher().await.expect("AMQP publisher");
                let raw = Box::new(
                    Connection::connect(&url, ConnectionProperties::default())
                        .await
                        .expect("raw lapin connection"),
                );
                Harness {
                    client: Arc::new(client),
                    publisher: Arc::new(publisher),
                    backend: Backend::Amqp { bus, raw },
                }
            }
        }
    }

    pub async fn consumer(&self, prefetch: u16) -> Box<dyn CommandConsumer> {
        match &self.backend {
            Backend::Memory(bus) => Box::new(bus.consumer(usize::from(prefetch))),
            Backend::Amqp { bus, .. } => Box::new(
                bus.consumer_with_prefetch(prefetch)
                    .await
                    .expect("AMQP consumer"),
            ),
        }
    }

    pub async fn job_consumer(&self, prefetch: u16) -> Box<dyn JobConsumer> {
        match &self.backend {
            Backend::Memory(bus) => Box::new(bus.job_consumer(usize::from(prefetch))),
            Backend::Amqp { bus, .. } => Box::new(
                bus.job_consumer_with_prefetch(prefetch)
                    .await
                    .expect("AMQP job consumer"),
            ),
        }
    }

    /// Events published from now on whose routing key matches `binding_key`.
    pub async fn subscribe_events(&self, binding_key: &str) -> EventReceiver {
        match &self.backend {
            Backend::Memory(bus) => bus.subscribe_events_matching(binding_key),
            Backend::Amqp { bus, .. } => bus
                .subscribe_events(binding_key)
                .await
                .expect("AMQP event subscription"),
        }
    }

    /// Ready jobs in the fan-out queue.
    pub async fn job_depth(&self) -> u32 {
        match &self.backend {
            Backend::Memory(bus) => u32::try_from(bus.job_depth()).unwrap(),
            Backend::Amqp { bus, .. } => bus.job_depth().await.expect("job depth"),
        }
    }

    pub async fn fanout_dead_letter_count(&self) -> u32 {
        match &self.backend {
            Backend::Memory(bus) => u32::try_from(bus.fanout_dead_letter_count()).unwrap(),
            Backend::Amqp { bus, .. } => bus
                .fanout_dead_letter_count()
                .await
                .expect("fan-out dead letters"),
        }
    }

    /// Like [`Harness::wait_dead_letters`], for the fan-out dead-letter queue.
    pub async fn wait_fanout_dead_letters(&self, expected: u32) -> u32 {
        self.wait_for_dead_letters(expected, true).await
    }

    /// Waits (up to 5 s: quorum queues dead-letter asynchronously) until the command
    /// (`fanout: false`) or fan-out dead-letter queue holds `expected` messages, and returns
    /// how many it holds then.
    async fn wait_for_dead_letters(&self, expected: u32, fanout: bool) -> u32 {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let count = if fanout {
                self.fanout_dead_letter_count().await
            } else {
                self.dead_letter_count().await
            };
            if count >= expected || Instant::now() > until {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Takes the bodies out of the fan-out dead-letter queue (the in-process bus keeps them).
    pub async fn take_fanout_dead_letters(&self) -> Vec<Vec<u8>> {
        match &self.backend {
            Backend::Memory(bus) => bus.fanout_dead_letters(),
            Backend::Amqp { bus, raw } => {
                let queue = bus.config().topology.fanout_dead_letters();
                take_all(raw, &queue).await
            }
        }
    }

    /// Ready messages in the command queue.
    pub async fn depth(&self) -> u32 {
        match &self.backend {
            Backend::Memory(bus) => u32::try_from(bus.depth()).unwrap(),
            Backend::Amqp { bus, .. } => bus.depth().await.expect("depth"),
        }
    }

    pub async fn dead_letter_count(&self) -> u32 {
        match &self.backend {
            Backend::Memory(bus) => u32::try_from(bus.dead_letter_count()).unwrap(),
            Backend::Amqp { bus, .. } => bus.dead_letter_count().await.expect("dead letters"),
        }
    }

    /// Waits until the command dead-letter queue holds `expected` messages, and returns how
    /// many it holds then (see [`Harness::wait_for_dead_letters`]).
    pub async fn wait_dead_letters(&self, expected: u32) -> u32 {
        self.wait_for_dead_letters(expected, false).await
    }

    /// Takes the decodable commands out of the dead-letter queue.
    pub async fn take_dead_letters(&self) -> Vec<pb::ChangeCommand> {
        match &self.backend {
            Backend::Memory(bus) => bus.dead_letters(),
            Backend::Amqp { bus, raw } => {
                let queue = bus.config().topology.dead_letters();
                take_all(raw, &queue)
                    .await
                    .iter()
                    .filter_map(|body| pb::ChangeCommand::decode(body.as_slice()).ok())
                    .collect()
            }
        }
    }

    /// Puts `body` on the command queue as a foreign publisher would (no reply expected).
    pub async fn publish_raw(&self, body: &[u8]) {
        match &self.backend {
            Backend::Memory(bus) => bus.publish_raw(body.to_vec(), Headers::new()).unwrap(),
            Backend::Amqp { bus, raw } => {
                let channel = raw.create_channel().await.unwrap();
                channel.confirm_select(Default::default()).await.unwrap();
                let confirm = channel
                    .basic_publish(
                        "".into(),
                        bus.config().topology.commands().as_str().into(),
                        BasicPublishOptions {
                            mandatory: true,
                            immediate: false,
                        },
                        body,
                        BasicProperties::default()
                            .with_content_type("application/x-protobuf".into())
                            .with_delivery_mode(2),
                    )
                    .await
                    .unwrap()
                    .await
                    .unwrap();
                assert!(confirm.is_ack(), "raw publish not confirmed");
                assert!(confirm.take_message().is_none(), "raw publish returned");
            }
        }
    }

    /// Closes the transport (consumers' `next()` then returns `Ok(None)`).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Memory(bus) => bus.close(),
            Backend::Amqp { bus, .. } => bus.close().await,
        }
    }

    /// Deletes the test's queues and events exchange.
    pub async fn finish(self) {
        if let Backend::Amqp { bus, raw } = self.backend {
            delete_test_topology(&raw, &bus.config().topology).await;
            bus.close().await;
            let _ = raw.close(200, "OK".into()).await;
        }
    }
}

/// Removes what a test declared on the broker, including the events exchange that
/// `AmqpBus::delete_topology` leaves alone (a real one is shared; a test's is not).
pub async fn delete_test_topology(raw: &Connection, topology: &Topology) {
    let channel = raw.create_channel().await.unwrap();
    for queue in [
        topology.commands(),
        topology.dead_letters(),
        topology.fanout(),
        topology.fanout_dead_letters(),
    ] {
        channel
            .queue_delete(queue.as_str().into(), Default::default())
            .await
            .unwrap();
    }
    channel
        .exchange_delete(
            topology.events.as_str().into(),
            ExchangeDeleteOptions::default(),
        )
        .await
        .unwrap();
    let _ = channel.close(200, "OK".into()).await;
}

/// Takes every message out of `queue` and returns the bodies, oldest first.
async fn take_all(raw: &Connection, queue: &str) -> Vec<Vec<u8>> {
    let channel = raw.create_channel().await.unwrap();
    let mut out = Vec::new();
    while let Some(message) = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        out.push(message.delivery.data);
    }
    let _ = channel.close(200, "OK".into()).await;
    out
}

/// A command with a recognisable id.
pub fn command(n: usize) -> pb::ChangeCommand {
    pb::ChangeCommand {
        command_id: format!("cmd-{n}-{}", uuid::Uuid::new_v4()),
        tenant_id: "tenant-1".to_owned(),
        kind: 1,
        expected_version: Some(7),
        change: Some(pb::change_command::Change::Delete(pb::DeleteChange {
            id: format!("user-{n}"),
        })),
    }
}

/// The reply a worker sends for `command`.
pub fn result_for(command: &pb::ChangeCommand) -> pb::CommandResult {
    pb::CommandResult {
        command_id: command.command_id.clone(),
        outcome: Some(pb::command_result::Outcome::Deleted(pb::Deleted {})),
        changed: true,
    }
}

/// Runs each `module::case` on both transports, as `memory::case` and `amqp::case`.
macro_rules! contract {
    ($($module:ident :: $case:ident),+ $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::$module::$case(crate::Impl::Memory).await;
                }
            )+
        }
        mod amqp {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::$module::$case(crate::Impl::Amqp).await;
                }
            )+
        }
    };
}

contract!(
    cases::round_trip_carries_headers_and_deadline,
    cases::concurrent_requests_get_their_own_replies,
    cases::consumers_share_the_queue,
    cases::dropped_delivery_is_redelivered,
    cases::requeue_redelivers_with_higher_count,
    cases::dead_letter_moves_to_dead_letter_queue,
    cases::delivery_limit_dead_letters,
    cases::request_without_consumer_times_out,
    cases::prefetch_bounds_unsettled_deliveries,
    cases::undecodable_message_arrives_as_error,
    cases::close_ends_consumers_and_requests,
    job_cases::job_round_trip_carries_body_and_headers,
    job_cases::dropped_job_is_redelivered_with_higher_count,
    job_cases::jobs_are_dead_lettered_explicitly_and_past_the_limit,
    job_cases::job_consumers_share_the_queue,
    job_cases::job_prefetch_bounds_unsettled_deliveries,
    job_cases::concurrent_job_publishes_are_all_confirmed,
    job_cases::events_reach_only_matching_subscribers,
);
