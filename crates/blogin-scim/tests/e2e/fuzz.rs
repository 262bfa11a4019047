//! Differential fuzzing of the HTTP surface (DESIGN §12): one seeded stream of valid-ish and
//! hostile requests (`blogin-scim-httpfuzz`) goes to `serve` on SQLite and to the distributed
//! roles on PostgreSQL; both must answer every request alike, never with a `500` or a crash,
//! and end in the same state. `BLOGIN_SCIM_FUZZ_REQUESTS` (default 100,000) and
//! `BLOGIN_SCIM_FUZZ_SEED` (default: random, printed) choose the run; `scripts/fuzz.sh` runs
//! it (with any count and seed).

use crate::support::{Cluster, Deployment, Serve, env_or};
use blogin_scim_httpfuzz::{Config, Lane, Target};

/// Tenants per deployment, each a sequential lane of the fuzzer.
const LANES: usize = 8;

fn target(name: &str, deployment: &impl Deployment, prefix: &str) -> Target {
    Target {
        name: name.to_owned(),
        lanes: (0..LANES)
            .map(|i| {
                let tenant = deployment.create_tenant(&format!("{prefix}{i}"));
                Lane {
                    base_url: tenant.base_url,
                    token: tenant.token,
                }
            })
            .collect(),
    }
}

// Run on its own by the test command (scripts/test.sh), after the other suites: it keeps both
// deployments busy for minutes.
#[ignore = "run by scripts/test.sh and scripts/fuzz.sh on its own"]
#[tokio::test(flavor = "multi_thread")]
async fn sqlite_and_postgresql_answer_generated_hostile_requests_alike() {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let seed = env_or("BLOGIN_SCIM_FUZZ_SEED", clock);
    let requests = env_or("BLOGIN_SCIM_FUZZ_REQUESTS", 100_000usize);
    let mut serve = Serve::start().await;
    let mut cluster = Cluster::start(1).await;
    let a = target("serve (SQLite)", &serve, "fuzz");
    let b = target("roles (PostgreSQL)", &cluster, "fuzz");
    println!("fuzzing with seed {seed}: {requests} requests over {LANES} lanes");
    let report = blogin_scim_httpfuzz::run(
        &Config {
            seed,
            requests,
            max_body_bytes: 1 << 20,
        },
        &a,
        &b,
    )
    .await;
    println!("{report}");
    assert!(serve.proc.is_running(), "serve exited during the run");
    assert!(cluster.gateway.is_running(), "the gateway exited");
    for w in &mut cluster.workers {
        assert!(w.is_running(), "a worker exited");
    }
    assert!(
        report.is_clean(),
        "seed {seed}: the deployments disagree, crashed or answered 5xx:\n{report}"
    );
}
