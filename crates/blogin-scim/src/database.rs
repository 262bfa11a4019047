//! Opening the directory database (creating the SQLite file's folder when needed) and
//! bringing its schema up to date.

use anyhow::Context;

/// Connects to `url` with a pool of `pool` connections and applies pending migrations.
pub(crate) async fn open(url: &str, pool: u32) -> anyhow::Result<scim_store::db::Connection> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or(path);
        if let Some(parent) = std::path::Path::new(file)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("while creating {}", parent.display()))?;
        }
    }
    let context = || {
        format!(
            "while connecting to the database {} (check database_url / BLOGIN_SCIM_DATABASE_URL)",
            crate::config::redact_url(url)
        )
    };
    // In-memory SQLite is one database per pool: migrate the serving pool itself.
    if url.contains(":memory:") {
        let conn = scim_store::db::connect(url, pool)
            .await
            .with_context(context)?;
        scim_store::db::migrate(&conn)
            .await
            .context("while migrating the database")?;
        return Ok(conn);
    }
    // Migrations on a connection of their own, without the serving pools' statement timeout.
    let migrations = scim_store::db::connect_for_migrations(url)
        .await
        .with_context(context)?;
    scim_store::db::migrate(&migrations)
        .await
        .context("while migrating the database")?;
    migrations.close().await.ok();
    scim_store::db::connect(url, pool)
        .await
        .with_context(context)
}

/// The directory over an open connection, with the standard schemas; background work shares
/// the pool within an admission limit (operator commands).
pub(crate) fn directory(conn: scim_store::db::Connection) -> scim_store::Directory {
    scim_store::Directory::new(conn, std::sync::Arc::new(scim::schema::Registry::new()))
}

/// The directory of a serving process: the synchronous path on `conn`, background work
/// (fan-out, relay, lag reports) on a pool of `background` connections of its own to the same
/// database, so that it can never starve the requests identity providers wait on.
pub(crate) async fn serving_directory(
    url: &str,
    conn: scim_store::db::Connection,
    background: u32,
) -> anyhow::Result<scim_store::Directory> {
    // In-memory SQLite is one database per pool: background work shares the pool then.
    if url.contains(":memory:") {
        return Ok(scim_store::Directory::new(
            conn,
            std::sync::Arc::new(scim::schema::Registry::new()),
        ));
    }
    let bg = scim_store::db::connect(url, background.max(2))
        .await
        .with_context(|| {
            format!(
                "while opening the background pool to {}",
                crate::config::redact_url(url)
            )
        })?;
    Ok(scim_store::Directory::with_background(
        conn,
        bg,
        std::sync::Arc::new(scim::schema::Registry::new()),
    ))
}
