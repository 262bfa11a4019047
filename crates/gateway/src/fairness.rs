//! Per-tenant fairness for writes: one tenant's 100 000-user initial sync must not starve the
//! others.
//!
//! Mechanism: each tenant has a FIFO semaphore of `tenant_inflight` permits on each gateway
//! replica (created on first use, dropped after a long idle period). A write holds a permit
//! from before it publishes its command until the worker's reply arrives or the deadline
//! passes. A write that finds no free permit *waits* for one — it is not rejected, because a
//! `503` costs an Entra customer a 40-minute retry (ENTRA §8) — but only until its overall
//! `request_timeout`, after which it is a `503` with `Retry-After`.
//!
//! Why this is enough: the command queue shared by all tenants is FIFO. With the cap, one
//! tenant holds at most `tenant_inflight` commands in it per replica, so another tenant's
//! command waits behind at most `tenant_inflight × replicas × active tenants` commands,
//! however many requests the busy tenant has outstanding; the busy tenant's surplus waits
//! here, in its own line, instead of in front of everybody in the queue. Reads have a gate of
//! their own (`tenant_reads`): they go straight to the store, where a burst of expensive
//! filters from one tenant would otherwise hold every store connection.

use crate::error::GatewayError;
use moka::sync::Cache;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The per-tenant write slots of this replica.
pub(crate) struct TenantGate {
    permits: usize,
    /// Tenant id → its semaphore. Entries idle for longer than any write can hold a permit
    /// are evicted, so a tenant gone quiet costs nothing; an evicted semaphore has no
    /// outstanding permits, so eviction never raises a tenant's cap.
    semaphores: Cache<String, Arc<Semaphore>>,
}

impl std::fmt::Debug for TenantGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantGate")
            .field("permits", &self.permits)
            .field("tenants", &self.semaphores.entry_count())
            .finish()
    }
}

impl TenantGate {
    /// `permits` slots per tenant (at least one); a tenant's semaphore is dropped after `idle`
    /// without use, which must exceed the longest write (the request timeout).
    pub(crate) fn new(permits: usize, idle: Duration) -> Self {
        Self {
            permits: permits.max(1),
            semaphores: Cache::builder().time_to_idle(idle).build(),
        }
    }

    /// Waits for one of `tenant`'s slots until `deadline`; `503` past it. The permit is
    /// released when dropped.
    pub(crate) async fn acquire(
        &self,
        tenant: &str,
        deadline: Instant,
    ) -> Result<OwnedSemaphorePermit, GatewayError> {
        let semaphore = self
            .semaphores
            .get_with(tenant.to_owned(), || Arc::new(Semaphore::new(self.permits)));
        match tokio::time::timeout_at(deadline, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(GatewayError::Internal("tenant semaphore closed".into())),
            Err(_) => Err(GatewayError::Unavailable(
                "no write slot for the tenant before the deadline".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soon(ms: u64) -> Instant {
        Instant::now() + Duration::from_millis(ms)
    }

    #[tokio::test]
    async fn a_tenant_holding_all_its_slots_waits_while_another_tenant_proceeds() {
        let gate = TenantGate::new(2, Duration::from_secs(60));
        let _a1 = gate.acquire("a", soon(1000)).await.unwrap();
        let _a2 = gate.acquire("a", soon(1000)).await.unwrap();
        let e = gate.acquire("a", soon(30)).await.unwrap_err();
        assert_eq!(e.to_scim().status(), 503);
        assert!(gate.acquire("b", soon(30)).await.is_ok());
    }

    #[tokio::test]
    async fn a_waiting_write_gets_the_slot_a_finished_write_releases() {
        let gate = Arc::new(TenantGate::new(1, Duration::from_secs(60)));
        let first = gate.acquire("a", soon(1000)).await.unwrap();
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.acquire("a", soon(2000)).await.is_ok() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(first);
        assert!(waiter.await.unwrap());
    }

    #[tokio::test]
    async fn zero_permits_is_treated_as_one() {
        let gate = TenantGate::new(0, Duration::from_secs(60));
        assert!(gate.acquire("a", soon(30)).await.is_ok());
    }
}
