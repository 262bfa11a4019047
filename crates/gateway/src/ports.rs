//! What the gateway needs from the directory store, as a small capability trait
//! ([`DirectoryReads`]), so the protocol logic can run against a fake in tests and the store
//! can be reached however the deployment reaches it. Writes do not go through here: they are
//! change commands on the bus (`scim_bus::CommandClient`).
//!
//! [`GrpcDirectory`] is the production adapter over the generated tonic client. It bounds every
//! call by the gateway's request timeout (a hung store must not hold an identity provider past
//! its own 60 s timeout) and sorts failures the way the client must be answered: a SCIM refusal
//! carried in the status details is that refusal; a transient failure is `503`; anything else
//! is a `500`.

use crate::error::GatewayError;
use crate::extract::TraceContext;
use async_trait::async_trait;
use scim::ScimError;
use scim_wire::pb;
use scim_wire::pb::directory_service_client::DirectoryServiceClient;
use scim_wire::role_auth::StoreChannel;
use scim_wire::status::{is_transient, scim_error};
use sha2::Digest as _;
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The store refused with a SCIM error (`404` for an id not in this tenant, …).
    #[error(transparent)]
    Scim(ScimError),
    /// The store was unreachable, overloaded or too slow; retrying later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else (a bug, a malformed message).
    #[error("store call failed: {0}")]
    Internal(String),
}

impl From<ReadError> for GatewayError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Scim(s) => GatewayError::Scim(s),
            ReadError::Unavailable(m) => GatewayError::Unavailable(m),
            ReadError::Internal(m) => GatewayError::Internal(m),
        }
    }
}

/// The directory reads the gateway makes. Every call is scoped by the caller: `tenant_id`
/// travels inside each request, and the store scopes every query by it.
#[async_trait]
pub trait DirectoryReads: Send + Sync + Debug + 'static {
    /// The tenant id when `token` is a live token of the enabled tenant `slug`; `None` in
    /// every other case alike.
    async fn authenticate(
        &self,
        slug: &str,
        token: &str,
        trace: &TraceContext,
    ) -> Result<Option<String>, ReadError>;

    /// One resource (`404` as [`ReadError::Scim`] when absent).
    async fn get(
        &self,
        req: pb::GetResourceRequest,
        trace: &TraceContext,
    ) -> Result<pb::Resource, ReadError>;

    /// One page of a filtered, sorted list.
    async fn list(
        &self,
        req: pb::ListResourcesRequest,
        trace: &TraceContext,
    ) -> Result<pb::ListResourcesResponse, ReadError>;

    /// Whether the store answers (for `/readyz`).
    async fn ready(&self) -> Result<(), ReadError>;
}

/// Largest response accepted from the store: a group with 100 000 members is several MiB, well
/// past tonic's 4 MiB default. Matches the store's encoding limit.
const MAX_STORE_MESSAGE: usize = 256 << 20;

/// How long `/readyz` waits for the store.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// [`DirectoryReads`] over the DirectoryService gRPC client.
#[derive(Debug, Clone)]
pub struct GrpcDirectory {
    channel: StoreChannel,
    timeout: Duration,
}

impl GrpcDirectory {
    /// Reads over `channel`, each call bounded by `timeout`.
    pub fn new(channel: StoreChannel, timeout: Duration) -> Self {
        Self { channel, timeout }
    }

    fn client(&self) -> DirectoryServiceClient<StoreChannel> {
        DirectoryServiceClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_STORE_MESSAGE)
    }

    async fn call<T, F>(&self, what: &str, fut: F) -> Result<T, ReadError>
    where
        F: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(res)) => Ok(res.into_inner()),
            Ok(Err(status)) => Err(read_error(what, &status)),
            Err(_) => Err(ReadError::Unavailable(format!(
                "{what}: no answer within {:?}",
                self.timeout
            ))),
        }
    }
}

/// Sorts a gRPC status: SCIM refusal, transient, or internal.
pub fn read_error(what: &str, status: &tonic::Status) -> ReadError {
    if let Some(e) = scim_error(status) {
        return ReadError::Scim(e);
    }
    let reason = format!("{what}: {:?}: {}", status.code(), status.message());
    if is_transient(status) {
        ReadError::Unavailable(reason)
    } else {
        ReadError::Internal(reason)
    }
}

/// A request carrying the trace context as gRPC metadata: the current span's (the store's
/// span becomes its child), or — without an OpenTelemetry layer — the caller's as received.
fn request<T>(message: T, trace: &TraceContext) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    for (name, value) in trace.pairs() {
        if let Ok(v) = value.parse() {
            req.metadata_mut().insert(name, v);
        }
    }
    scim_telemetry::inject(req.metadata_mut());
    req
}

#[async_trait]
impl DirectoryReads for GrpcDirectory {
    async fn authenticate(
        &self,
        slug: &str,
        token: &str,
        trace: &TraceContext,
    ) -> Result<Option<String>, ReadError> {
        // Only the hash travels to the store (DESIGN §8).
        let msg = pb::AuthenticateRequest {
            slug: slug.to_owned(),
            token: String::new(),
            token_sha256: hex::encode(sha2::Sha256::digest(token.as_bytes())),
        };
        let mut client = self.client();
        let res = self
            .call("Authenticate", client.authenticate(request(msg, trace)))
            .await?;
        Ok(res.authenticated.then_some(res.tenant_id))
    }

    async fn get(
        &self,
        req: pb::GetResourceRequest,
        trace: &TraceContext,
    ) -> Result<pb::Resource, ReadError> {
        let mut client = self.client();
        self.call("GetResource", client.get_resource(request(req, trace)))
            .await
    }

    async fn list(
        &self,
        req: pb::ListResourcesRequest,
        trace: &TraceContext,
    ) -> Result<pb::ListResourcesResponse, ReadError> {
        let mut client = self.client();
        self.call("ListResources", client.list_resources(request(req, trace)))
            .await
    }

    /// Asks the gRPC health service about the DirectoryService. A server without a health
    /// service (the embedded store served over in-process pipes) answers `Unimplemented`:
    /// it did answer, so it counts as ready.
    async fn ready(&self) -> Result<(), ReadError> {
        let mut health = HealthClient::new(self.channel.clone());
        let check = health.check(tonic_health::pb::HealthCheckRequest {
            service: pb::directory_service_server::SERVICE_NAME.to_owned(),
        });
        match tokio::time::timeout(READY_TIMEOUT, check).await {
            Ok(Ok(res)) if res.get_ref().status == ServingStatus::Serving as i32 => Ok(()),
            Ok(Ok(_)) => Err(ReadError::Unavailable("store is not serving".into())),
            Ok(Err(s)) if s.code() == tonic::Code::Unimplemented => Ok(()),
            Ok(Err(s)) => Err(ReadError::Unavailable(format!(
                "health check: {:?}: {}",
                s.code(),
                s.message()
            ))),
            Err(_) => Err(ReadError::Unavailable("health check timed out".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_are_unavailable_and_other_statuses_internal() {
        assert!(matches!(
            read_error("x", &tonic::Status::unavailable("connect refused")),
            ReadError::Unavailable(_)
        ));
        assert!(matches!(
            read_error("x", &tonic::Status::deadline_exceeded("slow")),
            ReadError::Unavailable(_)
        ));
        assert!(matches!(
            read_error("x", &tonic::Status::internal("bug")),
            ReadError::Internal(_)
        ));
        let e: GatewayError = read_error("x", &tonic::Status::unavailable("down")).into();
        assert_eq!(e.to_scim().status(), 503);
    }
}
