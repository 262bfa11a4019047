//! Fixtures: a fresh database per test (a temp SQLite file, or a PostgreSQL database named by
//! UUID), migrated, with two tenants.

use scim::patch::PatchRequest;
use scim::schema::{Registry, ResourceKind};
use scim_store::{Applied, Change, Command, Directory, Outcome, StoredResource};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A migrated directory with two tenants, `a` and `b`.
pub(crate) struct Fixture {
    pub(crate) dir: Directory,
    /// The database URL (to open more pools on the same database).
    pub(crate) url: String,
    pub(crate) a: Uuid,
    pub(crate) b: Uuid,
    /// The SQLite database's directory, removed when the fixture is dropped.
    tmp: Option<std::path::PathBuf>,
}

/// The directory goes with the whole fixture. Being `Drop` also makes a test body's
/// `async move` block capture the fixture whole: a body that names only some fields (`fx.dir`,
/// `fx.a`) would otherwise capture just those, and the rest — the directory — would be dropped
/// before the body ran, so the pool's next new connection found no database file.
impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(dir) = &self.tmp {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub(crate) fn pg_admin_url() -> String {
    std::env::var("BLOGIN_SCIM_TEST_PG_URL").expect(
        "BLOGIN_SCIM_TEST_PG_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL",
    )
}

impl Fixture {
    pub(crate) async fn new(backend: Backend) -> Fixture {
        Self::with_pool(backend, 8).await
    }

    pub(crate) async fn with_pool(backend: Backend, pool: u32) -> Fixture {
        let (url, tmp) = match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("scim-store-test-{}", Uuid::new_v4()));
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}?mode=rwc", dir.join("store.db").display());
                (url, Some(dir))
            }
            Backend::Postgres => {
                let admin_url = pg_admin_url();
                let admin = scim_store::db::connect(&admin_url, 1)
                    .await
                    .expect("connect to PostgreSQL");
                let name = format!("scim_test_{}", Uuid::new_v4().simple());
                use sea_orm::ConnectionTrait;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                let base = admin_url.rsplit_once('/').unwrap().0.to_owned();
                (format!("{base}/{name}"), None)
            }
        };
        let db = scim_store::db::connect(&url, pool).await.expect("connect");
        scim_store::db::migrate(&db).await.expect("migrate");
        let dir = Directory::new(db, Arc::new(Registry::new()));
        let a = dir.create_tenant("tenant-a", "A").await.unwrap().0.id;
        let b = dir.create_tenant("tenant-b", "B").await.unwrap().0.id;
        Fixture {
            dir,
            url,
            a,
            b,
            tmp,
        }
    }

    pub(crate) fn command(&self, tenant: Uuid, kind: ResourceKind, change: Change) -> Command {
        Command {
            id: Uuid::new_v4().to_string(),
            tenant,
            kind,
            expected_version: None,
            change,
            trace_id: None,
        }
    }

    pub(crate) async fn run(&self, tenant: Uuid, kind: ResourceKind, change: Change) -> Outcome {
        self.dir
            .apply(&self.command(tenant, kind, change))
            .await
            .expect("store available")
    }

    /// Creates a resource in tenant `a` and returns it; panics on refusal.
    pub(crate) async fn create(&self, kind: ResourceKind, body: Value) -> StoredResource {
        self.create_in(self.a, kind, body).await
    }

    pub(crate) async fn create_in(
        &self,
        tenant: Uuid,
        kind: ResourceKind,
        body: Value,
    ) -> StoredResource {
        resource(self.run(tenant, kind, Change::Create(body)).await)
    }

    pub(crate) async fn user(&self, user_name: &str) -> StoredResource {
        self.create(
            ResourceKind::User,
            serde_json::json!({"userName": user_name}),
        )
        .await
    }

    pub(crate) async fn patch(&self, kind: ResourceKind, id: Uuid, body: Value) -> Outcome {
        let request = PatchRequest::parse(&body).expect("valid PatchOp");
        self.run(
            self.a,
            kind,
            Change::Patch {
                id: id.to_string(),
                request,
            },
        )
        .await
    }
}

pub(crate) fn resource(o: Outcome) -> StoredResource {
    match o {
        Ok(Applied::Resource { resource, .. }) => resource,
        other => panic!("expected a resource, got {other:?}"),
    }
}

/// Runs an async test body on both databases: `both!(name, |fx| async move { … })`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let fx = $crate::support::Fixture::new($crate::support::Backend::Sqlite).await;
                ($body)(fx).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let fx = $crate::support::Fixture::new($crate::support::Backend::Postgres).await;
                ($body)(fx).await;
            }
        }
    };
}

/// The HTTP status a store refusal carries (panics on infrastructure errors).
pub(crate) fn status_of(e: scim_store::StoreError) -> u16 {
    match e {
        scim_store::StoreError::Scim(s) => s.status(),
        other => panic!("expected a SCIM refusal, got {other}"),
    }
}

/// A PatchOp with one operation on `members` listing `ids` (Entra's add/remove form).
pub(crate) fn members_op(op: &str, ids: &[Uuid]) -> Value {
    let values: Vec<Value> = ids
        .iter()
        .map(|id| serde_json::json!({"value": id.to_string()}))
        .collect();
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": op, "path": "members", "value": values}]
    })
}

/// Inserts `n` users straight into the table (fast seeding for volume tests; the write path
/// is exercised elsewhere). Returned in id order.
pub(crate) async fn seed_users(dir: &Directory, tenant: Uuid, n: usize) -> Vec<Uuid> {
    use scim_store::entity::user;
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    for chunk in ids.chunks(500) {
        let now = chrono::Utc::now();
        user::Entity::insert_many(chunk.iter().map(|id| user::ActiveModel {
            tenant_id: Set(tenant),
            id: Set(*id),
            user_name: Set(id.to_string()),
            user_name_fold: Set(id.to_string()),
            external_id: Set(None),
            display_name_fold: Set(None),
            active: Set(None),
            body: Set(serde_json::json!({"userName": id.to_string()})),
            search: Set(serde_json::json!({"userName": id.to_string()})),
            version: Set(1),
            created: Set(now),
            last_modified: Set(now),
        }))
        .exec_without_returning(dir.connection())
        .await
        .unwrap();
    }
    ids
}

/// Plays relay and worker until the outbox is empty (see
/// [`Directory::drain_fanout_inline`]); returns the events in outbox order.
pub(crate) async fn drain_fanout(dir: &Directory) -> Vec<scim_wire::pb::MembershipChanged> {
    dir.drain_fanout_inline().await.unwrap()
}

/// A tenant's memberships by user: group id → `direct`/`indirect`.
pub(crate) type Memberships =
    std::collections::BTreeMap<Uuid, std::collections::BTreeMap<Uuid, String>>;

/// The `user_groups` projection of a tenant.
pub(crate) async fn projection(dir: &Directory, tenant: Uuid) -> Memberships {
    use scim_store::entity::user_group;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut out = Memberships::new();
    for r in user_group::Entity::find()
        .filter(user_group::Column::TenantId.eq(tenant))
        .all(dir.connection())
        .await
        .unwrap()
    {
        out.entry(r.user_id).or_default().insert(r.group_id, r.kind);
    }
    out
}

/// The memberships a full recomputation from a tenant's edges gives, computed here in plain
/// Rust (no SQL shared with the store): direct = an edge from the group to the user, indirect =
/// any group above a direct one through group-in-group edges.
pub(crate) async fn recomputed(dir: &Directory, tenant: Uuid) -> Memberships {
    use scim_store::entity::group_member;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use std::collections::{BTreeMap, BTreeSet};
    let edges = group_member::Entity::find()
        .filter(group_member::Column::TenantId.eq(tenant))
        .all(dir.connection())
        .await
        .unwrap();
    let mut parents: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
    for e in edges.iter().filter(|e| e.member_type == "Group") {
        parents.entry(e.member_id).or_default().insert(e.group_id);
    }
    let mut out = Memberships::new();
    for e in edges.iter().filter(|e| e.member_type == "User") {
        out.entry(e.member_id)
            .or_default()
            .insert(e.group_id, "direct".to_owned());
    }
    for groups in out.values_mut() {
        let mut stack: Vec<Uuid> = groups.keys().copied().collect();
        let mut seen: BTreeSet<Uuid> = stack.iter().copied().collect();
        while let Some(g) = stack.pop() {
            for p in parents.get(&g).into_iter().flatten() {
                if seen.insert(*p) {
                    stack.push(*p);
                    groups.entry(*p).or_insert_with(|| "indirect".to_owned());
                }
            }
        }
    }
    out
}

/// Every row of the outbox, oldest first.
pub(crate) async fn outbox_rows(dir: &Directory) -> Vec<scim_store::entity::outbox::Model> {
    use scim_store::entity::outbox;
    use sea_orm::{EntityTrait, QueryOrder};
    outbox::Entity::find()
        .order_by_asc(outbox::Column::Id)
        .all(dir.connection())
        .await
        .unwrap()
}

/// The role secret of the gRPC tests' store servers.
pub(crate) const ROLE_SECRET: &str = "store-tests-role-secret-0123456789";

/// The store of a fixture served over gRPC on a random loopback port, behind
/// [`ROLE_SECRET`].
pub(crate) struct GrpcStore {
    /// A client presenting the secret.
    pub(crate) client: scim_wire::pb::directory_service_client::DirectoryServiceClient<
        scim_wire::role_auth::StoreChannel,
    >,
    /// A channel presenting the secret (for the health service).
    pub(crate) channel: scim_wire::role_auth::StoreChannel,
    /// `http://127.0.0.1:port`.
    pub(crate) url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl GrpcStore {
    pub(crate) async fn start(fx: &Fixture) -> GrpcStore {
        use scim_wire::role_auth::{PresentSecret, RequireSecret};
        let server = scim_store::server::StoreServer::bind(
            "127.0.0.1:0".parse().unwrap(),
            fx.dir.clone(),
            RequireSecret::new(ROLE_SECRET).unwrap(),
        )
        .await
        .unwrap();
        let url = format!("http://{}", server.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run_until_stopped(async {
            let _ = stopped.await;
        }));
        let channel = PresentSecret::new(Some(ROLE_SECRET)).unwrap().wrap(
            tonic::transport::Endpoint::from_shared(url.clone())
                .unwrap()
                .connect()
                .await
                .unwrap(),
        );
        GrpcStore {
            client: scim_wire::pb::directory_service_client::DirectoryServiceClient::new(
                channel.clone(),
            ),
            channel,
            url,
            stop,
            task,
        }
    }

    /// Stops the server and waits until it has.
    pub(crate) async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }
}
