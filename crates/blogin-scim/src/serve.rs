//! `serve`: gateway, worker and store in one process, on SQLite, with the in-process bus —
//! the same handlers, worker, gRPC service and store code as the distributed roles; only the
//! transports differ (in-process pipes for gRPC, `MemoryBus` for commands).
//!
//! Shutdown order: stop accepting HTTP and drain in-flight requests (their commands are still
//! being applied) → stop the command worker after it finished and acked what it holds → stop
//! the outbox relay and the fan-out consumer (unfinished jobs stay in the outbox and run on
//! the next start) → close the bus → stop the store service → close the database.

use crate::config::Settings;
use crate::roles::{gateway_config, worker_config};
use crate::tenant;
use anyhow::Context;
use scim_bus::memory::MemoryBus;
use scim_gateway::{AppState, Gateway};
use scim_worker::{FanoutWorker, Relay, Worker};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The file in the data directory that tells `tenant` commands where this server listens.
pub(crate) const SERVE_FILE: &str = "serve.json";

/// Runs until `shutdown` is cancelled.
pub(crate) async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "while creating the data directory {}",
            settings.data_dir.display()
        )
    })?;
    // The database holds personal data and token hashes: only the service's user may enter.
    restrict(&settings.data_dir, 0o700)?;
    let url = settings.embedded_database_url();
    let conn = crate::database::open(&url, settings.database_pool).await?;
    crate::roles::report_pool(&conn);
    let dir =
        crate::database::serving_directory(&url, conn.clone(), settings.background_pool).await?;
    let db_file = settings.data_dir.join(crate::config::SQLITE_FILE);
    if db_file.exists() {
        restrict(&db_file, 0o600)?;
    }
    let channel = scim_store::server::in_process(dir.clone()).await;

    let bus = MemoryBus::new();
    let worker = Worker::new(channel.clone(), worker_config(&settings));
    let worker_stop = CancellationToken::new();
    let worker_task = {
        let mut consumer = bus.consumer(settings.worker_concurrency.max(1));
        let stop = worker_stop.clone();
        tokio::spawn(async move { worker.run(&mut consumer, &stop).await })
    };

    // Membership fan-out: the outbox relay and the job consumer, on the same in-process bus.
    let fanout_stop = CancellationToken::new();
    let relay_task = {
        let relay = Relay::new(
            channel.clone(),
            Arc::new(bus.publisher()),
            Duration::from_millis(100),
        );
        let stop = fanout_stop.clone();
        tokio::spawn(async move { relay.run(stop).await })
    };
    let fanout_task = {
        let fanout = FanoutWorker::new(
            channel.clone(),
            settings.worker_concurrency,
            settings.worker_max_deliveries,
        );
        let mut consumer = bus.job_consumer(settings.worker_concurrency.max(1));
        let stop = fanout_stop.clone();
        tokio::spawn(async move { fanout.run(&mut consumer, &stop).await })
    };

    let gauges_task = {
        let bus = bus.clone();
        tokio::spawn(scim_worker::report_gauges(
            channel.clone(),
            crate::roles::GAUGE_PERIOD,
            fanout_stop.clone(),
            move || {
                let depths = vec![
                    ("scim.commands".to_owned(), bus.depth() as u64),
                    ("scim.fanout".to_owned(), bus.job_depth() as u64),
                ];
                async move { depths }
            },
        ))
    };

    let state = AppState::new(
        gateway_config(&settings),
        channel.clone(),
        Arc::new(bus.client()),
    );
    let gateway = Gateway::bind(settings.listen, state)
        .await
        .with_context(|| format!("while binding {}", settings.listen))?;
    let addr = gateway.local_addr()?;
    let root = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let root = root.trim_end_matches('/').to_owned();
    let serve_file = settings.data_dir.join(SERVE_FILE);
    std::fs::write(
        &serve_file,
        serde_json::json!({ "base_url_root": root, "listen": addr.to_string(), "pid": std::process::id() })
            .to_string(),
    )
    .with_context(|| format!("while writing {}", serve_file.display()))?;
    restrict(&serve_file, 0o600)?;
    tenant::ensure_default(channel.clone(), &root, &settings.data_dir).await?;
    tracing::info!(address = %addr, "listening on http://{addr}");
    let metrics_stop = CancellationToken::new();
    let metrics_task =
        crate::roles::spawn_metrics(&settings, channel.clone(), metrics_stop.clone()).await?;

    gateway
        .run_until_stopped(shutdown.cancelled_owned())
        .await
        .context("while serving HTTP")?;
    tracing::info!("HTTP drained");
    metrics_stop.cancel();
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    worker_stop.cancel();
    match worker_task.await {
        Ok(Ok(())) => tracing::info!("worker drained"),
        Ok(Err(e)) => tracing::warn!(error.message = %e, "worker stopped with a bus error"),
        Err(e) => tracing::error!(error.message = %e, "worker task failed"),
    }
    fanout_stop.cancel();
    let _ = relay_task.await;
    let _ = gauges_task.await;
    if let Ok(Err(e)) = fanout_task.await {
        tracing::warn!(error.message = %e, "fan-out consumer stopped with a bus error");
    }
    tracing::info!("fan-out stopped");
    bus.close();
    dir.close().await.context("while closing the database")?;
    let _ = std::fs::remove_file(&serve_file);
    tracing::info!("stopped");
    Ok(())
}

/// Sets `path`'s permission bits to `mode` (owner only).
fn restrict(path: &std::path::Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("while restricting the permissions of {}", path.display()))
}
