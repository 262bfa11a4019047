//! Command line: one subcommand per role, plus `tenant` for operators. Flags override the
//! configuration file and the `BLOGIN_SCIM_*` environment (see `config.rs`).

use clap::{Args, Parser, Subcommand};
use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The BlogIn SCIM provisioning service.
#[derive(Debug, Parser)]
#[command(version, about)]
pub(crate) struct Cli {
    /// TOML configuration file (every setting; see the README's configuration table).
    #[arg(long, global = true, env = "BLOGIN_SCIM_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Everything in one process on SQLite: gateway, worker and store, in-process bus.
    Serve {
        /// HTTP address of the SCIM API (port 0 picks a free one).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Directory of the SQLite database and `serve.json`.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Public origin (`https://scim.example.com`) for Base URLs and `meta.location`.
        #[arg(long)]
        public_url: Option<String>,
    },
    /// The SCIM HTTP gateway: reads from the store over gRPC, writes over RabbitMQ.
    Gateway {
        /// HTTP address of the SCIM API.
        #[arg(long)]
        listen: Option<SocketAddr>,
        #[command(flatten)]
        remote: RemoteArgs,
        /// Public origin for Base URLs and `meta.location`.
        #[arg(long)]
        public_url: Option<String>,
    },
    /// A command worker: RabbitMQ → store.
    Worker {
        #[command(flatten)]
        remote: RemoteArgs,
        /// Address of `/healthz` and `/readyz`.
        #[arg(long)]
        health_listen: Option<SocketAddr>,
    },
    /// The gRPC DirectoryService over the database.
    Store {
        /// gRPC address to listen on.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// `postgres://…` or `sqlite://path?mode=rwc`.
        #[arg(long)]
        database_url: Option<String>,
        /// Address of `/healthz` and `/readyz`.
        #[arg(long)]
        health_listen: Option<SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        /// `postgres://…` or `sqlite://path?mode=rwc`.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Tenants and their tokens (for operators).
    Tenant(TenantArgs),
}

/// Where the gateway and worker find the store and the broker.
#[derive(Debug, Args)]
pub(crate) struct RemoteArgs {
    /// gRPC URL of the store role.
    #[arg(long)]
    pub(crate) store_url: Option<String>,
    /// RabbitMQ URL.
    #[arg(long)]
    pub(crate) amqp_url: Option<String>,
}

/// `tenant …`: against a store role (`--store-url`) or directly on the database (the one of
/// `serve` in `--data-dir`, or `--database-url`); safe beside a running `serve`.
#[derive(Debug, Args)]
pub(crate) struct TenantArgs {
    /// Talk to a running store role at this gRPC URL instead of opening the database.
    #[arg(long, global = true)]
    pub(crate) store_url: Option<String>,
    /// The `serve` data directory whose database to use.
    #[arg(long, global = true)]
    pub(crate) data_dir: Option<PathBuf>,
    /// The database to use.
    #[arg(long, global = true)]
    pub(crate) database_url: Option<String>,
    /// Public origin for the printed Base URLs (default: what a `serve` in `--data-dir`
    /// announced, else `http://` + `listen`).
    #[arg(long, global = true)]
    pub(crate) public_url: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    pub(crate) action: TenantAction,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TenantAction {
    /// Create a tenant (lowercase letters, digits, `-`) and print its Base URL and token.
    Create {
        /// The tenant's URL name.
        name: String,
        /// A display name (defaults to the URL name).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List tenants.
    List,
    /// Issue a new token; the old ones keep working for `--grace-seconds`.
    RotateToken {
        /// The tenant.
        name: String,
        /// How long earlier tokens stay valid.
        #[arg(long, default_value_t = 3600)]
        grace_seconds: u64,
    },
    /// Revoke every token of the tenant at once (issue a new one with rotate-token).
    RevokeToken {
        /// The tenant.
        name: String,
    },
    /// Switch provisioning off: every SCIM request of the tenant answers 401.
    Disable {
        /// The tenant.
        name: String,
    },
    /// Switch provisioning back on.
    Enable {
        /// The tenant.
        name: String,
    },
    /// Recent writes of a tenant from the provisioning log (newest first): outcome, SCIM error
    /// and trace id — what to compare with the identity provider's provisioning logs.
    Log {
        /// The tenant.
        name: String,
        /// Only writes to this resource id.
        #[arg(long)]
        resource: Option<String>,
        /// Only `success` or `failure`.
        #[arg(long, value_parser = ["success", "failure"])]
        outcome: Option<String>,
        /// At most this many rows (up to 1000).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Pending membership fan-out: jobs not yet completed and the age of the oldest, events
    /// not yet published (every tenant with pending work, or one).
    Lag {
        /// Only this tenant.
        name: Option<String>,
    },
}

impl Command {
    /// The role's name, for the default `service.name`.
    pub(crate) fn role(&self) -> &'static str {
        match self {
            Command::Serve { .. } => "serve",
            Command::Gateway { .. } => "gateway",
            Command::Worker { .. } => "worker",
            Command::Store { .. } => "store",
            Command::Migrate { .. } => "migrate",
            Command::Tenant(_) => "tenant",
        }
    }

    /// The flags given, as setting overrides.
    pub(crate) fn overrides(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_owned(), v);
            }
        };
        let s = |a: &Option<SocketAddr>| a.map(|a| Value::String(a.to_string()));
        let t = |a: &Option<String>| a.clone().map(Value::String);
        let p = |a: &Option<PathBuf>| a.as_ref().map(|p| Value::String(p.display().to_string()));
        match self {
            Command::Serve {
                listen,
                data_dir,
                public_url,
            } => {
                put("listen", s(listen));
                put("data_dir", p(data_dir));
                put("public_url", t(public_url));
            }
            Command::Gateway {
                listen,
                remote,
                public_url,
            } => {
                put("listen", s(listen));
                put("public_url", t(public_url));
                put("store_url", t(&remote.store_url));
                put("amqp_url", t(&remote.amqp_url));
            }
            Command::Worker {
                remote,
                health_listen,
            } => {
                put("store_url", t(&remote.store_url));
                put("amqp_url", t(&remote.amqp_url));
                put("health_listen", s(health_listen));
            }
            Command::Store {
                listen,
                database_url,
                health_listen,
            } => {
                put("store_listen", s(listen));
                put("database_url", t(database_url));
                put("health_listen", s(health_listen));
            }
            Command::Migrate { database_url } => put("database_url", t(database_url)),
            Command::Tenant(args) => {
                put("store_url", t(&args.store_url));
                put("data_dir", p(&args.data_dir));
                put("database_url", t(&args.database_url));
                put("public_url", t(&args.public_url));
            }
        }
        m
    }
}
