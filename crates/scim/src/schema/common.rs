//! The attributes every resource carries whatever its schema (RFC 7643 §3.1): `id`,
//! `externalId`, `meta`, plus the `schemas` list.

use super::{AttrType, Attribute, Mutability, Returned, Uniqueness};

/// `id`, `externalId` and `meta`, with their RFC 7643 §3.1 characteristics.
pub fn common_attributes() -> Vec<Attribute> {
    vec![
        Attribute::string(
            "id",
            "Unique identifier for the resource, assigned by the service provider.",
        )
        .case_exact()
        .mutability(Mutability::ReadOnly)
        .returned(Returned::Always)
        .uniqueness(Uniqueness::Server),
        Attribute::string(
            "externalId",
            "Identifier of the resource as defined by the provisioning client.",
        )
        .case_exact(),
        Attribute::complex(
            "meta",
            "Resource metadata maintained by the service provider.",
            vec![
                Attribute::string("resourceType", "Name of the resource type.")
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
                Attribute::new(
                    "created",
                    AttrType::DateTime,
                    "When the resource was added.",
                )
                .mutability(Mutability::ReadOnly),
                Attribute::new(
                    "lastModified",
                    AttrType::DateTime,
                    "When the resource was last updated.",
                )
                .mutability(Mutability::ReadOnly),
                Attribute::new("location", AttrType::Reference, "URI of the resource.")
                    .case_exact()
                    .mutability(Mutability::ReadOnly)
                    .references(&["uri"]),
                Attribute::string("version", "Version (weak entity tag) of the resource.")
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
            ],
        )
        .mutability(Mutability::ReadOnly),
    ]
}

/// The `schemas` attribute: URNs of the schemas a resource uses; always returned.
pub fn schemas_attribute() -> Attribute {
    Attribute::new(
        "schemas",
        AttrType::Reference,
        "Schema URNs used by the resource.",
    )
    .multi()
    .required()
    .case_exact()
    .returned(Returned::Always)
    .references(&["uri"])
}
