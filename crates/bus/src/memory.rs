//! The in-process command transport, for the embedded `serve` mode and for tests.
//!
//! It behaves like the RabbitMQ transport ([`crate::amqp`]) as seen through the traits, so
//! that the worker and gateway run the same code in both modes:
//! - one queue shared by any number of consumers, each command delivered to exactly one;
//! - a delivery dropped without being settled is put back at the head of the queue with
//!   `delivery_count + 1`, as a quorum queue does when a consumer's channel closes;
//!   [`CommandDelivery::requeue`] does the same;
//! - a command put back more than `delivery_limit` times is dead-lettered (quorum queues'
//!   `x-delivery-limit`);
//! - `prefetch` bounds the unsettled deliveries per consumer;
//! - the reply reaches the waiting request even when it comes from a later delivery of the
//!   same command; a request that gets no reply waits out its whole timeout, as it would on
//!   the broker.
//!
//! Commands are stored encoded (protobuf), like on the broker, so the embedded mode exercises
//! the same encoding and an undecodable body ([`MemoryBus::publish_raw`]) reaches the worker
//! as `command: Err(..)`.
//!
//! Nothing here is durable: the queue lives and dies with the process.

use crate::{BusError, CommandClient, CommandConsumer, CommandDelivery, DeliveryHandle, Headers};
use async_trait::async_trait;
use prost::Message as _;
use scim_wire::pb;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};
use tokio::sync::{Notify, oneshot};

/// The delivery limit [`MemoryBus::new`] uses, the same as `AmqpConfig`'s default.
pub const DEFAULT_DELIVERY_LIMIT: u32 = 10;

/// An in-process command queue. Cloning gives another handle to the same queue.
#[derive(Clone)]
pub struct MemoryBus {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled (to every waiter) whenever a consumer might be able to make progress: a
    /// message became ready, a delivery was settled (freeing a prefetch slot) or the bus was
    /// closed. Waiters re-check the state, so spurious wake-ups are harmless.
    changed: Notify,
    delivery_limit: u32,
}

#[derive(Default)]
struct State {
    ready: VecDeque<Message>,
    dead: Vec<Vec<u8>>,
    closed: bool,
}

/// Where the reply to one request goes. Shared by every delivery of the command, so a
/// redelivery can still answer; taken by the first reply.
type ReplySlot = Mutex<Option<oneshot::Sender<pb::CommandResult>>>;

struct Message {
    body: Vec<u8>,
    headers: Headers,
    deadline: Option<SystemTime>,
    delivery_count: u32,
    reply: Option<Arc<ReplySlot>>,
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
            .field("ready", &state.ready.len())
            .field("dead", &state.dead.len())
            .field("closed", &state.closed)
            .field("delivery_limit", &self.shared.delivery_limit)
            .finish()
    }
}

impl MemoryBus {
    /// An empty queue with the default delivery limit ([`DEFAULT_DELIVERY_LIMIT`]).
    pub fn new() -> Self {
        Self::with_delivery_limit(DEFAULT_DELIVERY_LIMIT)
    }

    /// An empty queue that dead-letters a command once it has been put back (requeued or
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

    /// The gateway's side of this queue.
    pub fn client(&self) -> MemoryClient {
        MemoryClient {
            shared: Arc::clone(&self.shared),
        }
    }

    /// A new consumer of this queue holding at most `prefetch` unsettled deliveries at once
    /// (`0`: no limit, as in AMQP).
    pub fn consumer(&self, prefetch: usize) -> MemoryConsumer {
        MemoryConsumer {
            shared: Arc::clone(&self.shared),
            prefetch,
            unsettled: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The dead-lettered commands, oldest first; bodies that do not decode are left out
    /// (they still count in [`MemoryBus::dead_letter_count`]).
    pub fn dead_letters(&self) -> Vec<pb::ChangeCommand> {
        lock(&self.shared.state)
            .dead
            .iter()
            .filter_map(|body| pb::ChangeCommand::decode(body.as_slice()).ok())
            .collect()
    }

    /// How many messages were dead-lettered.
    pub fn dead_letter_count(&self) -> usize {
        lock(&self.shared.state).dead.len()
    }

    /// Messages ready for delivery (not counting those delivered and not yet settled).
    pub fn depth(&self) -> usize {
        lock(&self.shared.state).ready.len()
    }

    /// Puts an arbitrary body on the queue with no one waiting for a reply, as a foreign or
    /// broken publisher could on the broker; for tests of the undecodable-message path.
    pub fn publish_raw(&self, body: Vec<u8>, headers: Headers) -> Result<(), BusError> {
        self.shared.enqueue(Message {
            body,
            headers,
            deadline: None,
            delivery_count: 0,
            reply: None,
        })
    }

    /// Shuts the bus down: from now on consumers' [`CommandConsumer::next`] returns
    /// `Ok(None)` at once (even if messages are still queued: they are lost with the process,
    /// like any unacknowledged work in the embedded mode) and new requests fail with
    /// [`BusError::Closed`]. Deliveries already handed out can still be replied to and
    /// settled, so in-flight commands finish.
    pub fn close(&self) {
        lock(&self.shared.state).closed = true;
        self.shared.changed.notify_waiters();
    }
}

impl Shared {
    fn enqueue(&self, message: Message) -> Result<(), BusError> {
        {
            let mut state = lock(&self.state);
            if state.closed {
                return Err(BusError::Closed);
            }
            state.ready.push_back(message);
        }
        self.changed.notify_waiters();
        Ok(())
    }

    /// Puts a delivered message back for another attempt, or dead-letters it past the limit.
    fn put_back(&self, mut message: Message) {
        message.delivery_count = message.delivery_count.saturating_add(1);
        let mut state = lock(&self.state);
        if message.delivery_count > self.delivery_limit {
            state.dead.push(message.body);
        } else {
            // Quorum queues hand returned messages out before the rest of the queue.
            state.ready.push_front(message);
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
        self.shared.enqueue(Message {
            body: command.encode_to_vec(),
            headers,
            // A timeout too large for the clock means no deadline at all.
            deadline: SystemTime::now().checked_add(timeout),
            delivery_count: 0,
            reply: Some(Arc::new(Mutex::new(Some(tx)))),
        })?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => Ok(result),
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

/// A worker's side of a [`MemoryBus`]; see [`MemoryBus::consumer`].
pub struct MemoryConsumer {
    shared: Arc<Shared>,
    prefetch: usize,
    /// Deliveries handed out by this consumer and not settled yet; each handle decrements it.
    unsettled: Arc<AtomicUsize>,
}

impl fmt::Debug for MemoryConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryConsumer")
            .field("prefetch", &self.prefetch)
            .field("unsettled", &self.unsettled.load(Ordering::Acquire))
            .finish()
    }
}

#[async_trait]
impl CommandConsumer for MemoryConsumer {
    async fn next(&mut self) -> Result<Option<CommandDelivery>, BusError> {
        loop {
            // Register interest before looking at the state, so that a change made between
            // the look and the wait still wakes us.
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut state = lock(&self.shared.state);
                if state.closed {
                    return Ok(None);
                }
                let has_slot =
                    self.prefetch == 0 || self.unsettled.load(Ordering::Acquire) < self.prefetch;
                if has_slot && let Some(message) = state.ready.pop_front() {
                    self.unsettled.fetch_add(1, Ordering::AcqRel);
                    return Ok(Some(self.deliver(message)));
                }
            }
            changed.await;
        }
    }
}

impl MemoryConsumer {
    fn deliver(&self, message: Message) -> CommandDelivery {
        let command = pb::ChangeCommand::decode(message.body.as_slice())
            .map_err(|e| format!("undecodable command: {e}"));
        CommandDelivery {
            command,
            headers: message.headers.clone(),
            delivery_count: message.delivery_count,
            deadline: message.deadline,
            handle: Box::new(MemoryHandle {
                shared: Arc::clone(&self.shared),
                unsettled: Arc::clone(&self.unsettled),
                reply: message.reply.clone(),
                message: Mutex::new(Some(message)),
            }),
        }
    }
}

/// One delivery of a [`MemoryBus`]; settling (or dropping) it frees the consumer's slot.
struct MemoryHandle {
    shared: Arc<Shared>,
    unsettled: Arc<AtomicUsize>,
    reply: Option<Arc<ReplySlot>>,
    /// The message while unsettled; `None` once settled.
    message: Mutex<Option<Message>>,
}

impl fmt::Debug for MemoryHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryHandle")
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
            Outcome::PutBack => self.shared.put_back(message),
            Outcome::DeadLetter => lock(&self.shared.state).dead.push(message.body),
        }
        self.unsettled.fetch_sub(1, Ordering::AcqRel);
        self.shared.changed.notify_waiters();
    }
}

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
