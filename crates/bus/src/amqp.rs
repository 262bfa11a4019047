//! The RabbitMQ transport (lapin), for the distributed mode.
//!
//! Topology (declared idempotently by [`AmqpBus::connect`] and again after every reconnect):
//! - `{prefix}.commands` and `{prefix}.fanout`: durable quorum queues; `x-delivery-limit` =
//!   [`AmqpConfig::delivery_limit`]; rejected or over-delivered messages are dead-lettered
//!   through the default exchange to
//! - `{prefix}.commands.dead` and `{prefix}.fanout.dead`: durable quorum queues;
//! - [`Topology::events`]: a durable topic exchange the BlogIn application binds its queues to.
//!
//! Every publish is persistent and waits for the broker's publisher confirm, on a channel in
//! confirm mode owned by the publishing side: commands ([`AmqpClient`], request and reply)
//! and fan-out jobs ([`AmqpPublisher`]) are also `mandatory`, so a missing queue is an error,
//! not a silent drop; events are not (an event nobody is bound for is dropped). Consumers
//! ([`AmqpConsumer`], [`AmqpJobConsumer`]) have a channel each with `basic.qos(prefetch)` and
//! manual acknowledgements.
//!
//! Failures: a broken connection or channel fails the publishes that were using it
//! ([`BusError::Unavailable`] or [`BusError::NotConfirmed`]) and the next call connects again
//! (lazily, at most once per [`RECONNECT_BACKOFF`]); a consumer whose connection broke returns
//! [`BusError::Unavailable`] from `next()` and the worker makes a new one.

use crate::{BusError, EventReceiver, Topology};
use lapin::options::{
    BasicConsumeOptions, ExchangeDeclareOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tracing::{debug, warn};

mod consume;
mod events;
mod publish;

pub use consume::{AmqpConsumer, AmqpJobConsumer};
pub use publish::{AmqpClient, AmqpPublisher};

/// Content type of commands, replies, jobs and events: all are protobuf.
const CONTENT_TYPE: &str = "application/x-protobuf";
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
    /// Unsettled deliveries per consumer ([`AmqpBus::consumer`], [`AmqpBus::job_consumer`]);
    /// `0` means no limit.
    pub prefetch: u16,
    /// `x-delivery-limit` of the command and the fan-out queue: a message returned to its
    /// queue (requeued, or its consumer went away) more often than this is dead-lettered.
    pub delivery_limit: u32,
    /// How long to wait for the publisher confirm of a fan-out job or an event; also bounds
    /// connecting and declaring. A command request waits for its confirm as long as for its
    /// reply (its own timeout).
    pub confirm_timeout: Duration,
    /// Signs published commands and replies and refuses unsigned or wrongly signed ones
    /// ([`crate::SigningKey`]); `None` (tests, a broker no one else reaches) neither signs nor
    /// checks.
    pub signing_key: Option<crate::SigningKey>,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        Self {
            url: "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned(),
            topology: Topology::default(),
            prefetch: 16,
            delivery_limit: 10,
            confirm_timeout: Duration::from_secs(5),
            signing_key: None,
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
            .field("signing_key", &self.signing_key)
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

/// A connection to RabbitMQ, shared by the clients, publishers and consumers made from it.
/// Cloning gives another handle to the same connection.
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

/// What every client, publisher and consumer of one bus shares.
struct Shared {
    config: AmqpConfig,
    /// The names of [`AmqpConfig::topology`], checked once to fit AMQP's short strings.
    names: Names,
    link: tokio::sync::Mutex<Link>,
    /// The channel replies to commands are published on, when consumers of another bus
    /// reply through this one ([`AmqpBus::consumer_replying_via`]).
    reply_channel: tokio::sync::Mutex<Option<(Arc<Connection>, Channel)>>,
    closed: AtomicBool,
}

/// The topology's names as AMQP short strings.
struct Names {
    commands: ShortString,
    dead_letters: ShortString,
    fanout: ShortString,
    fanout_dead_letters: ShortString,
    events: ShortString,
}

impl Names {
    fn new(topology: &Topology) -> Result<Self, BusError> {
        Ok(Self {
            commands: short(&topology.commands(), "the command queue name")?,
            dead_letters: short(&topology.dead_letters(), "the dead-letter queue name")?,
            fanout: short(&topology.fanout(), "the fan-out queue name")?,
            fanout_dead_letters: short(
                &topology.fanout_dead_letters(),
                "the fan-out dead-letter queue name",
            )?,
            events: short(&topology.events, "the events exchange name")?,
        })
    }

    /// The work queues with their dead-letter queues; what [`AmqpBus::delete_topology`]
    /// removes (the events exchange is shared, so it stays).
    fn queues(&self) -> [&ShortString; 4] {
        [
            &self.commands,
            &self.dead_letters,
            &self.fanout,
            &self.fanout_dead_letters,
        ]
    }
}

/// Starts consuming `queue` on `channel`; with `no_ack` the broker considers every delivery
/// settled once sent (for replies and event subscriptions, which nothing redelivers).
async fn consume(
    channel: &Channel,
    queue: &ShortString,
    no_ack: bool,
) -> Result<lapin::Consumer, BusError> {
    channel
        .basic_consume(
            queue.clone(),
            "".into(),
            BasicConsumeOptions {
                no_ack,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| unavailable(&format!("consuming {queue}"), e))
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

    /// Declares both work queues, their dead-letter queues and the events exchange;
    /// idempotent as long as their arguments did not change (a durable queue's or exchange's
    /// arguments are fixed: RabbitMQ answers PRECONDITION_FAILED otherwise).
    async fn declare(&self, connection: &Connection) -> Result<(), BusError> {
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| unavailable("opening a channel", e))?;
        let names = &self.names;
        self.declare_work_queue(&channel, &names.commands, &names.dead_letters)
            .await?;
        self.declare_work_queue(&channel, &names.fanout, &names.fanout_dead_letters)
            .await?;
        channel
            .exchange_declare(
                names.events.clone(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| unavailable(&format!("declaring exchange {}", names.events), e))?;
        let _ = channel.close(200, "OK".into()).await;
        Ok(())
    }

    /// Declares `queue` (quorum, with the delivery limit) and the quorum queue it
    /// dead-letters to.
    async fn declare_work_queue(
        &self,
        channel: &Channel,
        queue: &ShortString,
        dead_letters: &ShortString,
    ) -> Result<(), BusError> {
        let durable = QueueDeclareOptions::durable();
        let quorum = || {
            let mut args = FieldTable::default();
            args.insert(
                "x-queue-type".into(),
                AMQPValue::LongString("quorum".into()),
            );
            args
        };
        channel
            .queue_declare(dead_letters.clone(), durable, quorum())
            .await
            .map_err(|e| unavailable(&format!("declaring queue {dead_letters}"), e))?;

        let mut args = quorum();
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
            AMQPValue::LongString(dead_letters.as_str().into()),
        );
        channel
            .queue_declare(queue.clone(), durable, args)
            .await
            .map_err(|e| unavailable(&format!("declaring queue {queue}"), e))?;
        Ok(())
    }

    /// A new channel on the live connection (connecting if need be; `wait` as in
    /// [`Shared::connection`]).
    async fn channel(&self, wait: bool) -> Result<Channel, BusError> {
        self.connection(wait)
            .await?
            .create_channel()
            .await
            .map_err(|e| unavailable("opening a channel", e))
    }

    /// Whether the bus now uses another connection than `connection` (it reconnected).
    async fn replaced(&self, connection: &Arc<Connection>) -> bool {
        self.link
            .lock()
            .await
            .connection
            .as_ref()
            .is_some_and(|current| !Arc::ptr_eq(current, connection))
    }

    /// The reply channel on the live connection, opened anew whenever the connection was
    /// replaced (a channel of a connection that broke must never be written to again: its
    /// publishes would vanish, and with them every reply).
    async fn reply_channel(&self) -> Result<Channel, BusError> {
        let connection = self.connection(false).await?;
        let mut current = self.reply_channel.lock().await;
        if let Some((of, channel)) = current.as_ref()
            && Arc::ptr_eq(of, &connection)
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| unavailable("opening the reply channel", e))?;
        *current = Some((connection, channel.clone()));
        Ok(channel)
    }

    /// Forgets the reply channel after a failed reply, so the next one opens a new channel.
    async fn discard_reply_channel(&self) {
        *self.reply_channel.lock().await = None;
    }

    /// Ready messages in `queue` (passive declare, on a throwaway channel since a missing
    /// queue closes the channel).
    async fn message_count(&self, queue: &ShortString) -> Result<u32, BusError> {
        let channel = self.channel(false).await?;
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
    /// cannot be reached, a name is too long, or a queue or the events exchange exists with
    /// other arguments.
    pub async fn connect(config: AmqpConfig) -> Result<AmqpBus, BusError> {
        let names = Names::new(&config.topology)?;
        let bus = AmqpBus {
            shared: Arc::new(Shared {
                config,
                names,
                link: tokio::sync::Mutex::new(Link::default()),
                reply_channel: tokio::sync::Mutex::new(None),
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
    /// next request (or [`CommandClient::ready`](crate::CommandClient::ready)) opens a new
    /// one. One client serves any number of concurrent requests: clone it rather than making
    /// one per request.
    pub async fn client(&self) -> Result<AmqpClient, BusError> {
        AmqpClient::open(&self.shared).await
    }

    /// A publisher of fan-out jobs and events with its own confirm-mode channel, opened now;
    /// when the channel or connection breaks, the next publish opens a new one. One publisher
    /// serves any number of concurrent publishes: clone it rather than making one per message.
    pub async fn publisher(&self) -> Result<AmqpPublisher, BusError> {
        AmqpPublisher::open(&self.shared).await
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
        AmqpConsumer::open(&self.shared, prefetch, &self.shared).await
    }

    /// A consumer of the command queue (with [`AmqpConfig::prefetch`]) that publishes its
    /// replies through `replies` — another connection. RabbitMQ blocks a connection that
    /// publishes while a resource alarm lasts, and a blocked connection carries no acks
    /// either; the consuming connection then never publishes, so it keeps settling deliveries.
    pub async fn consumer_replying_via(&self, replies: &AmqpBus) -> Result<AmqpConsumer, BusError> {
        AmqpConsumer::open(&self.shared, self.shared.config.prefetch, &replies.shared).await
    }

    /// A consumer of the fan-out queue with [`AmqpConfig::prefetch`].
    pub async fn job_consumer(&self) -> Result<AmqpJobConsumer, BusError> {
        self.job_consumer_with_prefetch(self.shared.config.prefetch)
            .await
    }

    /// A consumer of the fan-out queue with its own channel and `prefetch` unsettled
    /// deliveries at most (`0`: no limit); fails like [`AmqpBus::consumer_with_prefetch`].
    pub async fn job_consumer_with_prefetch(
        &self,
        prefetch: u16,
    ) -> Result<AmqpJobConsumer, BusError> {
        AmqpJobConsumer::open(&self.shared, prefetch).await
    }

    /// Every event published from now on to the events exchange whose routing key matches
    /// `binding_key` (topic rules: `*` one word, `#` any number), as `(routing key, body)`.
    /// Declares an exclusive, auto-delete queue bound with `binding_key`, so the binding
    /// exists when this returns; dropping the receiver deletes the queue. The receiver ends
    /// when the connection breaks. For tests and diagnostics: the BlogIn application binds
    /// durable queues of its own.
    pub async fn subscribe_events(&self, binding_key: &str) -> Result<EventReceiver, BusError> {
        events::subscribe(&self.shared, binding_key).await
    }

    /// Messages waiting in the command dead-letter queue.
    pub async fn dead_letter_count(&self) -> Result<u32, BusError> {
        self.shared
            .message_count(&self.shared.names.dead_letters)
            .await
    }

    /// Messages ready in the command queue (delivered but unsettled ones not included).
    pub async fn depth(&self) -> Result<u32, BusError> {
        self.shared.message_count(&self.shared.names.commands).await
    }

    /// Messages waiting in the fan-out dead-letter queue.
    pub async fn fanout_dead_letter_count(&self) -> Result<u32, BusError> {
        self.shared
            .message_count(&self.shared.names.fanout_dead_letters)
            .await
    }

    /// Jobs ready in the fan-out queue (delivered but unsettled ones not included).
    pub async fn job_depth(&self) -> Result<u32, BusError> {
        self.shared.message_count(&self.shared.names.fanout).await
    }

    /// Deletes the four queues with whatever they hold, but not the events exchange (shared
    /// with the BlogIn application); for tests and teardown of throwaway topologies.
    /// Consumers of the deleted queues are cancelled by the broker.
    pub async fn delete_topology(&self) -> Result<(), BusError> {
        let channel = self.shared.channel(false).await?;
        for queue in self.shared.names.queues() {
            channel
                .queue_delete(queue.clone(), QueueDeleteOptions::default())
                .await
                .map_err(|e| unavailable(&format!("deleting queue {queue}"), e))?;
        }
        let _ = channel.close(200, "OK".into()).await;
        Ok(())
    }

    /// Closes the connection: consumers' `next()` then returns `Ok(None)`, requests and
    /// publishes fail with [`BusError::Closed`] and event subscriptions end. Unsettled
    /// deliveries go back to their queue (broker side).
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
