//! Tenant bearer tokens: 256 random bits, shown once, stored only as SHA-256 (DESIGN §8).

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix that makes a leaked BlogIn SCIM token recognisable to secret scanners.
const PREFIX: &str = "bscim_";

/// A new token: `bscim_` + 43 characters of base64url (32 random bytes).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Hex SHA-256 of a token: the only form that is stored or compared.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The first characters, to tell tokens apart in listings without revealing them.
pub fn display_prefix(token: &str) -> String {
    token.chars().take(PREFIX.len() + 4).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_to_hex() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), PREFIX.len() + 43);
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
        assert!(a.starts_with(&display_prefix(&a)));
    }
}
