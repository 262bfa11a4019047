//! The end of a run: a table per operation for people, then one JSON line for machines.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::scenario::{Convergence, Import};
use crate::stats::{OpSummary, Summary, rate};
use crate::verify::VerifyReport;

/// `--verify`'s state at the end of the run.
#[derive(Debug, Clone)]
pub(crate) enum Verified {
    NotAsked,
    /// Not run, and why (the deadline was reached first).
    Skipped(&'static str),
    Done(VerifyReport),
}

impl Verified {
    pub(crate) fn passed(&self) -> bool {
        match self {
            Verified::NotAsked => true,
            Verified::Skipped(_) => false,
            Verified::Done(r) => r.passed(),
        }
    }
}

/// Everything the final output says.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) scenario: &'static str,
    pub(crate) tenants: usize,
    pub(crate) concurrency: usize,
    /// `--rate`, when the run was paced.
    pub(crate) rate: Option<f64>,
    pub(crate) prefix: String,
    pub(crate) params: Value,
    pub(crate) summary: Summary,
    pub(crate) aborted: u64,
    pub(crate) deadline_hit: bool,
    pub(crate) verify: Verified,
    /// Worst tenant's convergence (`large-groups` only).
    pub(crate) convergence: Option<Convergence>,
    /// Summed over tenants (`okta-import` only).
    pub(crate) import: Option<Import>,
}

impl Report {
    /// Exit code 0 or 1 (2 is for usage errors, decided before any request).
    pub(crate) fn success(&self) -> bool {
        self.summary.errors == 0 && !self.deadline_hit && self.verify.passed()
    }

    pub(crate) fn text(&self) -> String {
        let mut out = format!(
            "scenario {}, {} tenant(s), concurrency {} per tenant, prefix {}\n\n",
            self.scenario, self.tenants, self.concurrency, self.prefix
        );
        out.push_str(&table(&self.summary));
        if self.deadline_hit {
            let _ = writeln!(
                out,
                "\nDEADLINE reached: run cut short, {} request(s) abandoned in flight",
                self.aborted
            );
        }
        if let Some(c) = &self.convergence {
            let _ = match c.after {
                Some(after) => writeln!(
                    out,
                    "\nconvergence: users' groups all right {:.3} s after the last PATCH \
                     (last seen wrong at {}; {} users sampled)",
                    after.as_secs_f64(),
                    c.last_wrong
                        .map_or("never".into(), |w| format!("{:.3} s", w.as_secs_f64())),
                    c.sampled
                ),
                None => writeln!(
                    out,
                    "\nconvergence: NOT converged within --converge-timeout {} s \
                     ({} users sampled)",
                    c.timeout.as_secs_f64(),
                    c.sampled
                ),
            };
        }
        if let Some(i) = &self.import {
            let _ = writeln!(
                out,
                "\nimport: {} pages, {} users seen, {} distinct, totalResults {}",
                i.pages, i.users_seen, i.distinct_ids, i.total_results
            );
        }
        out.push_str(&verify_text(&self.verify));
        out
    }

    pub(crate) fn json(&self) -> Value {
        let s = &self.summary;
        let mut ops = Map::new();
        for op in &s.ops {
            ops.insert(op.name.clone(), op_json(op));
        }
        let mut out = json!({
            "scenario": self.scenario,
            "tenants": self.tenants,
            "concurrency": self.concurrency,
            "rate": self.rate,
            "prefix": self.prefix,
            "params": self.params,
            "total": {
                "requests": s.requests,
                "errors": s.errors,
                "timed_requests": s.timed_requests,
                "wall_s": round3(s.timed_wall.as_secs_f64()),
                "rps": round3(rate(s.timed_requests, s.timed_wall)),
                "aborted": self.aborted,
                "deadline_hit": self.deadline_hit,
            },
            "ops": ops,
            "verify": verify_json(&self.verify),
        });
        if let Some(c) = &self.convergence {
            out["converged_after_s"] = json!(c.after.map(|a| round3(a.as_secs_f64())));
            out["convergence"] = json!({
                "sampled": c.sampled,
                "converged": c.after.is_some(),
                "last_wrong_s": c.last_wrong.map(|w| round3(w.as_secs_f64())),
                "timeout_s": c.timeout.as_secs_f64(),
            });
        }
        if let Some(i) = &self.import {
            out["import"] = json!({
                "pages": i.pages,
                "users_seen": i.users_seen,
                "distinct_ids": i.distinct_ids,
                "total_results": i.total_results,
            });
        }
        out["ok"] = json!(self.success());
        out
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn op_json(op: &OpSummary) -> Value {
    json!({
        "count": op.count,
        "errors": op.errors,
        "rps": round3(op.rps),
        "p50_ms": op.p50_ms,
        "p95_ms": op.p95_ms,
        "p99_ms": op.p99_ms,
        "max_ms": op.max_ms,
        "statuses": op.statuses,
    })
}

fn verify_json(v: &Verified) -> Value {
    match v {
        Verified::NotAsked => Value::Null,
        Verified::Skipped(why) => json!({"passed": false, "skipped": why}),
        Verified::Done(r) => json!({
            "passed": r.passed(),
            "users_checked": r.users_checked,
            "users_ok": r.users_ok,
            "groups_checked": r.groups_checked,
            "groups_ok": r.groups_ok,
            "mismatches": r.mismatch_count,
            "first_mismatches": r.mismatches,
        }),
    }
}

fn verify_text(v: &Verified) -> String {
    match v {
        Verified::NotAsked => String::new(),
        Verified::Skipped(why) => format!("\nverify: skipped ({why})\n"),
        Verified::Done(r) => {
            let mut out = format!(
                "\nverify: {}: users {}/{} ok, groups {}/{} ok, {} mismatch(es)\n",
                if r.passed() { "PASSED" } else { "FAILED" },
                r.users_ok,
                r.users_checked,
                r.groups_ok,
                r.groups_checked,
                r.mismatch_count
            );
            for m in &r.mismatches {
                let _ = writeln!(out, "  {m}");
            }
            if r.mismatch_count > r.mismatches.len() as u64 {
                let _ = writeln!(
                    out,
                    "  … and {} more",
                    r.mismatch_count - r.mismatches.len() as u64
                );
            }
            out
        }
    }
}

/// The per-operation table, with a totals line.
pub(crate) fn table(s: &Summary) -> String {
    let w = s
        .ops
        .iter()
        .map(|o| o.name.len())
        .max()
        .unwrap_or(0)
        .max(20);
    let mut out = format!(
        "{:<w$} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}  statuses\n",
        "operation", "count", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for o in &s.ops {
        let statuses: Vec<String> = o.statuses.iter().map(|(k, n)| format!("{k}:{n}")).collect();
        let _ = writeln!(
            out,
            "{:<w$} {:>8} {:>7} {:>9.1} {:>9.3} {:>9.3} {:>9.3} {:>9.3}  {}",
            o.name,
            o.count,
            o.errors,
            o.rps,
            o.p50_ms,
            o.p95_ms,
            o.p99_ms,
            o.max_ms,
            statuses.join(" ")
        );
    }
    let _ = writeln!(
        out,
        "{:<w$} {:>8} {:>7} {:>9.1}  (timed: {} requests in {:.3} s)",
        "total",
        s.requests,
        s.errors,
        rate(s.timed_requests, s.timed_wall),
        s.timed_requests,
        s.timed_wall.as_secs_f64()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn summary() -> Summary {
        let op = OpSummary {
            name: "users.create".into(),
            count: 2000,
            errors: 3,
            rps: 512.25,
            p50_ms: 1.234,
            p95_ms: 5.5,
            p99_ms: 9.001,
            max_ms: 20.0,
            statuses: BTreeMap::from([
                ("201".into(), 1997),
                ("409".into(), 2),
                ("timeout".into(), 1),
            ]),
        };
        Summary {
            ops: vec![op],
            requests: 2000,
            errors: 3,
            timed_requests: 2000,
            timed_wall: Duration::from_secs(4),
        }
    }

    fn report(verify: Verified) -> Report {
        Report {
            scenario: "entra",
            tenants: 1,
            concurrency: 16,
            rate: None,
            prefix: "ab12cd34".into(),
            params: json!({"users": 2000}),
            summary: summary(),
            aborted: 0,
            deadline_hit: false,
            verify,
            convergence: None,
            import: None,
        }
    }

    #[test]
    fn the_table_shows_milliseconds_to_the_microsecond_and_status_counts() {
        let t = table(&summary());
        let row = t.lines().nth(1).unwrap();
        assert!(row.starts_with("users.create"), "{row}");
        assert!(row.contains("512.2") || row.contains("512.3"), "{row}");
        assert!(row.contains("    1.234 "), "{row}");
        assert!(row.ends_with("201:1997 409:2 timeout:1"), "{row}");
        let total = t.lines().last().unwrap();
        assert!(total.contains("500.0"), "{total}");
        assert!(total.contains("timed: 2000 requests in 4.000 s"), "{total}");
    }

    #[test]
    fn the_json_line_carries_ops_totals_and_the_verdict() {
        let j = report(Verified::NotAsked).json();
        assert_eq!(j["ops"]["users.create"]["statuses"]["409"], 2);
        assert_eq!(j["ops"]["users.create"]["p99_ms"], 9.001);
        assert_eq!(j["total"]["rps"], 500.0);
        assert_eq!(j["verify"], Value::Null);
        assert_eq!(j["ok"], false);
        assert!(j.get("converged_after_s").is_none());
        assert!(!j.to_string().contains('\n'));
    }

    #[test]
    fn errors_or_a_skipped_verify_fail_the_run() {
        let mut r = report(Verified::NotAsked);
        assert!(!r.success());
        r.summary.errors = 0;
        assert!(r.success());
        r.verify = Verified::Skipped("deadline");
        assert!(!r.success());
        r.verify = Verified::Done(VerifyReport::default());
        assert!(r.success());
    }
}
