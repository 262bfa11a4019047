//! Conformance tests for the `scim` crate, written against its public API only: the RFC 7643 §8
//! and RFC 7644 §3 examples, every request body Microsoft Entra ID (and Okta, the SCIM
//! Validator and Microsoft's reference tests) is documented to send (ENTRA §5, §6, §10–§12),
//! one test per ENTRA §13 quirk, every reachable error, and property tests of the PATCH
//! engine. Data lives in `tests/data/{rfc,entra}`.

mod bulk;
mod entra;
mod errors;
mod filter_semantics;
mod patch_semantics;
mod properties;
mod quirks;
mod rfc7643;
mod rfc7644;
mod support;
