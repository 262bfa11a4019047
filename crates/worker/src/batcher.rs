//! Group commit, the worker's side: the deliveries being handled at once hand their commands
//! to one [`Batcher`], which sends what is ready to the store as one `ApplyBatch` (one
//! transaction, one savepoint per command) and gives each handler its own answer.
//!
//! No timer: a batch is whatever queued while the previous batches were being applied. With
//! [`BATCHES_IN_FLIGHT`] batches at the store, a lone command goes out at once (no added
//! latency when idle) and under load the batches grow by themselves, up to the configured
//! size. A batch of one is an ordinary `ApplyChange`. Every delivery keeps its own retries,
//! reply and settlement (`apply.rs`): to a handler a batch is just how its call was carried.

use scim_wire::pb;
use scim_wire::pb::directory_service_client::DirectoryServiceClient;
use scim_wire::role_auth::StoreChannel;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tonic::{Code, Request, Status};

/// Batches at the store at once per worker: one being applied while the next fills (more
/// would only queue on the database's write lock or contend for the same rows).
const BATCHES_IN_FLIGHT: usize = 2;

/// The longest any store call may take.
const STORE_CALL_CAP: Duration = Duration::from_secs(30);

/// One command waiting for a batch.
struct Pending {
    /// The `ApplyChange` request it would be alone (trace context in its metadata).
    request: Request<pb::ChangeCommand>,
    /// When its client stops waiting.
    deadline: Option<SystemTime>,
    answer: oneshot::Sender<Result<pb::CommandResult, Status>>,
}

/// Hands commands to the store in batches of up to `max` (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Batcher {
    queue: mpsc::UnboundedSender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl Batcher {
    /// Starts the batching task (it ends when the last clone of the batcher is dropped).
    pub(crate) fn spawn(store: DirectoryServiceClient<StoreChannel>, max: usize) -> Batcher {
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(run(store, max.max(1), pending));
        Batcher { queue }
    }

    /// Applies the command of `request` (as `ApplyChange` would) in the next batch.
    pub(crate) async fn apply(
        &self,
        request: Request<pb::ChangeCommand>,
        deadline: Option<SystemTime>,
    ) -> Result<pb::CommandResult, Status> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Pending {
                request,
                deadline,
                answer,
            })
            .map_err(|_| Status::unavailable("the worker is stopping"))?;
        answered
            .await
            .unwrap_or_else(|_| Err(Status::unavailable("the batch was abandoned")))
    }
}

async fn run(
    store: DirectoryServiceClient<StoreChannel>,
    max: usize,
    mut pending: mpsc::UnboundedReceiver<Pending>,
) {
    let slots = Arc::new(Semaphore::new(BATCHES_IN_FLIGHT));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = pending.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < max {
            match pending.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let store = store.clone();
        tokio::spawn(async move {
            send(store, batch).await;
            drop(slot);
        });
    }
}

/// Sends one batch and hands every command its answer.
async fn send(mut store: DirectoryServiceClient<StoreChannel>, mut batch: Vec<Pending>) {
    if batch.len() == 1 {
        let Some(only) = batch.pop() else { return };
        alone(&mut store, only).await;
        return;
    }
    let timeout = batch
        .iter()
        .map(|p| time_left(p.deadline))
        .max()
        .unwrap_or(STORE_CALL_CAP);
    // The batch's span continues the first command's trace; each command's own trace id goes
    // with it (its provisioning-log row keeps it).
    let metadata = batch[0].request.metadata().clone();
    let commands = batch
        .iter()
        .map(|p| pb::BatchedCommand {
            command: Some(p.request.get_ref().clone()),
            traceparent: p
                .request
                .metadata()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            deadline: p
                .deadline
                .map(|d| scim_wire::convert::timestamp_to_pb(d.into())),
        })
        .collect();
    let mut request = Request::new(pb::ApplyBatchRequest { commands });
    *request.metadata_mut() = metadata;
    request.set_timeout(timeout);
    match store.apply_batch(request).await {
        Ok(response) => {
            let mut answers = response.into_inner().answers.into_iter();
            for p in batch {
                let answer = match answers.next().and_then(|a| a.answer) {
                    Some(pb::batch_answer::Answer::Result(result)) => Ok(result),
                    Some(pb::batch_answer::Answer::Failure(f)) => {
                        Err(Status::new(Code::from_i32(f.code), f.message))
                    }
                    None => Err(Status::internal(
                        "the store answered fewer commands than sent",
                    )),
                };
                let _ = p.answer.send(answer);
            }
        }
        // A store without ApplyBatch (a rolling upgrade that reached the workers first):
        // each command as ApplyChange.
        Err(status) if status.code() == Code::Unimplemented => {
            for p in batch {
                alone(&mut store, p).await;
            }
        }
        Err(status) => {
            for p in batch {
                let _ = p.answer.send(Err(status.clone()));
            }
        }
    }
}

/// One command as `ApplyChange`, its timeout recomputed now: it may have waited behind other
/// batches since it was queued, and one whose client has stopped waiting is not sent.
async fn alone(store: &mut DirectoryServiceClient<StoreChannel>, mut p: Pending) {
    if p.deadline.is_some_and(|d| SystemTime::now() >= d) {
        let _ = p.answer.send(Err(Status::deadline_exceeded(
            "the command's deadline passed before it was sent",
        )));
        return;
    }
    p.request.set_timeout(time_left(p.deadline));
    let answer = store
        .apply_change(p.request)
        .await
        .map(tonic::Response::into_inner);
    let _ = p.answer.send(answer);
}

/// Time until `deadline` (at least a millisecond), capped at [`STORE_CALL_CAP`].
pub(crate) fn time_left(deadline: Option<SystemTime>) -> Duration {
    deadline
        .map(|d| {
            d.duration_since(SystemTime::now())
                .unwrap_or_default()
                .max(Duration::from_millis(1))
        })
        .unwrap_or(STORE_CALL_CAP)
        .min(STORE_CALL_CAP)
}
