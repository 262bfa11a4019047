//! The distributed roles — `gateway`, `worker`, `store`, `migrate` — each built from the
//! settings, run until the shutdown token is cancelled, and stopped in order.

use crate::config::Settings;
use crate::health;
use anyhow::Context;
use scim_bus::amqp::{AmqpBus, AmqpConfig};
use scim_bus::{CommandConsumer, Topology};
use scim_gateway::{AppState, Gateway, GatewayConfig};
use scim_wire::role_auth::{PresentSecret, RequireSecret, StoreChannel};
use scim_worker::{FanoutWorker, Relay, Worker, WorkerConfig, keep_consuming};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;

/// The gateway's settings.
pub(crate) fn gateway_config(s: &Settings) -> GatewayConfig {
    GatewayConfig {
        public_url: s.public_url.clone(),
        trust_forwarded: s.trust_forwarded,
        request_timeout: s.request_timeout(),
        token_cache_ttl: Duration::from_secs(s.token_cache_ttl_secs),
        max_body_bytes: s.max_body_bytes,
        tenant_inflight: s.tenant_inflight.max(1),
        max_results: s.max_results,
        tenant_reads: s.tenant_reads.max(1),
        server: scim_gateway::ServerLimits {
            header_read_timeout: Duration::from_secs(s.header_read_timeout_secs.max(1)),
            max_connections: s.max_connections.max(1),
        },
    }
}

/// The worker's settings.
pub(crate) fn worker_config(s: &Settings) -> WorkerConfig {
    WorkerConfig {
        concurrency: s.worker_concurrency.max(1),
        batch_size: s.worker_batch_size.clamp(1, scim_worker::MAX_BATCH),
        max_deliveries: s.worker_max_deliveries.max(1),
        ..WorkerConfig::default()
    }
}

/// A lazily connecting channel to the store role (tonic reconnects on its own) that presents
/// the role secret on every call.
pub(crate) fn store_channel(url: &str, secret: &str) -> anyhow::Result<StoreChannel> {
    let channel = Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("store_url {url} is not a valid URL"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect_lazy();
    Ok(PresentSecret::new(Some(secret))
        .context("role_secret")?
        .wrap(channel))
}

/// Connects to RabbitMQ, retrying (the broker may start after us) until `shutdown`.
async fn connect_bus(s: &Settings, shutdown: &CancellationToken) -> anyhow::Result<Arc<AmqpBus>> {
    let config = AmqpConfig {
        url: s.amqp_url.clone(),
        topology: Topology {
            prefix: s.queue_prefix.clone(),
            ..Topology::default()
        },
        prefetch: u16::try_from(s.worker_concurrency.max(1)).unwrap_or(u16::MAX),
        signing_key: Some(scim_bus::SigningKey::from_role_secret(s.role_secret()?)),
        ..AmqpConfig::default()
    };
    let mut pause = Duration::from_millis(250);
    loop {
        match AmqpBus::connect(config.clone()).await {
            Ok(bus) => return Ok(Arc::new(bus)),
            Err(e) => {
                tracing::warn!(error.message = %e, retry_in = ?pause, "RabbitMQ not reachable yet")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => anyhow::bail!("stopped before RabbitMQ was reachable"),
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// `gateway`: the SCIM API; reads over gRPC, writes over RabbitMQ.
pub(crate) async fn gateway(s: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let channel = store_channel(&s.store_url, s.role_secret()?)?;
    let bus = connect_bus(&s, &shutdown).await?;
    let client = bus
        .client()
        .await
        .context("while opening the publisher channel")?;
    let channel_for_metrics = channel.clone();
    let state = AppState::new(gateway_config(&s), channel, Arc::new(client));
    let gateway = Gateway::bind(s.listen, state)
        .await
        .with_context(|| format!("while binding {}", s.listen))?;
    let addr = gateway.local_addr()?;
    tracing::info!(address = %addr, "listening on http://{addr}");
    let metrics = spawn_metrics(&s, channel_for_metrics, shutdown.clone()).await?;
    // Stop accepting, drain in-flight requests (each waits for its reply), then close AMQP.
    gateway
        .run_until_stopped(shutdown.cancelled_owned())
        .await?;
    if let Some(task) = metrics {
        let _ = task.await;
    }
    bus.close().await;
    tracing::info!("gateway stopped");
    Ok(())
}

/// `worker`: consumes commands and applies them through the store.
pub(crate) async fn worker(s: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let channel = store_channel(&s.store_url, s.role_secret()?)?;
    let bus = connect_bus(&s, &shutdown).await?;
    // Replies and fan-out publishes on a connection of their own: under a broker resource
    // alarm RabbitMQ blocks publishing connections, and the consuming one must keep acking.
    let publishing = connect_bus(&s, &shutdown).await?;
    let ready: health::ReadyCheck = {
        let (channel, bus) = (channel.clone(), bus.clone());
        Arc::new(move || {
            let (channel, bus) = (channel.clone(), bus.clone());
            Box::pin(async move {
                health::store_ready(channel).await?;
                bus.depth().await.map(|_| ()).map_err(|e| e.to_string())
            })
        })
    };
    let (addr, health_task) = health::spawn(s.health_listen, ready, shutdown.clone()).await?;
    tracing::info!(health = %addr, "worker consuming {}", Topology { prefix: s.queue_prefix.clone(), ..Topology::default() }.commands());
    // Membership fan-out beside the commands: this worker's outbox relay (the store leases
    // items, so any number of relays share the outbox) and the job consumer.
    let publisher = publishing
        .publisher()
        .await
        .context("while opening the fan-out publisher")?;
    let relay = Relay::new(
        channel.clone(),
        Arc::new(publisher),
        Duration::from_millis(200),
    );
    let relay_task = {
        let stop = shutdown.clone();
        tokio::spawn(async move { relay.run(stop).await })
    };
    let fanout = FanoutWorker::new(
        channel.clone(),
        s.worker_concurrency,
        s.worker_max_deliveries,
    );
    let fanout_task = {
        let (bus, stop) = (bus.clone(), shutdown.clone());
        tokio::spawn(async move {
            let run_stop = stop.clone();
            keep_consuming(
                "fan-out",
                || {
                    let bus = bus.clone();
                    async move { bus.job_consumer().await }
                },
                stop,
                move |mut consumer| {
                    let (fanout, stop) = (fanout.clone(), run_stop.clone());
                    async move { fanout.run(&mut consumer, &stop).await }
                },
            )
            .await;
        })
    };
    let gauges_task = {
        let (bus, stop) = (bus.clone(), shutdown.clone());
        tokio::spawn(scim_worker::report_gauges(
            channel.clone(),
            GAUGE_PERIOD,
            stop,
            move || {
                let bus = bus.clone();
                async move { amqp_depths(&bus).await }
            },
        ))
    };
    let worker = Worker::new(channel, worker_config(&s));
    // Stop taking deliveries, finish (reply + ack) the ones in flight, then close AMQP; the
    // prefetched but unstarted ones go back to the queue when the channel closes.
    worker
        .run_reconnecting(
            || {
                let (bus, publishing) = (bus.clone(), publishing.clone());
                async move {
                    bus.consumer_replying_via(&publishing)
                        .await
                        .map(|c| Box::new(c) as Box<dyn CommandConsumer>)
                }
            },
            shutdown.clone(),
        )
        .await;
    let _ = relay_task.await;
    let _ = fanout_task.await;
    let _ = gauges_task.await;
    bus.close().await;
    publishing.close().await;
    let _ = health_task.await;
    tracing::info!("worker stopped");
    Ok(())
}

/// Serves `/metrics` (with `/healthz` and `/readyz`, ready when the store answers) on
/// `metrics_listen` when it is set; the task ends on `shutdown`.
pub(crate) async fn spawn_metrics(
    s: &Settings,
    store: StoreChannel,
    shutdown: CancellationToken,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(addr) = s.metrics_listen else {
        return Ok(None);
    };
    let ready: health::ReadyCheck = Arc::new(move || {
        let store = store.clone();
        Box::pin(async move { health::store_ready(store).await })
    });
    let (bound, task) = health::spawn(addr, ready, shutdown).await?;
    tracing::info!(metrics = %bound, "metrics on http://{bound}/metrics");
    Ok(Some(task))
}

/// How often a worker refreshes the fan-out lag and queue depth gauges.
pub(crate) const GAUGE_PERIOD: Duration = Duration::from_secs(5);

/// The ready messages of the command and fan-out queues (a queue that cannot be read is left
/// out: its gauge keeps its last value).
async fn amqp_depths(bus: &AmqpBus) -> Vec<(String, u64)> {
    let topology = &bus.config().topology;
    let mut depths = Vec::new();
    if let Ok(n) = bus.depth().await {
        depths.push((topology.commands(), u64::from(n)));
    }
    if let Ok(n) = bus.job_depth().await {
        depths.push((topology.fanout(), u64::from(n)));
    }
    depths
}

/// Makes every `/metrics` scrape read the pool's current use.
pub(crate) fn report_pool(conn: &scim_store::db::Connection) {
    let conn = conn.clone();
    scim_telemetry::metrics().on_scrape(move |m| {
        if let Some((open, idle, max)) = scim_store::db::pool_stats(&conn) {
            m.set_db_pool(open, idle, max);
        }
    });
}

/// `store`: the gRPC DirectoryService over the database.
pub(crate) async fn store(s: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let secret = RequireSecret::new(s.role_secret()?).context("role_secret")?;
    let url = s.embedded_database_url();
    let conn = crate::database::open(&url, s.database_pool).await?;
    report_pool(&conn);
    let dir = crate::database::serving_directory(&url, conn.clone(), s.background_pool).await?;
    let server = scim_store::server::StoreServer::bind(s.store_listen, dir.clone(), secret)
        .await
        .with_context(|| format!("while binding {}", s.store_listen))?;
    let grpc_addr = server.local_addr()?;
    let ready: health::ReadyCheck = {
        let conn = conn.clone();
        Arc::new(move || {
            let conn = conn.clone();
            Box::pin(async move { conn.ping().await.map_err(|e| format!("database: {e}")) })
        })
    };
    let (health_addr, health_task) =
        health::spawn(s.health_listen, ready, shutdown.clone()).await?;
    tracing::info!(address = %grpc_addr, health = %health_addr, "store listening (gRPC DirectoryService + health)");
    // Stop accepting calls, let in-flight ones finish, then close the pool.
    server
        .run_until_stopped(shutdown.clone().cancelled_owned())
        .await
        .context("while serving")?;
    dir.close()
        .await
        .context("while closing the database pools")?;
    let _ = health_task.await;
    tracing::info!("store stopped");
    Ok(())
}

/// `migrate`: brings the database schema up to date.
pub(crate) async fn migrate(s: Settings) -> anyhow::Result<()> {
    let conn = crate::database::open(&s.embedded_database_url(), 2).await?;
    conn.close().await?;
    tracing::info!("migrations applied");
    Ok(())
}
