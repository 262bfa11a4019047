//! The in-process transport, for the embedded `serve` mode and for tests.
//!
//! It behaves like the RabbitMQ transport ([`crate::amqp`]) as seen through the traits, so
//! that the worker, the gateway and the outbox relay run the same code in both modes. It holds
//! two queues with the same rules — the command queue and the fan-out job queue — and the
//! events exchange:
//! - each queue is shared by any number of consumers, each message delivered to exactly one;
//! - a delivery dropped without being settled is put back at the head of its queue with
//!   `delivery_count + 1`, as a quorum queue does when a consumer's channel closes; a requeue
//!   does the same;
//! - a message put back more than `delivery_limit` times is dead-lettered (quorum queues'
//!   `x-delivery-limit`);
//! - `prefetch` bounds the unsettled deliveries per consumer;
//! - the reply reaches the waiting request even when it comes from a later delivery of the
//!   same command; a request that gets no reply waits out its whole timeout, as it would on
//!   the broker;
//! - an event reaches every subscriber whose binding key matches its routing key (AMQP topic
//!   rules) and that subscribed before it was published; with none, it is dropped.
//!
//! Commands are stored encoded (protobuf), like on the broker, so the embedded mode exercises
//! the same encoding and an undecodable body ([`MemoryBus::publish_raw`]) reaches the worker
//! as `command: Err(..)`.
//!
//! Nothing here is durable: the queues live and die with the process.

use crate::{
    BusError, CommandClient, CommandConsumer, CommandDelivery, DeliveryHandle, EventReceiver,
    Headers, JobConsumer, JobDelivery, Publisher,
};
use async_trait::async_trait;
use events::Subscriber;
use prost::Message as _;
use scim_wire::pb;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};
use tokio::sync::{Notify, oneshot};

mod events;

/// The delivery limit [`MemoryBus::new`] uses, the same as `AmqpConfig`'s default.
pub const DEFAULT_DELIVERY_LIMIT: u32 = 10;

/// Dead letters kept per queue (the oldest are forgotten first); the count keeps counting.
pub const DEAD_LETTER_CAP: usize = 1000;

/// An in-process bus: a command queue, a fan-out job queue and an events exchange. Cloning
/// gives another handle to the same bus.
#[derive(Clone)]
pub struct MemoryBus {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled (to every waiter) whenever a consumer might be able to make progress: a
    /// message became ready, a delivery was settled (freeing a prefetch slot) or the bus was
    /// closed. Consumers of both queues share it and re-check the state, so spurious
    /// wake-ups are harmless.
    changed: Notify,
    /// Applies to both queues, as `AmqpConfig::delivery_limit` does.
    delivery_limit: u32,
}

#[derive(Default)]
struct State {
    commands: Queue,
    fanout: Queue,
    /// Who gets events; a subscriber whose receiver was dropped is removed at the next event.
    subscribers: Vec<Subscriber>,
    closed: bool,
}

/// One queue with its dead letters.
#[derive(Default)]
struct Queue {
    ready: VecDeque<Message>,
    /// Bodies of the last [`DEAD_LETTER_CAP`] dead-lettered messages, oldest first.
    dead: VecDeque<Vec<u8>>,
    /// Every message ever dead-lettered here.
    dead_total: usize,
}

impl Queue {
    /// Dead-letters `body`, keeping only the most recent bodies: an embedded server runs for
    /// months, and dead letters hold personal data.
    fn bury(&mut self, body: Vec<u8>) {
        if self.dead.len() >= DEAD_LETTER_CAP {
            self.dead.pop_front();
        }
        self.dead.push_back(body);
        self.dead_total += 1;
    }
}

/// Which of the two queues a consumer or a delivery belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueueId {
    Commands,
    Fanout,
}

impl QueueId {
    /// The name the queue would have on the broker with the default prefix, for span names
    /// and metric labels.
    fn name(self) -> &'static str {
        match self {
            QueueId::Commands => "scim.commands",
            QueueId::Fanout => "scim.fanout",
        }
    }
}

impl State {
    fn queue(&mut self, id: QueueId) -> &mut Queue {
        match id {
            QueueId::Commands => &mut self.commands,
            QueueId::Fanout => &mut self.fanout,
        }
    }
}

/// Where the reply to one request goes. Shared by every delivery of the command, so a
/// redelivery can still answer; taken by the first reply.
type ReplySlot = Mutex<Option<oneshot::Sender<pb::CommandResult>>>;

struct Message {
    body: Vec<u8>,
    headers: Headers,
    /// Only commands have one.
    deadline: Option<SystemTime>,
    delivery_count: u32,
    /// Only commands sent by [`CommandClient::request`] have one.
    reply: Option<Arc<ReplySlot>>,
}

impl Message {
    /// A message nobody waits for a reply to: a fan-out job or a raw publish.
    fn one_way(body: Vec<u8>, headers: Headers) -> Self {
        Self {
            body,
            headers,
            deadline: None,
            delivery_count: 0,
            reply: None,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded state stays consistent across a panic (every critical section is a few
    // plain moves), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("MemoryBus")
            .field("ready", &state.commands.ready.len())
            .field("dead", &state.commands.dead.len())
            .field("jobs_ready", &state.fanout.ready.len())
            .field("jobs_dead", &state.fanout.dead.len())
            .field("subscribers", &state.subscribers.len())
            .field("closed", &state.closed)
            .field("delivery_limit", &self.shared.delivery_limit)
            .finish()
    }
}

impl MemoryBus {
    /// An empty bus with the default delivery limit ([`DEFAULT_DELIVERY_LIMIT`]).
    pub fn new() -> Self {
        Self::with_delivery_limit(DEFAULT_DELIVERY_LIMIT)
    }

    /// An empty bus whose queues dead-letter a message once it has been put back (requeued or
    /// dropped unsettled) more than `delivery_limit` times, like a quorum queue's
    /// `x-delivery-limit`.
    pub fn with_delivery_limit(delivery_limit: u32) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                changed: Notify::new(),
                delivery_limit,
            }),
        }
    }

    /// The gateway's side of the command queue.
    pub fn client(&self) -> MemoryClient {
        MemoryClient {
            shared: Arc::clone(&self.shared),
        }
    }

    /// A new consumer of the command queue holding at most `prefetch` unsettled deliveries
    /// at once (`0`: no limit, as in AMQP).
    pub fn consumer(&self, prefetch: usize) -> MemoryConsumer {
        MemoryConsumer {
            queue: QueueConsumer::new(&self.shared, QueueId::Commands, prefetch),
        }
    }

    /// The outbox relay's side: publishes fan-out jobs and events.
    pub fn publisher(&self) -> MemoryPublisher {
        MemoryPublisher {
            shared: Arc::clone(&self.shared),
        }
    }

    /// A new consumer of the fan-out queue holding at most `prefetch` unsettled deliveries at
    /// once (`0`: no limit).
    pub fn job_consumer(&self, prefetch: usize) -> MemoryJobConsumer {
        MemoryJobConsumer {
            queue: QueueConsumer::new(&self.shared, QueueId::Fanout, prefetch),
        }
    }

    /// Every event published from now on, as `(routing key, body)`: what a queue bound to
    /// the events exchange with `#` receives. The receiver ends once the bus is closed.
    pub fn subscribe_events(&self) -> EventReceiver {
        self.subscribe_events_matching("#")
    }

    /// The events published from now on whose routing key matches `binding_key` by AMQP
    /// topic rules (words separated by `.`; `*` stands for one word, `#` for any number), as a
    /// queue bound with `binding_key` would receive them. The receiver ends once the bus is
    /// closed.
    pub fn subscribe_events_matching(&self, binding_key: &str) -> EventReceiver {
        let (subscriber, receiver) = Subscriber::new(binding_key);
        let mut state = lock(&self.shared.state);
        // A closed bus publishes nothing more: the receiver ends at once.
        if !state.closed {
            state.subscribers.push(subscriber);
        }
        receiver
    }

    /// The dead-lettered commands, oldest first; bodies that do not decode are left out
    /// (they still count in [`MemoryBus::dead_letter_count`]).
    pub fn dead_letters(&self) -> Vec<pb::ChangeCommand> {
        lock(&self.shared.state)
            .commands
            .dead
            .iter()
            .filter_map(|body| pb::ChangeCommand::decode(body.as_slice()).ok())
            .collect()
    }

    /// How many commands were dead-lettered.
    pub fn dead_letter_count(&self) -> usize {
        lock(&self.shared.state).commands.dead_total
    }

    /// Commands ready for delivery (not counting those delivered and not yet settled).
    pub fn depth(&self) -> usize {
        lock(&self.shared.state).commands.ready.len()
    }

    /// The bodies of the dead-lettered fan-out jobs, oldest first.
    pub fn fanout_dead_letters(&self) -> Vec<Vec<u8>> {
        lock(&self.shared.state)
            .fanout
            .dead
            .iter()
            .cloned()
            .collect()
    }

    /// How many fan-out jobs were dead-lettered.
    pub fn fanout_dead_letter_count(&self) -> usize {
        lock(&self.shared.state).fanout.dead_total
    }

    /// Fan-out jobs ready for delivery (not counting those delivered and not yet settled).
    pub fn job_depth(&self) -> usize {
        lock(&self.shared.state).fanout.ready.len()
    }

    /// Puts an arbitrary body on the command queue with no one waiting for a reply, as a
    /// foreign or broken publisher could on the broker; for tests of the undecodable-message
    /// path.
    pub fn publish_raw(&self, body: Vec<u8>, headers: Headers) -> Result<(), BusError> {
        self.shared
            .enqueue(QueueId::Commands, Message::one_way(body, headers))
    }

    /// Shuts the bus down: from now on consumers' `next()` returns `Ok(None)` at once (even if
    /// messages are still queued: they are lost with the process, like any unacknowledged
    /// work in the embedded mode), new requests and publishes fail with [`BusError::Closed`]
    /// and event receivers end once drained. Deliveries already handed out can still be
    /// replied to and settled, so in-flight work finishes.
    pub fn close(&self) {
        {
            let mut state = lock(&self.shared.state);
            state.closed = true;
            state.subscribers.clear();
        }
        self.shared.changed.notify_waiters();
    }
}

impl Shared {
    fn enqueue(&self, queue: QueueId, message: Message) -> Result<(), BusError> {
        {
            let mut state = lock(&self.state);
            if state.closed {
                return Err(BusError::Closed);
            }
            state.queue(queue).ready.push_back(message);
        }
        self.changed.notify_waiters();
        Ok(())
    }

    /// Puts a delivered message back for another attempt, or dead-letters it past the limit.
    fn put_back(&self, queue: QueueId, mut message: Message) {
        message.delivery_count = message.delivery_count.saturating_add(1);
        let mut state = lock(&self.state);
        let queue = state.queue(queue);
        if message.delivery_count > self.delivery_limit {
            queue.bury(message.body);
        } else {
            // Quorum queues hand returned messages out before the rest of the queue.
            queue.ready.push_front(message);
        }
    }
}

/// The gateway's side of a [`MemoryBus`].
#[derive(Clone)]
pub struct MemoryClient {
    shared: Arc<Shared>,
}

impl fmt::Debug for MemoryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryClient").finish_non_exhaustive()
    }
}

#[async_trait]
impl CommandClient for MemoryClient {
    async fn request(
        &self,
        command: &pb::ChangeCommand,
        headers: Headers,
        timeout: Duration,
    ) -> Result<pb::CommandResult, BusError> {
        let started = std::time::Instant::now();
        let (tx, rx) = oneshot::channel();
        let queue = QueueId::Commands;
        crate::traced_publish(queue.name(), headers, async |headers| {
            self.shared.enqueue(
                queue,
                Message {
                    body: command.encode_to_vec(),
                    headers,
                    // A timeout too large for the clock means no deadline at all.
                    deadline: SystemTime::now().checked_add(timeout),
                    delivery_count: 0,
                    reply: Some(Arc::new(Mutex::new(Some(tx)))),
                },
            )
        })
        .await?;
        let queued = std::time::Instant::now();
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => {
                scim_telemetry::metrics()
                    .bus_reply_duration
                    .observe(queued.elapsed().as_secs_f64());
                Ok(result)
            }
            Ok(Err(_settled_without_reply)) => {
                // On the broker nothing tells the requester that its command was settled
                // without a reply: it waits for its deadline. Do the same, so that both modes
                // answer the client alike.
                tokio::time::sleep(timeout.saturating_sub(started.elapsed())).await;
                Err(BusError::Timeout(timeout))
            }
            Err(_) => Err(BusError::Timeout(timeout)),
        }
    }

    async fn ready(&self) -> Result<(), BusError> {
        if lock(&self.shared.state).closed {
            Err(BusError::Closed)
        } else {
            Ok(())
        }
    }
}

/// The outbox relay's side of a [`MemoryBus`]; see [`MemoryBus::publisher`].
#[derive(Clone)]
pub struct MemoryPublisher {
    shared: Arc<Shared>,
}

impl fmt::Debug for MemoryPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryPublisher").finish_non_exhaustive()
    }
}

#[async_trait]
impl Publisher for MemoryPublisher {
    async fn publish_job(&self, body: Vec<u8>, headers: Headers) -> Result<(), BusError> {
        let queue = QueueId::Fanout;
        crate::traced_publish(queue.name(), headers, async |headers| {
            self.shared.enqueue(queue, Message::one_way(body, headers))
        })
        .await
    }

    async fn publish_event(
        &self,
        routing_key: &str,
        body: Vec<u8>,
        _headers: Headers,
    ) -> Result<(), BusError> {
        // Subscribers get only the routing key and the body; the headers (trace context)
        // matter to the BlogIn application's own consumers, which only exist on the broker.
        let mut state = lock(&self.shared.state);
        if state.closed {
            return Err(BusError::Closed);
        }
        state
            .subscribers
            .retain(|subscriber| subscriber.offer(routing_key, &body));
        Ok(())
    }
}

/// A consumer of one of the queues: the waiting, prefetch and hand-out logic that commands
/// and jobs share.
struct QueueConsumer {
    shared: Arc<Shared>,
    queue: QueueId,
    prefetch: usize,
    /// Deliveries handed out by this consumer and not settled yet; each handle decrements it.
    unsettled: Arc<AtomicUsize>,
}

impl fmt::Debug for QueueConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueConsumer")
            .field("queue", &self.queue)
            .field("prefetch", &self.prefetch)
            .field("unsettled", &self.unsettled.load(Ordering::Acquire))
            .finish()
    }
}

impl QueueConsumer {
    fn new(shared: &Arc<Shared>, queue: QueueId, prefetch: usize) -> Self {
        Self {
            shared: Arc::clone(shared),
            queue,
            prefetch,
            unsettled: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The next message once one is ready and a prefetch slot is free, with the handle that
    /// settles it; `None` once the bus is closed.
    async fn next(&self) -> Option<(MessageView, MemoryHandle)> {
        loop {
            // Register interest before looking at the state, so that a change made between
            // the look and the wait still wakes us.
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut state = lock(&self.shared.state);
                if state.closed {
                    return None;
                }
                let has_slot =
                    self.prefetch == 0 || self.unsettled.load(Ordering::Acquire) < self.prefetch;
                if has_slot && let Some(message) = state.queue(self.queue).ready.pop_front() {
                    self.unsettled.fetch_add(1, Ordering::AcqRel);
                    return Some(self.hand_out(message));
                }
            }
            changed.await;
        }
    }

    fn hand_out(&self, message: Message) -> (MessageView, MemoryHandle) {
        let view = MessageView {
            body: message.body.clone(),
            headers: message.headers.clone(),
            deadline: message.deadline,
            delivery_count: message.delivery_count,
        };
        let handle = MemoryHandle {
            shared: Arc::clone(&self.shared),
            queue: self.queue,
            unsettled: Arc::clone(&self.unsettled),
            reply: message.reply.clone(),
            message: Mutex::new(Some(message)),
        };
        (view, handle)
    }
}

/// What a delivery shows of its message; the handle keeps the message itself, to put it back.
struct MessageView {
    body: Vec<u8>,
    headers: Headers,
    deadline: Option<SystemTime>,
    delivery_count: u32,
}

/// A worker's side of the command queue; see [`MemoryBus::consumer`].
#[derive(Debug)]
pub struct MemoryConsumer {
    queue: QueueConsumer,
}

#[async_trait]
impl CommandConsumer for MemoryConsumer {
    async fn next(&mut self) -> Result<Option<CommandDelivery>, BusError> {
        let Some((message, handle)) = self.queue.next().await else {
            return Ok(None);
        };
        let command = pb::ChangeCommand::decode(message.body.as_slice())
            .map_err(|e| format!("undecodable command: {e}"));
        Ok(Some(CommandDelivery {
            command,
            headers: message.headers,
            queue: QueueId::Commands.name().to_owned(),
            delivery_count: message.delivery_count,
            deadline: message.deadline,
            handle: Box::new(handle),
        }))
    }
}

/// A worker's side of the fan-out queue; see [`MemoryBus::job_consumer`].
#[derive(Debug)]
pub struct MemoryJobConsumer {
    queue: QueueConsumer,
}

#[async_trait]
impl JobConsumer for MemoryJobConsumer {
    async fn next(&mut self) -> Result<Option<JobDelivery>, BusError> {
        let Some((message, handle)) = self.queue.next().await else {
            return Ok(None);
        };
        Ok(Some(JobDelivery {
            body: message.body,
            headers: message.headers,
            queue: QueueId::Fanout.name().to_owned(),
            delivery_count: message.delivery_count,
            handle: Box::new(handle),
        }))
    }
}

/// One delivery of a [`MemoryBus`] queue; settling (or dropping) it frees the consumer's slot.
struct MemoryHandle {
    shared: Arc<Shared>,
    queue: QueueId,
    unsettled: Arc<AtomicUsize>,
    reply: Option<Arc<ReplySlot>>,
    /// The message while unsettled; `None` once settled.
    message: Mutex<Option<Message>>,
}

impl fmt::Debug for MemoryHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryHandle")
            .field("queue", &self.queue)
            .field("settled", &lock(&self.message).is_none())
            .finish_non_exhaustive()
    }
}

enum Outcome {
    Ack,
    PutBack,
    DeadLetter,
}

impl MemoryHandle {
    /// Settles once; later calls do nothing (on the broker a second settlement of one
    /// delivery tag would close the channel).
    fn settle(&self, outcome: Outcome) {
        let Some(message) = lock(&self.message).take() else {
            return;
        };
        match outcome {
            Outcome::Ack => {}
            Outcome::PutBack => self.shared.put_back(self.queue, message),
            Outcome::DeadLetter => lock(&self.shared.state)
                .queue(self.queue)
                .bury(message.body),
        }
        self.unsettled.fetch_sub(1, Ordering::AcqRel);
        self.shared.changed.notify_waiters();
    }
}

/// Also settles job deliveries, through the blanket [`crate::JobHandle`] implementation.
#[async_trait]
impl DeliveryHandle for MemoryHandle {
    async fn reply(&self, result: &pb::CommandResult) -> Result<(), BusError> {
        let sender = self.reply.as_ref().and_then(|slot| lock(slot).take());
        if let Some(sender) = sender {
            // The requester may have given up (timeout); the reply is then dropped, as a
            // direct reply-to publish to a vanished channel is.
            let _ = sender.send(result.clone());
        }
        Ok(())
    }

    async fn ack(&self) -> Result<(), BusError> {
        self.settle(Outcome::Ack);
        Ok(())
    }

    async fn requeue(&self) -> Result<(), BusError> {
        self.settle(Outcome::PutBack);
        Ok(())
    }

    async fn dead_letter(&self) -> Result<(), BusError> {
        self.settle(Outcome::DeadLetter);
        Ok(())
    }
}

impl Drop for MemoryHandle {
    fn drop(&mut self) {
        // An unsettled delivery whose worker went away: deliver it again, like the broker
        // does when the consumer's channel closes.
        self.settle(Outcome::PutBack);
    }
}
