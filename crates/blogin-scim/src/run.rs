//! Loads the settings, then builds and runs the role the subcommand names until it finishes
//! or the shutdown signal arrives.

use crate::cli::{Cli, Command};
use crate::config::Settings;
use tokio_util::sync::CancellationToken;

/// Runs the chosen command.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref(), cli.command.overrides())?;
    let is_service = !matches!(cli.command, Command::Tenant(_) | Command::Migrate { .. });
    // Operator commands print results on stdout; keep their stderr to warnings. Logs and
    // traces never touch stdout (credentials and --json output go there).
    let telemetry = settings.telemetry(cli.command.role());
    let guard =
        scim_telemetry::init_with_level(&telemetry, if is_service { "info" } else { "warn" });
    crate::config::warn_unknown_env();
    let shutdown = CancellationToken::new();
    if is_service {
        tracing::info!(settings = %settings.redacted(), "configuration");
        let token = shutdown.clone();
        tokio::spawn(async move {
            crate::shutdown::signal().await;
            token.cancel();
        });
    }
    let result = match cli.command {
        Command::Serve { .. } => crate::serve::run(settings, shutdown).await,
        Command::Gateway { .. } => crate::roles::gateway(settings, shutdown).await,
        Command::Worker { .. } => crate::roles::worker(settings, shutdown).await,
        Command::Store { .. } => crate::roles::store(settings, shutdown).await,
        Command::Migrate { .. } => crate::roles::migrate(settings).await,
        Command::Tenant(args) => crate::tenant::run(settings, args).await,
    };
    // Export what is still batched before the process ends.
    guard.shutdown().await;
    result
}
