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
    pub(crate) a: Uuid,
    pub(crate) b: Uuid,
    _tmp: Option<tempdir::TempDir>,
}

mod tempdir {
    /// A directory removed on drop.
    pub(super) struct TempDir(pub(super) std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
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
                (url, Some(tempdir::TempDir(dir)))
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
            a,
            b,
            _tmp: tmp,
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
