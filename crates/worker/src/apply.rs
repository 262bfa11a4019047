//! One delivery, start to finish: apply through the store, reply, settle (see the crate docs
//! for the rules and their order). Never cancelled halfway: the run loop awaits it even
//! during shutdown, so an applied command is always acked or redelivered, never forgotten.

use crate::batcher::time_left;
use crate::run::Worker;
use crate::{consume_span, uuid_or_none};
use scim::ScimError;
use scim_bus::{CommandDelivery, Headers};
use scim_wire::pb;
use scim_wire::status::{is_transient, scim_error};
use std::time::Instant;
use tonic::metadata::MetadataValue;
use tracing::Instrument as _;

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

impl Handled {
    /// The `outcome` label and span attribute.
    pub fn name(self) -> &'static str {
        match self {
            Handled::Answered => "answered",
            Handled::Expired => "expired",
            Handled::Requeued => "requeued",
            Handled::DeadLettered => "dead_lettered",
        }
    }
}

/// Why applying did not produce an answer.
enum Failure {
    /// The store or its database is unreachable; another delivery may succeed.
    Transient(String),
    /// Retrying cannot help (a malformed command, a store bug).
    Permanent(String),
}

/// Headers that are forwarded to the store as gRPC metadata (trace context only) when there
/// is no span of ours to inject instead.
const FORWARDED: [&str; 2] = ["traceparent", "tracestate"];

impl Worker {
    /// Applies, replies and settles one delivery, in its `amqp.consume` span (tenant id,
    /// resource type and id, command id, outcome; never the body).
    pub async fn handle(&self, delivery: CommandDelivery) -> Handled {
        let span = consume_span(&delivery.queue, &delivery.headers);
        span.record("delivery_count", delivery.delivery_count);
        if let Ok(c) = &delivery.command {
            span.record("tenant_id", c.tenant_id.as_str());
            span.record("command_id", c.command_id.as_str());
            if let Ok(kind) = scim_wire::convert::kind_from_pb(c.kind) {
                span.record("resource_type", kind.name());
            }
            if let Some(id) = target_id(c).and_then(uuid_or_none) {
                span.record("resource_id", id);
            }
        }
        let handled = self
            .settle_delivery(delivery)
            .instrument(span.clone())
            .await;
        span.record("outcome", handled.name());
        if handled == Handled::DeadLettered {
            span.record("otel.status_code", "ERROR");
        }
        let metrics = scim_telemetry::metrics();
        scim_telemetry::Metrics::count(&metrics.commands_applied, "outcome", handled.name());
        handled
    }

    async fn settle_delivery(&self, delivery: CommandDelivery) -> Handled {
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
        let started = Instant::now();
        let applied = self.apply(&command, &delivery).await;
        scim_telemetry::metrics()
            .command_apply_duration
            .observe(started.elapsed().as_secs_f64());
        match applied {
            Ok(result) => {
                if let Some(pb::command_result::Outcome::Resource(res)) = &result.outcome {
                    tracing::Span::current().record("resource_id", res.id.as_str());
                }
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
            // answered 503 is one it will repeat (and then get a 409 for). The batcher bounds
            // its calls by the deadline when it sends them.
            let answer = match &self.batcher {
                Some(batcher) => batcher.apply(request, delivery.deadline).await,
                None => {
                    request.set_timeout(time_left(delivery.deadline));
                    self.store
                        .clone()
                        .apply_change(request)
                        .await
                        .map(tonic::Response::into_inner)
                }
            };
            let status = match answer {
                Ok(answer) => return Ok(answer),
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
        request.set_timeout(time_left(None));
        if let Err(status) = self.store.clone().record_failure(request).await {
            tracing::error!(command_id = %command.command_id, code = ?status.code(), "could not record the failure in the provisioning log");
        }
    }
}

/// A gRPC request carrying the trace context: the current (consume) span's, so the store's
/// span is its child; without an OpenTelemetry layer, the delivery's as received.
fn with_metadata<T>(message: T, headers: &Headers) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    // Validated again here: a message on the queue is not trusted to carry sane values.
    let values = scim_telemetry::w3c::validated(
        headers.get(FORWARDED[0]).map(String::as_str),
        headers.get(FORWARDED[1]).map(String::as_str),
    );
    for (name, value) in FORWARDED.into_iter().zip(values) {
        if let Some(value) = value.and_then(|v| MetadataValue::try_from(v.as_str()).ok()) {
            request.metadata_mut().insert(name, value);
        }
    }
    scim_telemetry::inject(request.metadata_mut());
    request
}

/// The id a replace, patch or delete is about (a create's is known only from its result).
fn target_id(command: &pb::ChangeCommand) -> Option<&str> {
    use pb::change_command::Change;
    match command.change.as_ref()? {
        Change::Create(_) => None,
        Change::Replace(c) => Some(&c.id),
        Change::Patch(c) => Some(&c.id),
        Change::Delete(c) => Some(&c.id),
    }
}

/// Logs a failed settle: the broker will redeliver an unsettled message, so this is not fatal.
fn settle(what: &str, result: Result<(), scim_bus::BusError>) {
    if let Err(e) = result {
        tracing::warn!(error.message = %e, "could not {what} a delivery; it will be redelivered");
    }
}
