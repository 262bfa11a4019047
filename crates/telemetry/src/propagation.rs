//! W3C trace context (`traceparent`, `tracestate`) in and out of the three carriers a request
//! crosses: HTTP headers (client → gateway), AMQP message headers (gateway → worker, relay →
//! fan-out consumer) and gRPC metadata (gateway/worker → store).
//!
//! The format is fixed to W3C Trace Context (not taken from the global propagator): every
//! hop must agree on it, and a test without [`crate::init`] still propagates.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::collections::{BTreeMap, HashMap};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Something trace context can be written into and read from.
pub trait Carrier {
    /// Sets `key` (lowercase) to `value`; values that the carrier cannot hold are skipped.
    fn set(&mut self, key: &str, value: String);
    /// The value of `key` as text, if present and text.
    fn get(&self, key: &str) -> Option<&str>;
    /// Every key present.
    fn keys(&self) -> Vec<&str>;
}

impl Carrier for http::HeaderMap {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.insert(name, value);
        }
    }
    fn get(&self, key: &str) -> Option<&str> {
        http::HeaderMap::get(self, key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        http::HeaderMap::keys(self)
            .map(http::HeaderName::as_str)
            .collect()
    }
}

impl Carrier for tonic::metadata::MetadataMap {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            value.parse(),
        ) {
            self.insert(key, value);
        }
    }
    fn get(&self, key: &str) -> Option<&str> {
        tonic::metadata::MetadataMap::get(self, key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        tonic::metadata::MetadataMap::keys(self)
            .filter_map(|k| match k {
                tonic::metadata::KeyRef::Ascii(k) => Some(k.as_str()),
                tonic::metadata::KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

impl Carrier for BTreeMap<String, String> {
    fn set(&mut self, key: &str, value: String) {
        self.insert(key.to_owned(), value);
    }
    fn get(&self, key: &str) -> Option<&str> {
        BTreeMap::get(self, key).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        BTreeMap::keys(self).map(String::as_str).collect()
    }
}

impl<S: std::hash::BuildHasher> Carrier for HashMap<String, String, S> {
    fn set(&mut self, key: &str, value: String) {
        self.insert(key.to_owned(), value);
    }
    fn get(&self, key: &str) -> Option<&str> {
        HashMap::get(self, key).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        HashMap::keys(self).map(String::as_str).collect()
    }
}

/// Adapts a [`Carrier`] to the propagator's injector/extractor traits.
struct Adapter<'a, C: ?Sized>(&'a mut C);
struct ReadAdapter<'a, C: ?Sized>(&'a C);

impl<C: Carrier + ?Sized> Injector for Adapter<'_, C> {
    fn set(&mut self, key: &str, value: String) {
        self.0.set(key, value);
    }
}

impl<C: Carrier + ?Sized> Extractor for ReadAdapter<'_, C> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys()
    }
}

/// Writes `cx`'s span context into `carrier`; nothing when it has no valid span (no
/// OpenTelemetry layer, or no span), so a carrier's earlier values are then left alone.
fn inject_context(cx: &Context, carrier: &mut (impl Carrier + ?Sized)) {
    if cx.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(cx, &mut Adapter(carrier));
    }
}

/// Writes the current `tracing` span's trace context into `carrier` (replacing any
/// `traceparent`/`tracestate` there). Without a current span it leaves `carrier` unchanged.
pub fn inject(carrier: &mut (impl Carrier + ?Sized)) {
    inject_span(&tracing::Span::current(), carrier);
}

/// Writes `span`'s trace context into `carrier`, as [`inject`] does for the current span.
pub fn inject_span(span: &tracing::Span, carrier: &mut (impl Carrier + ?Sized)) {
    inject_context(&span.context(), carrier);
}

/// The remote trace context `carrier` holds (an empty context when it holds none or an
/// invalid one). Only validated values are read (see [`crate::w3c`]): an over-long or
/// malformed header never becomes a context that would then be injected further.
pub fn extract(carrier: &(impl Carrier + ?Sized)) -> Context {
    let [traceparent, tracestate] =
        crate::w3c::validated(carrier.get("traceparent"), carrier.get("tracestate"));
    let mut clean = BTreeMap::new();
    if let Some(tp) = traceparent {
        clean.insert("traceparent".to_owned(), tp);
    }
    if let Some(ts) = tracestate {
        clean.insert("tracestate".to_owned(), ts);
    }
    TraceContextPropagator::new().extract(&ReadAdapter(&clean))
}

/// Makes the trace context in `carrier`, if any, the parent of `span`. Must be called before
/// `span` is first entered (tracing-opentelemetry fixes the parent then); returns whether a
/// parent was set.
pub fn set_remote_parent(span: &tracing::Span, carrier: &(impl Carrier + ?Sized)) -> bool {
    let cx = extract(carrier);
    if !cx.span().span_context().is_valid() {
        return false;
    }
    // Err only when the OpenTelemetry layer is absent or filters the span out; then there is
    // nothing to parent.
    span.set_parent(cx).is_ok()
}

/// The trace id (32 hex digits) of `span`, when it has one.
pub fn trace_id_of(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// The trace id of the current `tracing` span, when it has one.
pub fn current_trace_id() -> Option<String> {
    trace_id_of(&tracing::Span::current())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_traceparent_survives_every_carrier() {
        let mut source = BTreeMap::new();
        source.insert("traceparent".to_owned(), TP.to_owned());
        let cx = extract(&source);
        assert!(cx.span().span_context().is_valid());
        assert!(cx.span().span_context().is_remote());

        let mut headers = http::HeaderMap::new();
        inject_context(&cx, &mut headers);
        assert_eq!(Carrier::get(&headers, "traceparent"), Some(TP));

        let mut metadata = tonic::metadata::MetadataMap::new();
        inject_context(&extract(&headers), &mut metadata);
        assert_eq!(Carrier::get(&metadata, "traceparent"), Some(TP));

        let mut map: HashMap<String, String> = HashMap::new();
        inject_context(&extract(&metadata), &mut map);
        assert_eq!(map.get("traceparent").map(String::as_str), Some(TP));
    }

    #[test]
    fn garbage_is_no_context_and_nothing_is_injected_without_a_span() {
        let mut source = BTreeMap::new();
        source.insert("traceparent".to_owned(), "00-zz-yy-01".to_owned());
        assert!(!extract(&source).span().span_context().is_valid());

        // No subscriber here: the current span has no OpenTelemetry context, and the
        // carrier's own values stay as they were.
        let mut carrier = BTreeMap::new();
        carrier.insert("traceparent".to_owned(), TP.to_owned());
        inject(&mut carrier);
        assert_eq!(carrier.get("traceparent").map(String::as_str), Some(TP));
        assert_eq!(current_trace_id(), None);
    }
}
