//! A run: one task per lane, each sending its requests one at a time to both sides at
//! once, then the final-state comparison of every lane.
//!
//! Within a lane the order is strict (request n+1 is generated after both answers to n are
//! in), so both sides see the same sequence and references resolve to the same resources.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{Answer, Concrete, send};
use crate::compare::{Verdict, compare};
use crate::generate::{Generator, lane_seed};
use crate::normalize::Norm;
use crate::refs::{Bound, Refs, SlotState};
use crate::report::{AnswerView, Finding, KEPT, Report, RequestView, escape, truncate};
use crate::request::{Auth, Body, Effect, Template, substitute};
use crate::{Config, Lane, Target, state};

/// How long the final states may take to agree: users' `groups` follow membership writes
/// asynchronously, so the listing is repeated until both sides are quiet.
const QUIET_TRIES: u32 = 20;
const QUIET_WAIT: Duration = Duration::from_millis(500);

/// Resends of a request to B after a lone `503` with `Retry-After`.
const RETRIES: u32 = 3;
const BACKOFF: Duration = Duration::from_millis(200);

#[derive(Debug)]
struct Ctx {
    http: reqwest::Client,
    config: Config,
    /// `lanes[side]`: A's and B's lanes, cut to the same number.
    lanes: [Vec<Lane>; 2],
}

/// What one lane's task brings back.
#[derive(Debug, Default)]
struct LaneOutcome {
    requests: usize,
    by_status: [BTreeMap<u16, usize>; 2],
    by_kind: BTreeMap<String, usize>,
    retries: usize,
    reconnects: usize,
    unsent: usize,
    disagreements: Vec<Finding>,
    disagreement_count: usize,
    server_errors: Vec<Finding>,
    server_error_count: usize,
    /// The lane's id → label on each side, for the final comparison.
    labels: [HashMap<String, String>; 2],
}

/// Sends `config.requests` generated requests, split across the lanes, to `a` and `b`, and
/// compares the answers and then the final states. Never panics on what the servers do.
pub async fn run(config: &Config, a: &Target, b: &Target) -> Report {
    let started = Instant::now();
    let lanes = a.lanes.len().min(b.lanes.len());
    let mut report = Report {
        seed: config.seed,
        lanes,
        names: [a.name.clone(), b.name.clone()],
        ..Report::default()
    };
    if a.lanes.len() != b.lanes.len() {
        push_state(
            &mut report,
            format!(
                "the targets have {} and {} lanes; only the first {lanes} are paired",
                a.lanes.len(),
                b.lanes.len()
            ),
        );
    }
    if lanes == 0 {
        push_state(&mut report, "no lanes to run: a target has none".into());
        return report;
    }
    let http = match crate::client::http() {
        Ok(h) => h,
        Err(e) => {
            push_state(&mut report, format!("the HTTP client cannot be built: {e}"));
            return report;
        }
    };
    let ctx = Arc::new(Ctx {
        http,
        config: config.clone(),
        lanes: [a.lanes[..lanes].to_vec(), b.lanes[..lanes].to_vec()],
    });
    let handles: Vec<_> = (0..lanes)
        .map(|lane| {
            let share = config.requests / lanes + usize::from(lane < config.requests % lanes);
            tokio::spawn(run_lane(ctx.clone(), lane, share))
        })
        .collect();
    let mut labels = Vec::with_capacity(lanes);
    for (lane, handle) in handles.into_iter().enumerate() {
        match handle.await {
            Ok(mut outcome) => {
                labels.push(std::mem::take(&mut outcome.labels));
                merge(&mut report, outcome);
            }
            Err(e) => {
                labels.push(Default::default());
                push_state(&mut report, format!("lane {lane}'s task failed: {e}"));
            }
        }
    }
    report.requests_elapsed = started.elapsed();
    for (lane, known) in labels.iter().enumerate() {
        let (a, b) = (&ctx.lanes[0][lane], &ctx.lanes[1][lane]);
        let mut diffs = state::compare_lane(&ctx.http, lane, a, b, known).await;
        for _ in 1..QUIET_TRIES {
            if diffs.is_empty() {
                break;
            }
            tokio::time::sleep(QUIET_WAIT).await;
            diffs = state::compare_lane(&ctx.http, lane, a, b, known).await;
        }
        for d in diffs {
            push_state(&mut report, d);
        }
    }
    report.elapsed = started.elapsed();
    report
}

fn push_state(report: &mut Report, difference: String) {
    report.state_difference_count += 1;
    if report.state_differences.len() < KEPT {
        report.state_differences.push(difference);
    }
}

fn merge(report: &mut Report, o: LaneOutcome) {
    report.requests += o.requests;
    let [sa, sb] = o.by_status;
    for (s, n) in sa {
        *report.by_status.entry(s).or_default() += n;
    }
    for (s, n) in sb {
        *report.by_status_b.entry(s).or_default() += n;
    }
    for (k, n) in o.by_kind {
        *report.by_kind.entry(k).or_default() += n;
    }
    report.retries += o.retries;
    report.reconnects += o.reconnects;
    report.unsent += o.unsent;
    report.disagreement_count += o.disagreement_count;
    report.server_error_count += o.server_error_count;
    let room = KEPT.saturating_sub(report.disagreements.len());
    report
        .disagreements
        .extend(o.disagreements.into_iter().take(room));
    let room = KEPT.saturating_sub(report.server_errors.len());
    report
        .server_errors
        .extend(o.server_errors.into_iter().take(room));
}

async fn run_lane(ctx: Arc<Ctx>, lane: usize, requests: usize) -> LaneOutcome {
    let seed = ctx.config.seed;
    let mut generator = Generator::new(seed, lane, ctx.config.max_body_bytes);
    let mut refs = Refs::new(lane_seed(seed, lane));
    let mut out = LaneOutcome::default();
    for step in 0..requests {
        let t = generator.next_template();
        let [ra, rb] = [0, 1].map(|side| Concrete::render(&t, &refs, side, &ctx.lanes[side], lane));
        let ((a, ra_again), (mut b, rb_again)) =
            tokio::join!(exchange(&ctx.http, &ra), exchange(&ctx.http, &rb));
        out.reconnects += usize::from(ra_again) + usize::from(rb_again);
        // B alone overloaded is weather, not a bug, unless it lasts.
        let mut attempt = 0;
        while b.status == 503 && b.retry_after && a.status != 503 && attempt < RETRIES {
            attempt += 1;
            out.retries += 1;
            tokio::time::sleep(BACKOFF * attempt).await;
            let (again, reconnected) = exchange(&ctx.http, &rb).await;
            out.reconnects += usize::from(reconnected);
            b = again;
        }
        out.requests += 1;
        *out.by_status[0].entry(a.status).or_default() += 1;
        *out.by_status[1].entry(b.status).or_default() += 1;
        *out.by_kind.entry(t.kind.to_owned()).or_default() += 1;
        if a.unsent && b.unsent {
            out.unsent += 1;
        }
        let norm = |side: usize| Norm {
            labels: refs.labels(side),
            base: ctx.lanes[side][lane].base_url.trim_end_matches('/'),
            drop_groups: true,
        };
        let verdict = compare(t.expect, t.loose, &a, &b, norm(0), norm(1));
        let finding = |reason: String| Finding {
            seed,
            lane,
            step,
            kind: t.kind.to_owned(),
            reason,
            request: describe(&t, &refs),
            a: view(&a),
            b: view(&b),
        };
        match verdict {
            Verdict::Same => {}
            Verdict::Disagree(reason) => {
                out.disagreement_count += 1;
                if out.disagreements.len() < KEPT {
                    out.disagreements.push(finding(reason));
                }
            }
            Verdict::ServerError(reason) => {
                out.server_error_count += 1;
                if out.server_errors.len() < KEPT {
                    out.server_errors.push(finding(reason));
                }
            }
        }
        apply(&t, &mut refs, [&a, &b]);
    }
    out.labels = [0, 1].map(|side| refs.labels(side).clone());
    out
}

/// Sends, and once more after a failure with no answer: a pooled connection that the
/// server closed just before (after a `413`, an idle timeout) fails without reaching it. A
/// request that really breaks the server fails twice. Returns whether it was resent.
async fn exchange(http: &reqwest::Client, req: &Concrete) -> (Answer, bool) {
    let first = send(http, req).await;
    if first.status != 0 || first.unsent {
        return (first, false);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    (send(http, req).await, true)
}

/// Updates the lane's resources from what both sides answered.
fn apply(t: &Template, refs: &mut Refs, answers: [&Answer; 2]) {
    let ok = answers.map(Answer::is_success);
    match t.effect {
        Effect::None => {}
        Effect::Create(res) => {
            let ids = answers.map(|x| x.id().filter(|_| x.is_success()));
            if ids.iter().any(Option::is_some) {
                refs.created(res, ids, answers.map(Answer::version));
            }
        }
        Effect::Modify(r) | Effect::Delete(r) => {
            let Bound::Slot(res, k) = refs.bind(r) else {
                return;
            };
            if ok[0] != ok[1] {
                refs.set_state(res, k, SlotState::Unusable);
            } else if ok[0] && matches!(t.effect, Effect::Delete(_)) {
                refs.set_state(res, k, SlotState::Deleted);
            } else if ok[0] {
                for (side, x) in answers.iter().enumerate() {
                    refs.set_etag(res, k, side, x.version());
                }
            }
        }
    }
}

fn view(x: &Answer) -> AnswerView {
    AnswerView {
        status: x.status,
        scim_type: x.scim_type().map(str::to_owned),
        detail: x.detail().map(|d| truncate(&d, 300)),
    }
}

/// The request as generated, references shown symbolically and the token never.
fn describe(t: &Template, refs: &Refs) -> RequestView {
    let show = |s: &str| substitute(s, |r| refs.describe(r));
    let mut path = show(&t.path);
    if let Some(q) = &t.query {
        path.push('?');
        path.push_str(&show(q));
    }
    if t.base == crate::request::Base::Parent {
        path = format!("(parent of the base URL){path}");
    }
    let mut headers: Vec<(String, String)> = t
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), show(v)))
        .collect();
    let auth = match &t.auth {
        Auth::Good => Some("Bearer <token>".to_owned()),
        Auth::Missing => None,
        Auth::Around(p, s) => Some(format!("{p}<token>{s}")),
        Auth::Truncated(n) => Some(format!("Bearer <first {n} characters of the token>")),
        Auth::Raw(v) => Some(v.clone()),
        Auth::OtherLane(_) => Some("Bearer <another lane's token>".to_owned()),
    };
    if let Some(v) = auth {
        headers.push(("Authorization".to_owned(), v));
    }
    let body = match &t.body {
        Body::None => String::new(),
        Body::Text(text) => escape(&truncate(&show(text), 2_048)),
        Body::Bytes(b) => {
            let text = String::from_utf8_lossy(&b[..b.len().min(2_048)]).into_owned();
            format!("(not UTF-8, {} bytes) {}", b.len(), escape(&text))
        }
    };
    RequestView {
        method: t.method.clone(),
        path,
        headers,
        body,
    }
}
