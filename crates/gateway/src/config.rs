//! The gateway's knobs. The binary fills [`GatewayConfig`] from its typed settings; every field
//! has a safe default, chosen from what Entra ID and Okta need (ENTRA §8, §9, §14).

use std::time::Duration;

/// How the gateway behaves: where it says it lives, how long it waits, how much it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// The public origin the identity providers use, e.g. `https://scim.example.com` (a path
    /// prefix such as `https://example.com/api` is allowed). `meta.location`, `Location` and
    /// member `$ref`s are built from it as `{public_url}/scim/v2/{tenant}`. `None` derives the
    /// origin from the request: `http://` plus the `Host` header (or the forwarded headers, see
    /// [`trust_forwarded`](Self::trust_forwarded)).
    pub public_url: Option<String>,
    /// Whether to build the origin from `X-Forwarded-Proto`, `X-Forwarded-Host` and
    /// `X-Forwarded-Prefix` when [`public_url`](Self::public_url) is `None`. Only switch this
    /// on behind a proxy that overwrites those headers: otherwise any client chooses the URLs
    /// the gateway hands out.
    pub trust_forwarded: bool,
    /// The deadline of one write, from the moment it arrives: waiting for the tenant's
    /// in-flight slot, the queue and the worker's reply all count. Past it the answer is `503`
    /// with `Retry-After` (the command may still apply; it is idempotent by command id). Reads
    /// use the same bound for their store call. Default 25 s: well under Entra's 60 s timeout.
    pub request_timeout: Duration,
    /// How long an `Authenticate` answer (positive or negative) is reused for the same tenant
    /// and token. A revoked token, or a tenant whose provisioning was switched off, therefore
    /// keeps working for at most this long on each gateway replica. Zero disables the cache.
    /// Default 30 s.
    pub token_cache_ttl: Duration,
    /// Largest accepted request body in bytes (`413` above it); advertised as
    /// `bulk.maxPayloadSize`. Default 1 MiB.
    pub max_body_bytes: usize,
    /// How many writes one tenant may have queued or in progress at once on this replica;
    /// more wait for a slot (see the `fairness` module). Default 32.
    pub tenant_inflight: usize,
    /// The page size cap (`count` is clamped to it); advertised as `filter.maxResults`.
    /// Default 200.
    pub max_results: u32,
    /// How many reads one tenant may have running against the store at once on this replica;
    /// more wait for a slot (within the request deadline). One tenant's burst of expensive
    /// filters then holds at most this many store connections, never all of them. Default 8.
    pub tenant_reads: usize,
    /// Connection limits of the HTTP server (header read timeout, connection cap).
    pub server: crate::server::ServerLimits,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            trust_forwarded: false,
            request_timeout: Duration::from_secs(25),
            token_cache_ttl: Duration::from_secs(30),
            max_body_bytes: 1 << 20,
            tenant_inflight: 32,
            max_results: 200,
            tenant_reads: 8,
            server: crate::server::ServerLimits::default(),
        }
    }
}
