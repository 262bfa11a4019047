//! Builds and runs the role a subcommand names.
//!
//! Shutdown order for `store`: stop accepting connections, let in-flight calls finish
//! (tonic's graceful shutdown), then close the database pool.

use crate::cli::{Cli, Command, DatabaseArgs};
use anyhow::Context;
use scim::schema::Registry;
use scim_store::Directory;
use std::sync::Arc;

async fn open(db: &DatabaseArgs) -> anyhow::Result<scim_store::db::Connection> {
    if let Some(path) = db.database_url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or(path);
        if let Some(parent) = std::path::Path::new(file)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("while creating {}", parent.display()))?;
        }
    }
    let conn = scim_store::db::connect(&db.database_url, db.database_pool)
        .await
        .context(
            "while connecting to the database (check --database-url / BLOGIN_SCIM_DATABASE_URL)",
        )?;
    scim_store::db::migrate(&conn)
        .await
        .context("while migrating the database")?;
    Ok(conn)
}

/// Runs the chosen role until it finishes or a shutdown signal arrives.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Migrate { db } => {
            open(&db).await?;
            tracing::info!("migrations applied");
        }
        Command::Store { db, listen } => {
            let conn = open(&db).await?;
            let dir = Directory::new(conn.clone(), Arc::new(Registry::new()));
            let server = scim_store::server::StoreServer::bind(listen, dir)
                .await
                .with_context(|| format!("while binding {listen}"))?;
            tracing::info!(address = %server.local_addr()?, "store listening (gRPC DirectoryService + health)");
            server
                .run_until_stopped(crate::shutdown::signal())
                .await
                .context("while serving")?;
            conn.close()
                .await
                .context("while closing the database pool")?;
            tracing::info!("store stopped");
        }
    }
    Ok(())
}
