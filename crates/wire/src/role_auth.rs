//! Authentication between the roles: every call to the store's `DirectoryService` over TCP
//! carries the deployment's role secret, and the store refuses a call without it. The gateway,
//! the worker and the operator's `tenant --store-url` present it; the in-process store of
//! `serve` and `tenant` (no socket) needs none.
//!
//! The secret is compared as a SHA-256 digest in constant time, and neither type prints it.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// gRPC metadata key of the role secret.
const HEADER: &str = "authorization";

/// Shortest role secret a store accepts (a 128-bit secret written in hex is 32 characters).
pub const MIN_SECRET_LEN: usize = 32;

/// How calls reach the store: a gRPC connection ([`Channel`]), or — in `serve` and the `tenant`
/// CLI — the store's services called directly in this process (no HTTP/2, no pipe).
pub type StoreTransport = tower::util::BoxCloneSyncService<
    http::Request<tonic::body::Body>,
    http::Response<tonic::body::Body>,
    tonic::transport::Error,
>;

/// A channel to the store that presents the role secret (if any) on every call.
pub type StoreChannel = InterceptedService<StoreTransport, PresentSecret>;

/// Why a role secret cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Too short to resist guessing.
    #[error(
        "the role secret must be at least {MIN_SECRET_LEN} characters (e.g. `openssl rand -hex 32`)"
    )]
    TooShort,
    /// Not printable ASCII (or has spaces), so it cannot travel in gRPC metadata.
    #[error("the role secret must be printable ASCII without spaces")]
    NotAscii,
}

fn checked(secret: &str) -> Result<&str, SecretError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(SecretError::TooShort);
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SecretError::NotAscii);
    }
    Ok(secret)
}

/// The client half: adds `authorization: Bearer <secret>` to every request.
#[derive(Clone)]
pub struct PresentSecret(Option<MetadataValue<Ascii>>);

impl std::fmt::Debug for PresentSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "PresentSecret(<redacted>)"
        } else {
            "PresentSecret(none)"
        })
    }
}

impl PresentSecret {
    /// Presents `secret`; `None` presents nothing (a store that requires one refuses).
    pub fn new(secret: Option<&str>) -> Result<Self, SecretError> {
        secret
            .map(|s| {
                let mut value = MetadataValue::try_from(format!("Bearer {}", checked(s)?))
                    .map_err(|_| SecretError::NotAscii)?;
                value.set_sensitive(true);
                Ok(value)
            })
            .transpose()
            .map(Self)
    }

    /// Presents nothing: for the in-process store, which has no socket to protect.
    pub fn none() -> Self {
        Self(None)
    }

    /// `channel` with this secret on every call.
    pub fn wrap(self, channel: Channel) -> StoreChannel {
        self.wrap_transport(StoreTransport::new(channel))
    }

    /// Presents the secret on calls through `transport`.
    pub fn wrap_transport(self, transport: StoreTransport) -> StoreChannel {
        InterceptedService::new(transport, self)
    }
}

impl Interceptor for PresentSecret {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert(HEADER, value.clone());
        }
        Ok(request)
    }
}

/// The server half: admits a call only when it presents the secret.
#[derive(Clone)]
pub struct RequireSecret {
    digest: [u8; 32],
}

impl std::fmt::Debug for RequireSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequireSecret(<redacted>)")
    }
}

impl RequireSecret {
    /// Requires `secret`.
    pub fn new(secret: &str) -> Result<Self, SecretError> {
        Ok(Self {
            digest: Sha256::digest(checked(secret)?.as_bytes()).into(),
        })
    }

    /// Whether `presented` (the whole `authorization` value) carries the secret.
    fn admits(&self, presented: &[u8]) -> bool {
        let Some(secret) = presented.strip_prefix(b"Bearer ") else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(secret).into();
        bool::from(digest.ct_eq(&self.digest))
    }
}

impl Interceptor for RequireSecret {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        match request.metadata().get(HEADER) {
            Some(value) if self.admits(value.as_bytes()) => Ok(request),
            // One answer for a missing and a wrong secret; the caller learns nothing else.
            _ => Err(Status::unauthenticated("role secret missing or wrong")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn call(require: &mut RequireSecret, present: &mut PresentSecret) -> Result<(), Status> {
        let request = present.call(Request::new(()))?;
        require.call(request).map(|_| ())
    }

    #[test]
    fn the_right_secret_is_admitted_and_any_other_is_refused() {
        let mut require = RequireSecret::new(SECRET).unwrap();
        assert!(call(&mut require, &mut PresentSecret::new(Some(SECRET)).unwrap()).is_ok());
        let wrong = "0123456789abcdef0123456789abcdeF";
        for mut present in [
            PresentSecret::new(None).unwrap(),
            PresentSecret::new(Some(wrong)).unwrap(),
        ] {
            let refused = call(&mut require, &mut present).unwrap_err();
            assert_eq!(refused.code(), tonic::Code::Unauthenticated);
        }
        // The bare secret without the scheme is not accepted either.
        let mut bare = Request::new(());
        bare.metadata_mut().insert(HEADER, SECRET.parse().unwrap());
        assert!(require.call(bare).is_err());
    }

    #[test]
    fn short_or_non_ascii_secrets_are_refused_and_none_is_printed() {
        assert!(matches!(
            RequireSecret::new("short"),
            Err(SecretError::TooShort)
        ));
        assert!(matches!(
            PresentSecret::new(Some(&format!("{SECRET} space"))),
            Err(SecretError::NotAscii)
        ));
        let present = PresentSecret::new(Some(SECRET)).unwrap();
        assert!(!format!("{present:?}").contains(SECRET));
        assert!(!format!("{:?}", RequireSecret::new(SECRET).unwrap()).contains(SECRET));
    }
}
