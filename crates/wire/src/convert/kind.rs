//! `ResourceKind` ⇄ `pb::ResourceKind`.

use super::ConvertError;
use crate::pb;
use scim::schema::ResourceKind;

/// To the wire enum (as its `i32`, the way prost stores enum fields).
pub fn kind_to_pb(kind: ResourceKind) -> i32 {
    match kind {
        ResourceKind::User => pb::ResourceKind::User as i32,
        ResourceKind::Group => pb::ResourceKind::Group as i32,
    }
}

/// From the wire enum; `UNSPECIFIED` and unknown values are errors.
pub fn kind_from_pb(kind: i32) -> Result<ResourceKind, ConvertError> {
    match pb::ResourceKind::try_from(kind) {
        Ok(pb::ResourceKind::User) => Ok(ResourceKind::User),
        Ok(pb::ResourceKind::Group) => Ok(ResourceKind::Group),
        _ => Err(ConvertError::new(
            "ResourceKind",
            format!("unknown value {kind}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unspecified_is_rejected() {
        for k in [ResourceKind::User, ResourceKind::Group] {
            assert_eq!(kind_from_pb(kind_to_pb(k)).unwrap(), k);
        }
        assert!(kind_from_pb(0).is_err());
    }
}
