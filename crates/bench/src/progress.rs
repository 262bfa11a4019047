//! The once-a-second progress line on stderr, so a long run shows it is alive and how fast.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use crate::stats::Recorder;

/// Prints until aborted. `verify` joins the line once it has requests.
pub(crate) async fn every_second(started: Instant, main: Arc<Recorder>, verify: Arc<Recorder>) {
    let mut tick =
        tokio::time::interval_at(started + Duration::from_secs(1), Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last = 0;
    loop {
        tick.tick().await;
        let now = main.progress().0;
        eprintln!(
            "{}",
            line(
                started.elapsed(),
                main.progress(),
                Some(now - last),
                verify.progress().0
            )
        );
        last = now;
    }
}

/// The final line, printed once the run is over.
pub(crate) fn last(started: Instant, main: &Recorder, verify: &Recorder) {
    eprintln!(
        "{}, done",
        line(
            started.elapsed(),
            main.progress(),
            None,
            verify.progress().0
        )
    );
}

fn line(
    elapsed: Duration,
    (done, errors): (u64, u64),
    last_second: Option<u64>,
    verified: u64,
) -> String {
    let secs = elapsed.as_secs_f64();
    let avg = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let mut out = format!("[{secs:7.1}s] {done} requests, {avg:.1} req/s");
    if let Some(n) = last_second {
        out.push_str(&format!(" (last second {n})"));
    }
    out.push_str(&format!(", {errors} errors"));
    if verified > 0 {
        out.push_str(&format!(", verify {verified} requests"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_shows_elapsed_done_rate_and_errors() {
        let l = line(Duration::from_secs(4), (1000, 2), Some(260), 0);
        assert_eq!(
            l,
            "[    4.0s] 1000 requests, 250.0 req/s (last second 260), 2 errors"
        );
    }
}
