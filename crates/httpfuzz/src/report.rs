//! The outcome of a run: counts, findings (each reproducible from seed, lane and step) and
//! final-state differences, and the short table people read.
//!
//! Every text that came from the generator or the servers is escaped before it is shown:
//! the requests carry NUL, bidi overrides and escape sequences on purpose.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Findings kept per category; the counts go on beyond it.
pub(crate) const KEPT: usize = 2_000;
/// Findings and differences shown by `Display`.
const SHOWN: usize = 20;

/// The request of a finding, as generated: references appear as `{user#3}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestView {
    /// The HTTP method.
    pub method: String,
    /// Path and query after the lane's base URL (or after its parent, for `/other-tenant/…`).
    pub path: String,
    /// Header names and values; the token is never shown.
    pub headers: Vec<(String, String)>,
    /// The body, escaped and cut to 2 KB.
    pub body: String,
}

/// One side's answer in a finding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerView {
    /// The HTTP status, 0 when no answer came (connection refused or reset, timeout).
    pub status: u16,
    /// `scimType` of a SCIM error body.
    pub scim_type: Option<String>,
    /// `detail` of a SCIM error body, or the transport error; cut to 300 characters.
    pub detail: Option<String>,
}

/// One request on which the two deployments did not behave as one service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finding {
    /// The run's seed.
    pub seed: u64,
    /// Which lane (tenant pair).
    pub lane: usize,
    /// The request's position in the lane, from 0: replaying the lane's first `step + 1`
    /// requests from the same seed reproduces it.
    pub step: usize,
    /// The generator's label of the request (`users.create`, `hostile.auth`, …).
    pub kind: String,
    /// What was wrong.
    pub reason: String,
    /// The request.
    pub request: RequestView,
    /// Target A's answer.
    pub a: AnswerView,
    /// Target B's answer.
    pub b: AnswerView,
}

/// The result of [`run`](crate::run).
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The run's seed.
    pub seed: u64,
    /// Lanes run (pairs of tenants).
    pub lanes: usize,
    /// The two targets' names.
    pub names: [String; 2],
    /// Requests generated across all lanes; each was sent to A and to B.
    pub requests: usize,
    /// A's answers by status (0 = no answer); B's are in `by_status_b`. Equal in a clean run.
    pub by_status: BTreeMap<u16, usize>,
    /// B's answers by status (after retries).
    pub by_status_b: BTreeMap<u16, usize>,
    /// Requests by generator label.
    pub by_kind: BTreeMap<String, usize>,
    /// Requests resent to B after a lone `503` with `Retry-After`.
    pub retries: usize,
    /// Exchanges resent once after failing with no answer (a pooled connection the server
    /// had just closed); a second failure is a server error.
    pub reconnects: usize,
    /// Requests the client could not express (an invalid method or URL), on both sides.
    pub unsent: usize,
    /// Disagreements (the first 2,000, in lane then step order).
    pub disagreements: Vec<Finding>,
    /// All disagreements, including those not kept.
    pub disagreement_count: usize,
    /// 5xx answers and failed exchanges on either side (the first 2,000).
    pub server_errors: Vec<Finding>,
    /// All server errors, including those not kept.
    pub server_error_count: usize,
    /// Differences between the final directories, and failures to list them (the first
    /// 2,000).
    pub state_differences: Vec<String>,
    /// All state differences, including those not kept.
    pub state_difference_count: usize,
    /// The whole run, final listing included.
    pub elapsed: Duration,
    /// The request phase alone (the rate is computed on it).
    pub requests_elapsed: Duration,
}

impl Report {
    /// No disagreement, no server error, and the same final state on both sides.
    pub fn is_clean(&self) -> bool {
        self.disagreement_count == 0
            && self.server_error_count == 0
            && self.state_difference_count == 0
    }

    fn rate(&self) -> f64 {
        let secs = self.requests_elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b] = &self.names;
        writeln!(
            f,
            "httpfuzz seed {}: {} requests over {} lane(s) in {:.1} s ({:.0} req/s), A = {}, B = {}",
            self.seed,
            self.requests,
            self.lanes,
            self.requests_elapsed.as_secs_f64(),
            self.rate(),
            escape(a),
            escape(b),
        )?;
        writeln!(
            f,
            "retries of B: {}, reconnects: {}, not sendable: {}, total {:.1} s",
            self.retries,
            self.reconnects,
            self.unsent,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(f, "{:>6} {:>9} {:>9}", "status", "A", "B")?;
        let statuses: std::collections::BTreeSet<u16> = self
            .by_status
            .keys()
            .chain(self.by_status_b.keys())
            .copied()
            .collect();
        for s in statuses {
            let count = |m: &BTreeMap<u16, usize>| m.get(&s).copied().unwrap_or(0);
            writeln!(
                f,
                "{s:>6} {:>9} {:>9}",
                count(&self.by_status),
                count(&self.by_status_b)
            )?;
        }
        let kinds: Vec<String> = self
            .by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(f, "kinds: {}", kinds.join(", "))?;
        writeln!(
            f,
            "disagreements: {}, server errors: {}, state differences: {} — {}",
            self.disagreement_count,
            self.server_error_count,
            self.state_difference_count,
            if self.is_clean() {
                "CLEAN"
            } else {
                "NOT CLEAN"
            }
        )?;
        for (title, list, total) in [
            (
                "server errors",
                &self.server_errors,
                self.server_error_count,
            ),
            (
                "disagreements",
                &self.disagreements,
                self.disagreement_count,
            ),
        ] {
            if total == 0 {
                continue;
            }
            writeln!(
                f,
                "\n== {title} (first {} of {total})",
                list.len().min(SHOWN)
            )?;
            for finding in list.iter().take(SHOWN) {
                write!(f, "{finding}")?;
            }
        }
        if self.state_difference_count > 0 {
            writeln!(
                f,
                "\n== state differences (first {} of {})",
                self.state_differences.len().min(SHOWN),
                self.state_difference_count
            )?;
            for d in self.state_differences.iter().take(SHOWN) {
                writeln!(f, "- {d}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "\n* seed {} lane {} step {} ({}): {}",
            self.seed,
            self.lane,
            self.step,
            self.kind,
            escape(&self.reason)
        )?;
        let r = &self.request;
        writeln!(
            f,
            "  {} {}",
            escape(&r.method),
            escape(&truncate(&r.path, 1_024))
        )?;
        for (n, v) in &r.headers {
            writeln!(f, "  {}: {}", escape(n), escape(&truncate(v, 300)))?;
        }
        if !r.body.is_empty() {
            writeln!(f, "  body: {}", r.body)?;
        }
        for (side, ans) in [("A", &self.a), ("B", &self.b)] {
            writeln!(
                f,
                "  {side}: {} scimType={} detail={}",
                ans.status,
                ans.scim_type.as_deref().map_or("-".into(), escape),
                ans.detail.as_deref().map_or("-".into(), escape),
            )?;
        }
        Ok(())
    }
}

/// At most `max` bytes of `s` (cut on a character boundary), with a mark when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut at = max;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    format!("{}…[{} bytes]", &s[..at], s.len())
}

/// Control, invisible and bidi characters as `\u{…}`, so a finding cannot rewrite the
/// terminal it is printed on or hide what it contains.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let invisible = matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
            | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}');
        if c.is_control() || invisible {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_shows_controls_and_bidi_and_truncation_marks_the_cut() {
        assert_eq!(escape("a\u{202E}b\u{0}c\n"), "a\\u{202e}b\\u{0}c\\u{a}");
        assert_eq!(truncate("ééé", 3), "é…[6 bytes]");
    }

    #[test]
    fn a_report_with_a_finding_is_not_clean_and_shows_it() {
        let mut r = Report {
            requests: 1,
            ..Report::default()
        };
        assert!(r.is_clean());
        r.disagreement_count = 1;
        r.disagreements.push(Finding {
            seed: 9,
            lane: 1,
            step: 4,
            kind: "users.create".into(),
            reason: "status A 201 ≠ B 409".into(),
            ..Finding::default()
        });
        assert!(!r.is_clean());
        let text = r.to_string();
        assert!(
            text.contains("seed 9 lane 1 step 4 (users.create): status A 201 ≠ B 409"),
            "{text}"
        );
    }
}
