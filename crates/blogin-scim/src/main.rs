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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run::run(cli::Cli::parse()).await
}
