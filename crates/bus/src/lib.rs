//! The command transport: how a gateway hands a `ChangeCommand` to some worker and waits for
//! its `CommandResult`, and how a worker receives commands, replies and settles them.
//!
//! Two implementations behind one pair of traits, checked by one contract suite
//! (`tests/contract`):
//! - [`amqp`] — RabbitMQ through lapin: a durable quorum queue `{prefix}.commands`,
//!   persistent messages published with publisher confirms, replies over direct reply-to
//!   (`amq.rabbitmq.reply-to`) matched by correlation id, a dead-letter queue
//!   `{prefix}.commands.dead`.
//! - [`memory`] — in-process, for the embedded `serve` mode and tests: the same semantics
//!   (redelivery of unsettled deliveries, delivery counts, dead letters) without a broker.
//!
//! Delivery rules every implementation keeps (DESIGN §6):
//! - [`CommandClient::request`] returns `Ok` only with the worker's reply. A publish the
//!   transport did not confirm is [`BusError::NotConfirmed`]; no reply before the timeout is
//!   [`BusError::Timeout`]. The gateway answers both with `503` + `Retry-After`, never `2xx`.
//! - A delivery that is dropped without being settled (worker crash, lost connection) is
//!   delivered again, to any consumer, with a higher [`CommandDelivery::delivery_count`].
//! - Every command carries a deadline (the gateway's timeout); a worker must not apply a
//!   command past its deadline (the client was told `503` and will retry), see
//!   [`CommandDelivery::expired`].

use async_trait::async_trait;
use scim_wire::pb;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::{Duration, SystemTime};

pub mod amqp;
pub mod memory;

/// Message headers that travel with a command (W3C trace context, tenant id, …). Keys are
/// lowercase ASCII; values are text. Never tokens or personal data.
pub type Headers = BTreeMap<String, String>;

/// Names of the queues, so that several deployments (or tests) share one broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Prefix of every queue and exchange name, `scim` by default.
    pub prefix: String,
}

impl Default for Topology {
    fn default() -> Self {
        Self {
            prefix: "scim".to_owned(),
        }
    }
}

impl Topology {
    /// The command queue, `{prefix}.commands`.
    pub fn commands(&self) -> String {
        format!("{}.commands", self.prefix)
    }

    /// The dead-letter queue for commands that keep failing, `{prefix}.commands.dead`.
    pub fn dead_letters(&self) -> String {
        format!("{}.commands.dead", self.prefix)
    }
}

/// Why the transport could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker did not confirm the publish (nack, returned, or no confirm in time): the
    /// command may not be queued.
    #[error("the command was not confirmed by the broker: {0}")]
    NotConfirmed(String),
    /// No reply arrived before the deadline; the command may still be applied later (it is
    /// idempotent by command id).
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The broker is unreachable or the connection broke.
    #[error("the message bus is unavailable: {0}")]
    Unavailable(String),
    /// The bus was shut down.
    #[error("the message bus is closed")]
    Closed,
}

/// The gateway's side: send a command and wait for its result.
#[async_trait]
pub trait CommandClient: Send + Sync + Debug + 'static {
    /// Publishes `command` (persistent, confirmed) with `headers` and waits up to `timeout`
    /// (counted from the call) for the worker's reply. The deadline travels with the message.
    async fn request(
        &self,
        command: &pb::ChangeCommand,
        headers: Headers,
        timeout: Duration,
    ) -> Result<pb::CommandResult, BusError>;

    /// Whether the transport can currently publish (for `/readyz`).
    async fn ready(&self) -> Result<(), BusError>;
}

/// The worker's side: a stream of deliveries. Any number of consumers may share one queue.
#[async_trait]
pub trait CommandConsumer: Send + Debug {
    /// The next delivery, waiting for one. `Ok(None)` when the consumer was closed.
    /// At most the configured prefetch of deliveries are outstanding (unsettled) at once.
    async fn next(&mut self) -> Result<Option<CommandDelivery>, BusError>;
}

/// How a delivery is replied to and settled; implemented by each transport.
#[async_trait]
pub trait DeliveryHandle: Send + Sync + Debug {
    /// Sends `result` to the requester (best effort: the requester may have given up).
    async fn reply(&self, result: &pb::CommandResult) -> Result<(), BusError>;
    /// Settles: done, remove from the queue.
    async fn ack(&self) -> Result<(), BusError>;
    /// Settles: put back for another attempt (delivery count + 1).
    async fn requeue(&self) -> Result<(), BusError>;
    /// Settles: move to the dead-letter queue.
    async fn dead_letter(&self) -> Result<(), BusError>;
}

/// One received command.
#[derive(Debug)]
pub struct CommandDelivery {
    /// The decoded command, or why it could not be decoded (such a message can only be
    /// dead-lettered).
    pub command: Result<pb::ChangeCommand, String>,
    /// Headers sent with it.
    pub headers: Headers,
    /// How many times it was delivered before this delivery (0 the first time).
    pub delivery_count: u32,
    /// When the requester stops waiting; `None` if the publisher set none.
    pub deadline: Option<SystemTime>,
    /// The transport's handle.
    pub handle: Box<dyn DeliveryHandle>,
}

impl CommandDelivery {
    /// Whether the requester has stopped waiting (it answered `503`); such a command must be
    /// settled without being applied.
    pub fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| SystemTime::now() > d)
    }

    /// Replies to the requester.
    pub async fn reply(&self, result: &pb::CommandResult) -> Result<(), BusError> {
        self.handle.reply(result).await
    }

    /// Acknowledges: only after the store committed (DESIGN §6).
    pub async fn ack(self) -> Result<(), BusError> {
        self.handle.ack().await
    }

    /// Gives the delivery back for another attempt.
    pub async fn requeue(self) -> Result<(), BusError> {
        self.handle.requeue().await
    }

    /// Moves the delivery to the dead-letter queue.
    pub async fn dead_letter(self) -> Result<(), BusError> {
        self.handle.dead_letter().await
    }
}

/// The header that carries the deadline, in milliseconds since the Unix epoch.
pub const DEADLINE_HEADER: &str = "x-deadline-ms";
