//! The e2e harness: runs the real `blogin-scim` binary — `serve` on SQLite, or the separate
//! roles on the PostgreSQL and RabbitMQ that `scripts/test.sh` started — on random loopback
//! ports with fresh state per test, and an HTTP client that talks to it like an IdP.
//!
//! Each process writes its output to a file in the test's temp dir; when a test fails, the
//! logs are printed (see [`Proc`]'s `Drop`).

use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The binary under test.
pub(crate) fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_blogin-scim")
}

/// A scratch directory removed at the end of the test.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(what: &str) -> Self {
        let p = std::env::temp_dir().join(format!("blogin-scim-e2e-{what}-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A running role. Killed on drop; its log printed if the test is failing.
pub(crate) struct Proc {
    pub(crate) name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    pub(crate) fn spawn(name: &str, dir: &Path, args: &[&str], env: &[(&str, String)]) -> Proc {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env("RUST_LOG", "info,h2=off,sqlx=warn,lapin=warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self::spawn_command(name, dir, cmd)
    }

    /// Starts any program (a helper such as Prometheus) with its output logged like a role's.
    pub(crate) fn spawn_command(name: &str, dir: &Path, mut cmd: Command) -> Proc {
        let log = dir.join(format!("{name}-{}.log", Uuid::new_v4().simple()));
        let out = std::fs::File::create(&log).unwrap();
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("start {name}: {e}"));
        Proc {
            name: name.to_owned(),
            child,
            log,
        }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: a crash, nothing drained.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits (bounded) for the exit; returns whether it exited cleanly.
    pub(crate) fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "----- log of {} -----\n{}\n----- end of {} -----",
                self.name,
                self.log(),
                self.name
            );
        }
    }
}

/// Ports handed out to this test process, so two callers never get the same one.
static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());

/// Where [`free_port_with`] looks: below Linux's ephemeral range (32768–60999). A port picked
/// there by binding to 0 and releasing it can be taken a moment later as the local port of any
/// outgoing connection (CI saw a restarted role fail with "Address already in use"); the
/// kernel never assigns ports below that range to outgoing connections.
const TEST_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A loopback port that is free now, outside the ephemeral range, handed out once per test
/// process together with the ports `companions` derives from it (which must be free too: a
/// RabbitMQ node also listens on neighbours of its AMQP port).
pub(crate) fn free_port_with(companions: impl Fn(u16) -> Vec<u16>) -> u16 {
    let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
    let mut handed = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let span = u32::from(TEST_PORTS.end - TEST_PORTS.start);
    for _ in 0..10_000 {
        let p = TEST_PORTS.start + (Uuid::new_v4().as_u128() % u128::from(span)) as u16;
        let mut all = companions(p);
        all.push(p);
        if all.iter().all(|q| !handed.contains(q) && free(*q)) {
            handed.extend(all);
            return p;
        }
    }
    panic!("no free loopback port in {TEST_PORTS:?}");
}

/// A free loopback address (see [`free_port_with`]).
pub(crate) fn free_addr() -> String {
    format!("127.0.0.1:{}", free_port_with(|_| Vec::new()))
}

/// Polls `url` until it answers 200.
pub(crate) async fn wait_ready(url: &str, procs: &mut [&mut Proc]) {
    let http = reqwest::Client::new();
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(url).send().await
            && r.status() == StatusCode::OK
        {
            return;
        }
        for p in procs.iter_mut() {
            assert!(
                p.is_running(),
                "{} exited during start:\n{}",
                p.name,
                p.log()
            );
        }
        assert!(Instant::now() < until, "{url} never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Credentials of one tenant.
#[derive(Debug, Clone)]
pub(crate) struct Tenant {
    pub(crate) slug: String,
    pub(crate) base_url: String,
    pub(crate) token: String,
}

/// Runs `blogin-scim tenant …` to completion and returns stdout (panics on failure).
pub(crate) fn tenant_cli(args: &[&str], env: &[(&str, String)]) -> String {
    let mut cmd = Command::new(bin());
    cmd.arg("tenant").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run tenant command");
    assert!(
        out.status.success(),
        "tenant {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(crate) fn parse_tenant(stdout: &str) -> Tenant {
    let v: Value = serde_json::from_str(stdout.trim()).expect("tenant create --json prints JSON");
    Tenant {
        slug: v["tenant"].as_str().unwrap().to_owned(),
        base_url: v["base_url"].as_str().unwrap().to_owned(),
        token: v["token"].as_str().unwrap().to_owned(),
    }
}

/// Either deployment, as the tests see it.
pub(crate) trait Deployment {
    /// Creates a tenant through the `tenant` CLI.
    fn create_tenant(&self, slug: &str) -> Tenant;
    /// Runs another `tenant` command against this deployment.
    fn tenant(&self, args: &[&str]) -> String;
}

/// `blogin-scim serve` on a fresh data directory.
pub(crate) struct Serve {
    pub(crate) proc: Proc,
    pub(crate) data_dir: PathBuf,
    pub(crate) root: String,
    pub(crate) first_start_stdout: String,
    _tmp: TempDir,
}

impl Serve {
    pub(crate) async fn start() -> Serve {
        Self::start_with(&[]).await
    }

    pub(crate) async fn start_with(env: &[(&str, String)]) -> Serve {
        let tmp = TempDir::new("serve");
        let data_dir = tmp.0.join("data");
        let mut proc = Proc::spawn(
            "serve",
            &tmp.0,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                data_dir.to_str().unwrap(),
            ],
            env,
        );
        let serve_file = data_dir.join("serve.json");
        let until = Instant::now() + Duration::from_secs(60);
        let root = loop {
            if let Some(root) = std::fs::read_to_string(&serve_file)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| v["base_url_root"].as_str().map(str::to_owned))
            {
                break root;
            }
            assert!(proc.is_running(), "serve exited:\n{}", proc.log());
            assert!(
                Instant::now() < until,
                "serve never wrote serve.json:\n{}",
                proc.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        wait_ready(&format!("{root}/readyz"), &mut [&mut proc]).await;
        let first_start_stdout = proc.log();
        Serve {
            proc,
            data_dir,
            root,
            first_start_stdout,
            _tmp: tmp,
        }
    }
}

impl Deployment for Serve {
    fn create_tenant(&self, slug: &str) -> Tenant {
        parse_tenant(&self.tenant(&["create", slug, "--json"]))
    }

    fn tenant(&self, args: &[&str]) -> String {
        let mut all = args.to_vec();
        all.extend(["--data-dir", self.data_dir.to_str().unwrap()]);
        tenant_cli(&all, &[])
    }
}

/// The separate roles on PostgreSQL and RabbitMQ: one store, `workers` workers, one gateway.
pub(crate) struct Cluster {
    #[expect(
        dead_code,
        reason = "held so that the process lives (and logs) as long as the cluster"
    )]
    pub(crate) store: Proc,
    pub(crate) workers: Vec<Proc>,
    /// `host:port` of each worker's `/healthz`, `/readyz` and `/metrics`.
    pub(crate) worker_health: Vec<String>,
    pub(crate) gateway: Proc,
    pub(crate) root: String,
    pub(crate) store_url: String,
    pub(crate) env: Vec<(&'static str, String)>,
    pub(crate) tmp: TempDir,
}

pub(crate) fn amqp_url() -> String {
    std::env::var("BLOGIN_SCIM_TEST_AMQP_URL").expect(
        "BLOGIN_SCIM_TEST_AMQP_URL is not set: run the tests with scripts/test.sh, which starts RabbitMQ",
    )
}

pub(crate) fn pg_admin_url() -> String {
    std::env::var("BLOGIN_SCIM_TEST_PG_URL").expect(
        "BLOGIN_SCIM_TEST_PG_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL",
    )
}

/// A new, empty PostgreSQL database; its URL.
pub(crate) async fn fresh_pg_database() -> String {
    use sea_orm::ConnectionTrait;
    let admin_url = pg_admin_url();
    let admin = scim_store_connect(&admin_url).await;
    let name = format!("scim_e2e_{}", Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let _ = admin.close().await;
    format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0)
}

async fn scim_store_connect(url: &str) -> sea_orm::DatabaseConnection {
    sea_orm::Database::connect(url)
        .await
        .expect("connect to PostgreSQL")
}

impl Cluster {
    pub(crate) async fn start(workers: usize) -> Cluster {
        Self::start_with(workers, &[]).await
    }

    pub(crate) async fn start_with(workers: usize, extra: &[(&'static str, String)]) -> Cluster {
        let tmp = TempDir::new("cluster");
        let database_url = fresh_pg_database().await;
        let store_addr = free_addr();
        let store_url = format!("http://{store_addr}");
        let mut env: Vec<(&'static str, String)> = vec![
            ("BLOGIN_SCIM_DATABASE_URL", database_url),
            ("BLOGIN_SCIM_AMQP_URL", amqp_url()),
            (
                "BLOGIN_SCIM_QUEUE_PREFIX",
                format!("e2e-{}", Uuid::new_v4().simple()),
            ),
            ("BLOGIN_SCIM_STORE_URL", store_url.clone()),
            ("BLOGIN_SCIM_DATABASE_POOL", "8".into()),
            (
                "BLOGIN_SCIM_ROLE_SECRET",
                format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()),
            ),
        ];
        env.extend(extra.iter().cloned());
        migrate(&env);
        let store_health = free_addr();
        let mut store = Proc::spawn(
            "store",
            &tmp.0,
            &[
                "store",
                "--listen",
                &store_addr,
                "--health-listen",
                &store_health,
            ],
            &env,
        );
        wait_ready(&format!("http://{store_health}/readyz"), &mut [&mut store]).await;
        let mut cluster_workers = Vec::new();
        let mut worker_health = Vec::new();
        for i in 0..workers {
            let (w, health) = Self::spawn_worker_in(&tmp.0, &env, i).await;
            cluster_workers.push(w);
            worker_health.push(health);
        }
        let gateway_addr = free_addr();
        let mut gateway = Proc::spawn(
            "gateway",
            &tmp.0,
            &["gateway", "--listen", &gateway_addr],
            &env,
        );
        let root = format!("http://{gateway_addr}");
        wait_ready(&format!("{root}/readyz"), &mut [&mut gateway]).await;
        Cluster {
            store,
            workers: cluster_workers,
            worker_health,
            gateway,
            root,
            store_url,
            env,
            tmp,
        }
    }

    async fn spawn_worker_in(
        dir: &Path,
        env: &[(&'static str, String)],
        i: usize,
    ) -> (Proc, String) {
        let health = free_addr();
        let mut w = Proc::spawn(
            &format!("worker-{i}"),
            dir,
            &["worker", "--health-listen", &health],
            env,
        );
        wait_ready(&format!("http://{health}/readyz"), &mut [&mut w]).await;
        (w, health)
    }

    /// The secret the roles of this cluster share.
    pub(crate) fn role_secret(&self) -> String {
        role_secret_in(&self.env).to_owned()
    }

    /// Starts one more worker.
    pub(crate) async fn add_worker(&mut self) {
        let i = self.workers.len();
        let (w, health) = Self::spawn_worker_in(&self.tmp.0, &self.env, i).await;
        self.workers.push(w);
        self.worker_health.push(health);
    }
}

impl Deployment for Cluster {
    fn create_tenant(&self, slug: &str) -> Tenant {
        parse_tenant(&self.tenant(&["create", slug, "--json"]))
    }

    fn tenant(&self, args: &[&str]) -> String {
        remote_tenant_cli(args, &self.store_url, &self.root, &self.role_secret())
    }
}

/// `blogin-scim tenant …` against a store role at `store_url`, presenting `role_secret`, with
/// Base URLs on `public_root`.
pub(crate) fn remote_tenant_cli(
    args: &[&str],
    store_url: &str,
    public_root: &str,
    role_secret: &str,
) -> String {
    let mut all = args.to_vec();
    all.extend(["--store-url", store_url]);
    tenant_cli(
        &all,
        &[
            ("BLOGIN_SCIM_PUBLIC_URL", public_root.to_owned()),
            ("BLOGIN_SCIM_ROLE_SECRET", role_secret.to_owned()),
        ],
    )
}

/// An IdP's HTTP client for one tenant.
#[derive(Clone)]
pub(crate) struct Scim {
    http: reqwest::Client,
    pub(crate) base: String,
    token: String,
}

/// A response: status, headers, JSON body (`Null` when empty).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Scim {
    pub(crate) fn new(tenant: &Tenant) -> Self {
        Self::with_token(&tenant.base_url, &tenant.token)
    }

    pub(crate) fn with_token(base: &str, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    /// Sends `method` to `path` (relative to the Base URL, may carry a query string).
    pub(crate) async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json; charset=utf-8")
                .body(b.to_string());
        }
        let resp = req.send().await.expect("HTTP request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("non-JSON body ({status}): {text}"))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }
    pub(crate) async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub(crate) async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub(crate) async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }
}

/// `{"schemas":[PatchOp],"Operations":ops}`.
pub(crate) fn patch_op(ops: Value) -> Value {
    serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// Polls `check` (every 50 ms, for up to 30 s) until it holds; for what the asynchronous
/// membership fan-out makes true after a write was answered.
pub(crate) async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < until, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A TCP proxy on loopback between two roles whose path can be cut (every open connection
/// dropped, new ones refused) and restored — a network partition without root.
pub(crate) struct CutProxy {
    pub(crate) addr: String,
    cut: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl CutProxy {
    pub(crate) async fn start(upstream: String) -> CutProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (cut, watch) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if *watch.borrow() {
                    drop(inbound);
                    continue;
                }
                let (upstream, mut watch) = (upstream.clone(), watch.clone());
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = inbound.set_nodelay(true);
                    let _ = outbound.set_nodelay(true);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watch.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        CutProxy { addr, cut, task }
    }

    /// Drops every connection through the proxy and refuses new ones until [`Self::restore`].
    pub(crate) fn cut(&self) {
        self.cut.send_replace(true);
    }

    pub(crate) fn restore(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.cut.send_replace(true);
        self.task.abort();
    }
}

/// Runs one of the repository's `scripts/` with `env`; panics with its output on failure.
pub(crate) fn script(name: &str, args: &[&str], env: &[(&str, String)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name);
    let out = Command::new(&path)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `blogin-scim migrate` with `env` (panics with its output on failure).
pub(crate) fn migrate(env: &[(&'static str, String)]) {
    let migrate = Command::new(bin())
        .arg("migrate")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "migrate failed: {}",
        String::from_utf8_lossy(&migrate.stderr)
    );
}

/// The environment variable `name` parsed, or `default` when unset or unparsable (the
/// suites' knobs for longer runs).
pub(crate) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `BLOGIN_SCIM_ROLE_SECRET` of a deployment's environment.
pub(crate) fn role_secret_in<'a>(env: &'a [(&'static str, String)]) -> &'a str {
    env.iter()
        .find(|(k, _)| *k == "BLOGIN_SCIM_ROLE_SECRET")
        .map(|(_, v)| v.as_str())
        .expect("a role secret in the deployment's environment")
}
