//! A simple load loop against a running service: `N` user creates, then `N` filtered GETs
//! (`userName eq`, as Entra matches), from `C` concurrent clients; prints requests per second
//! and latency percentiles. Rough numbers for the README, not a benchmark harness.
//!
//! ```sh
//! cargo run --release -p blogin-scim --example throughput -- BASE_URL TOKEN [N=2000] [C=16]
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() >= 3, "usage: throughput BASE_URL TOKEN [N] [C]");
    let base = args[1].trim_end_matches('/').to_owned();
    let token = args[2].clone();
    let n: usize = args.get(3).map_or(Ok(2000), |s| s.parse())?;
    let c: usize = args.get(4).map_or(Ok(16), |s| s.parse())?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let http = reqwest::Client::new();

    for phase in ["create", "filter"] {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..c {
            let (http, base, token, run, next) = (
                http.clone(),
                base.clone(),
                token.clone(),
                run.clone(),
                next.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0usize;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let user = format!("load-{run}-{i}@example.com");
                    let t = Instant::now();
                    let req = if phase == "create" {
                        http.post(format!("{base}/Users"))
                            .header("content-type", "application/scim+json")
                            .body(serde_json::json!({"userName": user, "active": true, "emails": [{"type": "work", "value": user, "primary": true}]}).to_string())
                    } else {
                        http.get(format!("{base}/Users?filter=userName+eq+%22{}%22", user.replace('@', "%40")))
                    };
                    let ok = req
                        .bearer_auth(&token)
                        .send()
                        .await
                        .map(|r| r.status().is_success())
                        .unwrap_or(false);
                    latencies.push(t.elapsed());
                    failures += usize::from(!ok);
                }
                (latencies, failures)
            }));
        }
        let mut all: Vec<Duration> = Vec::new();
        let mut failures = 0;
        for t in tasks {
            let (l, f) = t.await?;
            all.extend(l);
            failures += f;
        }
        let elapsed = started.elapsed();
        all.sort();
        let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
        println!(
            "{phase:>6}: {n} requests, {c} clients, {:.0} req/s, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, {failures} failed",
            n as f64 / elapsed.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.95).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
        );
    }
    Ok(())
}
