//! Store types ⇄ wire messages: stored resources, outcomes. (Filter and PATCH conversions are
//! in `scim_wire::convert`, shared with the gateway.)

use crate::error::StoreError;
use crate::model::{Applied, Outcome, StoredResource};
use scim::ScimError;
use scim::schema::ResourceKind;
use scim_wire::convert::{kind_from_pb, kind_to_pb, timestamp_from_pb, timestamp_to_pb};
use scim_wire::pb;
use uuid::Uuid;

/// A stored resource as a wire `Resource`.
pub fn resource_to_pb(r: &StoredResource) -> pb::Resource {
    pb::Resource {
        id: r.id.to_string(),
        kind: kind_to_pb(r.kind),
        body_json: r.body.to_string(),
        version: r.version as u64,
        created: Some(timestamp_to_pb(r.created)),
        last_modified: Some(timestamp_to_pb(r.last_modified)),
        members: r
            .members
            .iter()
            .flatten()
            .map(|m| pb::Member {
                value: m.id.to_string(),
                r#type: m.member_type.clone(),
                display: String::new(),
            })
            .collect(),
        members_loaded: r.members.is_some(),
        groups: r
            .groups
            .iter()
            .flatten()
            .map(|g| pb::GroupRef {
                value: g.id.to_string(),
                display: g.display.clone(),
                r#type: g.kind.clone(),
            })
            .collect(),
    }
}

/// A wire `Resource` back into a stored resource (for decoding recorded outcomes).
pub fn resource_from_pb(r: &pb::Resource) -> Result<StoredResource, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("resource {what}"));
    Ok(StoredResource {
        kind: kind_from_pb(r.kind).map_err(|_| corrupt("kind"))?,
        id: Uuid::parse_str(&r.id).map_err(|_| corrupt("id"))?,
        body: serde_json::from_str(&r.body_json).map_err(|_| corrupt("body"))?,
        version: r.version as i64,
        created: r
            .created
            .as_ref()
            .map(timestamp_from_pb)
            .ok_or_else(|| corrupt("created"))?,
        last_modified: r
            .last_modified
            .as_ref()
            .map(timestamp_from_pb)
            .ok_or_else(|| corrupt("lastModified"))?,
        members: None,
        groups: None,
    })
}

/// An outcome as the wire `CommandResult`.
pub fn outcome_to_pb(command_id: &str, outcome: &Outcome) -> pb::CommandResult {
    use pb::command_result::Outcome as O;
    let (outcome, changed) = match outcome {
        Ok(Applied::Resource { resource, changed }) => {
            (O::Resource(resource_to_pb(resource)), *changed)
        }
        Ok(Applied::Deleted) => (O::Deleted(pb::Deleted {}), true),
        Err(e) => (O::Error(pb::ScimError::from(e)), false),
    };
    pb::CommandResult {
        command_id: command_id.to_owned(),
        outcome: Some(outcome),
        changed,
    }
}

/// A wire `CommandResult` back into an outcome.
pub fn outcome_from_pb(r: &pb::CommandResult, kind: ResourceKind) -> Result<Outcome, StoreError> {
    use pb::command_result::Outcome as O;
    Ok(match &r.outcome {
        Some(O::Resource(res)) => {
            let resource = resource_from_pb(res)?;
            if resource.kind != kind {
                return Err(StoreError::Corrupt(
                    "recorded outcome is for another resource kind".into(),
                ));
            }
            Ok(Applied::Resource {
                resource,
                changed: r.changed,
            })
        }
        Some(O::Deleted(_)) => Ok(Applied::Deleted),
        Some(O::Error(e)) => Err(ScimError::from(e)),
        None => return Err(StoreError::Corrupt("recorded outcome is empty".into())),
    })
}
