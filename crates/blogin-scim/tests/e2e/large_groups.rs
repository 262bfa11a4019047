//! Entra's initial sync of large groups on the distributed roles, in a smaller form: users
//! created 16 at a time, then several groups filled by member PATCHes of 100 sent at once.
//! Every request must be answered `2xx` — a `503` here is the defect this test exists for
//! (fan-out starving the synchronous path), not a timing matter: each request is far inside
//! the deadline. Meanwhile a real Prometheus scrapes the worker, and the dashboard's fan-out
//! panels must return data for the tenant.

use crate::support::{Cluster, Deployment, Proc, Scim, TempDir, eventually, free_addr, patch_op};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const USERS: usize = 1_000;
const GROUPS: usize = 5;
const MEMBERS_PER_GROUP: usize = 400;
const MEMBERS_PER_PATCH: usize = 100;
const IN_FLIGHT: usize = 16;

/// A Prometheus (Debian's package, installed by `scripts/test.sh`) scraping `targets` every
/// second.
struct Prometheus {
    _proc: Proc,
    url: String,
    _dir: TempDir,
}

impl Prometheus {
    async fn start(targets: &[String]) -> Prometheus {
        let bin = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("prometheus is not installed: scripts/test.sh installs Debian's package");
        let dir = TempDir::new("prometheus");
        let config = dir.0.join("prometheus.yml");
        let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: blogin-scim-worker\n    static_configs:\n      - targets: [{}]\n        labels:\n          role: worker\n",
                targets.join(", ")
            ),
        )
        .unwrap();
        let addr = free_addr();
        let mut cmd = std::process::Command::new(bin);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"));
        let proc = Proc::spawn_command("prometheus", &dir.0, cmd);
        let url = format!("http://{addr}");
        crate::support::wait_ready(&format!("{url}/-/ready"), &mut []).await;
        Prometheus {
            _proc: proc,
            url,
            _dir: dir,
        }
    }

    /// The series an instant query returns, as (labels, value).
    async fn query(&self, promql: &str) -> Vec<(Value, f64)> {
        let r: Value = reqwest::Client::new()
            .get(
                reqwest::Url::parse_with_params(
                    &format!("{}/api/v1/query", self.url),
                    &[("query", promql)],
                )
                .unwrap(),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["status"], "success", "{promql}: {r}");
        r["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["metric"].clone(),
                    s["value"][1].as_str().unwrap().parse().unwrap(),
                )
            })
            .collect()
    }
}

/// The PromQL of the dashboard's two fan-out panels, with the template variables a viewer
/// would have selected.
fn fanout_panel_queries() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/observability/grafana/dashboards/blogin-scim.json"
    );
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap_or_default();
        if !title.starts_with("Fan-out pending") && !title.starts_with("Fan-out lag") {
            continue;
        }
        for t in panel["targets"].as_array().unwrap() {
            queries.push(
                t["expr"]
                    .as_str()
                    .unwrap()
                    .replace("$__rate_interval", "1m")
                    .replace("$tenant", ".*"),
            );
        }
    }
    assert_eq!(queries.len(), 2, "the dashboard's two fan-out panels");
    queries
}

async fn create(scim: &Scim, path: &str, body: Value) -> (u16, String) {
    let r = scim.post(path, &body).await;
    (
        r.status,
        r.body["id"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn large_groups_sync_on_the_distributed_roles_answers_every_request() {
    let cluster = Cluster::start(1).await;
    let tenant = cluster.create_tenant("large-groups");
    let scim = Scim::new(&tenant);
    let prometheus = Prometheus::start(&cluster.worker_health).await;

    // Users, 16 in flight (Entra's filter GET before each create is left out: it is a read).
    let created: Vec<(u16, String)> = futures_util::stream::iter(0..USERS)
        .map(|i| {
            let scim = scim.clone();
            async move {
                create(
                    &scim,
                    "/Users",
                    json!({"userName": format!("lg{i}@example.com"), "active": true}),
                )
                .await
            }
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let failed: Vec<u16> = created
        .iter()
        .map(|(s, _)| *s)
        .filter(|s| *s != 201)
        .collect();
    assert!(failed.is_empty(), "user creates answered {failed:?}");
    let users: Vec<String> = created.into_iter().map(|(_, id)| id).collect();

    let mut groups = Vec::new();
    for g in 0..GROUPS {
        let (status, id) =
            create(&scim, "/Groups", json!({"displayName": format!("LG {g}")})).await;
        assert_eq!(status, 201);
        groups.push(id);
    }
    // Group g holds users [g*M, g*M+M) modulo U: groups overlap, as departments and
    // distribution lists do.
    let members_of = |g: usize| -> Vec<String> {
        (0..MEMBERS_PER_GROUP)
            .map(|k| users[(g * MEMBERS_PER_GROUP + k) % USERS].clone())
            .collect()
    };
    // Every group's PATCHes interleaved, so several groups are patched at once.
    let mut patches = Vec::new();
    for p in 0..MEMBERS_PER_GROUP / MEMBERS_PER_PATCH {
        for (g, group) in groups.iter().enumerate() {
            let chunk = members_of(g)[p * MEMBERS_PER_PATCH..(p + 1) * MEMBERS_PER_PATCH].to_vec();
            patches.push((group.clone(), chunk));
        }
    }
    let started = Instant::now();
    let answers: Vec<(u16, Duration)> = futures_util::stream::iter(patches)
        .map(|(group, chunk)| {
            let scim = scim.clone();
            async move {
                let value: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
                let t = Instant::now();
                let r = scim
                    .patch(
                        &format!("/Groups/{group}"),
                        &patch_op(json!([{"op": "Add", "path": "members", "value": value}])),
                    )
                    .await;
                (r.status, t.elapsed())
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let last_patch = Instant::now();
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert!(
        statuses.iter().all(|s| *s == 204),
        "member PATCHes answered {statuses:?}"
    );
    let slowest = answers.iter().map(|(_, d)| *d).max().unwrap_or_default();
    println!(
        "{} member PATCHes of {MEMBERS_PER_PATCH} in {:?}, slowest {slowest:?}",
        answers.len(),
        last_patch - started
    );

    // While fan-out drains, the dashboard's panels show the tenant's series.
    let mut seen: BTreeMap<String, f64> = BTreeMap::new();
    for q in fanout_panel_queries() {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let series = prometheus.query(&q).await;
            if let Some((_, v)) = series
                .iter()
                .find(|(m, _)| m["tenant"] == tenant.slug.as_str())
            {
                seen.insert(q.clone(), *v);
                break;
            }
            assert!(
                Instant::now() < until,
                "the dashboard query {q} never returned the tenant's series: {series:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    println!("fan-out panels during the run: {seen:?}");

    // Every group has its members at once; every user's groups once fan-out has run.
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (g, group) in groups.iter().enumerate() {
        let r = scim.get(&format!("/Groups/{group}")).await;
        let members: BTreeSet<&str> = r.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        assert_eq!(members.len(), MEMBERS_PER_GROUP, "group {g}");
        for u in members_of(g) {
            expected.entry(u).or_default().insert(group.clone());
        }
    }
    let sample: Vec<(String, BTreeSet<String>)> = expected.into_iter().step_by(7).collect();
    eventually("every sampled user shows its groups", || async {
        for (user, want) in &sample {
            let r = scim.get(&format!("/Users/{user}?attributes=groups")).await;
            let have: BTreeSet<String> = r.body["groups"]
                .as_array()
                .map(|gs| {
                    gs.iter()
                        .map(|g| g["value"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            if &have != want {
                return false;
            }
        }
        true
    })
    .await;
    println!(
        "sampled users' groups right {:?} after the last PATCH",
        last_patch.elapsed()
    );
}
