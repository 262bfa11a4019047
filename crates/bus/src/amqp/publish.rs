//! Publishing with publisher confirms, shared by the command client (request and reply) and
//! the publisher of fan-out jobs and events: each owns a channel in confirm mode, reopened
//! lazily (connecting again if need be) after it broke, with publishes serialized per channel.

use super::consume::as_text;
use super::{CONTENT_TYPE, Shared, consume, lock, short, unavailable};
use crate::signing::{SIGNATURE_HEADER, Signed};
use crate::{BusError, CommandClient, DEADLINE_HEADER, Headers, Publisher, SigningKey};
use async_trait::async_trait;
use futures_util::StreamExt as _;
use lapin::message::Delivery;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel};
use prost::Message as _;
use scim_wire::pb;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;
use tracing::{debug, warn};

/// The pseudo-queue of RabbitMQ's direct reply-to.
const REPLY_TO: &str = "amq.rabbitmq.reply-to";

/// A channel in publisher-confirm mode.
struct ConfirmChannel {
    channel: Channel,
    /// lapin numbers a publish for its confirm before queueing its frames, without a lock
    /// spanning both steps; two tasks publishing at once on different threads could get
    /// their confirms swapped. Publishes on one channel are serialized by this lock (only
    /// the hand-over to the I/O loop, not the wait for the confirm).
    publishing: tokio::sync::Mutex<()>,
}

impl ConfirmChannel {
    /// Opens a channel (connecting if need be) and puts it in confirm mode.
    async fn connect(shared: &Shared) -> Result<Self, BusError> {
        let channel = shared.channel(false).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| unavailable("confirm.select", e))?;
        Ok(Self {
            channel,
            publishing: tokio::sync::Mutex::new(()),
        })
    }
}

/// What a client or publisher keeps per channel; [`Sessions`] replaces it once it breaks.
#[async_trait]
trait Session: Sized + Send + Sync + 'static {
    /// Opens a new channel and whatever goes with it.
    async fn open(shared: &Shared) -> Result<Self, BusError>;
    /// The channel publishes go to.
    fn confirm_channel(&self) -> &ConfirmChannel;
    /// Whether it can still be used.
    fn usable(&self) -> bool;
}

/// The publisher's session is just the channel.
#[async_trait]
impl Session for ConfirmChannel {
    async fn open(shared: &Shared) -> Result<Self, BusError> {
        ConfirmChannel::connect(shared).await
    }

    fn confirm_channel(&self) -> &ConfirmChannel {
        self
    }

    fn usable(&self) -> bool {
        self.channel.status().connected()
    }
}

/// Where a message goes.
struct Route {
    exchange: ShortString,
    routing_key: ShortString,
    /// Whether the broker returns an unroutable message (an error here) instead of dropping
    /// it.
    mandatory: bool,
}

impl Route {
    /// Straight to `queue` through the default exchange, mandatory: if the queue is missing
    /// the publish is [`BusError::NotConfirmed`], never silently lost.
    fn queue(queue: &ShortString) -> Self {
        Self {
            exchange: "".into(),
            routing_key: queue.clone(),
            mandatory: true,
        }
    }
}

/// The current session of one client or publisher: opened on first use and again after it
/// broke, by one caller while the others wait.
struct Sessions<S> {
    shared: Arc<Shared>,
    /// The session in use; replaced when it breaks.
    current: RwLock<Option<Arc<S>>>,
    /// Held while opening a session, so that concurrent callers open only one.
    opening: tokio::sync::Mutex<()>,
}

impl<S: Session> Sessions<S> {
    /// Opens the first session now, so that a misconfiguration shows at start.
    async fn open(shared: &Arc<Shared>) -> Result<Self, BusError> {
        let sessions = Self {
            shared: Arc::clone(shared),
            current: RwLock::new(None),
            opening: tokio::sync::Mutex::new(()),
        };
        sessions.get().await?;
        Ok(sessions)
    }

    /// The usable session, opening one (and connecting) if needed.
    async fn get(&self) -> Result<Arc<S>, BusError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(BusError::Closed);
        }
        if let Some(session) = self.usable() {
            return Ok(session);
        }
        let _opening = self.opening.lock().await;
        if let Some(session) = self.usable() {
            return Ok(session);
        }
        let session = Arc::new(S::open(&self.shared).await?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&session));
        Ok(session)
    }

    fn usable(&self) -> Option<Arc<S>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|s| s.usable())
            .cloned()
    }

    /// Forgets `session` (if it is still the current one) after it failed.
    fn discard(&self, session: &Arc<S>) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, session)) {
            *current = None;
        }
    }

    /// Publishes `body` on `session`'s channel and waits up to `confirm_timeout` for the
    /// broker's confirm. `Ok` only for an ack of a message that was routed (or not mandatory).
    async fn publish(
        &self,
        session: &Arc<S>,
        route: Route,
        body: &[u8],
        properties: BasicProperties,
        confirm_timeout: Duration,
    ) -> Result<(), BusError> {
        let channel = session.confirm_channel();
        let published = {
            let _publishing = channel.publishing.lock().await;
            channel
                .channel
                .basic_publish(
                    route.exchange,
                    route.routing_key.clone(),
                    BasicPublishOptions {
                        mandatory: route.mandatory,
                        immediate: false,
                    },
                    body,
                    properties,
                )
                .await
        };
        let confirm = match published {
            Ok(confirm) => confirm,
            Err(error) => {
                self.discard(session);
                return Err(unavailable(
                    &format!("publishing to {}", route.routing_key),
                    error,
                ));
            }
        };
        match tokio::time::timeout(confirm_timeout, confirm).await {
            Err(_) => Err(BusError::NotConfirmed(format!(
                "no publisher confirm within {confirm_timeout:?}"
            ))),
            Ok(Err(error)) => {
                self.discard(session);
                Err(BusError::NotConfirmed(error.to_string()))
            }
            Ok(Ok(confirmation)) => {
                if confirmation.is_nack() {
                    return Err(BusError::NotConfirmed(
                        "the broker nacked the publish".to_owned(),
                    ));
                }
                if confirmation.take_message().is_some() {
                    // Only mandatory publishes come back, and those go to a queue by name.
                    return Err(BusError::NotConfirmed(format!(
                        "returned unroutable: queue {} does not exist",
                        route.routing_key
                    )));
                }
                Ok(())
            }
        }
    }
}

/// `headers` as an AMQP table (text values).
fn header_table(headers: Headers) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in headers {
        match ShortString::try_new(key) {
            Ok(key) => {
                table.insert(key, AMQPValue::LongString(value.into()));
            }
            Err(_) => warn!("a header name longer than 255 bytes; left out"),
        }
    }
    table
}

/// Properties of a persistent protobuf message with `headers`.
fn persistent(headers: FieldTable) -> BasicProperties {
    BasicProperties::default()
        .with_content_type(CONTENT_TYPE.into())
        .with_delivery_mode(2)
        .with_headers(headers)
}

/// The gateway's side: publishes commands and waits for their replies. Cheap to clone; all
/// clones share one channel.
#[derive(Clone)]
pub struct AmqpClient {
    sessions: Arc<Sessions<ClientSession>>,
}

impl fmt::Debug for AmqpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpClient")
            .field("queue", &self.sessions.shared.names.commands)
            .field("connected", &self.sessions.usable().is_some())
            .finish()
    }
}

/// One channel of a client: publishes with confirms and receives the replies.
struct ClientSession {
    confirm: ConfirmChannel,
    replies: Arc<Replies>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for ClientSession {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

#[async_trait]
impl Session for ClientSession {
    async fn open(shared: &Shared) -> Result<Self, BusError> {
        let confirm = ConfirmChannel::connect(shared).await?;
        // Direct reply-to: the consumer must exist, on this very channel, before the first
        // publish that names amq.rabbitmq.reply-to.
        let mut consumer = consume(&confirm.channel, &REPLY_TO.into(), true).await?;
        let replies = Arc::new(Replies::default());
        lock(&replies.state).open = true;
        let reader = tokio::spawn({
            let replies = Arc::clone(&replies);
            let key = shared.config.signing_key.clone();
            async move {
                while let Some(delivery) = consumer.next().await {
                    match delivery {
                        Ok(delivery) => route_reply(&replies, key.as_ref(), &delivery),
                        Err(error) => {
                            debug!(%error, "the reply consumer ended");
                            break;
                        }
                    }
                }
                replies.shut();
            }
        });
        Ok(Self {
            confirm,
            replies,
            reader,
        })
    }

    fn confirm_channel(&self) -> &ConfirmChannel {
        &self.confirm
    }

    fn usable(&self) -> bool {
        self.confirm.channel.status().connected() && lock(&self.replies.state).open
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

impl AmqpClient {
    /// A client whose first channel is open.
    pub(super) async fn open(shared: &Arc<Shared>) -> Result<Self, BusError> {
        Ok(Self {
            sessions: Arc::new(Sessions::open(shared).await?),
        })
    }
}

#[async_trait]
impl CommandClient for AmqpClient {
    async fn request(
        &self,
        command: &pb::ChangeCommand,
        headers: Headers,
        timeout: Duration,
    ) -> Result<pb::CommandResult, BusError> {
        let started = Instant::now();
        // A timeout too large for the clock means no deadline at all.
        let deadline = SystemTime::now().checked_add(timeout);
        let session = self.sessions.get().await?;
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let Some(reply) = session.replies.register(&correlation_id) else {
            self.sessions.discard(&session);
            return Err(BusError::Unavailable(
                "the AMQP channel closed; try again".to_owned(),
            ));
        };
        let _waiting = Waiting {
            replies: &session.replies,
            correlation_id: &correlation_id,
        };
        let queue = &self.sessions.shared.names.commands;
        // A quorum-queue confirm can lag under load while the message is already queued:
        // giving up on it early would answer 503 for a write the worker then applies. So a
        // request waits for its confirm as long as for its reply; only a nack, a returned
        // message or a broken channel end it sooner.
        let body = command.encode_to_vec();
        let signature = self
            .sessions
            .shared
            .config
            .signing_key
            .as_ref()
            .map(|key| key.sign(Signed::Command, &body));
        crate::traced_publish(queue.as_str(), headers, async |headers| {
            let properties =
                command_properties(command, headers, deadline, &correlation_id, signature);
            self.sessions
                .publish(&session, Route::queue(queue), &body, properties, timeout)
                .await
        })
        .await?;
        let confirmed = Instant::now();
        let remaining = timeout.saturating_sub(started.elapsed());
        let result = match tokio::time::timeout(remaining, reply).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(reason))) => Err(BusError::ReplyLost(reason)),
            Ok(Err(_)) => Err(BusError::ReplyLost(
                "the AMQP channel closed while waiting for the reply".to_owned(),
            )),
            Err(_) => Err(BusError::Timeout(timeout)),
        };
        if result.is_ok() {
            scim_telemetry::metrics()
                .bus_reply_duration
                .observe(confirmed.elapsed().as_secs_f64());
        }
        result
    }

    async fn ready(&self) -> Result<(), BusError> {
        self.sessions.get().await.map(drop)
    }
}

fn route_reply(replies: &Replies, key: Option<&SigningKey>, delivery: &Delivery) {
    let Some(correlation_id) = delivery.properties.correlation_id() else {
        warn!("a reply without correlation id; dropped");
        return;
    };
    if let Some(key) = key {
        let signature = delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|table| table.inner().get(SIGNATURE_HEADER))
            .and_then(as_text);
        let signed = Signed::Reply(correlation_id.as_str());
        if !key.verify(signed, &delivery.data, signature.as_deref()) {
            // Left for the request to time out: a forged or corrupted reply must not answer it.
            warn!(%correlation_id, "a reply without a valid signature; dropped");
            return;
        }
    }
    let Some(waiting) = replies.take(correlation_id.as_str()) else {
        // The request gave up (timeout) or this is a second reply to a redelivered command.
        debug!(%correlation_id, "a reply nobody waits for; dropped");
        return;
    };
    let result = pb::CommandResult::decode(delivery.data.as_slice())
        .map_err(|e| format!("undecodable reply: {e}"));
    let _ = waiting.send(result);
}

/// A command's properties: persistent, with its deadline, and where to reply.
fn command_properties(
    command: &pb::ChangeCommand,
    headers: Headers,
    deadline: Option<SystemTime>,
    correlation_id: &str,
    signature: Option<String>,
) -> BasicProperties {
    let mut table = header_table(headers);
    if let Some(signature) = signature {
        table.insert(
            SIGNATURE_HEADER.into(),
            AMQPValue::LongString(signature.into()),
        );
    }
    if let Some(deadline) = deadline {
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        table.insert(DEADLINE_HEADER.into(), AMQPValue::LongLongInt(deadline_ms));
    }
    let mut properties = persistent(table)
        .with_correlation_id(correlation_id.into())
        .with_reply_to(REPLY_TO.into());
    if let Ok(message_id) = ShortString::try_new(command.command_id.as_str()) {
        properties = properties.with_message_id(message_id);
    }
    properties
}

/// The outbox relay's side: publishes fan-out jobs and events, each confirmed. Cheap to
/// clone; all clones share one channel.
#[derive(Clone)]
pub struct AmqpPublisher {
    sessions: Arc<Sessions<ConfirmChannel>>,
}

impl fmt::Debug for AmqpPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = &self.sessions.shared.names;
        f.debug_struct("AmqpPublisher")
            .field("queue", &names.fanout)
            .field("exchange", &names.events)
            .field("connected", &self.sessions.usable().is_some())
            .finish()
    }
}

impl AmqpPublisher {
    /// A publisher whose channel is open.
    pub(super) async fn open(shared: &Arc<Shared>) -> Result<Self, BusError> {
        Ok(Self {
            sessions: Arc::new(Sessions::open(shared).await?),
        })
    }

    /// Whether it can currently publish (for readiness), reopening its channel if needed.
    pub async fn ready(&self) -> Result<(), BusError> {
        self.sessions.get().await.map(drop)
    }

    async fn send(&self, route: Route, body: &[u8], headers: Headers) -> Result<(), BusError> {
        let destination = if route.exchange.as_str().is_empty() {
            route.routing_key.to_string()
        } else {
            route.exchange.to_string()
        };
        crate::traced_publish(&destination, headers, async |headers| {
            let session = self.sessions.get().await?;
            let properties = persistent(header_table(headers));
            self.sessions
                .publish(
                    &session,
                    route,
                    body,
                    properties,
                    self.sessions.shared.config.confirm_timeout,
                )
                .await
        })
        .await
    }
}

#[async_trait]
impl Publisher for AmqpPublisher {
    async fn publish_job(&self, body: Vec<u8>, headers: Headers) -> Result<(), BusError> {
        let route = Route::queue(&self.sessions.shared.names.fanout);
        self.send(route, &body, headers).await
    }

    async fn publish_event(
        &self,
        routing_key: &str,
        body: Vec<u8>,
        headers: Headers,
    ) -> Result<(), BusError> {
        let route = Route {
            exchange: self.sessions.shared.names.events.clone(),
            routing_key: short(routing_key, "the routing key")?,
            mandatory: false,
        };
        self.send(route, &body, headers).await
    }
}
