//! Tests of filter resolution (kept apart from `resolve.rs` for its size).

use super::super::parse;
use super::*;
use crate::ScimType;
use crate::schema::{ENTERPRISE_USER, Schema};

fn resolve_as(kind: ResourceKind, input: &str) -> Result<Filter> {
    parse(input)
        .unwrap_or_else(|e| panic!("{input}: {e}"))
        .resolve(&Registry::new(), kind)
}

/// The resolved filter, printed.
fn ok(input: &str) -> String {
    resolve_as(ResourceKind::User, input)
        .unwrap_or_else(|e| panic!("{input}: {e}"))
        .to_string()
}

fn err(kind: ResourceKind, input: &str) -> ScimError {
    let e = resolve_as(kind, input).expect_err(input);
    assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter), "{input}");
    e
}

#[test]
fn names_are_rewritten_to_their_canonical_case_and_urn() {
    let ent = ENTERPRISE_USER;
    let cases = [
        (r#"USERNAME eq "x""#, r#"userName eq "x""#.to_owned()),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            r#"userName sw "J""#.to_owned(),
        ),
        (
            r#"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:name.FamilyName co "O""#,
            r#"name.familyName co "O""#.to_owned(),
        ),
        (
            r#"employeeNumber eq "7""#,
            format!(r#"{ent}:employeeNumber eq "7""#),
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:user:Department eq "d""#,
            format!(r#"{ent}:department eq "d""#),
        ),
        (
            r#"manager.Value eq "m""#,
            format!(r#"{ent}:manager.value eq "m""#),
        ),
        (
            "meta.Created gt 2015-10-10T14:38:21.8617979-07:00",
            r#"meta.created gt "2015-10-10T14:38:21.8617979-07:00""#.to_owned(),
        ),
        (
            r#"ID eq "a" and ExternalID eq "b""#,
            r#"id eq "a" and externalId eq "b""#.to_owned(),
        ),
        (
            r#"Emails[Type eq "work"].Value eq "x""#,
            r#"emails[type eq "work" and value eq "x"]"#.to_owned(),
        ),
        ("Title PR", "title pr".to_owned()),
    ];
    for (input, want) in cases {
        assert_eq!(ok(input), want, "{input}");
    }
}

#[test]
fn complex_attributes_with_a_value_sub_attribute_compare_their_value() {
    assert_eq!(
        ok(r#"emails co "example.com""#),
        r#"emails.value co "example.com""#
    );
    // Entra's reference check (ENTRA §5.1 Example 4) compares the single-valued manager.
    assert_eq!(
        ok(r#"id eq "u1" and manager eq "m1""#),
        format!(r#"id eq "u1" and {ENTERPRISE_USER}:manager.value eq "m1""#)
    );
    assert_eq!(
        resolve_as(ResourceKind::Group, r#"members eq "u1""#)
            .unwrap()
            .to_string(),
        r#"members.value eq "u1""#
    );
    // Presence is tested on the attribute itself.
    assert_eq!(ok("emails pr"), "emails pr");
    assert_eq!(ok("name pr"), "name pr");
}

#[test]
fn every_rfc_7644_example_resolves_for_users() {
    for input in super::super::parser::tests::RFC_EXAMPLES {
        let resolved =
            resolve_as(ResourceKind::User, input).unwrap_or_else(|e| panic!("{input}: {e}"));
        // The printed resolved filter is itself a valid filter that resolves to itself.
        let again = parse(&resolved.to_string())
            .unwrap()
            .resolve(&Registry::new(), ResourceKind::User)
            .unwrap();
        assert_eq!(again, resolved, "{input}");
    }
}

#[test]
fn null_and_ne_are_rewritten_into_pr_and_not() {
    assert_eq!(ok("title eq null"), "not (title pr)");
    assert_eq!(ok("title ne null"), "title pr");
    assert_eq!(ok("emails eq null"), "not (emails pr)");
    assert_eq!(ok(r#"emails[type ne null]"#), "emails[type pr]");
    assert_eq!(
        ok(r#"userType ne "Employee""#),
        r#"not (userType eq "Employee")"#
    );
    assert_eq!(
        ok(r#"emails[type ne "work"]"#),
        r#"emails[not (type eq "work")]"#
    );
    for input in ["title gt null", "title co null", "emails[type sw null]"] {
        err(ResourceKind::User, input);
    }
}

#[test]
fn values_are_converted_to_the_attribute_type() {
    assert_eq!(ok(r#"active eq "True""#), "active eq true");
    assert_eq!(ok(r#"active eq "false""#), "active eq false");
    assert_eq!(ok(r#"roles[primary eq "True"]"#), "roles[primary eq true]");
    assert_eq!(
        ok("employeeNumber eq 12345"),
        format!(r#"{ENTERPRISE_USER}:employeeNumber eq "12345""#)
    );
    assert_eq!(ok("externalId eq jyoung"), r#"externalId eq "jyoung""#);
}

#[test]
fn unknown_attributes_are_invalid_filter_naming_the_attribute() {
    for (kind, input, name) in [
        (ResourceKind::User, r#"foo eq "x""#, "'foo'"),
        (ResourceKind::User, r#"name.foo eq "x""#, "'name.foo'"),
        (ResourceKind::User, r#"emails[foo eq "x"]"#, "'foo'"),
        (ResourceKind::User, r#"emails[type.x eq "x"]"#, "'type.x'"),
        (
            ResourceKind::User,
            r#"urn:x:y:userName eq "x""#,
            "'urn:x:y:userName'",
        ),
        (ResourceKind::Group, r#"userName eq "x""#, "'userName'"),
        (ResourceKind::Group, "employeeNumber pr", "'employeeNumber'"),
    ] {
        let e = err(kind, input);
        assert!(e.detail().contains(name), "{input}: {}", e.detail());
    }
}

#[test]
fn operators_that_do_not_suit_the_attribute_type_are_rejected() {
    for input in [
        "active gt true",
        "active co true",
        "active eq 1",
        r#"active eq "yes""#,
        r#"x509Certificates.value gt "a""#,
        r#"x509Certificates.value co "a""#,
        r#"meta.lastModified co "2011""#,
        r#"meta.lastModified gt "yesterday""#,
        "meta.lastModified gt 5",
        r#"name eq "x""#,
        r#"meta eq "x""#,
        "userName eq 1.5",
        "userName eq true",
        r#"password eq "secret""#,
        "password pr",
        r#"name[givenName eq "x"]"#,
        r#"userName[value eq "x"]"#,
        r#"manager[value eq "x"]"#,
    ] {
        let e = err(ResourceKind::User, input);
        assert!(
            !e.detail().contains("secret") && !e.detail().contains("yesterday"),
            "{}",
            e.detail()
        );
    }
}

#[test]
fn string_operators_and_ordering_are_allowed_where_they_make_sense() {
    for input in [
        r#"userName gt "a""#,
        r#"profileUrl sw "https:""#,
        r#"meta.location co "/Users/""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"x509Certificates.value eq "TUlJ""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
    ] {
        ok(input);
    }
}

#[test]
fn numbers_compare_against_integer_and_decimal_attributes() {
    let mut registry = Registry::new();
    let ext = Schema {
        id: "urn:example:Ext".into(),
        name: "Ext".into(),
        description: String::new(),
        attributes: vec![
            Attribute::new("level", AttrType::Integer, ""),
            Attribute::new("score", AttrType::Decimal, ""),
        ],
    };
    registry
        .register_extension(ResourceKind::User, ext, false)
        .unwrap();
    let resolve = |s: &str| parse(s).unwrap().resolve(&registry, ResourceKind::User);
    assert_eq!(
        resolve("level gt 3").unwrap().to_string(),
        "urn:example:Ext:level gt 3"
    );
    assert_eq!(
        resolve("score le 2.5").unwrap().to_string(),
        "urn:example:Ext:score le 2.5"
    );
    assert_eq!(
        resolve("score eq 2").unwrap().to_string(),
        "urn:example:Ext:score eq 2"
    );
    for bad in [
        "level eq 1.5",
        r#"level eq "3""#,
        "level co 3",
        "score eq true",
        r#"score eq "2""#,
    ] {
        assert_eq!(
            resolve(bad).unwrap_err().scim_type(),
            Some(ScimType::InvalidFilter),
            "{bad}"
        );
    }
}

#[test]
fn group_filters_resolve() {
    for (input, want) in [
        (r#"displayName eq "Admins""#, r#"displayName eq "Admins""#),
        (r#"members[value eq "u1"]"#, r#"members[value eq "u1"]"#),
        (r#"members.Value eq "u1""#, r#"members.value eq "u1""#),
        (r#"externalId eq "e""#, r#"externalId eq "e""#),
    ] {
        assert_eq!(
            resolve_as(ResourceKind::Group, input).unwrap().to_string(),
            want
        );
    }
}
