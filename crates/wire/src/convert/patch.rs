//! `scim::patch::PatchRequest` ⇄ `pb::PatchOperation`s. Paths travel in their canonical
//! printed form (`PatchPath`'s `Display`), which re-parses to the same path.

use super::ConvertError;
use crate::pb;
use scim::patch::{PatchOp, PatchOperation, PatchRequest};
use scim::path::PatchPath;

fn op_to_pb(op: PatchOp) -> pb::PatchOpKind {
    match op {
        PatchOp::Add => pb::PatchOpKind::Add,
        PatchOp::Remove => pb::PatchOpKind::Remove,
        PatchOp::Replace => pb::PatchOpKind::Replace,
    }
}

/// Encodes the operations of a parsed PATCH.
pub fn patch_to_pb(req: &PatchRequest) -> Vec<pb::PatchOperation> {
    req.operations
        .iter()
        .map(|o| pb::PatchOperation {
            op: op_to_pb(o.op) as i32,
            path: o.path.as_ref().map(ToString::to_string),
            value_json: o.value.as_ref().map(ToString::to_string),
        })
        .collect()
}

/// Decodes operations back into a `PatchRequest`.
pub fn patch_from_pb(ops: &[pb::PatchOperation]) -> Result<PatchRequest, ConvertError> {
    let operations = ops
        .iter()
        .map(|o| {
            let op = match pb::PatchOpKind::try_from(o.op) {
                Ok(pb::PatchOpKind::Add) => PatchOp::Add,
                Ok(pb::PatchOpKind::Remove) => PatchOp::Remove,
                Ok(pb::PatchOpKind::Replace) => PatchOp::Replace,
                _ => {
                    return Err(ConvertError::new(
                        "PatchOperation",
                        format!("unknown op {}", o.op),
                    ));
                }
            };
            let path = o
                .path
                .as_deref()
                .map(PatchPath::parse)
                .transpose()
                .map_err(|e| {
                    ConvertError::new("PatchOperation", format!("path: {}", e.detail()))
                })?;
            let value = o
                .value_json
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| ConvertError::new("PatchOperation", format!("value: {e}")))?;
            Ok(PatchOperation { op, path, value })
        })
        .collect::<Result<_, _>>()?;
    Ok(PatchRequest { operations })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entra_patch_round_trips() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "a@b.com"},
                {"op": "replace", "value": {"displayName": "X", "name.givenName": "G"}},
                {"op": "Remove", "path": "members", "value": [{"value": "u1"}]},
                {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}
            ]
        });
        let req = PatchRequest::parse(&body).unwrap();
        assert_eq!(patch_from_pb(&patch_to_pb(&req)).unwrap(), req);
    }
}
