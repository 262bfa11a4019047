//! The global `tracing` subscriber of a role: one fmt layer (text or JSON, on stderr, filtered
//! by `RUST_LOG`) and, when an OTLP endpoint is configured, one OpenTelemetry layer (our own
//! spans only), plus the W3C propagator.
//!
//! Without an endpoint there is no OpenTelemetry layer at all: it would cost every request
//! its span bookkeeping (measured ~10–20 % of a debug build's create throughput) for ids
//! nobody collects. Then JSON lines carry no `trace_id`/`span_id`, and the hops pass a
//! caller's `traceparent` on as received (see `inject`), so the provisioning log still
//! records the identity provider's trace id.

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{FilterExt as _, Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Registry};

/// What [`init`] needs from a role's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetrySettings {
    /// OTLP/gRPC collector, e.g. `http://otel-collector:4317`; `None`: no export.
    pub otlp_endpoint: Option<String>,
    /// Share of new traces recorded, 0.0–1.0 (parent-based: a sampled caller's trace is
    /// always followed, so one request is never half exported).
    pub sampling_ratio: f64,
    /// `service.name` of the exported spans, e.g. `blogin-scim-gateway`.
    pub service_name: String,
    /// `text` or `json` log lines.
    pub log_format: String,
}

/// The default log filter of services; `RUST_LOG` replaces it. Our dependencies' chatter
/// (HTTP/2 frames, per-statement SQL, AMQP frames) stays off unless asked for.
const DEFAULT_FILTER: &str = "h2=off,tower=warn,hyper=warn,sqlx=warn,lapin=warn";

/// The crates whose spans are exported. An allow-list rather than a deny-list: the exporter's
/// own HTTP/2 traffic (h2, hyper, tonic) would otherwise produce spans about exporting spans,
/// and sea-orm/sqlx spans can carry SQL with values in it.
const EXPORTED_TARGETS: [&str; 6] = [
    "blogin_scim",
    "scim_gateway",
    "scim_bus",
    "scim_worker",
    "scim_store",
    "scim_telemetry",
];

/// Keeps the tracer provider alive; dropping it flushes pending spans and shuts the exporter
/// down (blocking until the export is done or timed out).
#[derive(Debug)]
pub struct Guard {
    provider: Option<SdkTracerProvider>,
}

impl Guard {
    /// Flushes and shuts down off the async runtime (the SDK blocks while exporting); use
    /// this at the end of `main` rather than a plain drop.
    pub async fn shutdown(mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = tokio_blocking(move || shut(&provider)).await;
        }
    }

    /// Exports every finished span now (blocking; for tests and before a planned exit).
    pub fn flush(&self) {
        if let Some(provider) = &self.provider {
            let _ = provider.force_flush();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            shut(&provider);
        }
    }
}

fn shut(provider: &SdkTracerProvider) {
    if let Err(e) = provider.shutdown() {
        eprintln!("telemetry: could not flush the trace exporter: {e}");
    }
}

/// Runs `f` on tokio's blocking pool when inside a runtime, else inline.
async fn tokio_blocking<F: FnOnce() + Send + 'static>(f: F) -> Result<(), ()> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(f).await.map_err(drop),
        Err(_) => {
            f();
            Ok(())
        }
    }
}

/// Installs the global subscriber for a service (default log level `info`). See
/// [`init_with_level`].
pub fn init(settings: &TelemetrySettings) -> Guard {
    init_with_level(settings, "info")
}

/// Installs the global subscriber: `RUST_LOG` (default `default_level` plus
/// [`DEFAULT_FILTER`]) decides what is logged on stderr, as text or JSON lines; when
/// `otlp_endpoint` is set, our crates' spans at `info` and above are exported over OTLP/gRPC;
/// W3C Trace Context becomes the global propagator. Must be called
/// inside a tokio runtime when an endpoint is set (the exporter's channel lives on it).
/// A second call leaves the first subscriber in place.
pub fn init_with_level(settings: &TelemetrySettings, default_level: &str) -> Guard {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let (provider, export_error) = match provider(settings) {
        Ok(provider) => (provider, None),
        Err(e) => (None, Some(e)),
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},{DEFAULT_FILTER}")));
    let fmt = if settings.log_format.eq_ignore_ascii_case("json") {
        tracing_subscriber::fmt::layer()
            .json()
            .event_format(crate::json::WithTraceIds::default())
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed()
    };
    let exported = EXPORTED_TARGETS.iter().fold(Targets::new(), |t, target| {
        t.with_target(*target, LevelFilter::INFO)
    });
    // Spans only: events (log lines) may quote error messages with stored values in them.
    // Thread and source-location attributes say nothing the span name does not.
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("blogin-scim"))
            .with_error_records_to_exceptions(false)
            .with_threads(false)
            .with_location(false)
            .with_filter(exported.and(filter_fn(|meta| meta.is_span())))
    });
    let installed = Registry::default()
        .with(fmt.with_filter(filter))
        .with(otel)
        .try_init()
        .is_ok();
    if let Some(e) = export_error {
        tracing::warn!(error.message = %e, "OTLP exporter not started; traces are not exported");
    }
    let provider = provider.filter(|provider| {
        // Someone (a test) installed a subscriber first; ours is not in use, export neither.
        if !installed {
            let _ = provider.shutdown();
        }
        installed
    });
    if let Some(provider) = &provider {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    Guard { provider }
}

/// The tracer provider with a batch OTLP exporter, when an endpoint is set.
fn provider(settings: &TelemetrySettings) -> Result<Option<SdkTracerProvider>, String> {
    let Some(endpoint) = settings.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    let ratio = if settings.sampling_ratio.is_nan() {
        1.0
    } else {
        settings.sampling_ratio.clamp(0.0, 1.0)
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| e.to_string())?;
    // The batch processor exports from its own thread; its delay and queue size follow the
    // standard OTEL_BSP_* variables.
    Ok(Some(
        SdkTracerProvider::builder()
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                ratio,
            ))))
            .with_resource(resource(&settings.service_name))
            .with_batch_exporter(exporter)
            .build(),
    ))
}

/// `service.name` and `service.instance.id` (host name and process id: one per replica).
fn resource(service_name: &str) -> Resource {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    Resource::builder()
        .with_service_name(service_name.to_owned())
        .with_attribute(KeyValue::new(
            "service.instance.id",
            format!("{host}:{}", std::process::id()),
        ))
        .build()
}
