//! Tenant authentication: `Authorization: Bearer <token>` for the tenant named in the URL,
//! checked by the store's `Authenticate` and remembered for a short while.
//!
//! - Every failure is the same `401` (missing, malformed, wrong or revoked token, another
//!   tenant's token, unknown or disabled tenant), so nobody learns which tenants exist (DESIGN
//!   §8). Only a store that cannot answer gives something else: `503`, because telling Entra
//!   "invalid credentials" for our own outage would quarantine the customer's job (ENTRA §8).
//! - Answers, positive and negative, are cached per (tenant slug, SHA-256 of the token) for
//!   `token_cache_ttl`: an identity provider sends every request with the same token, and one
//!   store round trip per request would be waste. The plain token is never kept, logged or
//!   put in a span. The price is that revocation and disabling take up to the TTL to bite.
//!   A "no" is kept for at most [`NEGATIVE_TTL`]: right after a tenant is enabled or a token
//!   issued, a stale "no" would answer Entra's Test Connection with `401` and get the job
//!   quarantined (ENTRA §8).

use crate::error::GatewayError;
use crate::extract::{TraceContext, bearer_token};
use crate::ports::{DirectoryReads, ReadError};
use http::HeaderMap;
use moka::sync::Cache;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// An authenticated tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tenant {
    /// The tenant's id (UUID), which scopes every read and write.
    pub(crate) id: String,
    /// The slug from the URL.
    pub(crate) slug: String,
}

/// Longest slug worth asking the store about; longer ones cannot exist.
const MAX_SLUG_LEN: usize = 128;

/// Upper bound of cached answers, so that a flood of made-up tokens cannot grow memory
/// without bound (least useful entries are evicted first).
const CACHE_CAPACITY: u64 = 100_000;

type CacheKey = (String, [u8; 32]);

/// Longest time a negative answer is cached (bounds a flood of bad tokens to one store call
/// per token per this period, while a newly valid token works almost at once).
pub(crate) const NEGATIVE_TTL: Duration = Duration::from_secs(2);

/// Positive answers live for the configured TTL, negative ones for at most [`NEGATIVE_TTL`].
struct AnswerExpiry {
    ttl: Duration,
}

impl moka::Expiry<CacheKey, Option<String>> for AnswerExpiry {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        answer: &Option<String>,
        _now: std::time::Instant,
    ) -> Option<Duration> {
        Some(match answer {
            Some(_) => self.ttl,
            None => self.ttl.min(NEGATIVE_TTL),
        })
    }
}

/// Authenticates requests, with the answer cache described in the module documentation.
pub(crate) struct Authenticator {
    reads: Arc<dyn DirectoryReads>,
    /// `None` when the TTL is zero.
    cache: Option<Cache<CacheKey, Option<String>>>,
}

impl std::fmt::Debug for Authenticator {
    /// Shows the size of the cache, never its keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("cached", &self.cache.as_ref().map(Cache::entry_count))
            .finish()
    }
}

impl Authenticator {
    /// Checks tokens through `reads`, caching answers for `ttl`.
    pub(crate) fn new(reads: Arc<dyn DirectoryReads>, ttl: Duration) -> Self {
        let cache = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .expire_after(AnswerExpiry { ttl })
                .build()
        });
        Self { reads, cache }
    }

    /// The tenant `slug` when the request's bearer token is one of its live tokens.
    pub(crate) async fn authenticate(
        &self,
        slug: &str,
        headers: &HeaderMap,
        trace: &TraceContext,
    ) -> Result<Tenant, GatewayError> {
        let token = bearer_token(headers).ok_or(GatewayError::Unauthorized)?;
        if slug.is_empty() || slug.len() > MAX_SLUG_LEN {
            return Err(GatewayError::Unauthorized);
        }
        let key: CacheKey = (slug.to_owned(), Sha256::digest(token.as_bytes()).into());
        let cached = self.cache.as_ref().and_then(|c| c.get(&key));
        let m = scim_telemetry::metrics();
        let result = if cached.is_some() { "hit" } else { "miss" };
        scim_telemetry::Metrics::count(&m.token_cache_requests, "result", result);
        let answer = match cached {
            Some(answer) => answer,
            None => {
                let answer = match self.reads.authenticate(slug, token, trace).await {
                    Ok(answer) => answer,
                    // Authenticate never refuses in SCIM terms; if it does, it is no.
                    Err(ReadError::Scim(_)) => return Err(GatewayError::Unauthorized),
                    Err(e) => return Err(e.into()),
                };
                if let Some(cache) = &self.cache {
                    cache.insert(key, answer.clone());
                }
                answer
            }
        };
        answer
            .map(|id| Tenant {
                id,
                slug: slug.to_owned(),
            })
            .ok_or(GatewayError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use http::HeaderValue;
    use scim_wire::pb;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Tenant `acme` with token `good`; counts calls; can be switched to "store down".
    #[derive(Debug, Default)]
    struct FakeStore {
        calls: AtomicUsize,
        down: Mutex<bool>,
    }

    #[async_trait]
    impl DirectoryReads for FakeStore {
        async fn authenticate(
            &self,
            slug: &str,
            token: &str,
            _: &TraceContext,
        ) -> Result<Option<String>, ReadError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if *self.down.lock().unwrap() {
                return Err(ReadError::Unavailable("down".into()));
            }
            Ok((slug == "acme" && token == "good").then(|| "tenant-1".to_owned()))
        }
        async fn get(
            &self,
            _: pb::GetResourceRequest,
            _: &TraceContext,
        ) -> Result<pb::Resource, ReadError> {
            unreachable!()
        }
        async fn list(
            &self,
            _: pb::ListResourcesRequest,
            _: &TraceContext,
        ) -> Result<pb::ListResourcesResponse, ReadError> {
            unreachable!()
        }
        async fn ready(&self) -> Result<(), ReadError> {
            Ok(())
        }
    }

    fn with_token(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_str(value).unwrap());
        h
    }

    fn auth(store: &Arc<FakeStore>, ttl: Duration) -> Authenticator {
        Authenticator::new(store.clone(), ttl)
    }

    #[tokio::test]
    async fn a_live_token_of_the_tenant_yields_the_tenant_and_is_cached() {
        let store = Arc::new(FakeStore::default());
        let a = auth(&store, Duration::from_secs(30));
        let t = TraceContext::default();
        for _ in 0..3 {
            let tenant = a
                .authenticate("acme", &with_token("Bearer good"), &t)
                .await
                .unwrap();
            assert_eq!(
                tenant,
                Tenant {
                    id: "tenant-1".into(),
                    slug: "acme".into()
                }
            );
        }
        assert_eq!(store.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn wrong_tokens_and_unknown_tenants_are_unauthorized_and_negative_answers_are_cached() {
        let store = Arc::new(FakeStore::default());
        let a = auth(&store, Duration::from_secs(30));
        let t = TraceContext::default();
        for _ in 0..2 {
            assert!(matches!(
                a.authenticate("acme", &with_token("Bearer bad"), &t).await,
                Err(GatewayError::Unauthorized)
            ));
            assert!(matches!(
                a.authenticate("other", &with_token("Bearer good"), &t)
                    .await,
                Err(GatewayError::Unauthorized)
            ));
        }
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn missing_or_malformed_authorization_never_reaches_the_store() {
        let store = Arc::new(FakeStore::default());
        let a = auth(&store, Duration::from_secs(30));
        let t = TraceContext::default();
        for h in [
            HeaderMap::new(),
            with_token("Basic Z29vZA=="),
            with_token("Bearer"),
        ] {
            assert!(matches!(
                a.authenticate("acme", &h, &t).await,
                Err(GatewayError::Unauthorized)
            ));
        }
        let long = "a".repeat(MAX_SLUG_LEN + 1);
        assert!(matches!(
            a.authenticate(&long, &with_token("Bearer good"), &t).await,
            Err(GatewayError::Unauthorized)
        ));
        assert_eq!(store.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_store_outage_is_unavailable_not_unauthorized_and_is_not_cached() {
        let store = Arc::new(FakeStore::default());
        let a = auth(&store, Duration::from_secs(30));
        let t = TraceContext::default();
        *store.down.lock().unwrap() = true;
        assert!(matches!(
            a.authenticate("acme", &with_token("Bearer good"), &t).await,
            Err(GatewayError::Unavailable(_))
        ));
        *store.down.lock().unwrap() = false;
        assert!(
            a.authenticate("acme", &with_token("Bearer good"), &t)
                .await
                .is_ok()
        );
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn answers_expire_after_the_ttl_and_a_zero_ttl_disables_the_cache() {
        let store = Arc::new(FakeStore::default());
        let a = auth(&store, Duration::from_millis(50));
        let t = TraceContext::default();
        a.authenticate("acme", &with_token("Bearer good"), &t)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        a.authenticate("acme", &with_token("Bearer good"), &t)
            .await
            .unwrap();
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);

        let store = Arc::new(FakeStore::default());
        let a = auth(&store, Duration::ZERO);
        for _ in 0..2 {
            a.authenticate("acme", &with_token("Bearer good"), &t)
                .await
                .unwrap();
        }
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_negative_answer_is_cached_briefly_and_a_positive_one_for_the_ttl() {
        let store = Arc::new(FakeStore::default());
        let a = auth(&store, Duration::from_secs(30));
        let t = TraceContext::default();
        for _ in 0..2 {
            assert!(
                a.authenticate("acme", &with_token("Bearer bad"), &t)
                    .await
                    .is_err()
            );
            assert!(
                a.authenticate("acme", &with_token("Bearer good"), &t)
                    .await
                    .is_ok()
            );
        }
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);
        tokio::time::sleep(NEGATIVE_TTL + Duration::from_millis(200)).await;
        assert!(
            a.authenticate("acme", &with_token("Bearer bad"), &t)
                .await
                .is_err()
        );
        assert!(
            a.authenticate("acme", &with_token("Bearer good"), &t)
                .await
                .is_ok()
        );
        assert_eq!(
            store.calls.load(Ordering::SeqCst),
            3,
            "only the negative answer expired"
        );
    }

    #[test]
    fn debug_output_never_shows_cache_keys() {
        let store = Arc::new(FakeStore::default());
        let text = format!("{:?}", auth(&store, Duration::from_secs(1)));
        assert!(text.starts_with("Authenticator"));
    }
}
