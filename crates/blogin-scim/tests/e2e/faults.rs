//! The fault suite: Entra-shaped writes and reads for several tenants run against the
//! distributed roles while, one at a time, each fault of DESIGN §12 strikes — a worker, the
//! store and the gateway killed with SIGKILL and restarted, RabbitMQ restarted, PostgreSQL
//! restarted fast and immediately, a RabbitMQ memory alarm, and the TCP path from the gateway
//! and the worker to the store cut and restored. Then it checks what a customer relies on:
//! every acknowledged write is in the final state exactly once, nothing was applied after its
//! client was told it failed, and the membership projections equal the group memberships.
//! It prints, per fault, how long it lasted, the share of `503`s and of requests without an
//! answer among those started from the fault until a few seconds after it, the longest wait,
//! and the time from its end until the first write that succeeded.
//!
//! The roles run on a PostgreSQL (durable settings) and a RabbitMQ of the suite's own, so
//! restarting them never disturbs the other tests. `scripts/faults.sh` runs it longer
//! (`BLOGIN_SCIM_FAULT_SECONDS`, seconds of load around each fault; default 4 here).

use crate::support::{
    CutProxy, Proc, TempDir, Tenant, env_or, free_addr, free_port_with, migrate, parse_tenant,
    remote_tenant_cli, role_secret_in, script, wait_ready,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};
use uuid::Uuid;

/// Tenants under load, and sequential clients ("lanes") per tenant.
const TENANTS: usize = 3;
const LANES: usize = 2;
/// Pause between a lane's requests: enough load to overlap every fault, little enough that
/// the debug build keeps up.
const PACE: Duration = Duration::from_millis(25);

/// PostgreSQL and RabbitMQ of the suite's own (`scripts/pg.sh`, `scripts/rmq.sh` with their
/// own directories and ports), stopped on drop.
struct Services {
    pg_env: Vec<(&'static str, String)>,
    rmq_env: Vec<(&'static str, String)>,
    pg_url: String,
    amqp_url: String,
}

impl Services {
    fn start(tmp: &TempDir) -> Services {
        let port = |a: String| a.rsplit_once(':').unwrap().1.to_owned();
        let pg_env = vec![
            ("PG_DIR", tmp.0.join("pg").display().to_string()),
            ("PG_PORT", port(free_addr())),
        ];
        // rmq.sh derives epmd (−1000), distribution (+1) and CLI (+8…+17) ports from the AMQP
        // port: pick one whose neighbours are free too.
        let amqp_port = free_port_with(|p| {
            let mut ports = vec![p - 1000, p + 20];
            ports.extend(p + 1..=p + 17);
            ports
        });
        let rmq_env = vec![
            ("RMQ_DIR", tmp.0.join("rmq").display().to_string()),
            ("AMQP_PORT", amqp_port.to_string()),
            ("RMQ_PROM_PORT", (amqp_port + 20).to_string()),
            ("RMQ_PLUGINS", String::new()),
        ];
        let admin = script("pg.sh", &["start", "--durable"], &pg_env);
        let amqp_url = script("rmq.sh", &["start"], &rmq_env).trim().to_owned();
        let admin = admin.trim();
        let db = format!("faults_{}", Uuid::new_v4().simple());
        let psql = Command::new("psql")
            .args([admin, "-qAtc", &format!("CREATE DATABASE {db}")])
            .output();
        let created = matches!(psql, Ok(out) if out.status.success());
        let pg_url = if created {
            format!("{}/{db}", admin.rsplit_once('/').unwrap().0)
        } else {
            // No psql on PATH: the admin database serves as well (it is the suite's own).
            admin.to_owned()
        };
        Services {
            pg_env,
            rmq_env,
            pg_url,
            amqp_url,
        }
    }

    fn pg(&self, action: &str) {
        script("pg.sh", &[action, "--durable"], &self.pg_env);
    }

    fn rmq(&self, args: &[&str]) {
        script("rmq.sh", args, &self.rmq_env);
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| self.rmq(&["stop"]));
        let _ = std::panic::catch_unwind(|| script("pg.sh", &["stop", "--durable"], &self.pg_env));
    }
}

/// The distributed roles on [`Services`]; the gateway and the worker reach the store through
/// a [`CutProxy`]. Every role can be killed and started again on the same address.
struct Rig {
    tmp: TempDir,
    env: Vec<(&'static str, String)>,
    store_addr: String,
    store_health: String,
    worker_health: String,
    gateway_addr: String,
    proxy: CutProxy,
    store: Proc,
    worker: Proc,
    gateway: Proc,
    generation: usize,
}

impl Rig {
    async fn start(tmp: TempDir, services: &Services) -> Rig {
        let store_addr = free_addr();
        let proxy = CutProxy::start(store_addr.clone()).await;
        let env = vec![
            ("BLOGIN_SCIM_DATABASE_URL", services.pg_url.clone()),
            ("BLOGIN_SCIM_AMQP_URL", services.amqp_url.clone()),
            ("BLOGIN_SCIM_STORE_URL", format!("http://{}", proxy.addr)),
            ("BLOGIN_SCIM_DATABASE_POOL", "8".into()),
            (
                "BLOGIN_SCIM_REQUEST_TIMEOUT_SECS",
                REQUEST_TIMEOUT.as_secs().to_string(),
            ),
            (
                "BLOGIN_SCIM_ROLE_SECRET",
                format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()),
            ),
        ];
        migrate(&env);
        let (store_health, worker_health, gateway_addr) = (free_addr(), free_addr(), free_addr());
        let placeholder = |name: &str| Proc::spawn_command(name, &tmp.0, Command::new("true"));
        let mut rig = Rig {
            store: placeholder("none"),
            worker: placeholder("none"),
            gateway: placeholder("none"),
            tmp,
            env,
            store_addr,
            store_health,
            worker_health,
            gateway_addr,
            proxy,
            generation: 0,
        };
        rig.start_store().await;
        rig.start_worker().await;
        rig.start_gateway().await;
        rig
    }

    fn spawn(&mut self, role: &str, args: &[&str]) -> Proc {
        self.generation += 1;
        Proc::spawn(
            &format!("{role}-{}", self.generation),
            &self.tmp.0,
            args,
            &self.env,
        )
    }

    async fn start_store(&mut self) {
        let (listen, health) = (self.store_addr.clone(), self.store_health.clone());
        self.store = self.spawn(
            "store",
            &["store", "--listen", &listen, "--health-listen", &health],
        );
        wait_ready(&format!("http://{health}/readyz"), &mut [&mut self.store]).await;
    }

    async fn start_worker(&mut self) {
        let health = self.worker_health.clone();
        self.worker = self.spawn("worker", &["worker", "--health-listen", &health]);
        wait_ready(&format!("http://{health}/readyz"), &mut [&mut self.worker]).await;
    }

    async fn start_gateway(&mut self) {
        let listen = self.gateway_addr.clone();
        self.gateway = self.spawn("gateway", &["gateway", "--listen", &listen]);
        wait_ready(&format!("http://{listen}/readyz"), &mut [&mut self.gateway]).await;
    }

    fn create_tenant(&self, slug: &str) -> Tenant {
        // Straight to the store, not through the proxy the suite cuts.
        parse_tenant(&remote_tenant_cli(
            &["create", slug, "--json"],
            &format!("http://{}", self.store_addr),
            &format!("http://{}", self.gateway_addr),
            role_secret_in(&self.env),
        ))
    }
}

/// What one request was and how it ended.
#[derive(Debug, Clone)]
enum Write {
    /// `POST /Users`; `member` users are put in groups, the others are patched.
    CreateUser {
        user_name: String,
        member: bool,
    },
    /// `PATCH /Users/{id}` replacing `displayName` with `value`.
    Rename {
        user_name: String,
        value: String,
    },
    CreateGroup {
        name: String,
    },
    /// `PATCH /Groups/{id}` adding members.
    AddMembers {
        group: String,
        users: Vec<String>,
    },
    /// A read (`GET /Users?filter=…`); only its status counts.
    Read,
}

#[derive(Debug, Clone)]
struct Outcome {
    tenant: usize,
    write: Write,
    started: Instant,
    answered: Instant,
    answered_at: SystemTime,
    /// `0`: no HTTP answer at all (connection refused or cut).
    status: u16,
    id: Option<String>,
}

/// The gateway's request timeout in the rig: a command travels with this deadline.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl Outcome {
    /// The latest moment a write that was not acknowledged may have been applied: before its
    /// failure answer went out — or, when the client got no answer at all (its gateway was
    /// killed), before the command's deadline, since it may already have been queued.
    fn applicable_until(&self) -> SystemTime {
        if self.status == 0 {
            self.answered_at + REQUEST_TIMEOUT
        } else {
            self.answered_at
        }
    }
}

/// One sequential client of one tenant.
async fn lane(
    tenant_index: usize,
    lane_index: usize,
    tenant: Tenant,
    stop: Arc<AtomicBool>,
) -> Vec<Outcome> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut outcomes = Vec::new();
    // user name → id, for the users this lane created (acknowledged or not, if found later).
    let mut renamable: Vec<(String, String)> = Vec::new();
    let mut members: Vec<(String, String)> = Vec::new();
    let mut groups: Vec<(String, String)> = Vec::new();
    let mut i = 0usize;
    while !stop.load(Ordering::Acquire) {
        i += 1;
        let (write, method, path, body) = match i % 6 {
            0 if !renamable.is_empty() => {
                let (user_name, id) = renamable[i % renamable.len()].clone();
                let value = format!("name-{i}");
                (
                    Write::Rename {
                        user_name,
                        value: value.clone(),
                    },
                    reqwest::Method::PATCH,
                    format!("/Users/{id}"),
                    Some(json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "Replace", "path": "displayName", "value": value}]
                    })),
                )
            }
            3 if groups.is_empty() || i % 30 == 3 => {
                let name = format!("group-{tenant_index}-{lane_index}-{i}");
                (
                    Write::CreateGroup { name: name.clone() },
                    reqwest::Method::POST,
                    "/Groups".to_owned(),
                    Some(json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": name,
                    })),
                )
            }
            3 if !members.is_empty() => {
                let (group, gid) = groups[i % groups.len()].clone();
                let chosen: Vec<(String, String)> = members.iter().rev().take(3).cloned().collect();
                (
                    Write::AddMembers {
                        group,
                        users: chosen.iter().map(|(n, _)| n.clone()).collect(),
                    },
                    reqwest::Method::PATCH,
                    format!("/Groups/{gid}"),
                    Some(json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "Add", "path": "members",
                            "value": chosen.iter().map(|(_, id)| json!({"value": id})).collect::<Vec<_>>()}]
                    })),
                )
            }
            5 => (
                Write::Read,
                reqwest::Method::GET,
                format!(
                    "/Users?filter=userName%20eq%20%22user-{tenant_index}-{lane_index}-{}%40example.com%22",
                    i / 2
                ),
                None,
            ),
            _ => {
                let user_name = format!("user-{tenant_index}-{lane_index}-{i}@example.com");
                (
                    Write::CreateUser {
                        user_name: user_name.clone(),
                        member: i % 4 == 1,
                    },
                    reqwest::Method::POST,
                    "/Users".to_owned(),
                    Some(json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": user_name,
                        "displayName": "initial",
                        "active": true,
                    })),
                )
            }
        };
        let started = Instant::now();
        let mut request = http
            .request(method, format!("{}{path}", tenant.base_url))
            .bearer_auth(&tenant.token);
        if let Some(body) = &body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let (status, answer) = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                (
                    status,
                    serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
                )
            }
            Err(_) => (0, Value::Null),
        };
        let id = answer["id"].as_str().map(str::to_owned);
        if status == 201 {
            match &write {
                Write::CreateUser { user_name, member } => {
                    let entry = (user_name.clone(), id.clone().unwrap());
                    if *member {
                        members.push(entry);
                    } else {
                        renamable.push(entry);
                    }
                }
                Write::CreateGroup { name } => groups.push((name.clone(), id.clone().unwrap())),
                _ => {}
            }
        }
        outcomes.push(Outcome {
            tenant: tenant_index,
            write,
            started,
            answered: Instant::now(),
            answered_at: SystemTime::now(),
            status,
            id,
        });
        tokio::time::sleep(PACE).await;
    }
    outcomes
}

/// When a fault struck and when it was over.
struct Struck {
    name: &'static str,
    at: Instant,
    recovered: Instant,
}

/// Seconds of load before and after each fault.
fn fault_seconds() -> Duration {
    Duration::from_secs(env_or("BLOGIN_SCIM_FAULT_SECONDS", 4))
}

/// How long RabbitMQ stays down when it is restarted (`BLOGIN_SCIM_FAULT_BROKER_DOWN_SECS`,
/// default 2): longer than the clients' reconnect backoff, so they must retry.
fn broker_down() -> Duration {
    Duration::from_secs(env_or("BLOGIN_SCIM_FAULT_BROKER_DOWN_SECS", 2))
}

async fn strike(rig: &mut Rig, services: &Services, name: &'static str) -> Struck {
    let at = Instant::now();
    match name {
        "kill -9 worker" => {
            rig.worker.kill();
            rig.start_worker().await;
        }
        "kill -9 store" => {
            rig.store.kill();
            rig.start_store().await;
        }
        "kill -9 gateway" => {
            rig.gateway.kill();
            rig.start_gateway().await;
        }
        "restart RabbitMQ" => {
            services.rmq(&["stop"]);
            tokio::time::sleep(broker_down()).await;
            services.rmq(&["start"]);
        }
        "restart PostgreSQL (fast)" => services.pg("restart-fast"),
        "restart PostgreSQL (immediate)" => services.pg("restart-immediate"),
        "RabbitMQ memory alarm 10 s" => {
            services.rmq(&["alarm", "on"]);
            tokio::time::sleep(Duration::from_secs(10)).await;
            services.rmq(&["alarm", "off"]);
        }
        "cut gateway/worker ↔ store 5 s" => {
            rig.proxy.cut();
            tokio::time::sleep(Duration::from_secs(5)).await;
            rig.proxy.restore();
        }
        other => unreachable!("{other}"),
    }
    Struck {
        name,
        at,
        recovered: Instant::now(),
    }
}

const FAULTS: [&str; 8] = [
    "kill -9 worker",
    "kill -9 store",
    "kill -9 gateway",
    "restart RabbitMQ",
    "restart PostgreSQL (fast)",
    "restart PostgreSQL (immediate)",
    "RabbitMQ memory alarm 10 s",
    "cut gateway/worker ↔ store 5 s",
];

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_every_fault_under_load_exactly_once() {
    let tmp = TempDir::new("faults");
    let services = Services::start(&tmp);
    let mut rig = Rig::start(TempDir::new("faults-roles"), &services).await;
    let tenants: Vec<Tenant> = (0..TENANTS)
        .map(|t| rig.create_tenant(&format!("faults{t}")))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let mut lanes = Vec::new();
    for (t, tenant) in tenants.iter().enumerate() {
        for l in 0..LANES {
            lanes.push(tokio::spawn(lane(t, l, tenant.clone(), stop.clone())));
        }
    }
    let calm = fault_seconds();
    let mut struck = Vec::new();
    for name in FAULTS {
        tokio::time::sleep(calm).await;
        struck.push(strike(&mut rig, &services, name).await);
    }
    tokio::time::sleep(calm).await;
    stop.store(true, Ordering::Release);
    let mut outcomes = Vec::new();
    for lane in lanes {
        outcomes.extend(lane.await.unwrap());
    }

    // Per fault: requests started from the strike until `calm` after recovery.
    println!(
        "\n{:<32} {:>7} {:>9} {:>7} {:>7} {:>10} {:>9} {:>11}",
        "fault", "lasted", "requests", "2xx", "503", "no answer", "longest", "write ok +"
    );
    for s in &struck {
        let window: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| o.started >= s.at && o.started <= s.recovered + calm)
            .collect();
        let count = |f: &dyn Fn(&Outcome) -> bool| window.iter().filter(|o| f(o)).count();
        let ok = count(&|o| (200..300).contains(&o.status));
        let unavailable = count(&|o| o.status == 503);
        let silent = count(&|o| o.status == 0);
        // From the end of the fault until a write started after it succeeded (reads need
        // neither the broker nor the worker, so they would hide an outage of the write path).
        let first = outcomes
            .iter()
            .filter(|o| {
                o.started >= s.recovered
                    && (200..300).contains(&o.status)
                    && !matches!(o.write, Write::Read)
            })
            .map(|o| o.answered.duration_since(s.recovered))
            .min();
        let longest = window
            .iter()
            .map(|o| o.answered.duration_since(o.started))
            .max()
            .unwrap_or_default();
        let share = |n: usize| 100.0 * n as f64 / window.len().max(1) as f64;
        println!(
            "{:<32} {:>6.1}s {:>9} {:>7} {:>6.1}% {:>9.1}% {:>8.2}s {:>10.2}s",
            s.name,
            s.recovered.duration_since(s.at).as_secs_f64(),
            window.len(),
            ok,
            share(unavailable),
            share(silent),
            longest.as_secs_f64(),
            first.map_or(f64::NAN, |d| d.as_secs_f64()),
        );
        assert!(
            first.is_some(),
            "no request succeeded after {}: the service never recovered",
            s.name
        );
    }
    let unexpected: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| !(o.status == 0 || o.status == 503 || (200..300).contains(&o.status)))
        .collect();
    assert!(
        unexpected.is_empty(),
        "answers other than 2xx, 503 or none: {:?}",
        &unexpected[..unexpected.len().min(5)]
    );

    // The final state, once the fan-out has caught up.
    let http = reqwest::Client::new();
    for (t, tenant) in tenants.iter().enumerate() {
        let mine: Vec<&Outcome> = outcomes.iter().filter(|o| o.tenant == t).collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        let (users, groups) = loop {
            let users = list_all(&http, tenant, "Users").await;
            let groups = list_all(&http, tenant, "Groups").await;
            if projections_agree(&users, &groups) || Instant::now() > deadline {
                break (users, groups);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert!(
            projections_agree(&users, &groups),
            "tenant {t}: users' groups differ from the groups' members a minute after the load"
        );
        check_tenant(t, &mine, &users, &groups);
    }
    let writes = outcomes
        .iter()
        .filter(|o| !matches!(o.write, Write::Read))
        .count();
    let acknowledged = outcomes
        .iter()
        .filter(|o| !matches!(o.write, Write::Read) && (200..300).contains(&o.status))
        .count();
    println!(
        "{} requests ({writes} writes, {acknowledged} acknowledged): 0 lost, 0 applied twice, \
         0 applied after a failure answer; projections exact",
        outcomes.len()
    );
}

/// Every resource of a kind in the tenant, by its name (`userName` / `displayName`).
async fn list_all(http: &reqwest::Client, tenant: &Tenant, kind: &str) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    let mut start = 1;
    loop {
        let page: Value = http
            .get(format!(
                "{}/{kind}?startIndex={start}&count=200",
                tenant.base_url
            ))
            .bearer_auth(&tenant.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        for r in &resources {
            let name = r["userName"]
                .as_str()
                .or(r["displayName"].as_str())
                .unwrap()
                .to_owned();
            assert!(
                all.insert(name.clone(), r.clone()).is_none(),
                "{kind} {name} exists twice"
            );
        }
        if resources.is_empty() || all.len() >= page["totalResults"].as_u64().unwrap() as usize {
            return all;
        }
        start += resources.len();
    }
}

fn ids(values: &Value) -> BTreeSet<String> {
    values
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Each user's `groups` are exactly the groups that list it as a member.
fn projections_agree(users: &BTreeMap<String, Value>, groups: &BTreeMap<String, Value>) -> bool {
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for g in groups.values() {
        for member in ids(&g["members"]) {
            expected
                .entry(member)
                .or_default()
                .insert(g["id"].as_str().unwrap().to_owned());
        }
    }
    users.values().all(|u| {
        let id = u["id"].as_str().unwrap();
        ids(&u["groups"]) == expected.remove(id).unwrap_or_default()
    })
}

fn version(resource: &Value) -> u64 {
    resource["meta"]["version"]
        .as_str()
        .and_then(|v| v.trim_start_matches("W/").trim_matches('"').parse().ok())
        .expect("meta.version is W/\"<n>\"")
}

fn modified(resource: &Value) -> SystemTime {
    let at = resource["meta"]["lastModified"].as_str().unwrap();
    SystemTime::from(chrono::DateTime::parse_from_rfc3339(at).unwrap())
}

fn created(resource: &Value) -> SystemTime {
    let at = resource["meta"]["created"].as_str().unwrap();
    SystemTime::from(chrono::DateTime::parse_from_rfc3339(at).unwrap())
}

/// The exactly-once checks of one tenant against its final state.
fn check_tenant(
    t: usize,
    outcomes: &[&Outcome],
    users: &BTreeMap<String, Value>,
    groups: &BTreeMap<String, Value>,
) {
    let ok = |o: &Outcome| (200..300).contains(&o.status);
    // Creates: acknowledged ⇒ present with the answered id; not acknowledged ⇒ absent, or
    // created before the failure answer went out (applied, then the answer was lost).
    for o in outcomes {
        let (name, stored) = match &o.write {
            Write::CreateUser { user_name, .. } => (user_name, users.get(user_name)),
            Write::CreateGroup { name } => (name, groups.get(name)),
            _ => continue,
        };
        if ok(o) {
            let stored = stored.unwrap_or_else(|| panic!("tenant {t}: acknowledged {name} lost"));
            assert_eq!(stored["id"].as_str(), o.id.as_deref(), "{name}: another id");
        } else if let Some(stored) = stored {
            assert!(
                created(stored) <= o.applicable_until(),
                "tenant {t}: {name} was created after its client was told {}",
                o.status
            );
        }
    }
    // Renames: the final displayName is the last acknowledged one, or a later one applied
    // before its failure answer; the version counts the applied writes (never one twice).
    let mut renames: BTreeMap<&str, Vec<&Outcome>> = BTreeMap::new();
    for o in outcomes {
        if let Write::Rename { user_name, .. } = &o.write {
            renames.entry(user_name).or_default().push(o);
        }
    }
    for (user_name, sequence) in renames {
        let user = users
            .get(user_name)
            .unwrap_or_else(|| panic!("{user_name} vanished"));
        let last_ok = sequence.iter().rposition(|o| ok(o));
        let value = |o: &Outcome| match &o.write {
            Write::Rename { value, .. } => value.clone(),
            _ => unreachable!(),
        };
        let shown = user["displayName"].as_str().unwrap_or("initial");
        let applied = sequence.iter().rposition(|o| value(o) == shown);
        match (applied, last_ok) {
            (None, None) => assert_eq!(shown, "initial", "{user_name}"),
            (None, Some(k)) => panic!(
                "tenant {t}: {user_name} shows {shown:?}, not the acknowledged {:?}",
                value(sequence[k])
            ),
            (Some(j), k) => {
                assert!(
                    k.is_none_or(|k| j >= k),
                    "tenant {t}: {user_name} lost its acknowledged rename to {:?}",
                    value(sequence[k.unwrap()])
                );
                if !ok(sequence[j]) {
                    assert!(
                        modified(user) <= sequence[j].applicable_until(),
                        "tenant {t}: {user_name} renamed after its client was told {}",
                        sequence[j].status
                    );
                }
            }
        }
        let acknowledged = sequence.iter().filter(|o| ok(o)).count() as u64;
        let writes = version(user) - 1;
        assert!(
            writes >= acknowledged && writes <= sequence.len() as u64,
            "tenant {t}: {user_name} has {writes} writes applied for {acknowledged} acknowledged \
             of {} sent",
            sequence.len()
        );
    }
    // Memberships: every acknowledged addition is there.
    for o in outcomes.iter().filter(|o| ok(o)) {
        if let Write::AddMembers {
            group,
            users: added,
        } = &o.write
        {
            let members = ids(&groups[group]["members"]);
            for user_name in added {
                let id = users[user_name]["id"].as_str().unwrap();
                assert!(
                    members.contains(id),
                    "tenant {t}: acknowledged member {user_name} of {group} lost"
                );
            }
        }
    }
}
