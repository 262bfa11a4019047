//! Reading a gRPC [`Status`] from the DirectoryService the way every client must: a SCIM
//! refusal travels as the status code matching its HTTP status with the encoded
//! `pb::ScimError` in the details (see `scim-store`'s `grpc.rs`); everything else is
//! infrastructure, transient or not.

use crate::pb;
use prost::Message;
use scim::ScimError;
use tonic::{Code, Status};

/// The SCIM error a status carries, when it carries one.
pub fn scim_error(status: &Status) -> Option<ScimError> {
    if status.details().is_empty() {
        return None;
    }
    pb::ScimError::decode(status.details())
        .ok()
        .map(|e| ScimError::from(&e))
}

/// Whether retrying the same call later may succeed: the store or its database was
/// unreachable, overloaded or timed out. SCIM refusals are never transient.
pub fn is_transient(status: &Status) -> bool {
    scim_error(status).is_none()
        && matches!(
            status.code(),
            Code::Unavailable
                | Code::DeadlineExceeded
                | Code::Aborted
                | Code::ResourceExhausted
                | Code::Cancelled
                | Code::Unknown
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_with_scim_details_yields_the_scim_error_and_is_not_transient() {
        let e = ScimError::uniqueness("userName is taken");
        let s = Status::with_details(
            Code::AlreadyExists,
            "x",
            pb::ScimError::from(&e).encode_to_vec().into(),
        );
        assert_eq!(scim_error(&s), Some(e));
        assert!(!is_transient(&s));
    }

    #[test]
    fn unavailable_without_details_is_transient_and_internal_is_not() {
        assert!(is_transient(&Status::unavailable("db down")));
        assert!(scim_error(&Status::unavailable("db down")).is_none());
        assert!(!is_transient(&Status::internal("bug")));
        assert!(!is_transient(&Status::invalid_argument("bad")));
    }
}
