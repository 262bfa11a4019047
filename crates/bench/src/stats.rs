//! Per-operation measurements: latency histogram, status counts, active window.
//!
//! One `Recorder` is shared by every worker task. A plain mutex is enough: a record is a few
//! hundred nanoseconds of work next to a loopback round trip of hundreds of microseconds, so
//! the lock is never where the bench spends its time.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

/// Ops whose names start with this were preparation, not the traffic being measured.
pub(crate) const SETUP_PREFIX: &str = "setup.";

/// Ops that only observe the server (convergence polling): listed, but not part of the timed
/// throughput.
const OBSERVER_OPS: &[&str] = &["users.groups_check"];

/// The order of the report; ops not listed follow alphabetically.
const ORDER: &[&str] = &[
    "users.filter",
    "users.create",
    "users.get",
    "users.patch",
    "users.page",
    "groups.filter",
    "groups.create",
    "groups.get",
    "groups.patch",
    "users.groups_check",
];

/// How a request ended: an HTTP status, or no response at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Http(u16),
    /// Connection refused/reset, malformed response, body cut short.
    Io,
    /// No complete response within --timeout.
    Timeout,
}

impl Status {
    /// The key in the `statuses` map.
    pub(crate) fn key(self) -> String {
        match self {
            Status::Http(code) => code.to_string(),
            Status::Io => "io".into(),
            Status::Timeout => "timeout".into(),
        }
    }
}

/// One finished request, as the recorder sees it.
#[derive(Debug)]
pub(crate) struct Sample {
    pub(crate) start: Instant,
    pub(crate) end: Instant,
    /// The status key; a success status whose body was not what the operation promises gets
    /// a `-unexpected` suffix so it stays visible next to the plain code.
    pub(crate) status: String,
    pub(crate) error: bool,
}

#[derive(Debug)]
struct OpStats {
    latency_us: Histogram<u64>,
    count: u64,
    errors: u64,
    statuses: BTreeMap<String, u64>,
    first_start: Instant,
    last_end: Instant,
}

/// Shared sink of every request's outcome.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    ops: Mutex<HashMap<&'static str, OpStats>>,
    /// Read by the progress line without taking the lock.
    done: AtomicU64,
    errors: AtomicU64,
    /// One error response per (op, status), to say *why* without rerunning.
    error_samples: Mutex<Vec<(String, String)>>,
}

const MAX_ERROR_SAMPLES: usize = 10;

impl Recorder {
    pub(crate) fn record(&self, op: &'static str, sample: Sample) {
        let micros = (sample.end - sample.start).as_micros().max(1);
        let micros = u64::try_from(micros).unwrap_or(u64::MAX);
        let mut ops = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        let stats = ops.entry(op).or_insert_with(|| OpStats {
            latency_us: new_histogram(),
            count: 0,
            errors: 0,
            statuses: BTreeMap::new(),
            first_start: sample.start,
            last_end: sample.end,
        });
        stats.latency_us.saturating_record(micros);
        stats.count += 1;
        stats.errors += u64::from(sample.error);
        *stats.statuses.entry(sample.status).or_default() += 1;
        stats.first_start = stats.first_start.min(sample.start);
        stats.last_end = stats.last_end.max(sample.end);
        drop(ops);
        self.done.fetch_add(1, Ordering::Relaxed);
        if sample.error {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Keeps the text of the first error of each `kind` (op + status).
    pub(crate) fn note_error(&self, kind: String, text: impl FnOnce() -> String) {
        let mut samples = self.error_samples.lock().unwrap_or_else(|p| p.into_inner());
        if samples.len() < MAX_ERROR_SAMPLES && samples.iter().all(|(k, _)| *k != kind) {
            samples.push((kind, text()));
        }
    }

    pub(crate) fn error_samples(&self) -> Vec<String> {
        let samples = self.error_samples.lock().unwrap_or_else(|p| p.into_inner());
        samples.iter().map(|(_, text)| text.clone()).collect()
    }

    /// (requests done, errors) so far.
    pub(crate) fn progress(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }

    pub(crate) fn summary(&self) -> Summary {
        let ops = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<OpSummary> = ops.iter().map(|(name, s)| summarize(name, s)).collect();
        out.sort_by_key(|o| sort_key(&o.name));
        let timed: Vec<&OpStats> = ops
            .iter()
            .filter(|(name, _)| is_timed(name))
            .map(|(_, s)| s)
            .collect();
        let timed_requests = timed.iter().map(|s| s.count).sum();
        let timed_wall = match (
            timed.iter().map(|s| s.first_start).min(),
            timed.iter().map(|s| s.last_end).max(),
        ) {
            (Some(start), Some(end)) => end - start,
            _ => Duration::ZERO,
        };
        Summary {
            requests: out.iter().map(|o| o.count).sum(),
            errors: out.iter().map(|o| o.errors).sum(),
            timed_requests,
            timed_wall,
            ops: out,
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 1 h at 3 significant digits: exact to the microsecond where it matters.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant bounds are valid")
}

fn is_timed(op: &str) -> bool {
    !op.starts_with(SETUP_PREFIX) && !OBSERVER_OPS.contains(&op)
}

fn sort_key(op: &str) -> (bool, usize, String) {
    let base = op.strip_prefix(SETUP_PREFIX).unwrap_or(op);
    let rank = ORDER.iter().position(|o| *o == base).unwrap_or(ORDER.len());
    // Setup first, then the traffic in the order a client sends it.
    (!op.starts_with(SETUP_PREFIX), rank, op.to_owned())
}

fn summarize(name: &str, s: &OpStats) -> OpSummary {
    let wall = s.last_end - s.first_start;
    let ms = |q: f64| s.latency_us.value_at_quantile(q) as f64 / 1000.0;
    OpSummary {
        name: name.to_owned(),
        count: s.count,
        errors: s.errors,
        rps: rate(s.count, wall),
        p50_ms: ms(0.50),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        max_ms: s.latency_us.max() as f64 / 1000.0,
        statuses: s.statuses.clone(),
    }
}

/// Requests per second; 0 when nothing was timed.
pub(crate) fn rate(count: u64, wall: Duration) -> f64 {
    let secs = wall.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// The numbers of one operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpSummary {
    pub(crate) name: String,
    pub(crate) count: u64,
    pub(crate) errors: u64,
    /// count / (last response − first request) of this op.
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) statuses: BTreeMap<String, u64>,
}

/// Everything the recorder saw.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub(crate) ops: Vec<OpSummary>,
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    /// Requests of the measured traffic (not `setup.*`, not convergence polling).
    pub(crate) timed_requests: u64,
    /// From the first timed request to the last timed response.
    pub(crate) timed_wall: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(start: Instant, ms: u64, status: &str, error: bool) -> Sample {
        Sample {
            start,
            end: start + Duration::from_millis(ms),
            status: status.into(),
            error,
        }
    }

    #[test]
    fn percentiles_are_in_milliseconds_with_microsecond_precision() {
        let rec = Recorder::default();
        let t0 = Instant::now();
        for i in 1..=100u64 {
            let s = Sample {
                start: t0,
                end: t0 + Duration::from_micros(i * 1000 + 250),
                status: "201".into(),
                error: false,
            };
            rec.record("users.create", s);
        }
        let sum = rec.summary();
        let op = &sum.ops[0];
        assert_eq!(op.count, 100);
        assert!((op.p50_ms - 50.25).abs() < 0.05, "{}", op.p50_ms);
        assert!((op.p99_ms - 99.25).abs() < 0.1, "{}", op.p99_ms);
        assert!((op.max_ms - 100.25).abs() < 0.1, "{}", op.max_ms);
        assert_eq!(op.statuses.get("201"), Some(&100));
    }

    #[test]
    fn errors_and_statuses_are_counted_per_op_and_setup_is_not_timed() {
        let rec = Recorder::default();
        let t0 = Instant::now();
        rec.record("setup.users.create", sample(t0, 5000, "201", false));
        rec.record(
            "users.create",
            sample(t0 + Duration::from_secs(10), 1000, "201", false),
        );
        rec.record(
            "users.create",
            sample(t0 + Duration::from_secs(10), 2000, "409", true),
        );
        rec.record(
            "users.filter",
            sample(t0 + Duration::from_secs(9), 10, "200", false),
        );
        let sum = rec.summary();
        assert_eq!(sum.requests, 4);
        assert_eq!(sum.errors, 1);
        assert_eq!(sum.timed_requests, 3);
        // From the filter at 9 s to the 409 at 12 s.
        assert_eq!(sum.timed_wall, Duration::from_secs(3));
        let names: Vec<&str> = sum.ops.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            ["setup.users.create", "users.filter", "users.create"]
        );
        let create = &sum.ops[2];
        assert_eq!(create.errors, 1);
        assert_eq!(create.statuses.get("409"), Some(&1));
        assert!((create.rps - 1.0).abs() < 1e-9);
        assert_eq!(rec.progress(), (4, 1));
    }
}
