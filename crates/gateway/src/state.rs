//! [`AppState`]: everything a request handler needs, shared by all requests of one gateway.

use crate::auth::Authenticator;
use crate::config::GatewayConfig;
use crate::fairness::TenantGate;
use crate::ports::{DirectoryReads, GrpcDirectory};
use scim::discovery::ProviderConfig;
use scim::list::ListLimits;
use scim::schema::Registry;
use scim_bus::CommandClient;
use std::sync::Arc;
use std::time::Duration;

/// The gateway's shared state (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

/// What [`AppState`] shares.
#[derive(Debug)]
pub(crate) struct Inner {
    /// The configuration, owned here for the life of the gateway.
    pub(crate) config: GatewayConfig,
    /// The SCIM schemas: resolves filters, validates bodies, renders and projects resources.
    /// Must be the same registry the store validates with.
    pub(crate) registry: Registry,
    /// Reads from the directory store (gRPC in production).
    pub(crate) reads: Arc<dyn DirectoryReads>,
    /// Writes: change commands to the workers, waiting for their replies.
    pub(crate) commands: Arc<dyn CommandClient>,
    /// Bearer-token checks with their answer cache.
    pub(crate) auth: Authenticator,
    /// Per-tenant write slots (see `fairness`).
    pub(crate) gate: TenantGate,
    /// Per-tenant read slots: the same mechanism, a separate budget.
    pub(crate) read_gate: TenantGate,
    /// Page size and filter limits for every query.
    pub(crate) limits: ListLimits,
    /// What `/ServiceProviderConfig` advertises; derived from `config` so the two agree.
    pub(crate) provider: ProviderConfig,
}

impl AppState {
    /// The production state: reads over the store's gRPC `channel`, writes through `commands`.
    pub fn new(
        config: GatewayConfig,
        store: scim_wire::role_auth::StoreChannel,
        commands: Arc<dyn CommandClient>,
    ) -> Self {
        let reads = Arc::new(GrpcDirectory::new(store, config.request_timeout));
        Self::with_reads(config, reads, commands)
    }

    /// A state over any [`DirectoryReads`] (a fake in tests, another transport).
    pub fn with_reads(
        config: GatewayConfig,
        reads: Arc<dyn DirectoryReads>,
        commands: Arc<dyn CommandClient>,
    ) -> Self {
        // A tenant's semaphore may only be evicted once no write can still hold one of its
        // permits, i.e. well after the longest write.
        let gate_idle = Duration::from_secs(600).max(config.request_timeout * 2);
        let inner = Inner {
            auth: Authenticator::new(reads.clone(), config.token_cache_ttl),
            gate: TenantGate::new(config.tenant_inflight, gate_idle),
            read_gate: TenantGate::new(config.tenant_reads, gate_idle),
            limits: ListLimits {
                max_results: config.max_results,
                ..ListLimits::default()
            },
            provider: ProviderConfig {
                max_results: config.max_results,
                max_payload_bytes: config.max_body_bytes as u64,
                ..ProviderConfig::default()
            },
            registry: Registry::new(),
            reads,
            commands,
            config,
        };
        Self {
            inner: Arc::new(inner),
        }
    }
}
