//! The store's own vocabulary: stored resources, change commands and their outcomes. The gRPC
//! adapter (`grpc.rs`) converts these to and from the wire types.

use chrono::{DateTime, Utc};
use scim::ScimError;
use scim::patch::PatchRequest;
use scim::schema::ResourceKind;
use serde_json::Value;
use uuid::Uuid;

/// A member edge as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRef {
    /// The member's id.
    pub id: Uuid,
    /// `User` or `Group`.
    pub member_type: String,
}

/// A group a user belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMembership {
    /// The group id.
    pub id: Uuid,
    /// The group's displayName.
    pub display: String,
    /// `direct` or `indirect`.
    pub kind: String,
}

/// A resource as stored, with what the projection asked to load.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    /// Its kind.
    pub kind: ResourceKind,
    /// Its id.
    pub id: Uuid,
    /// The canonical body (no id/meta/schemas/members/groups).
    pub body: Value,
    /// Version (ETag).
    pub version: i64,
    /// `meta.created`.
    pub created: DateTime<Utc>,
    /// `meta.lastModified`.
    pub last_modified: DateTime<Utc>,
    /// Group members, when loaded.
    pub members: Option<Vec<MemberRef>>,
    /// User groups, when loaded.
    pub groups: Option<Vec<GroupMembership>>,
}

/// What to change.
#[derive(Debug, Clone)]
pub enum Change {
    /// POST: a body as the client sent it (validated again here).
    Create(Value),
    /// PUT.
    Replace {
        /// Resource id.
        id: String,
        /// New body.
        body: Value,
    },
    /// PATCH.
    Patch {
        /// Resource id.
        id: String,
        /// Parsed operations.
        request: PatchRequest,
    },
    /// DELETE.
    Delete {
        /// Resource id.
        id: String,
    },
}

impl Change {
    /// `create`, `replace`, `patch`, `delete`: the provisioning log's operation names.
    pub fn operation(&self) -> &'static str {
        match self {
            Change::Create(_) => "create",
            Change::Replace { .. } => "replace",
            Change::Patch { .. } => "patch",
            Change::Delete { .. } => "delete",
        }
    }

    /// The target id, when the change names one.
    pub fn target(&self) -> Option<&str> {
        match self {
            Change::Create(_) => None,
            Change::Replace { id, .. } | Change::Patch { id, .. } | Change::Delete { id } => {
                Some(id)
            }
        }
    }
}

/// A write, idempotent by `id`.
#[derive(Debug, Clone)]
pub struct Command {
    /// Command id: applying it twice returns the first result.
    pub id: String,
    /// The tenant.
    pub tenant: Uuid,
    /// Users or groups.
    pub kind: ResourceKind,
    /// `If-Match` version.
    pub expected_version: Option<i64>,
    /// The change.
    pub change: Change,
    /// Trace id for the provisioning log.
    pub trace_id: Option<String>,
}

/// A successful write.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The resource after the write; `changed` is false for a no-op PATCH.
    Resource {
        /// The stored resource (members not loaded).
        resource: StoredResource,
        /// Whether anything changed.
        changed: bool,
    },
    /// The resource was deleted.
    Deleted,
}

/// The client-visible outcome of a command.
pub type Outcome = Result<Applied, ScimError>;
