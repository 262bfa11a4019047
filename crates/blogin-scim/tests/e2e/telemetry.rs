//! Telemetry end to end: one `POST /Users` through the distributed roles is one trace —
//! gateway, worker and store spans, parented across HTTP, AMQP and gRPC — received by an
//! in-test OTLP collector, with tenant and resource attributes and without the token or the
//! e-mail anywhere in what was exported; and `/metrics` counts exactly the requests sent.

use crate::support::{Cluster, Deployment, Scim, Serve};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use prost::Message as _;
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// An OTLP/gRPC trace receiver: keeps every export request, decoded and as raw bytes.
#[derive(Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.received.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

impl Collector {
    /// Serves on a random loopback port for the rest of the test.
    async fn start() -> (Collector, SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let collector = Collector::default();
        let service = TraceServiceServer::new(collector.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
        (collector, addr)
    }

    /// Every span received so far, flattened.
    fn spans(&self) -> Vec<Span> {
        let mut out = Vec::new();
        for request in self.received.lock().unwrap().iter() {
            for rs in &request.resource_spans {
                let service = rs
                    .resource
                    .as_ref()
                    .and_then(|r| text_attr(&r.attributes, "service.name"))
                    .unwrap_or_default();
                for ss in &rs.scope_spans {
                    for s in &ss.spans {
                        out.push(Span {
                            service: service.clone(),
                            name: s.name.clone(),
                            trace_id: hex(&s.trace_id),
                            span_id: hex(&s.span_id),
                            parent_id: hex(&s.parent_span_id),
                            attributes: s
                                .attributes
                                .iter()
                                .filter_map(|kv| Some((kv.key.clone(), value_text(kv)?)))
                                .collect(),
                        });
                    }
                }
            }
        }
        out
    }

    /// Everything received, as the protobuf bytes it travelled as.
    fn raw(&self) -> Vec<u8> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .flat_map(|r| r.encode_to_vec())
            .collect()
    }
}

/// One received span, reduced to what the assertions look at.
#[derive(Debug, Clone)]
struct Span {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent_id: String,
    attributes: HashMap<String, String>,
}

impl Span {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn value_text(kv: &KeyValue) -> Option<String> {
    match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        any_value::Value::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    }
}

fn text_attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(value_text)
}

/// Whether `ancestor_name` is on `span`'s parent chain within `spans`.
fn descends_from(spans: &[Span], span: &Span, ancestor: &Span) -> bool {
    let by_id: HashMap<&str, &Span> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let mut current = span;
    for _ in 0..32 {
        if current.parent_id == ancestor.span_id {
            return true;
        }
        match by_id.get(current.parent_id.as_str()) {
            Some(parent) => current = parent,
            None => return false,
        }
    }
    false
}

/// The one span named `name` from `service` in `spans`.
fn one<'a>(spans: &'a [Span], service: &str, name: &str) -> &'a Span {
    let found: Vec<&Span> = spans
        .iter()
        .filter(|s| s.service == service && s.name == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {name} from {service}, got {found:#?}\nall: {spans:#?}"
    );
    found[0]
}

fn random_hex(bytes: usize) -> String {
    Uuid::new_v4().simple().to_string()[..bytes * 2].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_create_is_one_trace_across_gateway_worker_and_store() {
    let (collector, otlp) = Collector::start().await;
    let cluster = Cluster::start_with(
        1,
        &[
            ("BLOGIN_SCIM_OTLP_ENDPOINT", format!("http://{otlp}")),
            // Export within a fraction of a second instead of the default 5 s.
            ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
            ("BLOGIN_SCIM_LOG_FORMAT", "json".to_owned()),
        ],
    )
    .await;
    let tenant = cluster.create_tenant("traced");
    let email = format!("ada.{}@example.test", Uuid::new_v4().simple());
    // The identity provider's own trace: the gateway's span must join it.
    let (trace_id, caller_span) = (random_hex(16), random_hex(8));
    let response = reqwest::Client::new()
        .post(format!("{}/Users", tenant.base_url))
        .bearer_auth(&tenant.token)
        .header("content-type", "application/scim+json")
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .body(
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": email,
                "emails": [{"value": email, "primary": true}],
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();

    let spans = wait_for_spans(&collector, &trace_id).await;
    let gateway = "blogin-scim-gateway";
    let request = one(&spans, gateway, "scim.users.create");
    assert_eq!(request.parent_id, caller_span, "HTTP traceparent extracted");
    assert_eq!(request.attr("tenant"), Some("traced"));
    assert_eq!(request.attr("resource_type"), Some("User"));
    assert_eq!(request.attr("resource_id"), Some(id.as_str()));
    assert_eq!(request.attr("http.status_code"), Some("201"));
    assert_eq!(request.attr("outcome"), Some("success"));

    let commands = format!("{}.commands", queue_prefix(&cluster));
    let publish = one(&spans, gateway, &format!("amqp.publish {commands}"));
    assert!(descends_from(&spans, publish, request), "{publish:#?}");
    let consume = one(
        &spans,
        "blogin-scim-worker",
        &format!("amqp.consume {commands}"),
    );
    assert!(
        descends_from(&spans, consume, publish),
        "AMQP: {consume:#?}"
    );
    assert_eq!(consume.attr("resource_type"), Some("User"));
    assert_eq!(consume.attr("resource_id"), Some(id.as_str()));
    assert_eq!(consume.attr("outcome"), Some("answered"));
    let apply = one(&spans, "blogin-scim-store", "directory.ApplyChange");
    assert!(descends_from(&spans, apply, consume), "gRPC: {apply:#?}");
    assert!(
        apply
            .attr("tenant_id")
            .is_some_and(|t| Uuid::parse_str(t).is_ok())
    );
    assert_eq!(apply.attr("resource_type"), Some("User"));
    assert_eq!(apply.attr("resource_id"), Some(id.as_str()));
    let query = spans
        .iter()
        .find(|s| s.name == "db.query" && s.parent_id == apply.span_id)
        .unwrap_or_else(|| panic!("no db.query under ApplyChange: {spans:#?}"));
    assert_eq!(query.attr("db.operation"), Some("transaction apply_change"));
    // The gateway's token check is part of the same trace.
    let auth = one(&spans, "blogin-scim-store", "directory.Authenticate");
    assert!(descends_from(&spans, auth, request));

    // Nothing about this user or this request's id lands in another trace.
    for s in collector.spans() {
        if s.attributes.values().any(|v| v == &id) {
            assert_eq!(
                s.trace_id, trace_id,
                "a span of the request outside its trace: {s:#?}"
            );
        }
    }
    let raw = collector.raw();
    for secret in [tenant.token.as_str(), email.as_str()] {
        assert!(
            !contains(&raw, secret.as_bytes()),
            "{secret} found in the exported spans"
        );
    }

    let log = cluster.gateway.log();
    assert!(
        log.lines().any(|l| l.contains("request finished")
            && l.contains(&format!("\"trace_id\":\"{trace_id}\""))),
        "no JSON log line of the request with its trace id:\n{log}"
    );
    let worker_metrics = scrape(&format!("http://{}/metrics", cluster.worker_health[0])).await;
    assert!(
        worker_metrics.contains("scim_commands_applied_total{outcome=\"answered\"} 1"),
        "{worker_metrics}"
    );
}

/// Waits until the request's spans from all three roles have arrived.
async fn wait_for_spans(collector: &Collector, trace_id: &str) -> Vec<Span> {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let spans: Vec<Span> = collector
            .spans()
            .into_iter()
            .filter(|s| s.trace_id == trace_id)
            .collect();
        let has = |name: &str| spans.iter().any(|s| s.name.starts_with(name));
        if has("scim.users.create") && has("amqp.consume") && has("directory.ApplyChange") {
            return spans;
        }
        assert!(
            Instant::now() < until,
            "the trace never completed; got {spans:#?}\nall: {:#?}",
            collector.spans()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn queue_prefix(cluster: &Cluster) -> String {
    cluster
        .env
        .iter()
        .find(|(k, _)| *k == "BLOGIN_SCIM_QUEUE_PREFIX")
        .map(|(_, v)| v.clone())
        .unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn scrape(url: &str) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.contains("openmetrics-text"), "{content_type}");
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_the_requests_sent_by_tenant_operation_and_status() {
    let metrics_addr = crate::support::free_addr();
    let serve = Serve::start_with(&[("BLOGIN_SCIM_METRICS_LISTEN", metrics_addr.clone())]).await;
    let scim = Scim::new(&serve.create_tenant("counted"));
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = scim
            .post(
                "/Users",
                &json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("counted-{i}"),
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    for id in &ids[..2] {
        assert_eq!(scim.get(&format!("/Users/{id}")).await.status, 200);
    }
    assert_eq!(
        scim.get(&format!("/Users/{}", Uuid::new_v4())).await.status,
        404
    );
    // Not authenticated: counted without a tenant label.
    let stranger = Scim::with_token(&scim.base, "not-a-token");
    assert_eq!(stranger.get("/Users").await.status, 401);

    // Metrics name tenants: they are on their own listener, not on the public SCIM port.
    let public = reqwest::get(format!("{}/metrics", serve.root))
        .await
        .unwrap();
    assert_eq!(public.status().as_u16(), 404);
    let text = scrape(&format!("http://{metrics_addr}/metrics")).await;
    let requests = "scim_http_requests_total";
    let duration = "scim_http_request_duration_seconds_count";
    for (line, value) in [
        (
            format!("{requests}{{tenant=\"counted\",op=\"scim.users.create\",status=\"201\"}}"),
            3,
        ),
        (
            format!("{requests}{{tenant=\"counted\",op=\"scim.users.get\",status=\"200\"}}"),
            2,
        ),
        (
            format!("{requests}{{tenant=\"counted\",op=\"scim.users.get\",status=\"404\"}}"),
            1,
        ),
        (
            format!("{requests}{{tenant=\"\",op=\"scim.users.list\",status=\"401\"}}"),
            1,
        ),
        (
            format!("{duration}{{tenant=\"counted\",op=\"scim.users.create\"}}"),
            3,
        ),
        (
            format!("{duration}{{tenant=\"counted\",op=\"scim.users.get\"}}"),
            3,
        ),
        (
            "scim_commands_applied_total{outcome=\"answered\"}".to_owned(),
            3,
        ),
        ("scim_bus_reply_duration_seconds_count".to_owned(), 3),
        (
            "scim_bus_publish_duration_seconds_count{queue=\"scim.commands\"}".to_owned(),
            3,
        ),
        ("scim_command_apply_duration_seconds_count".to_owned(), 3),
    ] {
        assert_eq!(sample(&text, &line), Some(value), "{line} in\n{text}");
    }
    // Seven authenticated checks, the first one asked the store.
    let hits = sample(&text, "scim_token_cache_requests_total{result=\"hit\"}").unwrap_or(0);
    let misses = sample(&text, "scim_token_cache_requests_total{result=\"miss\"}").unwrap_or(0);
    assert_eq!(hits + misses, 7, "{text}");
    assert!(misses >= 2, "{text}");
    assert!(
        sample(&text, "scim_db_pool_connections{state=\"max\"}").is_some_and(|n| n > 0),
        "{text}"
    );
    assert!(
        text.contains("scim_queue_depth{queue=\"scim.commands\"}"),
        "{text}"
    );
    assert!(
        !text.contains("counted-"),
        "a user name leaked into the metrics"
    );
}

/// The value of the sample `series` (name and labels exactly as rendered).
fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
}
