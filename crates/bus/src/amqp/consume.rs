//! Consuming the command and fan-out queues: one channel per consumer with
//! `basic.qos(prefetch)` and manual acknowledgements, and the handle that settles a delivery.

use super::{CONTENT_TYPE, Shared, consume, unavailable};
use crate::SigningKey;
use crate::signing::{SIGNATURE_HEADER, Signed};
use crate::{
    BusError, CommandConsumer, CommandDelivery, DEADLINE_HEADER, DeliveryHandle, Headers,
    JobConsumer, JobDelivery,
};
use async_trait::async_trait;
use futures_util::StreamExt as _;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicPublishOptions, BasicQosOptions, BasicRejectOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Acker, BasicProperties, Channel, Connection};
use prost::Message as _;
use scim_wire::pb;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::debug;

/// The header quorum queues set on redeliveries: every return up to RabbitMQ 4.2, only
/// failed deliveries (`basic.reject` with requeue, channel closed) from 4.3 on.
const DELIVERY_COUNT_HEADER: &str = "x-delivery-count";
/// Every return, from RabbitMQ 4.3 on (absent before).
const ACQUIRED_COUNT_HEADER: &str = "x-acquired-count";

/// How often a waiting consumer checks that its channel is still open.
const CHANNEL_CHECK: Duration = Duration::from_secs(1);

/// The longest a settlement or a reply may take before it counts as failed.
const BROKER_CALL: Duration = Duration::from_secs(5);

/// A consumer of one queue on a channel of its own: what command and job consumers share.
struct QueueConsumer {
    shared: Arc<Shared>,
    /// The connection the channel is on: when the bus has replaced it (another user of the
    /// bus found it broken and reconnected), this consumer is stale too.
    connection: Arc<Connection>,
    /// Where replies are published: this consumer's bus or another connection's.
    replies: Arc<Shared>,
    queue: ShortString,
    channel: Channel,
    consumer: lapin::Consumer,
}

impl fmt::Debug for QueueConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueConsumer")
            .field("queue", &self.queue)
            .field("channel", &self.channel.id())
            .field("consumer_tag", &self.consumer.tag())
            .finish()
    }
}

/// A delivery taken apart: what the consumers turn into their delivery types.
struct Received {
    body: Vec<u8>,
    /// The [`SIGNATURE_HEADER`], if any.
    signature: Option<String>,
    content_type: Option<ShortString>,
    headers: Headers,
    delivery_count: u32,
    deadline: Option<SystemTime>,
    handle: AmqpHandle,
}

impl QueueConsumer {
    /// Consumes `queue` on a new channel. While the broker is unreachable it fails after
    /// waiting out the reconnect backoff, so a worker retrying in a loop does not spin.
    async fn open(
        shared: &Arc<Shared>,
        queue: &ShortString,
        prefetch: u16,
    ) -> Result<Self, BusError> {
        let connection = shared.connection(true).await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| unavailable("opening a channel", e))?;
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| unavailable("basic.qos", e))?;
        let consumer = consume(&channel, queue, false).await?;
        Ok(Self {
            shared: Arc::clone(shared),
            replies: Arc::clone(shared),
            queue: queue.clone(),
            connection,
            channel,
            consumer,
        })
    }

    async fn next(&mut self) -> Result<Option<Received>, BusError> {
        // Also watch the channel: after a broker restart a consumer's stream has been seen to
        // stay silent while its channel was dead, and the worker then never consumed again.
        let item = loop {
            tokio::select! {
                item = self.consumer.next() => break item,
                () = tokio::time::sleep(CHANNEL_CHECK) => {
                    if !self.channel.status().connected()
                        || !self.connection.status().connected()
                        || self.shared.replaced(&self.connection).await
                    {
                        return Err(BusError::Unavailable(format!(
                            "the channel consuming {} closed",
                            self.queue
                        )));
                    }
                }
            }
        };
        if self.shared.closed.load(Ordering::Acquire) {
            // Deliveries still buffered after close are not acted upon: the broker puts them
            // back when the connection goes.
            return Ok(None);
        }
        match item {
            Some(Ok(delivery)) => Ok(Some(self.receive(delivery))),
            Some(Err(error)) => Err(unavailable("the AMQP consumer failed", error)),
            None => Err(BusError::Unavailable(format!(
                "the broker cancelled the consumer of {} (queue deleted or connection lost)",
                self.queue
            ))),
        }
    }

    fn receive(&self, delivery: Delivery) -> Received {
        let Delivery {
            data,
            properties,
            acker,
            redelivered,
            ..
        } = delivery;
        let mut headers = Headers::new();
        let mut delivery_count = None;
        let mut deadline = None;
        let mut signature = None;
        if let Some(table) = properties.headers() {
            for (key, value) in table {
                match key.as_str() {
                    DELIVERY_COUNT_HEADER | ACQUIRED_COUNT_HEADER => {
                        delivery_count = delivery_count.max(as_i64(value));
                    }
                    DEADLINE_HEADER => {
                        deadline = as_i64(value)
                            .and_then(|ms| u64::try_from(ms).ok())
                            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
                    }
                    SIGNATURE_HEADER => signature = as_text(value),
                    _ => {
                        if let Some(text) = as_text(value) {
                            headers.insert(key.to_string(), text);
                        }
                    }
                }
            }
        }
        // Quorum queues count earlier deliveries in these headers (absent on the first one);
        // other queue types only flag a redelivery.
        let delivery_count = match delivery_count {
            Some(count) => u32::try_from(count.max(0)).unwrap_or(u32::MAX),
            None => u32::from(redelivered),
        };
        Received {
            body: data,
            signature,
            content_type: properties.content_type().clone(),
            headers,
            delivery_count,
            deadline,
            handle: AmqpHandle {
                channel: self.channel.clone(),
                reply_to: properties.reply_to().clone(),
                correlation_id: properties.correlation_id().clone(),
                signing_key: self.shared.config.signing_key.clone(),
                replies: Arc::clone(&self.replies),
                acker,
                settled: AtomicBool::new(false),
            },
        }
    }
}

/// A worker's side: deliveries of the command queue on a channel of its own.
#[derive(Debug)]
pub struct AmqpConsumer {
    inner: QueueConsumer,
    queue: String,
}

impl AmqpConsumer {
    pub(super) async fn open(
        shared: &Arc<Shared>,
        prefetch: u16,
        replies: &Arc<Shared>,
    ) -> Result<Self, BusError> {
        let mut inner = QueueConsumer::open(shared, &shared.names.commands, prefetch).await?;
        inner.replies = Arc::clone(replies);
        Ok(Self {
            inner,
            queue: shared.names.commands.to_string(),
        })
    }
}

#[async_trait]
impl CommandConsumer for AmqpConsumer {
    async fn next(&mut self) -> Result<Option<CommandDelivery>, BusError> {
        let Some(received) = self.inner.next().await? else {
            return Ok(None);
        };
        let signing_key = self.inner.shared.config.signing_key.as_ref();
        let command = match &received.content_type {
            Some(content_type) if content_type.as_str() != CONTENT_TYPE => {
                Err(format!("unexpected content type {content_type}"))
            }
            _ if signing_key.is_some_and(|key| {
                !key.verify(
                    Signed::Command,
                    &received.body,
                    received.signature.as_deref(),
                )
            }) =>
            {
                Err("the command's signature is missing or wrong (not sent by a gateway of this deployment)".to_owned())
            }
            _ => pb::ChangeCommand::decode(received.body.as_slice())
                .map_err(|e| format!("undecodable command: {e}")),
        };
        Ok(Some(CommandDelivery {
            command,
            headers: received.headers,
            queue: self.queue.clone(),
            delivery_count: received.delivery_count,
            deadline: received.deadline,
            handle: Box::new(received.handle),
        }))
    }
}

/// A worker's side: deliveries of the fan-out queue on a channel of its own. Bodies are
/// handed over as they are (the worker decodes them).
#[derive(Debug)]
pub struct AmqpJobConsumer {
    inner: QueueConsumer,
    queue: String,
}

impl AmqpJobConsumer {
    pub(super) async fn open(shared: &Arc<Shared>, prefetch: u16) -> Result<Self, BusError> {
        let inner = QueueConsumer::open(shared, &shared.names.fanout, prefetch).await?;
        Ok(Self {
            inner,
            queue: shared.names.fanout.to_string(),
        })
    }
}

#[async_trait]
impl JobConsumer for AmqpJobConsumer {
    async fn next(&mut self) -> Result<Option<JobDelivery>, BusError> {
        let Some(received) = self.inner.next().await? else {
            return Ok(None);
        };
        Ok(Some(JobDelivery {
            body: received.body,
            headers: received.headers,
            queue: self.queue.clone(),
            delivery_count: received.delivery_count,
            handle: Box::new(received.handle),
        }))
    }
}

fn as_i64(value: &AMQPValue) -> Option<i64> {
    match value {
        AMQPValue::ShortShortInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortShortUInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortUInt(v) => Some(i64::from(*v)),
        AMQPValue::LongInt(v) => Some(i64::from(*v)),
        AMQPValue::LongUInt(v) => Some(i64::from(*v)),
        AMQPValue::LongLongInt(v) => Some(*v),
        AMQPValue::Timestamp(v) => i64::try_from(*v).ok(),
        AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok()?.parse().ok(),
        AMQPValue::ShortString(s) => s.as_str().parse().ok(),
        _ => None,
    }
}

pub(super) fn as_text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => String::from_utf8(s.as_bytes().to_vec()).ok(),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

/// One delivery from an [`AmqpConsumer`] or an [`AmqpJobConsumer`] (a job has no `reply_to`,
/// so a reply goes nowhere); settles jobs through the blanket [`crate::JobHandle`]
/// implementation.
struct AmqpHandle {
    channel: Channel,
    reply_to: Option<ShortString>,
    correlation_id: Option<ShortString>,
    signing_key: Option<SigningKey>,
    replies: Arc<Shared>,
    acker: Acker,
    settled: AtomicBool,
}

impl fmt::Debug for AmqpHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpHandle")
            .field("channel", &self.channel.id())
            .field("correlation_id", &self.correlation_id)
            .field("settled", &self.settled.load(Ordering::Acquire))
            .finish()
    }
}

enum Settle {
    Ack,
    Requeue,
    DeadLetter,
}

impl AmqpHandle {
    /// Settles once; later calls do nothing (a second settlement of one delivery tag would
    /// close the channel).
    async fn settle(&self, how: Settle) -> Result<(), BusError> {
        if self.settled.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if self.acker.poisoned() {
            return Err(BusError::Unavailable(
                "the consumer's channel closed; the broker delivers the message again".to_owned(),
            ));
        }
        let settling = async {
            match how {
                Settle::Ack => self.acker.ack(BasicAckOptions::default()).await,
                // basic.reject, not basic.nack: from RabbitMQ 4.3 on only a reject counts toward
                // x-delivery-limit, and a message that keeps failing must reach the dead letters.
                Settle::Requeue => {
                    self.acker
                        .reject(BasicRejectOptions { requeue: true })
                        .await
                }
                Settle::DeadLetter => {
                    self.acker
                        .reject(BasicRejectOptions { requeue: false })
                        .await
                }
            }
        };
        // Bounded: on a connection that died without lapin noticing, a settlement could wait
        // for ever — and with it the worker's slot, until every slot is stuck and the worker
        // stops consuming. Unsettled, the broker delivers the message again.
        let Ok(done) = tokio::time::timeout(BROKER_CALL, settling).await else {
            return Err(BusError::Unavailable(format!(
                "settling the delivery took over {BROKER_CALL:?}"
            )));
        };
        match done {
            Ok(true) => Ok(()),
            Ok(false) => Err(BusError::Unavailable(
                "the consumer's channel closed; the broker delivers the message again".to_owned(),
            )),
            Err(error) => Err(unavailable("settling the delivery", error)),
        }
    }
}

#[async_trait]
impl DeliveryHandle for AmqpHandle {
    async fn reply(&self, result: &pb::CommandResult) -> Result<(), BusError> {
        let Some(reply_to) = &self.reply_to else {
            return Ok(());
        };
        let body = result.encode_to_vec();
        let mut properties = BasicProperties::default().with_content_type(CONTENT_TYPE.into());
        if let Some(correlation_id) = &self.correlation_id {
            properties = properties.with_correlation_id(correlation_id.clone());
            if let Some(key) = &self.signing_key {
                let signature = key.sign(Signed::Reply(correlation_id.as_str()), &body);
                let mut table = FieldTable::default();
                table.insert(
                    SIGNATURE_HEADER.into(),
                    AMQPValue::LongString(signature.into()),
                );
                properties = properties.with_headers(table);
            }
        }
        // Not confirmed and not mandatory: if the requester's channel is gone, nobody waits.
        // Bounded like a settlement (see `settle`).
        let publishing = async {
            self.replies
                .reply_channel()
                .await?
                .basic_publish(
                    "".into(),
                    reply_to.clone(),
                    BasicPublishOptions::default(),
                    &body,
                    properties,
                )
                .await
                .map(drop)
                .map_err(|e| unavailable("publishing the reply", e))
        };
        let published = tokio::time::timeout(BROKER_CALL, publishing)
            .await
            .unwrap_or_else(|_| {
                Err(BusError::Unavailable(format!(
                    "publishing the reply took over {BROKER_CALL:?}"
                )))
            });
        if published.is_err() {
            self.replies.discard_reply_channel().await;
        }
        published
    }

    async fn ack(&self) -> Result<(), BusError> {
        self.settle(Settle::Ack).await
    }

    async fn requeue(&self) -> Result<(), BusError> {
        self.settle(Settle::Requeue).await
    }

    async fn dead_letter(&self) -> Result<(), BusError> {
        self.settle(Settle::DeadLetter).await
    }
}

impl Drop for AmqpHandle {
    fn drop(&mut self) {
        if self.settled.swap(true, Ordering::AcqRel) || !self.acker.usable() {
            return;
        }
        // Give the delivery back now rather than when the channel closes, so a worker task
        // that died does not hold a prefetch slot (and the command) for the consumer's
        // lifetime. Without a runtime the channel's close returns it instead.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let acker = self.acker.clone();
            runtime.spawn(async move {
                // A reject, like a crash would count (see `Settle::Requeue`).
                if let Err(error) = acker.reject(BasicRejectOptions { requeue: true }).await {
                    debug!(%error, "requeueing a dropped delivery");
                }
            });
        }
    }
}
