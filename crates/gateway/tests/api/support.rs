//! The harness: the real router on `127.0.0.1:0` over a real `scim_store::Directory` on a
//! fresh SQLite file, served through `scim_store::server::in_process`, with two tenants; and
//! test doubles of the command bus (the real worker lives elsewhere): one that applies commands
//! through the store's `ApplyChange` over the same channel, one that always fails, one that
//! applies them one at a time, slowly, in arrival order.

use async_trait::async_trait;
use reqwest::{Client, Method, RequestBuilder, Response};
use scim::schema::Registry;
use scim_bus::{BusError, CommandClient, Headers};
use scim_gateway::{AppState, Gateway, GatewayConfig};
use scim_store::Directory;
use scim_wire::pb;
use scim_wire::pb::directory_service_client::DirectoryServiceClient;
use scim_wire::role_auth::StoreChannel;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use uuid::Uuid;

pub(crate) const SCIM_JSON: &str = "application/scim+json";
pub(crate) const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A tenant of the test directory.
#[derive(Debug, Clone)]
pub(crate) struct Tenant {
    pub(crate) slug: String,
    pub(crate) token: String,
}

/// Applies commands through `ApplyChange` on the store channel, counting them per tenant.
#[derive(Debug)]
pub(crate) struct StoreCommands {
    client: DirectoryServiceClient<StoreChannel>,
    pub(crate) applied: Mutex<HashMap<String, usize>>,
}

impl StoreCommands {
    pub(crate) fn new(channel: StoreChannel) -> Self {
        Self {
            client: DirectoryServiceClient::new(channel),
            applied: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn total(&self) -> usize {
        self.applied.lock().unwrap().values().sum()
    }

    async fn apply(
        &self,
        command: &pb::ChangeCommand,
        headers: &Headers,
    ) -> Result<pb::CommandResult, BusError> {
        assert_eq!(
            headers.get("tenant"),
            Some(&command.tenant_id),
            "every command carries its tenant header"
        );
        let mut req = tonic::Request::new(command.clone());
        if let Some(tp) = headers.get("traceparent") {
            req.metadata_mut()
                .insert("traceparent", tp.parse().unwrap());
        }
        let res = self
            .client
            .clone()
            .apply_change(req)
            .await
            .map_err(|s| BusError::Unavailable(s.message().to_owned()))?
            .into_inner();
        *self
            .applied
            .lock()
            .unwrap()
            .entry(command.tenant_id.clone())
            .or_default() += 1;
        Ok(res)
    }
}

#[async_trait]
impl CommandClient for StoreCommands {
    async fn request(
        &self,
        command: &pb::ChangeCommand,
        headers: Headers,
        _timeout: Duration,
    ) -> Result<pb::CommandResult, BusError> {
        self.apply(command, &headers).await
    }

    async fn ready(&self) -> Result<(), BusError> {
        Ok(())
    }
}

/// A bus that is down: every request and readiness check fails with a clone of `error`.
#[derive(Debug)]
pub(crate) struct FailingCommands {
    pub(crate) error: fn() -> BusError,
    pub(crate) calls: AtomicUsize,
}

#[async_trait]
impl CommandClient for FailingCommands {
    async fn request(
        &self,
        _: &pb::ChangeCommand,
        _: Headers,
        _: Duration,
    ) -> Result<pb::CommandResult, BusError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err((self.error)())
    }

    async fn ready(&self) -> Result<(), BusError> {
        Err((self.error)())
    }
}

/// One command at a time, in arrival order (tokio's mutex is FIFO), each taking `delay`: a
/// single slow worker behind a FIFO queue.
#[derive(Debug)]
pub(crate) struct SerialCommands {
    pub(crate) inner: StoreCommands,
    pub(crate) delay: Duration,
    queue: tokio::sync::Mutex<()>,
    /// Commands that have entered the queue, per tenant id.
    pub(crate) entered: Mutex<HashMap<String, usize>>,
}

impl SerialCommands {
    pub(crate) fn new(channel: StoreChannel, delay: Duration) -> Self {
        Self {
            inner: StoreCommands::new(channel),
            delay,
            queue: tokio::sync::Mutex::new(()),
            entered: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn entered(&self, tenant_id: &str) -> usize {
        self.entered
            .lock()
            .unwrap()
            .get(tenant_id)
            .copied()
            .unwrap_or(0)
    }
}

#[async_trait]
impl CommandClient for SerialCommands {
    async fn request(
        &self,
        command: &pb::ChangeCommand,
        headers: Headers,
        _timeout: Duration,
    ) -> Result<pb::CommandResult, BusError> {
        *self
            .entered
            .lock()
            .unwrap()
            .entry(command.tenant_id.clone())
            .or_default() += 1;
        let _turn = self.queue.lock().await;
        tokio::time::sleep(self.delay).await;
        self.inner.apply(command, &headers).await
    }

    async fn ready(&self) -> Result<(), BusError> {
        Ok(())
    }
}

/// Removes the database directory on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running gateway over a fresh directory with tenants `a` and `b`.
pub(crate) struct TestApp {
    pub(crate) addr: SocketAddr,
    pub(crate) http: Client,
    pub(crate) dir: Directory,
    pub(crate) a: Tenant,
    pub(crate) b: Tenant,
    /// Tenant ids by slug.
    pub(crate) ids: HashMap<String, String>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _tmp: TempDir,
}

/// The database and the store channel, before a gateway is put in front of them.
pub(crate) struct Store {
    pub(crate) dir: Directory,
    pub(crate) channel: StoreChannel,
    a: Tenant,
    b: Tenant,
    ids: HashMap<String, String>,
    tmp: TempDir,
}

impl Store {
    pub(crate) async fn new() -> Store {
        let path = std::env::temp_dir().join(format!("scim-gateway-test-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        let tmp = TempDir(path.clone());
        let url = format!("sqlite://{}?mode=rwc", path.join("store.db").display());
        let db = scim_store::db::connect(&url, 8).await.expect("connect");
        scim_store::db::migrate(&db).await.expect("migrate");
        let dir = Directory::new(db, Arc::new(Registry::new()));
        let mut ids = HashMap::new();
        let mut tenant = async |slug: &str| {
            let (info, token) = dir.create_tenant(slug, slug).await.unwrap();
            ids.insert(slug.to_owned(), info.id.to_string());
            Tenant {
                slug: slug.to_owned(),
                token,
            }
        };
        let a = tenant("tenant-a").await;
        let b = tenant("tenant-b").await;
        let channel = scim_store::server::in_process(dir.clone()).await;
        Store {
            dir,
            channel,
            a,
            b,
            ids,
            tmp,
        }
    }
}

impl TestApp {
    /// Default configuration; commands applied through the store.
    pub(crate) async fn spawn() -> TestApp {
        Self::spawn_with(GatewayConfig::default(), |ch| {
            Arc::new(StoreCommands::new(ch))
        })
        .await
    }

    /// A gateway with `config` and the command client `commands` builds over the channel.
    pub(crate) async fn spawn_with(
        config: GatewayConfig,
        commands: impl FnOnce(StoreChannel) -> Arc<dyn CommandClient>,
    ) -> TestApp {
        let store = Store::new().await;
        let state = AppState::new(
            config,
            store.channel.clone(),
            commands(store.channel.clone()),
        );
        Self::serve(store, state).await
    }

    /// A gateway over an already-built state (fake ports).
    pub(crate) async fn serve(store: Store, state: AppState) -> TestApp {
        let gateway = Gateway::bind("127.0.0.1:0".parse().unwrap(), state)
            .await
            .unwrap();
        let addr = gateway.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(gateway.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            http: Client::new(),
            dir: store.dir,
            a: store.a,
            b: store.b,
            ids: store.ids,
            stop: Some(stop),
            server: Some(server),
            _tmp: store.tmp,
        }
    }

    /// Signals shutdown and waits for the server to drain and stop.
    pub(crate) async fn stop(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.server.take() {
            Some(server) => server.await.unwrap(),
            None => Ok(()),
        }
    }

    pub(crate) fn id_of(&self, t: &Tenant) -> &str {
        &self.ids[&t.slug]
    }

    /// `http://{addr}/scim/v2/{tenant}{path}`.
    pub(crate) fn url(&self, slug: &str, path: &str) -> String {
        format!("http://{}/scim/v2/{slug}{path}", self.addr)
    }

    /// A request as the tenant's identity provider sends it: bearer token, no User-Agent.
    pub(crate) fn req(&self, t: &Tenant, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(&t.slug, path))
            .header("Authorization", format!("Bearer {}", t.token))
    }

    pub(crate) async fn get(&self, t: &Tenant, path: &str) -> Response {
        self.req(t, Method::GET, path).send().await.unwrap()
    }

    /// A request with a SCIM JSON body (`Content-Type: application/scim+json`).
    pub(crate) async fn send(
        &self,
        t: &Tenant,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Response {
        self.req(t, method, path)
            .header("Content-Type", SCIM_JSON)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn post(&self, t: &Tenant, path: &str, body: &Value) -> Response {
        self.send(t, Method::POST, path, body).await
    }

    pub(crate) async fn patch(&self, t: &Tenant, path: &str, body: &Value) -> Response {
        self.send(t, Method::PATCH, path, body).await
    }

    pub(crate) async fn delete(&self, t: &Tenant, path: &str) -> Response {
        self.req(t, Method::DELETE, path).send().await.unwrap()
    }

    /// Creates a user with `userName` in `t`; returns the created resource.
    pub(crate) async fn create_user(&self, t: &Tenant, user_name: &str) -> Value {
        let res = self
            .post(t, "/Users", &serde_json::json!({"schemas": [scim::schema::USER], "userName": user_name, "active": true}))
            .await;
        assert_eq!(res.status(), 201, "create user");
        res.json().await.unwrap()
    }

    /// Creates a group with `displayName` in `t`; returns the created resource.
    pub(crate) async fn create_group(&self, t: &Tenant, name: &str) -> Value {
        let res = self
            .post(
                t,
                "/Groups",
                &serde_json::json!({"schemas": [scim::schema::GROUP], "displayName": name}),
            )
            .await;
        assert_eq!(res.status(), 201, "create group");
        res.json().await.unwrap()
    }
}

/// A SCIM PatchOp body.
pub(crate) fn patch_op(operations: Value) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations
    })
}

/// Status, headers and JSON body of a response whose body must be SCIM JSON.
pub(crate) async fn scim_json(res: Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some(SCIM_JSON),
        "status {status}: SCIM responses are application/scim+json"
    );
    let body = res.json().await.expect("a JSON body");
    (status, headers, body)
}

/// Asserts a SCIM error body with `status` (and `scimType` when given); returns the headers.
pub(crate) async fn assert_scim_error(
    res: Response,
    status: u16,
    scim_type: Option<&str>,
) -> reqwest::header::HeaderMap {
    let (got, headers, body) = scim_json(res).await;
    assert_eq!(got, status, "body: {body}");
    assert_eq!(body["schemas"], serde_json::json!([ERROR_SCHEMA]));
    assert_eq!(body["status"], status.to_string());
    assert_eq!(
        body.get("scimType").and_then(Value::as_str),
        scim_type,
        "body: {body}"
    );
    assert!(body["detail"].is_string());
    headers
}
