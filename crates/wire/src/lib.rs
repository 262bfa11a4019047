//! The wire format between BlogIn SCIM roles: Rust types generated from `proto/` (the
//! `DirectoryService` gRPC API and the change commands on the queue) and conversions between
//! them and the `scim` crate's types ([`convert`]).
//!
//! Only this crate sees prost and the tonic code generator; every other crate uses [`pb`].

pub mod convert;
pub mod role_auth;
pub mod status;

/// Generated protobuf and gRPC types of package `blogin.scim.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("blogin.scim.v1");
}

pub use convert::ConvertError;

impl pb::Resource {
    /// Its size on the wire, in bytes: what a reader budgets pages by (without seeing prost).
    pub fn wire_size(&self) -> usize {
        prost::Message::encoded_len(self)
    }
}
