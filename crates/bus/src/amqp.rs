//! The RabbitMQ command transport (lapin), for the distributed mode.
//!
//! Topology (declared idempotently by [`AmqpBus::connect`] and again after every reconnect):
//! - `{prefix}.commands`: durable quorum queue; `x-delivery-limit` = [`AmqpConfig::delivery_limit`];
//!   rejected or over-delivered messages are dead-lettered through the default exchange to
//! - `{prefix}.commands.dead`: durable quorum queue.
//!
//! Requests ([`AmqpClient`]) are persistent, `mandatory` publishes with publisher confirms on
//! one channel per client, which also consumes `amq.rabbitmq.reply-to` (direct reply-to
//! requires the consuming and the publishing channel to be the same); replies are routed to the
//! waiting request by correlation id. Consumers ([`AmqpConsumer`]) have their own channel with
//! `basic.qos(prefetch)` and manual acknowledgements.
//!
//! Failures: a broken connection or channel fails the requests that were using it
//! ([`BusError::Unavailable`] or [`BusError::NotConfirmed`]) and the next call connects again
//! (lazily, at most once per [`RECONNECT_BACKOFF`]); a consumer whose connection broke returns
//! [`BusError::Unavailable`] from `next()` and the worker makes a new one.

use crate::{
    BusError, CommandClient, CommandConsumer, CommandDelivery, DEADLINE_HEADER, DeliveryHandle,
    Headers, Topology,
};
use async_trait::async_trait;
use futures_util::StreamExt as _;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, BasicRejectOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Acker, BasicProperties, Channel, Connection, ConnectionProperties};
use prost::Message as _;
use scim_wire::pb;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;
use tracing::{debug, warn};

/// The pseudo-queue of RabbitMQ's direct reply-to.
const REPLY_TO: &str = "amq.rabbitmq.reply-to";
/// Content type of commands and replies.
const CONTENT_TYPE: &str = "application/x-protobuf";
/// The header quorum queues set on redeliveries: every return up to RabbitMQ 4.2, only
/// failed deliveries (`basic.reject` with requeue, channel closed) from 4.3 on.
const DELIVERY_COUNT_HEADER: &str = "x-delivery-count";
/// Every return, from RabbitMQ 4.3 on (absent before).
const ACQUIRED_COUNT_HEADER: &str = "x-acquired-count";
/// After a failed connection attempt, calls fail at once for this long instead of trying
/// again, so that a down broker is not hammered by every request.
pub const RECONNECT_BACKOFF: Duration = Duration::from_millis(500);

/// How to reach RabbitMQ and what to declare there.
#[derive(Clone, PartialEq, Eq)]
pub struct AmqpConfig {
    /// `amqp://user:password@host:port/vhost` (`%2f` is the default vhost `/`).
    pub url: String,
    /// Queue names.
    pub topology: Topology,
    /// Unsettled deliveries per consumer ([`AmqpBus::consumer`]); `0` means no limit.
    pub prefetch: u16,
    /// `x-delivery-limit` of the command queue: a command returned to the queue (requeued, or
    /// its consumer went away) more often than this is dead-lettered.
    pub delivery_limit: u32,
    /// How long to wait for a publisher confirm; also bounds connecting and declaring.
    pub confirm_timeout: Duration,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        Self {
            url: "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned(),
            topology: Topology::default(),
            prefetch: 16,
            delivery_limit: 10,
            confirm_timeout: Duration::from_secs(5),
        }
    }
}

impl fmt::Debug for AmqpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpConfig")
            .field("url", &redact_url(&self.url))
            .field("topology", &self.topology)
            .field("prefetch", &self.prefetch)
            .field("delivery_limit", &self.delivery_limit)
            .field("confirm_timeout", &self.confirm_timeout)
            .finish()
    }
}

/// The URL without its password, for logs and `Debug`.
fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let Some(at) = rest.rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_owned(),
    }
}

fn unavailable(what: &str, error: impl fmt::Display) -> BusError {
    BusError::Unavailable(format!("{what}: {error}"))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Critical sections here are plain map/flag updates that leave the state consistent even
    // if a panic interrupts them.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn short(value: &str, what: &str) -> Result<ShortString, BusError> {
    ShortString::try_new(value)
        .map_err(|_| BusError::Unavailable(format!("{what} is longer than 255 bytes")))
}

/// A connection to RabbitMQ, shared by the clients and consumers made from it. Cloning gives
/// another handle to the same connection.
#[derive(Clone)]
pub struct AmqpBus {
    shared: Arc<Shared>,
}

impl fmt::Debug for AmqpBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpBus")
            .field("config", &self.shared.config)
            .field("closed", &self.shared.closed.load(Ordering::Acquire))
            .finish()
    }
}

struct Shared {
    config: AmqpConfig,
    commands: ShortString,
    dead_letters: ShortString,
    link: tokio::sync::Mutex<Link>,
    closed: AtomicBool,
}

/// The current connection, or when the last attempt to make one failed.
#[derive(Default)]
struct Link {
    connection: Option<Arc<Connection>>,
    last_failure: Option<(Instant, String)>,
}

impl Shared {
    /// The live connection, connecting (and declaring the topology) if there is none.
    /// Within [`RECONNECT_BACKOFF`] of a failed attempt it fails at once, or with `wait`,
    /// sleeps until the backoff is over and tries again.
    async fn connection(&self, wait: bool) -> Result<Arc<Connection>, BusError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(BusError::Closed);
        }
        let mut link = loop {
            let mut link = self.link.lock().await;
            if let Some(connection) = &link.connection {
                if connection.status().connected() {
                    return Ok(Arc::clone(connection));
                }
                debug!("the AMQP connection is down; reconnecting");
                link.connection = None;
            }
            match &link.last_failure {
                Some((at, error)) if Instant::now() < *at + RECONNECT_BACKOFF => {
                    if !wait {
                        return Err(BusError::Unavailable(error.clone()));
                    }
                    let retry_at = *at + RECONNECT_BACKOFF;
                    // Sleep without the lock: others fail fast meanwhile.
                    drop(link);
                    tokio::time::sleep_until(retry_at.into()).await;
                }
                _ => break link,
            }
        };
        match self.connect().await {
            Ok(connection) => {
                let connection = Arc::new(connection);
                link.connection = Some(Arc::clone(&connection));
                link.last_failure = None;
                Ok(connection)
            }
            Err(error) => {
                warn!(%error, "cannot connect to RabbitMQ");
                link.last_failure = Some((Instant::now(), error.to_string()));
                Err(error)
            }
        }
    }

    async fn connect(&self) -> Result<Connection, BusError> {
        let limit = self.config.confirm_timeout;
        let properties = ConnectionProperties::default().with_connection_name("blogin-scim".into());
        let connection =
            tokio::time::timeout(limit, Connection::connect(&self.config.url, properties))
                .await
                .map_err(|_| BusError::Unavailable(format!("no AMQP connection within {limit:?}")))?
                .map_err(|e| unavailable("AMQP connection failed", e))?;
        tokio::time::timeout(limit, self.declare(&connection))
            .await
            .map_err(|_| {
                BusError::Unavailable(format!("declaring the queues took over {limit:?}"))
            })??;
        Ok(connection)
    }

    /// Declares the two queues; idempotent as long as their arguments did not change (a
    /// durable queue's arguments are fixed: RabbitMQ answers PRECONDITION_FAILED otherwise).
    async fn declare(&self, connection: &Connection) -> Result<(), BusError> {
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| unavailable("opening a channel", e))?;
        let durable = QueueDeclareOptions::durable();

        let mut dead_args = FieldTable::default();
        dead_args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        channel
            .queue_declare(self.dead_letters.clone(), durable, dead_args)
            .await
            .map_err(|e| unavailable(&format!("declaring queue {}", self.dead_letters), e))?;

        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(i64::from(self.config.delivery_limit)),
        );
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        args.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(self.dead_letters.as_str().into()),
        );
        channel
            .queue_declare(self.commands.clone(), durable, args)
            .await
            .map_err(|e| unavailable(&format!("declaring queue {}", self.commands), e))?;
        let _ = channel.close(200, "OK".into()).await;
        Ok(())
    }

    /// Ready messages in `queue` (passive declare, on a throwaway channel since a missing
    /// queue closes the channel).
    async fn message_count(&self, queue: &ShortString) -> Result<u32, BusError> {
        let connection = self.connection(false).await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| unavailable("opening a channel", e))?;
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let queue = channel
            .queue_declare(queue.clone(), options, FieldTable::default())
            .await
            .map_err(|e| unavailable(&format!("inspecting queue {queue}"), e))?;
        let _ = channel.close(200, "OK".into()).await;
        Ok(queue.message_count())
    }
}

impl AmqpBus {
    /// Connects and declares the topology. Fails with [`BusError::Unavailable`] if the broker
    /// cannot be reached or a queue exists with other arguments.
    pub async fn connect(config: AmqpConfig) -> Result<AmqpBus, BusError> {
        let commands = short(&config.topology.commands(), "the command queue name")?;
        let dead_letters = short(
            &config.topology.dead_letters(),
            "the dead-letter queue name",
        )?;
        let bus = AmqpBus {
            shared: Arc::new(Shared {
                config,
                commands,
                dead_letters,
                link: tokio::sync::Mutex::new(Link::default()),
                closed: AtomicBool::new(false),
            }),
        };
        bus.shared.connection(false).await?;
        Ok(bus)
    }

    /// The configuration this bus was made with.
    pub fn config(&self) -> &AmqpConfig {
        &self.shared.config
    }

    /// A client with its own channel, opened now; when the channel or connection breaks, the
    /// next request (or [`CommandClient::ready`]) opens a new one. One client serves any number
    /// of concurrent requests: clone it rather than making one per request.
    pub async fn client(&self) -> Result<AmqpClient, BusError> {
        let client = AmqpClient {
            inner: Arc::new(ClientInner {
                shared: Arc::clone(&self.shared),
                current: RwLock::new(None),
                opening: tokio::sync::Mutex::new(()),
            }),
        };
        client.inner.session().await?;
        Ok(client)
    }

    /// A consumer of the command queue with [`AmqpConfig::prefetch`].
    pub async fn consumer(&self) -> Result<AmqpConsumer, BusError> {
        self.consumer_with_prefetch(self.shared.config.prefetch)
            .await
    }

    /// A consumer of the command queue with its own channel and `prefetch` unsettled
    /// deliveries at most (`0`: no limit). While the broker is unreachable it fails after
    /// waiting out [`RECONNECT_BACKOFF`], so a worker retrying in a loop does not spin.
    pub async fn consumer_with_prefetch(&self, prefetch: u16) -> Result<AmqpConsumer, BusError> {
        let connection = self.shared.connection(true).await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| unavailable("opening a channel", e))?;
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| unavailable("basic.qos", e))?;
        let consumer = channel
            .basic_consume(
                self.shared.commands.clone(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| unavailable(&format!("consuming {}", self.shared.commands), e))?;
        Ok(AmqpConsumer {
            shared: Arc::clone(&self.shared),
            channel,
            consumer,
        })
    }

    /// Messages waiting in the dead-letter queue.
    pub async fn dead_letter_count(&self) -> Result<u32, BusError> {
        self.shared.message_count(&self.shared.dead_letters).await
    }

    /// Messages ready in the command queue (delivered but unsettled ones not included).
    pub async fn depth(&self) -> Result<u32, BusError> {
        self.shared.message_count(&self.shared.commands).await
    }

    /// Deletes both queues with whatever they hold; for tests and teardown of throwaway
    /// topologies. Consumers of the command queue are cancelled by the broker.
    pub async fn delete_topology(&self) -> Result<(), BusError> {
        let connection = self.shared.connection(false).await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| unavailable("opening a channel", e))?;
        for queue in [&self.shared.commands, &self.shared.dead_letters] {
            channel
                .queue_delete(queue.clone(), QueueDeleteOptions::default())
                .await
                .map_err(|e| unavailable(&format!("deleting queue {queue}"), e))?;
        }
        let _ = channel.close(200, "OK".into()).await;
        Ok(())
    }

    /// Closes the connection: consumers' `next()` then returns `Ok(None)` and requests fail
    /// with [`BusError::Closed`]. Unsettled deliveries go back to the queue (broker side).
    pub async fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        let connection = self.shared.link.lock().await.connection.take();
        if let Some(connection) = connection
            && connection.status().connected()
            && let Err(error) = connection.close(200, "closing".into()).await
        {
            debug!(%error, "closing the AMQP connection");
        }
    }
}

/// The gateway's side: publishes commands and waits for their replies. Cheap to clone; all
/// clones share one channel.
#[derive(Clone)]
pub struct AmqpClient {
    inner: Arc<ClientInner>,
}

impl fmt::Debug for AmqpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let connected = self
            .inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|s| s.usable());
        f.debug_struct("AmqpClient")
            .field("queue", &self.inner.shared.commands)
            .field("connected", &connected)
            .finish()
    }
}

struct ClientInner {
    shared: Arc<Shared>,
    /// The channel in use; replaced when it breaks.
    current: RwLock<Option<Arc<Session>>>,
    /// Held while opening a channel, so that concurrent requests open only one.
    opening: tokio::sync::Mutex<()>,
}

/// One channel of a client: publishes with confirms and receives the replies.
struct Session {
    channel: Channel,
    /// lapin numbers a publish for its confirm before queueing its frames, without a lock
    /// spanning both steps; two tasks publishing at once on different threads could get
    /// their confirms swapped. Publishes on one channel are serialized by this lock (only
    /// the hand-over to the I/O loop, not the wait for the confirm).
    publishing: tokio::sync::Mutex<()>,
    replies: Arc<Replies>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Session {
    fn usable(&self) -> bool {
        self.channel.status().connected() && lock(&self.replies.state).open
    }
}

type ReplyResult = Result<pb::CommandResult, String>;

/// Requests waiting for their reply, by correlation id.
#[derive(Default)]
struct Replies {
    state: Mutex<RepliesState>,
}

#[derive(Default)]
struct RepliesState {
    /// False once the reply consumer ended: nothing can arrive any more.
    open: bool,
    waiting: HashMap<String, oneshot::Sender<ReplyResult>>,
}

impl Replies {
    fn register(&self, correlation_id: &str) -> Option<oneshot::Receiver<ReplyResult>> {
        let mut state = lock(&self.state);
        if !state.open {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        state.waiting.insert(correlation_id.to_owned(), tx);
        Some(rx)
    }

    fn take(&self, correlation_id: &str) -> Option<oneshot::Sender<ReplyResult>> {
        lock(&self.state).waiting.remove(correlation_id)
    }

    /// Fails every waiting request (their senders are dropped) and refuses new ones.
    fn shut(&self) {
        let mut state = lock(&self.state);
        state.open = false;
        state.waiting.clear();
    }
}

/// Removes a request's entry however the request ends (reply, timeout, error, or the caller
/// dropping the future).
struct Waiting<'a> {
    replies: &'a Replies,
    correlation_id: &'a str,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.replies.take(self.correlation_id);
    }
}

impl ClientInner {
    /// The usable channel, opening one (and connecting) if needed.
    async fn session(&self) -> Result<Arc<Session>, BusError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(BusError::Closed);
        }
        if let Some(session) = self.usable_session() {
            return Ok(session);
        }
        let _opening = self.opening.lock().await;
        if let Some(session) = self.usable_session() {
            return Ok(session);
        }
        let session = Arc::new(self.open().await?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&session));
        Ok(session)
    }

    fn usable_session(&self) -> Option<Arc<Session>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|s| s.usable())
            .cloned()
    }

    /// Forgets `session` (if it is still the current one) after it failed.
    fn discard(&self, session: &Arc<Session>) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, session)) {
            *current = None;
        }
    }

    async fn open(&self) -> Result<Session, BusError> {
        let connection = self.shared.connection(false).await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| unavailable("opening a channel", e))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| unavailable("confirm.select", e))?;
        // Direct reply-to: the consumer must exist, on this very channel, before the first
        // publish that names amq.rabbitmq.reply-to.
        let mut consumer = channel
            .basic_consume(
                REPLY_TO.into(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| unavailable("consuming amq.rabbitmq.reply-to", e))?;
        let replies = Arc::new(Replies::default());
        lock(&replies.state).open = true;
        let reader = tokio::spawn({
            let replies = Arc::clone(&replies);
            async move {
                while let Some(delivery) = consumer.next().await {
                    match delivery {
                        Ok(delivery) => route_reply(&replies, &delivery),
                        Err(error) => {
                            debug!(%error, "the reply consumer ended");
                            break;
                        }
                    }
                }
                replies.shut();
            }
        });
        Ok(Session {
            channel,
            publishing: tokio::sync::Mutex::new(()),
            replies,
            reader,
        })
    }

    async fn request(
        &self,
        command: &pb::ChangeCommand,
        headers: Headers,
        timeout: Duration,
    ) -> Result<pb::CommandResult, BusError> {
        let started = Instant::now();
        // A timeout too large for the clock means no deadline at all.
        let deadline = SystemTime::now().checked_add(timeout);
        let session = self.session().await?;
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let Some(reply) = session.replies.register(&correlation_id) else {
            self.discard(&session);
            return Err(BusError::Unavailable(
                "the AMQP channel closed; try again".to_owned(),
            ));
        };
        let _waiting = Waiting {
            replies: &session.replies,
            correlation_id: &correlation_id,
        };
        let properties = properties(command, headers, deadline, &correlation_id);
        let body = command.encode_to_vec();
        let published = {
            let _publishing = session.publishing.lock().await;
            session
                .channel
                .basic_publish(
                    "".into(),
                    self.shared.commands.clone(),
                    BasicPublishOptions {
                        mandatory: true,
                        immediate: false,
                    },
                    &body,
                    properties,
                )
                .await
        };
        let confirm = match published {
            Ok(confirm) => confirm,
            Err(error) => {
                self.discard(&session);
                return Err(unavailable("publishing the command", error));
            }
        };
        let confirm_timeout = self.shared.config.confirm_timeout;
        match tokio::time::timeout(confirm_timeout, confirm).await {
            Err(_) => {
                return Err(BusError::NotConfirmed(format!(
                    "no publisher confirm within {confirm_timeout:?}"
                )));
            }
            Ok(Err(error)) => {
                self.discard(&session);
                return Err(BusError::NotConfirmed(error.to_string()));
            }
            Ok(Ok(confirmation)) => {
                if confirmation.is_nack() {
                    return Err(BusError::NotConfirmed(
                        "the broker nacked the publish".to_owned(),
                    ));
                }
                if confirmation.take_message().is_some() {
                    return Err(BusError::NotConfirmed(format!(
                        "returned unroutable: queue {} does not exist",
                        self.shared.commands
                    )));
                }
            }
        }
        let remaining = timeout.saturating_sub(started.elapsed());
        match tokio::time::timeout(remaining, reply).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(reason))) => Err(BusError::Unavailable(reason)),
            Ok(Err(_)) => Err(BusError::Unavailable(
                "the AMQP channel closed while waiting for the reply".to_owned(),
            )),
            Err(_) => Err(BusError::Timeout(timeout)),
        }
    }
}

fn route_reply(replies: &Replies, delivery: &Delivery) {
    let Some(correlation_id) = delivery.properties.correlation_id() else {
        warn!("a reply without correlation id; dropped");
        return;
    };
    let Some(waiting) = replies.take(correlation_id.as_str()) else {
        // The request gave up (timeout) or this is a second reply to a redelivered command.
        debug!(%correlation_id, "a reply nobody waits for; dropped");
        return;
    };
    let result = pb::CommandResult::decode(delivery.data.as_slice())
        .map_err(|e| format!("undecodable reply: {e}"));
    let _ = waiting.send(result);
}

fn properties(
    command: &pb::ChangeCommand,
    headers: Headers,
    deadline: Option<SystemTime>,
    correlation_id: &str,
) -> BasicProperties {
    let mut table = FieldTable::default();
    for (key, value) in headers {
        match ShortString::try_new(key) {
            Ok(key) => {
                table.insert(key, AMQPValue::LongString(value.into()));
            }
            Err(_) => warn!("a header name longer than 255 bytes; left out"),
        }
    }
    if let Some(deadline) = deadline {
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        table.insert(DEADLINE_HEADER.into(), AMQPValue::LongLongInt(deadline_ms));
    }
    let mut properties = BasicProperties::default()
        .with_content_type(CONTENT_TYPE.into())
        .with_delivery_mode(2)
        .with_correlation_id(correlation_id.into())
        .with_reply_to(REPLY_TO.into())
        .with_headers(table);
    if let Ok(message_id) = ShortString::try_new(command.command_id.as_str()) {
        properties = properties.with_message_id(message_id);
    }
    properties
}

#[async_trait]
impl CommandClient for AmqpClient {
    async fn request(
        &self,
        command: &pb::ChangeCommand,
        headers: Headers,
        timeout: Duration,
    ) -> Result<pb::CommandResult, BusError> {
        self.inner.request(command, headers, timeout).await
    }

    async fn ready(&self) -> Result<(), BusError> {
        self.inner.session().await.map(|_| ())
    }
}

/// A worker's side: deliveries of the command queue on a channel of its own.
pub struct AmqpConsumer {
    shared: Arc<Shared>,
    channel: Channel,
    consumer: lapin::Consumer,
}

impl fmt::Debug for AmqpConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpConsumer")
            .field("queue", &self.shared.commands)
            .field("channel", &self.channel.id())
            .field("consumer_tag", &self.consumer.tag())
            .finish()
    }
}

#[async_trait]
impl CommandConsumer for AmqpConsumer {
    async fn next(&mut self) -> Result<Option<CommandDelivery>, BusError> {
        let item = self.consumer.next().await;
        if self.shared.closed.load(Ordering::Acquire) {
            // Deliveries still buffered after close are not acted upon: the broker puts them
            // back when the connection goes.
            return Ok(None);
        }
        match item {
            Some(Ok(delivery)) => Ok(Some(self.delivery(delivery))),
            Some(Err(error)) => Err(unavailable("the AMQP consumer failed", error)),
            None => Err(BusError::Unavailable(
                "the broker cancelled the consumer (queue deleted or connection lost)".to_owned(),
            )),
        }
    }
}

impl AmqpConsumer {
    fn delivery(&self, delivery: Delivery) -> CommandDelivery {
        let properties = &delivery.properties;
        let mut headers = Headers::new();
        let mut delivery_count = None;
        let mut deadline = None;
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
            None => u32::from(delivery.redelivered),
        };
        let command = match properties.content_type() {
            Some(content_type) if content_type.as_str() != CONTENT_TYPE => {
                Err(format!("unexpected content type {content_type}"))
            }
            _ => pb::ChangeCommand::decode(delivery.data.as_slice())
                .map_err(|e| format!("undecodable command: {e}")),
        };
        CommandDelivery {
            command,
            headers,
            delivery_count,
            deadline,
            handle: Box::new(AmqpHandle {
                channel: self.channel.clone(),
                reply_to: properties.reply_to().clone(),
                correlation_id: properties.correlation_id().clone(),
                acker: delivery.acker,
                settled: AtomicBool::new(false),
            }),
        }
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

fn as_text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => String::from_utf8(s.as_bytes().to_vec()).ok(),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

/// One delivery from an [`AmqpConsumer`].
struct AmqpHandle {
    channel: Channel,
    reply_to: Option<ShortString>,
    correlation_id: Option<ShortString>,
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
                "the consumer's channel closed; the broker delivers the command again".to_owned(),
            ));
        }
        let done = match how {
            Settle::Ack => self.acker.ack(BasicAckOptions::default()).await,
            // basic.reject, not basic.nack: from RabbitMQ 4.3 on only a reject counts toward
            // x-delivery-limit, and a command that keeps failing must reach the dead letters.
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
        };
        match done {
            Ok(true) => Ok(()),
            Ok(false) => Err(BusError::Unavailable(
                "the consumer's channel closed; the broker delivers the command again".to_owned(),
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
        let mut properties = BasicProperties::default().with_content_type(CONTENT_TYPE.into());
        if let Some(correlation_id) = &self.correlation_id {
            properties = properties.with_correlation_id(correlation_id.clone());
        }
        // Not confirmed and not mandatory: if the requester's channel is gone, nobody waits.
        self.channel
            .basic_publish(
                "".into(),
                reply_to.clone(),
                BasicPublishOptions::default(),
                &result.encode_to_vec(),
                properties,
            )
            .await
            .map(drop)
            .map_err(|e| unavailable("publishing the reply", e))
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
