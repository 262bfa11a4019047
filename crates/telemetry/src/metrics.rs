//! The Prometheus metrics of every role, in one registry ([`Metrics`], process-wide through
//! [`metrics`]), rendered in the OpenMetrics text format for `/metrics`.
//!
//! Labels are bounded on purpose: operation names, queue names, outcomes, status codes and
//! tenant *slugs* (an operator-chosen, non-personal name; only authenticated ones, so made-up
//! URLs cannot grow the label set). Never user names, e-mails or resource ids.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels<const N: usize> = [(&'static str, String); N];
type HistogramFamily<const N: usize> = Family<Labels<N>, Histogram, fn() -> Histogram>;
type ScrapeHook = Box<dyn Fn(&Metrics) + Send + Sync>;

/// Latency buckets from 1 ms to ~33 s (doubling): SCIM calls, publishes and SQL all fit.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Every metric of the service. Roles only touch the ones they do (a gateway has no
/// command-apply times); all are registered everywhere, so dashboards need no per-role
/// special cases.
pub struct Metrics {
    registry: Registry,
    /// Refreshers of gauges that are read rather than counted (pool sizes), run before each
    /// render.
    hooks: Mutex<Vec<ScrapeHook>>,
    /// SCIM requests answered, by tenant slug, operation and HTTP status.
    pub http_requests: Family<Labels<3>, Counter>,
    /// SCIM request latency by tenant slug and operation.
    pub http_request_duration: HistogramFamily<2>,
    /// Publish-until-confirmed latency, by queue (or exchange).
    pub bus_publish_duration: HistogramFamily<1>,
    /// Gateway: from a command's confirmed publish to the worker's reply.
    pub bus_reply_duration: Histogram,
    /// Worker: command deliveries by outcome (`answered`, `expired`, `requeued`,
    /// `dead_lettered`).
    pub commands_applied: Family<Labels<1>, Counter>,
    /// Worker: time spent applying one command through the store (retries included).
    pub command_apply_duration: Histogram,
    /// Worker: fan-out job deliveries by outcome (`done`, `requeued`, `dead_lettered`).
    pub fanout_jobs: Family<Labels<1>, Counter>,
    /// Fan-out jobs not completed yet, by tenant slug (from the store's `FanoutLag`).
    pub fanout_pending_jobs: Family<Labels<1>, Gauge>,
    /// Age of each tenant's oldest pending fan-out job, in seconds.
    pub fanout_oldest_job_age: Family<Labels<1>, Gauge<f64, AtomicU64>>,
    /// Messages ready in each queue (consumer lag of the commands and fan-out queues).
    pub queue_depth: Family<Labels<1>, Gauge>,
    /// Store: database pool connections by state (`open`, `idle`, `in_use`, `max`).
    pub db_pool_connections: Family<Labels<1>, Gauge>,
    /// Gateway: token checks answered from the cache (`hit`) or by the store (`miss`).
    pub token_cache_requests: Family<Labels<1>, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered (tests; the service uses [`metrics`]).
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let m = Self {
            registry: Registry::default(),
            hooks: Mutex::new(Vec::new()),
            http_requests: Family::default(),
            http_request_duration: Family::new_with_constructor(latency),
            bus_publish_duration: Family::new_with_constructor(latency),
            bus_reply_duration: latency(),
            commands_applied: Family::default(),
            command_apply_duration: latency(),
            fanout_jobs: Family::default(),
            fanout_pending_jobs: Family::default(),
            fanout_oldest_job_age: Family::default(),
            queue_depth: Family::default(),
            db_pool_connections: Family::default(),
            token_cache_requests: Family::default(),
        };
        // Counters are registered without `_total`: the encoder appends it.
        let r = &mut registry;
        r.register(
            "scim_http_requests",
            "SCIM requests answered, by tenant, operation and HTTP status",
            m.http_requests.clone(),
        );
        r.register(
            "scim_http_request_duration_seconds",
            "SCIM request latency, by tenant and operation",
            m.http_request_duration.clone(),
        );
        r.register(
            "scim_bus_publish_duration_seconds",
            "Time from publish to the broker's confirm, by queue",
            m.bus_publish_duration.clone(),
        );
        r.register(
            "scim_bus_reply_duration_seconds",
            "Time from a command's confirmed publish to the worker's reply",
            m.bus_reply_duration.clone(),
        );
        r.register(
            "scim_commands_applied",
            "Command deliveries handled by the worker, by outcome",
            m.commands_applied.clone(),
        );
        r.register(
            "scim_command_apply_duration_seconds",
            "Time to apply one command through the store, retries included",
            m.command_apply_duration.clone(),
        );
        r.register(
            "scim_fanout_jobs",
            "Fan-out job deliveries handled by the worker, by outcome",
            m.fanout_jobs.clone(),
        );
        r.register(
            "scim_fanout_pending_jobs",
            "Membership fan-out jobs not completed yet, by tenant",
            m.fanout_pending_jobs.clone(),
        );
        r.register(
            "scim_fanout_oldest_job_age_seconds",
            "Age of the oldest pending fan-out job, by tenant",
            m.fanout_oldest_job_age.clone(),
        );
        r.register(
            "scim_queue_depth",
            "Messages ready in the queue (consumer lag)",
            m.queue_depth.clone(),
        );
        r.register(
            "scim_db_pool_connections",
            "Database pool connections, by state",
            m.db_pool_connections.clone(),
        );
        r.register(
            "scim_token_cache_requests",
            "Bearer-token checks, by token cache result",
            m.token_cache_requests.clone(),
        );
        Self { registry, ..m }
    }

    /// Runs `hook` before every [`render`](Self::render), to refresh gauges that are read
    /// from somewhere (pool sizes) rather than counted.
    pub fn on_scrape(&self, hook: impl Fn(&Metrics) + Send + Sync + 'static) {
        self.hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::new(hook));
    }

    /// Counts one SCIM request and its latency.
    pub fn observe_request(&self, tenant: &str, op: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&[
                ("tenant", tenant.to_owned()),
                ("op", op.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
        self.http_request_duration
            .get_or_create(&[("tenant", tenant.to_owned()), ("op", op.to_owned())])
            .observe(elapsed.as_secs_f64());
    }

    /// Records one publish-until-confirm latency for `queue`.
    pub fn observe_publish(&self, queue: &str, elapsed: Duration) {
        self.bus_publish_duration
            .get_or_create(&[("queue", queue.to_owned())])
            .observe(elapsed.as_secs_f64());
    }

    /// Adds one to the counter family `family` with `label` = `value` (outcome counters).
    pub fn count(family: &Family<Labels<1>, Counter>, label: &'static str, value: &str) {
        family.get_or_create(&[(label, value.to_owned())]).inc();
    }

    /// Sets the depth gauge of `queue`.
    pub fn set_queue_depth(&self, queue: &str, depth: u64) {
        self.queue_depth
            .get_or_create(&[("queue", queue.to_owned())])
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// Replaces the fan-out lag gauges with `lag`: `(tenant slug, pending jobs, oldest age in
    /// seconds)` of every tenant with pending work; the others drop out.
    pub fn set_fanout_lag(&self, lag: impl IntoIterator<Item = (String, u64, f64)>) {
        self.fanout_pending_jobs.clear();
        self.fanout_oldest_job_age.clear();
        for (tenant, pending, age) in lag {
            self.fanout_pending_jobs
                .get_or_create(&[("tenant", tenant.clone())])
                .set(i64::try_from(pending).unwrap_or(i64::MAX));
            self.fanout_oldest_job_age
                .get_or_create(&[("tenant", tenant)])
                .set(age);
        }
    }

    /// Sets the pool gauges.
    pub fn set_db_pool(&self, open: u32, idle: u32, max: u32) {
        for (state, value) in [
            ("open", open),
            ("idle", idle),
            ("in_use", open.saturating_sub(idle)),
            ("max", max),
        ] {
            self.db_pool_connections
                .get_or_create(&[("state", state.to_owned())])
                .set(i64::from(value));
        }
    }

    /// The registry in the OpenMetrics text format (what Prometheus scrapes; serve it with
    /// [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        for hook in self
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            hook(self);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// The process-wide metrics every crate records into and `/metrics` renders.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_with_their_labels() {
        let m = Metrics::new();
        m.observe_request("acme", "scim.users.create", 201, Duration::from_millis(3));
        m.observe_request("acme", "scim.users.create", 201, Duration::from_millis(5));
        m.observe_request("acme", "scim.users.get", 404, Duration::from_millis(1));
        Metrics::count(&m.token_cache_requests, "result", "hit");
        m.set_queue_depth("scim.commands", 7);
        m.set_fanout_lag([("acme".to_owned(), 2, 1.5)]);
        m.set_fanout_lag([("other".to_owned(), 1, 0.5)]);
        let text = m.render();
        for line in [
            "scim_http_requests_total{tenant=\"acme\",op=\"scim.users.create\",status=\"201\"} 2",
            "scim_http_requests_total{tenant=\"acme\",op=\"scim.users.get\",status=\"404\"} 1",
            "scim_http_request_duration_seconds_count{tenant=\"acme\",op=\"scim.users.create\"} 2",
            "scim_token_cache_requests_total{result=\"hit\"} 1",
            "scim_queue_depth{queue=\"scim.commands\"} 7",
            "scim_fanout_pending_jobs{tenant=\"other\"} 1",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(
            !text.contains("tenant=\"acme\"} 2\n")
                && !text.contains("pending_jobs{tenant=\"acme\""),
            "lag of a tenant without pending work is dropped:\n{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn scrape_hooks_refresh_gauges_before_rendering() {
        let m = Metrics::new();
        m.on_scrape(|m| m.set_db_pool(5, 2, 16));
        let text = m.render();
        assert!(
            text.contains("scim_db_pool_connections{state=\"in_use\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("scim_db_pool_connections{state=\"max\"} 16"),
            "{text}"
        );
    }
}
