//! One delivery, start to finish: apply through the store, reply, settle (see the crate docs
//! for the rules and their order). Never cancelled halfway: the run loop awaits it even
//! during shutdown, so an applied command is always acked or redelivered, never forgotten.

use crate::run::Worker;
use scim::ScimError;
use scim_bus::{CommandDelivery, Headers};
use scim_wire::pb;
use scim_wire::status::{is_transient, scim_error};
use std::time::{Duration, SystemTime};
use tonic::metadata::MetadataValue;

/// What became of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// The store answered (applied, or refused with a SCIM error); replied and acked.
    Answered,
    /// Past its deadline: acked without being applied.
    Expired,
    /// Failed transiently; given back for another delivery.
    Requeued,
    /// Given up on: logged, answered with an error, moved to the dead-letter queue.
    DeadLettered,
}

/// Why applying did not produce an answer.
enum Failure {
    /// The store or its database is unreachable; another delivery may succeed.
    Transient(String),
    /// Retrying cannot help (a malformed command, a store bug).
    Permanent(String),
}

/// Headers that are forwarded to the store as gRPC metadata (trace context only).
const FORWARDED: [&str; 2] = ["traceparent", "tracestate"];

impl Worker {
    /// Applies, replies and settles one delivery.
    pub async fn handle(&self, delivery: CommandDelivery) -> Handled {
        let command = match &delivery.command {
            Ok(c) => c.clone(),
            Err(reason) => {
                tracing::error!(%reason, "undecodable command: dead-lettered");
                settle("dead-letter", delivery.dead_letter().await);
                return Handled::DeadLettered;
            }
        };
        if delivery.expired() {
            tracing::warn!(command_id = %command.command_id, "command past its deadline: not applied");
            settle("ack", delivery.ack().await);
            return Handled::Expired;
        }
        match self.apply(&command, &delivery).await {
            Ok(result) => {
                settle("reply", delivery.reply(&result).await);
                settle("ack", delivery.ack().await);
                Handled::Answered
            }
            Err(Failure::Transient(reason))
                if delivery.delivery_count + 1 < self.config.max_deliveries =>
            {
                tracing::warn!(command_id = %command.command_id, %reason, delivery = delivery.delivery_count, "store unavailable: command requeued");
                settle("requeue", delivery.requeue().await);
                Handled::Requeued
            }
            Err(failure) => {
                let (error, reason) = match failure {
                    Failure::Transient(r) => (
                        ScimError::status_only(
                            503,
                            "the directory is unavailable; the change was not applied",
                        ),
                        r,
                    ),
                    Failure::Permanent(r) => (
                        ScimError::status_only(500, "the change could not be applied"),
                        r,
                    ),
                };
                tracing::error!(command_id = %command.command_id, %reason, "command dead-lettered");
                self.record_failure(&command, &error, &delivery.headers)
                    .await;
                let result = pb::CommandResult {
                    command_id: command.command_id.clone(),
                    outcome: Some(pb::command_result::Outcome::Error(pb::ScimError::from(
                        &error,
                    ))),
                    changed: false,
                };
                settle("reply", delivery.reply(&result).await);
                settle("dead-letter", delivery.dead_letter().await);
                Handled::DeadLettered
            }
        }
    }

    /// Calls `ApplyChange`, retrying transient failures with backoff while the client waits.
    async fn apply(
        &self,
        command: &pb::ChangeCommand,
        delivery: &CommandDelivery,
    ) -> Result<pb::CommandResult, Failure> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = with_metadata(command.clone(), &delivery.headers);
            // Bounded by the client's deadline: a write that commits after the client was
            // answered 503 is one it will repeat (and then get a 409 for).
            request.set_timeout(time_left(delivery));
            let status = match self.store.clone().apply_change(request).await {
                Ok(answer) => return Ok(answer.into_inner()),
                Err(status) => status,
            };
            if let Some(refusal) = scim_error(&status) {
                return Ok(pb::CommandResult {
                    command_id: command.command_id.clone(),
                    outcome: Some(pb::command_result::Outcome::Error(pb::ScimError::from(
                        &refusal,
                    ))),
                    changed: false,
                });
            }
            if !is_transient(&status) {
                return Err(Failure::Permanent(format!(
                    "{:?}: {}",
                    status.code(),
                    status.message()
                )));
            }
            if attempt >= self.config.attempts_per_delivery || delivery.expired() {
                return Err(Failure::Transient(format!(
                    "{:?}: {}",
                    status.code(),
                    status.message()
                )));
            }
            tokio::time::sleep(self.config.backoff(attempt)).await;
        }
    }

    /// Writes the failure to the provisioning log (best effort: the store may be the problem).
    async fn record_failure(
        &self,
        command: &pb::ChangeCommand,
        error: &ScimError,
        headers: &Headers,
    ) {
        let mut request = with_metadata(
            pb::RecordFailureRequest {
                command: Some(command.clone()),
                error: Some(pb::ScimError::from(error)),
            },
            headers,
        );
        request.set_timeout(STORE_CALL_CAP);
        if let Err(status) = self.store.clone().record_failure(request).await {
            tracing::error!(command_id = %command.command_id, code = ?status.code(), "could not record the failure in the provisioning log");
        }
    }
}

/// The longest a store call may take when the command carries no deadline.
const STORE_CALL_CAP: Duration = Duration::from_secs(30);

/// Time until the delivery's deadline (at least a millisecond), capped at [`STORE_CALL_CAP`].
fn time_left(delivery: &CommandDelivery) -> Duration {
    delivery
        .deadline
        .map(|d| {
            d.duration_since(SystemTime::now())
                .unwrap_or_default()
                .max(Duration::from_millis(1))
        })
        .unwrap_or(STORE_CALL_CAP)
        .min(STORE_CALL_CAP)
}

/// A gRPC request carrying the trace context of the delivery.
fn with_metadata<T>(message: T, headers: &Headers) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for name in FORWARDED {
        if let Some(value) = headers
            .get(name)
            .and_then(|v| MetadataValue::try_from(v.as_str()).ok())
        {
            request.metadata_mut().insert(name, value);
        }
    }
    request
}

/// Logs a failed settle: the broker will redeliver an unsettled message, so this is not fatal.
fn settle(what: &str, result: Result<(), scim_bus::BusError>) {
    if let Err(e) = result {
        tracing::warn!(error.message = %e, "could not {what} a delivery; it will be redelivered");
    }
}
