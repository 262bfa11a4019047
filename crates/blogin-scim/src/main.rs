//! `blogin-scim`: parse the command line, then run the chosen role (`run.rs`).

mod cli;
mod config;
mod database;
mod health;
mod roles;
mod run;
mod serve;
mod shutdown;
mod tenant;

use clap::Parser;

/// mimalloc rather than glibc's malloc: allocation and free were ~10% of the embedded mode's CPU
/// under load (README "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run::run(cli::Cli::parse()).await
}
