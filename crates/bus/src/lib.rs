//! The message transport between the SCIM gateway, the workers and the BlogIn application.
//!
//! Two transports, each behind small traits:
//! - **Commands** ([`CommandClient`], [`CommandConsumer`]): how a gateway hands a
//!   `ChangeCommand` to some worker and waits for its `CommandResult`, and how a worker
//!   receives commands, replies and settles them.
//! - **Fan-out jobs and events** ([`Publisher`], [`JobConsumer`]): the outbox relay publishes
//!   opaque protobuf bodies (encoded `FanoutJob`s) to a work queue that any worker consumes,
//!   with no reply, and `MembershipChanged` events to the topic exchange
//!   [`Topology::events`] for the BlogIn application (DESIGN §7).
//!
//! Two implementations of every trait, checked by one contract suite (`tests/contract`):
//! - [`amqp`] — RabbitMQ through lapin: durable quorum queues `{prefix}.commands` and
//!   `{prefix}.fanout`, each with a dead-letter queue (`….dead`), persistent messages published
//!   with publisher confirms, command replies over direct reply-to
//!   (`amq.rabbitmq.reply-to`) matched by correlation id, and a durable topic exchange for
//!   events.
//! - [`memory`] — in-process, for the embedded `serve` mode and tests: the same semantics
//!   (redelivery of unsettled deliveries, delivery counts, dead letters, topic routing of
//!   events) without a broker.
//!
//! Telemetry: every publish runs in an `amqp.publish {queue}` span (for both transports) whose
//! W3C trace context is written into the message headers, so the consumer's span becomes its
//! child; publish-to-confirm and confirm-to-reply latencies go to `scim_bus_publish_duration_seconds`
//! and `scim_bus_reply_duration_seconds`. Each delivery says which queue it came from.
//!
//! Delivery rules every implementation keeps (DESIGN §6):
//! - [`CommandClient::request`] returns `Ok` only with the worker's reply. A publish the
//!   transport did not confirm is [`BusError::NotConfirmed`]; no reply before the timeout is
//!   [`BusError::Timeout`]. The gateway answers both with `503` + `Retry-After`, never `2xx`.
//!   Likewise [`Publisher`] returns `Ok` only once the message is safely queued (or, for an
//!   event, accepted by the exchange), so the outbox row is deleted only then.
//! - A delivery that is dropped without being settled (worker crash, lost connection) is
//!   delivered again, to any consumer, with a higher delivery count
//!   ([`CommandDelivery::delivery_count`], [`JobDelivery::delivery_count`]); past the
//!   delivery limit it is dead-lettered.
//! - Every command carries a deadline (the gateway's timeout); a worker must not apply a
//!   command past its deadline (the client was told `503` and will retry), see
//!   [`CommandDelivery::expired`]. Fan-out jobs have none: they are idempotent recomputations
//!   that are always worth finishing.

use async_trait::async_trait;
use scim_wire::pb;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::{Duration, SystemTime};

pub mod amqp;
pub mod memory;
mod signing;

pub use signing::SigningKey;

/// Message headers that travel with a command (W3C trace context, tenant id, …). Keys are
/// lowercase ASCII; values are text. Never tokens or personal data.
pub type Headers = BTreeMap<String, String>;

/// Names of the queues and of the events exchange, so that several deployments (or tests)
/// share one broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Prefix of every queue name, `scim` by default.
    pub prefix: String,
    /// The topic exchange events are published to, `blogin.events` by default. Not derived
    /// from the prefix: the BlogIn application binds its own queues to it by this name, and it
    /// may be shared with other publishers, so nothing here ever deletes it.
    pub events: String,
}

impl Default for Topology {
    fn default() -> Self {
        Self {
            prefix: "scim".to_owned(),
            events: "blogin.events".to_owned(),
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

    /// The fan-out job queue, `{prefix}.fanout`.
    pub fn fanout(&self) -> String {
        format!("{}.fanout", self.prefix)
    }

    /// The dead-letter queue for fan-out jobs that keep failing, `{prefix}.fanout.dead`.
    pub fn fanout_dead_letters(&self) -> String {
        format!("{}.fanout.dead", self.prefix)
    }
}

/// Why the transport could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker did not confirm the publish (nack, returned, or no confirm in time): the
    /// command, job or event may not be queued.
    #[error("the publish was not confirmed by the broker: {0}")]
    NotConfirmed(String),
    /// No reply arrived before the deadline; the command may still be applied later (it is
    /// idempotent by command id).
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The broker is unreachable or the connection broke before the command was published.
    #[error("the message bus is unavailable: {0}")]
    Unavailable(String),
    /// The command was published but the way back broke (the reply channel closed, or the
    /// reply was unreadable): it may still be applied, up to its deadline.
    #[error("the reply was lost: {0}")]
    ReplyLost(String),
    /// The bus was shut down.
    #[error("the message bus is closed")]
    Closed,
}

impl BusError {
    /// Whether a command that failed so may be in the queue all the same — and so be applied
    /// by a worker until its deadline passes. A client must not be told it failed before then.
    pub fn may_be_queued(&self) -> bool {
        matches!(
            self,
            BusError::NotConfirmed(_) | BusError::Timeout(_) | BusError::ReplyLost(_)
        )
    }
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
    /// The queue it came from (span names and metric labels).
    pub queue: String,
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

/// What an event subscription receives: the routing key and the body of each event. For tests
/// and diagnostics (`MemoryBus::subscribe_events`, `AmqpBus::subscribe_events`); the BlogIn
/// application consumes events with its own AMQP client.
pub type EventReceiver = tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>;

/// The outbox relay's side: publishes fan-out jobs and events. Bodies are opaque bytes
/// (encoded protobuf messages); the bus neither decodes nor checks them.
#[async_trait]
pub trait Publisher: Send + Sync + Debug + 'static {
    /// Publishes a fan-out job (persistent, publisher-confirmed, mandatory) to the fan-out
    /// queue ([`Topology::fanout`]). `Ok` means the queue holds it; anything else means it may
    /// not, and the caller keeps it (in the outbox) to publish again.
    async fn publish_job(&self, body: Vec<u8>, headers: Headers) -> Result<(), BusError>;

    /// Publishes an event (persistent, publisher-confirmed) to the topic exchange
    /// [`Topology::events`] with `routing_key` (at most 255 bytes). Not mandatory: an event no
    /// queue is bound for is dropped, as nobody asked for it.
    async fn publish_event(
        &self,
        routing_key: &str,
        body: Vec<u8>,
        headers: Headers,
    ) -> Result<(), BusError>;
}

/// A worker's side of the fan-out queue. Any number of consumers may share it; each job is
/// delivered to one of them at a time.
#[async_trait]
pub trait JobConsumer: Send + Debug {
    /// The next delivery, waiting for one. `Ok(None)` when the consumer was closed.
    /// At most the configured prefetch of deliveries are outstanding (unsettled) at once.
    async fn next(&mut self) -> Result<Option<JobDelivery>, BusError>;
}

/// How a job delivery is settled; implemented by each transport. Dropping a handle unsettled
/// gives the job back for another attempt, as [`JobHandle::requeue`] does.
#[async_trait]
pub trait JobHandle: Send + Sync + Debug {
    /// Settles: done, remove from the queue.
    async fn ack(&self) -> Result<(), BusError>;
    /// Settles: put back for another attempt (delivery count + 1).
    async fn requeue(&self) -> Result<(), BusError>;
    /// Settles: move to the fan-out dead-letter queue.
    async fn dead_letter(&self) -> Result<(), BusError>;
}

/// A command delivery's handle settles a job delivery the same way (a job just gets no
/// reply), so each transport writes its settlement once.
#[async_trait]
impl<T: DeliveryHandle> JobHandle for T {
    async fn ack(&self) -> Result<(), BusError> {
        DeliveryHandle::ack(self).await
    }

    async fn requeue(&self) -> Result<(), BusError> {
        DeliveryHandle::requeue(self).await
    }

    async fn dead_letter(&self) -> Result<(), BusError> {
        DeliveryHandle::dead_letter(self).await
    }
}

/// One received fan-out job.
#[derive(Debug)]
pub struct JobDelivery {
    /// The body as published (an encoded `FanoutJob`; decoding is the worker's business, and
    /// a body that does not decode can only be dead-lettered).
    pub body: Vec<u8>,
    /// Headers sent with it.
    pub headers: Headers,
    /// The queue it came from (span names and metric labels).
    pub queue: String,
    /// How many times it was delivered before this delivery (0 the first time).
    pub delivery_count: u32,
    /// The transport's handle.
    pub handle: Box<dyn JobHandle>,
}

impl JobDelivery {
    /// Acknowledges: only after the store committed the job's effects (DESIGN §6).
    pub async fn ack(self) -> Result<(), BusError> {
        self.handle.ack().await
    }

    /// Gives the delivery back for another attempt.
    pub async fn requeue(self) -> Result<(), BusError> {
        self.handle.requeue().await
    }

    /// Moves the delivery to the fan-out dead-letter queue.
    pub async fn dead_letter(self) -> Result<(), BusError> {
        self.handle.dead_letter().await
    }
}

/// The header that carries the deadline, in milliseconds since the Unix epoch.
pub const DEADLINE_HEADER: &str = "x-deadline-ms";

/// The span of one publish to `destination` (a queue or the events exchange), named
/// `amqp.publish {destination}` for both transports so that traces and dashboards read the
/// same in `serve` and in the distributed roles. The message's trace context is taken from
/// it, so the consumer's span becomes its child.
pub(crate) fn publish_span(destination: &str) -> tracing::Span {
    tracing::info_span!(
        "amqp.publish",
        otel.name = %format_args!("amqp.publish {destination}"),
        otel.kind = "producer",
        otel.status_code = tracing::field::Empty,
        messaging.system = "rabbitmq",
        messaging.destination.name = %destination,
        outcome = tracing::field::Empty,
    )
}

/// Injects `span`'s trace context into `headers` and records the publish's outcome and
/// latency once `publish` finished.
pub(crate) async fn traced_publish<T>(
    destination: &str,
    mut headers: Headers,
    publish: impl AsyncFnOnce(Headers) -> Result<T, BusError>,
) -> Result<T, BusError> {
    use tracing::Instrument as _;
    let span = publish_span(destination);
    scim_telemetry::inject_span(&span, &mut headers);
    let started = std::time::Instant::now();
    let result = publish(headers).instrument(span.clone()).await;
    match &result {
        Ok(_) => {
            span.record("outcome", "confirmed");
            scim_telemetry::metrics().observe_publish(destination, started.elapsed());
        }
        Err(_) => {
            span.record("outcome", "not_confirmed");
            span.record("otel.status_code", "ERROR");
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::Topology;

    #[test]
    fn default_topology_names_the_queues_after_the_prefix_and_shares_the_events_exchange() {
        let topology = Topology {
            prefix: "acme".to_owned(),
            ..Topology::default()
        };
        assert_eq!(topology.commands(), "acme.commands");
        assert_eq!(topology.dead_letters(), "acme.commands.dead");
        assert_eq!(topology.fanout(), "acme.fanout");
        assert_eq!(topology.fanout_dead_letters(), "acme.fanout.dead");
        assert_eq!(topology.events, "blogin.events");
        assert_eq!(Topology::default().prefix, "scim");
    }
}
