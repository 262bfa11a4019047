//! `scim::ScimError` ⇄ `pb::ScimError`.

use crate::pb;
use scim::{ScimError, ScimType};

impl From<&ScimError> for pb::ScimError {
    fn from(e: &ScimError) -> Self {
        pb::ScimError {
            status: u32::from(e.status()),
            scim_type: e
                .scim_type()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            detail: e.detail().to_owned(),
        }
    }
}

impl From<&pb::ScimError> for ScimError {
    fn from(e: &pb::ScimError) -> Self {
        let status = u16::try_from(e.status).unwrap_or(500);
        match ScimType::ALL
            .into_iter()
            .find(|t| t.as_str() == e.scim_type)
        {
            // A scimType always travels with the status it was raised with.
            Some(t) if t.status() == status => ScimError::new(t, e.detail.clone()),
            _ => ScimError::status_only(status, e.detail.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scim_error_round_trips() {
        for t in ScimType::ALL {
            let e = ScimError::new(t, "detail");
            assert_eq!(ScimError::from(&pb::ScimError::from(&e)), e);
        }
        let e = ScimError::precondition_failed("stale");
        assert_eq!(ScimError::from(&pb::ScimError::from(&e)), e);
    }
}
