//! Conversions between `scim` types and the generated [`crate::pb`] messages, one file per
//! message family, each with a round-trip test.

mod error;
mod filter;
mod kind;
mod patch;
mod time;

pub use filter::{filter_from_pb, filter_to_pb, path_from_pb, path_to_pb};
pub use kind::{kind_from_pb, kind_to_pb};
pub use patch::{patch_from_pb, patch_to_pb};
pub use time::{timestamp_from_pb, timestamp_to_pb};

/// A message that cannot be turned into a `scim` value: a sender bug or version skew, never
/// client input (clients' input is validated before it is encoded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {message}: {reason}")]
pub struct ConvertError {
    /// Which message.
    pub message: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl ConvertError {
    pub(crate) fn new(message: &'static str, reason: impl Into<String>) -> Self {
        Self {
            message,
            reason: reason.into(),
        }
    }
}
