//! Telemetry of every BlogIn SCIM role, in one crate (CONVENTIONS 14, DESIGN §9): traces, logs
//! and metrics are set up here and nowhere else.
//!
//! It must not depend on the other workspace crates (bus, gateway, store): it works on
//! generic carriers (`http::HeaderMap`, tonic `MetadataMap`, any string map), so that every
//! crate can use it and none is pulled in by it.
//!
//! # Layout
//! - [`init`] and [`TelemetrySettings`] (`subscriber`): the global `tracing` subscriber —
//!   `EnvFilter`-filtered text or JSON lines on stderr (JSON lines carry `trace_id` and
//!   `span_id` while tracing is on), the OpenTelemetry layer with OTLP/gRPC export (only when
//!   an endpoint is set), and the W3C trace-context propagator. [`Guard`] flushes the
//!   exporter when dropped.
//! - `json`: the JSON event format with the OpenTelemetry ids.
//! - [`inject`], [`inject_span`], [`extract`], [`set_remote_parent`] (`propagation`):
//!   `traceparent`/`tracestate` in and out of HTTP headers, AMQP message headers and gRPC
//!   metadata.
//! - [`w3c`]: validation of `traceparent`/`tracestate` from outside, so that nothing but a
//!   well-formed, bounded value is ever forwarded.
//! - [`Metrics`] and [`metrics`] (`metrics`): the Prometheus registry every role serves on
//!   `/metrics`.
//!
//! # What is never recorded
//! Spans carry only explicit, safe attributes: operation names, tenant slug or id, resource
//! type and id (UUIDs), command ids, outcomes and status codes. Never tokens, request or
//! response bodies, user names, e-mails or other personal data (DESIGN §8). Log *events* are
//! not exported as span events at all, because error messages can quote stored values.

mod json;
mod metrics;
mod propagation;
mod subscriber;
pub mod w3c;

pub use metrics::{CONTENT_TYPE, Metrics, metrics};
pub use propagation::{
    Carrier, current_trace_id, extract, inject, inject_span, set_remote_parent, trace_id_of,
};
pub use subscriber::{Guard, TelemetrySettings, init, init_with_level};
