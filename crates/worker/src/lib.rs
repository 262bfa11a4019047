//! The worker: takes change commands off the bus, applies them through the directory store's
//! gRPC — the commands in flight together as one `ApplyBatch` (group commit: one transaction,
//! a savepoint per command; see `batcher.rs`), a lone one as `ApplyChange` — replies to the
//! waiting gateway, and settles each delivery.
//!
//! Delivery rules (DESIGN §6), in the order they are applied to one delivery
//! ([`Worker::handle`]):
//! 1. An undecodable message can never succeed: it is dead-lettered at once.
//! 2. A command past its deadline is acked without being applied: its client was already
//!    answered `503` and will retry, so applying it now would be a write nobody asked for.
//! 3. The command is applied; transient store failures (store or database unreachable) are
//!    retried in place with exponential backoff, as long as the client is still waiting.
//! 4. The store's answer (the resource, or a SCIM refusal such as `409`) is replied and only
//!    then acked: the store has committed, so a crash before the ack means a redelivery,
//!    which the command id turns into a no-op returning the first answer.
//! 5. Still failing: the delivery is requeued for another attempt (possibly on another
//!    worker); on its last allowed delivery — or at once for a failure that retrying cannot
//!    fix — it is recorded in the provisioning log and dead-lettered, and the client gets the
//!    error.
//!
//! The same process also runs the membership fan-out: [`Relay`] moves the store's outbox to
//! the bus (jobs to `{prefix}.fanout`, events to `blogin.events`) and [`FanoutWorker`] runs
//! the jobs through the store.
//!
//! Telemetry: each delivery runs in an `amqp.consume {queue}` span, the child of the trace
//! context in its headers, and every store call carries that span's context in its gRPC
//! metadata; [`report_gauges`] keeps the fan-out lag and queue depth gauges current.
//!
//! Fairness between tenants is decided before the queue (the gateway's per-tenant in-flight
//! cap); here, `concurrency` bounds how many commands one worker holds at once, and
//! `batch_size` how many of them go to the store in one transaction.

mod apply;
mod batcher;
mod config;
mod fanout;
mod gauges;
mod relay;
mod run;

pub use apply::Handled;
pub use config::{MAX_BATCH, WorkerConfig};
pub use fanout::{FanoutWorker, JobHandled};
pub use gauges::report_gauges;
pub use relay::{Relay, RelayOutcome};
pub use run::{Worker, keep_consuming};

/// The span of handling one delivery from `queue`: `amqp.consume {queue}`, made the child of
/// the trace context in `headers` (the publisher's span).
pub(crate) fn consume_span(queue: &str, headers: &scim_bus::Headers) -> tracing::Span {
    let span = tracing::info_span!(
        "amqp.consume",
        otel.name = %format_args!("amqp.consume {queue}"),
        otel.kind = "consumer",
        otel.status_code = tracing::field::Empty,
        messaging.system = "rabbitmq",
        messaging.destination.name = %queue,
        tenant_id = tracing::field::Empty,
        resource_type = tracing::field::Empty,
        resource_id = tracing::field::Empty,
        command_id = tracing::field::Empty,
        delivery_count = tracing::field::Empty,
        outcome = tracing::field::Empty,
    );
    scim_telemetry::set_remote_parent(&span, headers);
    span
}

/// A store request carrying the current span's trace context, so that the store's span is
/// its child.
pub(crate) fn traced<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    scim_telemetry::inject(request.metadata_mut());
    request
}

/// `id` when it is a UUID (resource ids are; anything else came from a client's URL and
/// is not recorded).
pub(crate) fn uuid_or_none(id: &str) -> Option<&str> {
    uuid::Uuid::parse_str(id).is_ok().then_some(id)
}
