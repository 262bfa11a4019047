//! `blogin-scim-bench`: a load generator for SCIM 2.0 servers.
//!
//! It replays what Microsoft Entra ID (and Okta's import) send during provisioning against
//! any SCIM base URL + bearer token, one or many tenants at once, and reports per-operation
//! latency percentiles, throughput and status counts as a table and one JSON line.
//!
//! It is written in Rust so the client is never the bottleneck, and it must never depend on
//! the service's crates: it measures BlogIn SCIM from the outside, exactly as an identity
//! provider sees it, and can be pointed at other SCIM servers for comparison.
//!
//! # Layout
//! - `cli`: flags, subcommands, targets. `run`: one run from client to report.
//! - `client`: the pooled HTTP client and `Tenant::call` (send, classify, record).
//! - `stats`: per-op histograms and status counts. `report`: table and JSON line.
//! - `scenario::{entra, large_groups, incremental, okta_import}`: the replayed traffic.
//! - `payload`: Entra-shaped bodies and member assignment. `pool`: bounded worker tasks.
//! - `verify`: `--verify`'s read-back. `progress`: the stderr progress line.

mod cli;
mod client;
mod payload;
mod pool;
mod progress;
mod report;
mod run;
mod scenario;
mod stats;
mod verify;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let (targets, settings) = match cli.targets().and_then(|t| Ok((t, cli.settings()?))) {
        Ok(v) => v,
        // Same form and exit code (2) as clap's own usage errors.
        Err(e) => cli::Cli::command()
            .error(clap::error::ErrorKind::ValueValidation, e)
            .exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run::run(&cli, settings, targets)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
