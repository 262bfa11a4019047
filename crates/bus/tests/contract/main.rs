//! The bus contract: every case in [`cases`] runs against the in-process bus (`memory::*`) and
//! against a real RabbitMQ (`amqp::*`), so that both transports keep the same delivery rules.
//! [`reconnect`] holds what only the broker transport has (losing the broker).
//!
//! The RabbitMQ half needs `BLOGIN_SCIM_TEST_AMQP_URL` (`scripts/rmq.sh start` prints one) and
//! fails without it. Each test declares its own queues under a random prefix and deletes them
//! at the end, so tests run in parallel on one broker.

#![allow(missing_docs, unreachable_pub)]

mod cases;
mod reconnect;

use lapin::options::{BasicGetOptions, BasicPublishOptions};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use prost::Message as _;
use scim_bus::amqp::{AmqpBus, AmqpConfig};
use scim_bus::memory::MemoryBus;
use scim_bus::{CommandClient, CommandConsumer, Headers, Topology};
use scim_wire::pb;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which transport a case runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    Memory,
    Amqp,
}

/// A fresh queue on one transport, with a client and a way to make consumers.
#[derive(Debug)]
pub struct Harness {
    pub client: Arc<dyn CommandClient>,
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

pub fn test_topology() -> Topology {
    Topology {
        prefix: format!("test-{}", uuid::Uuid::new_v4()),
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
                };
                let bus = AmqpBus::connect(config).await.expect("connect to RabbitMQ");
                let client = bus.client().await.expect("AMQP client");
                let raw = Box::new(
                    Connection::connect(&url, ConnectionProperties::default())
                        .await
                        .expect("raw lapin connection"),
                );
                Harness {
                    client: Arc::new(client),
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

    /// Waits (up to 5 s: quorum queues dead-letter asynchronously) until the dead-letter
    /// queue holds `expected` messages, and returns how many it holds then.
    pub async fn wait_dead_letters(&self, expected: u32) -> u32 {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let count = self.dead_letter_count().await;
            if count >= expected || Instant::now() > until {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Takes the decodable commands out of the dead-letter queue.
    pub async fn take_dead_letters(&self) -> Vec<pb::ChangeCommand> {
        match &self.backend {
            Backend::Memory(bus) => bus.dead_letters(),
            Backend::Amqp { bus, raw } => {
                let channel = raw.create_channel().await.unwrap();
                let queue = bus.config().topology.dead_letters();
                let mut out = Vec::new();
                while let Some(message) = channel
                    .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
                    .await
                    .unwrap()
                {
                    if let Ok(command) = pb::ChangeCommand::decode(message.delivery.data.as_slice())
                    {
                        out.push(command);
                    }
                }
                out
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

    /// Deletes the test's queues.
    pub async fn finish(self) {
        if let Backend::Amqp { bus, raw } = self.backend {
            let channel = raw.create_channel().await.unwrap();
            for queue in [
                bus.config().topology.commands(),
                bus.config().topology.dead_letters(),
            ] {
                channel
                    .queue_delete(queue.as_str().into(), Default::default())
                    .await
                    .unwrap();
            }
            bus.close().await;
            let _ = raw.close(200, "OK".into()).await;
        }
    }
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

macro_rules! contract {
    ($($case:ident),+ $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::cases::$case(crate::Impl::Memory).await;
                }
            )+
        }
        mod amqp {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::cases::$case(crate::Impl::Amqp).await;
                }
            )+
        }
    };
}

contract!(
    round_trip_carries_headers_and_deadline,
    concurrent_requests_get_their_own_replies,
    consumers_share_the_queue,
    dropped_delivery_is_redelivered,
    requeue_redelivers_with_higher_count,
    dead_letter_moves_to_dead_letter_queue,
    delivery_limit_dead_letters,
    request_without_consumer_times_out,
    prefetch_bounds_unsettled_deliveries,
    undecodable_message_arrives_as_error,
    close_ends_consumers_and_requests,
);
