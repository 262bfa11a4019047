//! Commands and their replies carry an HMAC-SHA256 of their body under a key derived from the
//! deployment's role secret, so that whoever can reach the broker cannot make a worker apply a
//! change (commands name their tenant) or a gateway accept a forged result. A captured command
//! replayed as it was is harmless: the store applies a command id once.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

/// AMQP header carrying the signature (hex).
pub(crate) const SIGNATURE_HEADER: &str = "x-blogin-signature";

/// What a signature covers besides the body, so that a reply can never pass as a command
/// (or the other way round) and a reply belongs to its request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Signed<'a> {
    /// A change command.
    Command,
    /// The reply to the request with this correlation id.
    Reply(&'a str),
}

/// The signing key of commands and replies.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey([u8; 32]);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// The key of a role secret (derived, so that the secret itself is used for one thing).
    pub fn from_role_secret(secret: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"blogin-scim/amqp-signing/v1\0");
        hasher.update(secret.as_bytes());
        Self(hasher.finalize().into())
    }

    fn mac(&self, what: Signed<'_>, body: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        match what {
            Signed::Command => mac.update(b"command\0"),
            Signed::Reply(correlation_id) => {
                mac.update(b"reply\0");
                mac.update(correlation_id.as_bytes());
                mac.update(b"\0");
            }
        }
        mac.update(body);
        mac
    }

    /// The signature header's value.
    pub(crate) fn sign(&self, what: Signed<'_>, body: &[u8]) -> String {
        hex::encode(self.mac(what, body).finalize().into_bytes())
    }

    /// Whether `signature` (the header's value, if any) signs `body` (constant time).
    pub(crate) fn verify(&self, what: Signed<'_>, body: &[u8], signature: Option<&str>) -> bool {
        signature
            .and_then(|s| hex::decode(s).ok())
            .is_some_and(|tag| self.mac(what, body).verify_slice(&tag).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_key_kind_and_body_verify() {
        let key = SigningKey::from_role_secret("a role secret of thirty-two chars");
        let other = SigningKey::from_role_secret("another role secret, 32 chars ok");
        let signature = key.sign(Signed::Command, b"body");
        assert!(key.verify(Signed::Command, b"body", Some(&signature)));
        assert!(!other.verify(Signed::Command, b"body", Some(&signature)));
        assert!(!key.verify(Signed::Command, b"bodY", Some(&signature)));
        assert!(!key.verify(Signed::Reply(""), b"body", Some(&signature)));
        assert!(!key.verify(Signed::Command, b"body", None));
        assert!(!key.verify(Signed::Command, b"body", Some("zz")));
        let reply = key.sign(Signed::Reply("c1"), b"r");
        assert!(key.verify(Signed::Reply("c1"), b"r", Some(&reply)));
        assert!(!key.verify(Signed::Reply("c2"), b"r", Some(&reply)));
        assert!(!format!("{key:?}").contains(&hex::encode(key.0)));
    }
}
