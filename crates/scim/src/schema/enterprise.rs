//! The Enterprise User extension,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` (RFC 7643 §4.3).

use super::{AttrType, Attribute, Mutability, Schema};

/// URN of the Enterprise User extension.
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The Enterprise User extension schema.
pub fn enterprise_user_schema() -> Schema {
    let s = Attribute::string;
    Schema {
        id: ENTERPRISE_USER.to_owned(),
        name: "EnterpriseUser".to_owned(),
        description: "Enterprise User".to_owned(),
        attributes: vec![
            s(
                "employeeNumber",
                "Numeric or alphanumeric identifier assigned to a person.",
            ),
            s("costCenter", "Identifies the name of a cost center."),
            s("organization", "Identifies the name of an organization."),
            s("division", "Identifies the name of a division."),
            s("department", "Identifies the name of a department."),
            Attribute::complex(
                "manager",
                "The User's manager.",
                vec![
                    s(
                        "value",
                        "The id of the SCIM resource representing the User's manager.",
                    ),
                    Attribute::new(
                        "$ref",
                        AttrType::Reference,
                        "The URI of the manager's resource.",
                    )
                    .references(&["User"]),
                    s("displayName", "The displayName of the User's manager.")
                        .mutability(Mutability::ReadOnly),
                ],
            ),
        ],
    }
}
