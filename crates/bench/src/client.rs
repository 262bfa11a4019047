//! The HTTP side: one pooled client for the whole run, one `Tenant` handle per target, and
//! `Tenant::call`, which sends a request, classifies the answer and records it.
//!
//! Nothing here panics on what the server sends: a refused connection, a timeout, a status
//! other than the expected one or a body that is not JSON are all recorded as errors of the
//! operation, and the caller only sees "no usable answer".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use serde_json::Value;
use tokio::time::Instant;

use crate::cli::Target;
use crate::stats::{Recorder, Sample, Status};

const SCIM_JSON: &str = "application/scim+json";

/// The run was cut by --deadline: stop issuing requests and unwind to the report.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the --deadline was reached")]
pub(crate) struct Stopped;

/// What every tenant shares: the connection pool and the run's time bounds.
#[derive(Debug)]
pub(crate) struct Runner {
    http: reqwest::Client,
    timeout: Duration,
    deadline: Option<Instant>,
    deadline_hit: AtomicBool,
    /// Requests abandoned in flight when the deadline struck; not in any op's counts.
    aborted: AtomicU64,
    /// `--rate`: the spacing between requests and the next free slot.
    pacing: Option<(Duration, tokio::sync::Mutex<Instant>)>,
}

impl Runner {
    /// `pool` is the most connections the run keeps to one host: every tenant's concurrency,
    /// as tenants of one server share its host:port.
    pub(crate) fn new(
        pool: usize,
        timeout: Duration,
        deadline: Option<Instant>,
        spacing: Option<Duration>,
    ) -> anyhow::Result<Self> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(SCIM_JSON));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("blogin-scim-bench/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(pool)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .tcp_nodelay(true)
            // A proxy in the path would be measured instead of the server.
            .no_proxy()
            .build()?;
        Ok(Self {
            http,
            timeout,
            deadline,
            deadline_hit: AtomicBool::new(false),
            aborted: AtomicU64::new(0),
            pacing: spacing.map(|d| (d, tokio::sync::Mutex::new(Instant::now()))),
        })
    }

    /// Waits for this request's slot when the run is paced.
    async fn pace(&self) {
        let Some((spacing, next)) = &self.pacing else {
            return;
        };
        let slot = {
            let mut next = next.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + *spacing;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    pub(crate) fn deadline_hit(&self) -> bool {
        self.deadline_hit.load(Ordering::Relaxed)
    }

    pub(crate) fn aborted(&self) -> u64 {
        self.aborted.load(Ordering::Relaxed)
    }

    /// Err once the deadline has passed, so loops stop before building another request.
    pub(crate) fn check(&self) -> Result<(), Stopped> {
        match self.deadline {
            Some(d) if Instant::now() >= d => {
                self.deadline_hit.store(true, Ordering::Relaxed);
                Err(Stopped)
            }
            _ => Ok(()),
        }
    }

    /// Sleeps, but not past the deadline.
    pub(crate) async fn sleep(&self, d: Duration) -> Result<(), Stopped> {
        let until = Instant::now() + d;
        tokio::time::sleep_until(self.deadline.map_or(until, |dl| dl.min(until))).await;
        self.check()
    }
}

/// What a successful answer must also contain, beyond its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyCheck {
    None,
    /// A resource with an `id` (creates).
    HasId,
    /// A ListResponse with exactly this `totalResults` (Entra's match-before-create query).
    TotalResults(u64),
    /// A ListResponse (paging).
    List,
}

/// The success condition of one operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expect {
    pub(crate) statuses: &'static [u16],
    pub(crate) body: BodyCheck,
}

impl Expect {
    pub(crate) const OK: Expect = Expect::status(&[200]);
    pub(crate) const CREATED: Expect = Expect {
        statuses: &[201],
        body: BodyCheck::HasId,
    };
    /// PATCH may answer with the resource or with no content (RFC 7644 §3.5.2).
    pub(crate) const PATCHED: Expect = Expect::status(&[200, 204]);

    pub(crate) const fn status(statuses: &'static [u16]) -> Self {
        Expect {
            statuses,
            body: BodyCheck::None,
        }
    }

    pub(crate) const fn total_results(n: u64) -> Self {
        Expect {
            statuses: &[200],
            body: BodyCheck::TotalResults(n),
        }
    }
}

/// A recorded answer. `ok` is false for every error, whatever its kind.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: Status,
    pub(crate) ok: bool,
    pub(crate) body: Option<Value>,
}

impl Reply {
    /// The `id` of the returned resource; servers that use numeric ids are tolerated.
    pub(crate) fn id(&self) -> Option<String> {
        resource_id(self.body.as_ref()?)
    }
}

pub(crate) fn resource_id(v: &Value) -> Option<String> {
    match v.get("id")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn body_ok(check: BodyCheck, body: Option<&Value>) -> bool {
    match check {
        BodyCheck::None => true,
        BodyCheck::HasId => body.and_then(resource_id).is_some(),
        BodyCheck::TotalResults(n) => body.and_then(|b| b.get("totalResults")?.as_u64()) == Some(n),
        BodyCheck::List => body.is_some_and(|b| b.get("totalResults").is_some()),
    }
}

/// One tenant of the run.
#[derive(Debug)]
pub(crate) struct Tenant {
    /// Position on the command line, used in messages instead of the token.
    pub(crate) index: usize,
    base: Url,
    auth: HeaderValue,
    pub(crate) runner: Arc<Runner>,
}

impl Tenant {
    pub(crate) fn new(index: usize, target: &Target, runner: Arc<Runner>) -> anyhow::Result<Self> {
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", target.token)).map_err(|_| {
                anyhow::anyhow!("tenant {index}: the token is not a valid header value")
            })?;
        auth.set_sensitive(true);
        Ok(Self {
            index,
            base: target.base.clone(),
            auth,
            runner,
        })
    }

    /// `base/seg1/seg2?k=v`, each segment and query value percent-encoded.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Sends one request, records it under `op` in `rec`, and returns the answer. Err only
    /// when the deadline stops the run; every other failure is an `ok: false` reply.
    pub(crate) async fn call(
        &self,
        rec: &Recorder,
        op: &'static str,
        method: Method,
        url: Url,
        body: Option<&Value>,
        expect: Expect,
    ) -> Result<Reply, Stopped> {
        self.runner.pace().await;
        self.runner.check()?;
        let mut req = self
            .runner
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.auth.clone())
            .timeout(self.runner.timeout);
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, SCIM_JSON)
                .body(serde_json::to_vec(body).unwrap_or_default());
        }
        let start = Instant::now();
        let exchange = async {
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await?;
            // A body that is not JSON is kept as "no body": the checks then fail on it.
            let body = if bytes.is_empty() {
                None
            } else {
                serde_json::from_slice::<Value>(&bytes).ok()
            };
            Ok::<_, reqwest::Error>((status, body))
        };
        let result = match self.runner.deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, exchange).await {
                Ok(result) => result,
                Err(_) => {
                    self.runner.aborted.fetch_add(1, Ordering::Relaxed);
                    self.runner.deadline_hit.store(true, Ordering::Relaxed);
                    return Err(Stopped);
                }
            },
            None => exchange.await,
        };
        let end = Instant::now();
        let reply = classify(result, expect);
        let mut key = reply.status.key();
        if !reply.ok {
            if matches!(reply.status, Status::Http(c) if expect.statuses.contains(&c)) {
                key.push_str("-unexpected");
            }
            rec.note_error(format!("{op} {key}"), || {
                self.describe_error(op, &key, &reply)
            });
        }
        let error = !reply.ok;
        rec.record(
            op,
            Sample {
                start,
                end,
                status: key,
                error,
            },
        );
        Ok(reply)
    }

    fn describe_error(&self, op: &str, key: &str, reply: &Reply) -> String {
        let detail = reply
            .body
            .as_ref()
            .map(|b| b.to_string())
            .unwrap_or_default();
        let detail: String = detail.chars().take(300).collect();
        format!("tenant {} {op} {key}: {detail}", self.index)
    }
}

fn classify(result: Result<(u16, Option<Value>), reqwest::Error>, expect: Expect) -> Reply {
    match result {
        Ok((code, body)) => {
            let ok = expect.statuses.contains(&code) && body_ok(expect.body, body.as_ref());
            Reply {
                status: Status::Http(code),
                ok,
                body,
            }
        }
        Err(e) => Reply {
            status: if e.is_timeout() {
                Status::Timeout
            } else {
                Status::Io
            },
            ok: false,
            body: Some(Value::String(error_chain(&e))),
        },
    }
}

/// reqwest's top-level message is generic ("error sending request"); the cause is below it.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn id_is_read_from_string_or_number_and_missing_or_empty_ids_are_none() {
        assert_eq!(resource_id(&json!({"id": "abc"})), Some("abc".into()));
        assert_eq!(resource_id(&json!({"id": 42})), Some("42".into()));
        assert_eq!(resource_id(&json!({"id": ""})), None);
        assert_eq!(resource_id(&json!({"userName": "x"})), None);
    }

    #[test]
    fn a_filter_that_finds_something_when_nothing_was_expected_is_an_error() {
        let body = json!({"totalResults": 1, "Resources": [{"id": "a"}]});
        assert!(!body_ok(BodyCheck::TotalResults(0), Some(&body)));
        assert!(body_ok(BodyCheck::TotalResults(1), Some(&body)));
        assert!(!body_ok(BodyCheck::TotalResults(0), None));
    }

    #[tokio::test]
    async fn a_paced_runner_spaces_its_requests() {
        let runner = Runner::new(
            1,
            Duration::from_secs(1),
            None,
            Some(Duration::from_millis(20)),
        )
        .unwrap();
        let started = Instant::now();
        for _ in 0..6 {
            runner.pace().await;
        }
        // The first slot is now; five more follow, 20 ms apart.
        assert!(started.elapsed() >= Duration::from_millis(100));
        let unpaced = Runner::new(1, Duration::from_secs(1), None, None).unwrap();
        let started = Instant::now();
        for _ in 0..6 {
            unpaced.pace().await;
        }
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn urls_percent_encode_ids_and_filters_and_tolerate_a_bare_host() {
        let runner = Arc::new(Runner::new(1, Duration::from_secs(1), None, None).unwrap());
        let target = Target {
            base: Url::parse("http://127.0.0.1:8080/scim/v2/t1").unwrap(),
            token: "t".into(),
        };
        let tenant = Tenant::new(0, &target, runner.clone()).unwrap();
        let url = tenant.url(&["Users", "a b/c"], &[("filter", "userName eq \"x@y\"")]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/scim/v2/t1/Users/a%20b%2Fc?filter=userName+eq+%22x%40y%22"
        );
        let bare = Target {
            base: Url::parse("http://127.0.0.1:8080").unwrap(),
            token: "t".into(),
        };
        let tenant = Tenant::new(0, &bare, runner).unwrap();
        assert_eq!(
            tenant.url(&["Users"], &[]).as_str(),
            "http://127.0.0.1:8080/Users"
        );
    }
}
