//! The core User schema, `urn:ietf:params:scim:schemas:core:2.0:User` (RFC 7643 §4.1, §8.7.1).

use super::{AttrType, Attribute, Mutability, Returned, Schema, Uniqueness};

/// URN of the core User schema.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// A multi-valued complex attribute with `value`, `display`, `type`, `primary` (RFC 7643 §2.4).
fn plural(name: &str, description: &str, value: Attribute, types: &[&str]) -> Attribute {
    Attribute::complex(
        name,
        description,
        vec![
            value,
            Attribute::string(
                "display",
                "A human-readable name, primarily used for display purposes.",
            ),
            Attribute::string("type", "A label indicating the attribute's function.")
                .canonical(types),
            Attribute::new(
                "primary",
                AttrType::Boolean,
                "Indicates the primary or preferred value.",
            ),
        ],
    )
    .multi()
}

/// The core User schema with every RFC 7643 attribute and characteristic.
pub fn user_schema() -> Schema {
    let s = Attribute::string;
    let name = Attribute::complex(
        "name",
        "The components of the user's real name.",
        vec![
            s("formatted", "The full name, formatted for display."),
            s("familyName", "The family name of the User."),
            s("givenName", "The given name of the User."),
            s("middleName", "The middle name(s) of the User."),
            s("honorificPrefix", "The honorific prefix(es) of the User."),
            s("honorificSuffix", "The honorific suffix(es) of the User."),
        ],
    );
    let address = Attribute::complex(
        "addresses",
        "A physical mailing address for this User.",
        vec![
            s(
                "formatted",
                "The full mailing address, formatted for display.",
            ),
            s("streetAddress", "The full street address component."),
            s("locality", "The city or locality component."),
            s("region", "The state or region component."),
            s("postalCode", "The zip code or postal code component."),
            s("country", "The country name component."),
            s("type", "A label indicating the attribute's function.")
                .canonical(&["work", "home", "other"]),
            Attribute::new(
                "primary",
                AttrType::Boolean,
                "Indicates the primary mailing address.",
            ),
        ],
    )
    .multi();
    let read_only = |a: Attribute| a.mutability(Mutability::ReadOnly);
    let groups = Attribute::complex(
        "groups",
        "Groups to which the user belongs, directly or through nested groups. Read-only.",
        vec![
            read_only(s("value", "The identifier of the User's group.")),
            read_only(
                Attribute::new("$ref", AttrType::Reference, "The URI of the Group.")
                    .references(&["User", "Group"]),
            ),
            read_only(s("display", "A human-readable name of the group.")),
            read_only(
                s("type", "How the membership is derived.").canonical(&["direct", "indirect"]),
            ),
        ],
    )
    .multi()
    .mutability(Mutability::ReadOnly);

    Schema {
        id: USER.to_owned(),
        name: "User".to_owned(),
        description: "User Account".to_owned(),
        attributes: vec![
            s(
                "userName",
                "Unique identifier for the User, used to authenticate; unique case-insensitively.",
            )
            .required()
            .uniqueness(Uniqueness::Server),
            name,
            s(
                "displayName",
                "The name of the User, suitable for display to end-users.",
            ),
            s(
                "nickName",
                "The casual way to address the user in real life.",
            ),
            Attribute::new(
                "profileUrl",
                AttrType::Reference,
                "A URI pointing to the User's online profile.",
            )
            .references(&["external"]),
            s("title", "The user's title, such as \"Vice President\"."),
            s(
                "userType",
                "The relationship between the organization and the user.",
            ),
            s(
                "preferredLanguage",
                "The User's preferred written or spoken language.",
            ),
            s("locale", "The User's default location for localization."),
            s(
                "timezone",
                "The User's time zone in the IANA Time Zone database format.",
            ),
            Attribute::new(
                "active",
                AttrType::Boolean,
                "The User's administrative status.",
            ),
            s(
                "password",
                "The User's cleartext password. Accepted, never stored, never returned.",
            )
            .mutability(Mutability::WriteOnly)
            .returned(Returned::Never),
            plural(
                "emails",
                "Email addresses for the user.",
                s("value", "Email address for the user."),
                &["work", "home", "other"],
            ),
            plural(
                "phoneNumbers",
                "Phone numbers for the User.",
                s("value", "Phone number of the User."),
                &["work", "home", "mobile", "fax", "pager", "other"],
            ),
            plural(
                "ims",
                "Instant messaging addresses for the User.",
                s("value", "Instant messaging address for the User."),
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            ),
            plural(
                "photos",
                "URLs of photos of the User.",
                Attribute::new("value", AttrType::Reference, "URL of a photo of the User.")
                    .references(&["external"]),
                &["photo", "thumbnail"],
            ),
            address,
            groups,
            plural(
                "entitlements",
                "A list of entitlements for the User.",
                s("value", "The value of an entitlement."),
                &[],
            ),
            // Entra's AppRoleAssignmentsComplex mapping sends `displayName` beside RFC 7643's
            // `display` (ENTRA §6.3); it is stored as sent so Entra's read-back matches.
            {
                let mut roles = plural(
                    "roles",
                    "A list of roles for the User.",
                    s("value", "The value of a role."),
                    &[],
                );
                roles.sub_attributes.push(s(
                    "displayName",
                    "The role's display name, as Microsoft Entra ID sends it.",
                ));
                roles
            },
            plural(
                "x509Certificates",
                "A list of certificates issued to the User.",
                Attribute::new(
                    "value",
                    AttrType::Binary,
                    "The value of an X.509 certificate.",
                ),
                &[],
            ),
        ],
    }
}
