//! The installed subscriber, in a process of its own: our crates' spans get OpenTelemetry
//! ids that propagate through a carrier into a child span in another "process"; spans of
//! other crates (the exporter's own HTTP/2 stack) get none.

use scim_telemetry::{TelemetrySettings, current_trace_id, init, inject_span, set_remote_parent};
use std::collections::BTreeMap;

#[tokio::test]
async fn our_spans_propagate_and_foreign_spans_are_not_traced() {
    // Nothing listens there: spans are recorded and propagated, the export just fails.
    let guard = init(&TelemetrySettings {
        otlp_endpoint: Some("http://127.0.0.1:9".to_owned()),
        sampling_ratio: 1.0,
        service_name: "telemetry-test".to_owned(),
        log_format: "json".to_owned(),
    });

    let sender = tracing::info_span!(target: "scim_gateway::routes", "scim.request");
    let mut headers = BTreeMap::new();
    inject_span(&sender, &mut headers);
    let traceparent = headers
        .get("traceparent")
        .cloned()
        .expect("traceparent injected");
    let sender_trace = sender.in_scope(current_trace_id).expect("a trace id");
    assert!(traceparent.contains(&sender_trace), "{traceparent}");

    let receiver = tracing::info_span!(target: "scim_worker", "amqp.consume");
    assert!(set_remote_parent(&receiver, &headers));
    assert_eq!(receiver.in_scope(current_trace_id), Some(sender_trace));

    // Not on the allow-list: never exported, so nothing to propagate either.
    let foreign = tracing::info_span!(target: "h2::proto", "frame");
    let mut untouched = BTreeMap::new();
    inject_span(&foreign, &mut untouched);
    assert!(untouched.is_empty(), "{untouched:?}");
    guard.shutdown().await;
}
