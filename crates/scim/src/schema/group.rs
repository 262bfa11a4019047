//! The core Group schema, `urn:ietf:params:scim:schemas:core:2.0:Group` (RFC 7643 §4.2, §8.7.1).
//!
//! `displayName` is required and unique per tenant: Entra matches groups on it (ENTRA §1.11).

use super::{AttrType, Attribute, Mutability, Schema, Uniqueness};

/// URN of the core Group schema.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The core Group schema.
pub fn group_schema() -> Schema {
    let immutable = |a: Attribute| a.mutability(Mutability::Immutable);
    Schema {
        id: GROUP.to_owned(),
        name: "Group".to_owned(),
        description: "Group".to_owned(),
        attributes: vec![
            Attribute::string(
                "displayName",
                "A human-readable name for the Group; unique per tenant.",
            )
            .required()
            .uniqueness(Uniqueness::Server),
            Attribute::complex(
                "members",
                "A list of members of the Group.",
                vec![
                    immutable(Attribute::string(
                        "value",
                        "Identifier of the member of this Group.",
                    )),
                    immutable(
                        Attribute::new(
                            "$ref",
                            AttrType::Reference,
                            "The URI of the member resource.",
                        )
                        .references(&["User", "Group"]),
                    ),
                    immutable(
                        Attribute::string("type", "The type of the member.")
                            .canonical(&["User", "Group"]),
                    ),
                    Attribute::string("display", "A human-readable name of the member.")
                        .mutability(Mutability::ReadOnly),
                ],
            )
            .multi(),
        ],
    }
}
