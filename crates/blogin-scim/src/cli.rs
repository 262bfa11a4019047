//! Command line: one subcommand per role. Every flag has a `BLOGIN_SCIM_*` environment twin.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;

/// The BlogIn SCIM provisioning service.
#[derive(Debug, Parser)]
#[command(version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where the directory lives.
#[derive(Debug, clap::Args)]
pub(crate) struct DatabaseArgs {
    /// `postgres://user@host:port/db` or `sqlite://path/store.db?mode=rwc`.
    #[arg(
        long,
        env = "BLOGIN_SCIM_DATABASE_URL",
        default_value = "sqlite://data/store.db?mode=rwc"
    )]
    pub(crate) database_url: String,
    /// Connection pool size.
    #[arg(long, env = "BLOGIN_SCIM_DATABASE_POOL", default_value_t = 16)]
    pub(crate) database_pool: u32,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the gRPC DirectoryService (and gRPC health) over the database.
    Store {
        #[command(flatten)]
        db: DatabaseArgs,
        /// Address to listen on.
        #[arg(
            long,
            env = "BLOGIN_SCIM_STORE_LISTEN",
            default_value = "127.0.0.1:50051"
        )]
        listen: SocketAddr,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}
