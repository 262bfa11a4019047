//! Tests of the filter and PATCH path parsers (kept apart from `parser.rs` for its size).

use super::*;
use crate::ScimType;
use crate::path::PatchPath;
use proptest::prelude::*;

fn p(s: &str) -> Filter {
    parse(s).unwrap_or_else(|e| panic!("{s:?} rejected: {e}"))
}

fn path(s: &str) -> AttrPath {
    AttrPath::parse(s).unwrap()
}

fn str_cmp(attr: &str, op: CompareOp, v: &str) -> Filter {
    Filter::Compare(path(attr), op, CompValue::Str(v.to_owned()))
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn present(attr: &str) -> Filter {
    Filter::Present(path(attr))
}

/// Every example filter of RFC 7644 §3.4.2.2, in order.
pub(crate) const RFC_EXAMPLES: [&str; 17] = [
    r#"userName eq "bjensen""#,
    r#"name.familyName co "O'Malley""#,
    r#"userName sw "J""#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
    "title pr",
    r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
    r#"title pr and userType eq "Employee""#,
    r#"title pr or userType eq "Intern""#,
    r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
    r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType eq "Employee" and (emails.type eq "work")"#,
    r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
];

#[test]
fn every_rfc_7644_example_parses_to_the_expected_ast_and_prints_back_to_the_same_ast() {
    use CompareOp::*;
    let expected = [
        str_cmp("userName", Eq, "bjensen"),
        str_cmp("name.familyName", Co, "O'Malley"),
        str_cmp("userName", Sw, "J"),
        str_cmp(
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            Sw,
            "J",
        ),
        present("title"),
        str_cmp("meta.lastModified", Gt, "2011-05-13T04:42:34Z"),
        str_cmp("meta.lastModified", Ge, "2011-05-13T04:42:34Z"),
        str_cmp("meta.lastModified", Lt, "2011-05-13T04:42:34Z"),
        str_cmp("meta.lastModified", Le, "2011-05-13T04:42:34Z"),
        and(present("title"), str_cmp("userType", Eq, "Employee")),
        or(present("title"), str_cmp("userType", Eq, "Intern")),
        str_cmp(
            "schemas",
            Eq,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ),
        and(
            str_cmp("userType", Eq, "Employee"),
            or(
                str_cmp("emails", Co, "example.com"),
                str_cmp("emails.value", Co, "example.org"),
            ),
        ),
        and(
            str_cmp("userType", Ne, "Employee"),
            Filter::Not(Box::new(or(
                str_cmp("emails", Co, "example.com"),
                str_cmp("emails.value", Co, "example.org"),
            ))),
        ),
        and(
            str_cmp("userType", Eq, "Employee"),
            str_cmp("emails.type", Eq, "work"),
        ),
        and(
            str_cmp("userType", Eq, "Employee"),
            Filter::ValuePath(
                path("emails"),
                Box::new(and(
                    str_cmp("type", Eq, "work"),
                    str_cmp("value", Co, "@example.com"),
                )),
            ),
        ),
        or(
            Filter::ValuePath(
                path("emails"),
                Box::new(and(
                    str_cmp("type", Eq, "work"),
                    str_cmp("value", Co, "@example.com"),
                )),
            ),
            Filter::ValuePath(
                path("ims"),
                Box::new(and(
                    str_cmp("type", Eq, "xmpp"),
                    str_cmp("value", Co, "@foo.com"),
                )),
            ),
        ),
    ];
    for (input, want) in RFC_EXAMPLES.iter().zip(expected) {
        let got = p(input);
        assert_eq!(got, want, "{input}");
        assert_eq!(p(&got.to_string()), got, "{input} printed as {got}");
    }
}

#[test]
fn entra_okta_and_reference_server_filters_parse() {
    use CompareOp::*;
    let cases = [
        (
            r#"userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee""#,
            str_cmp(
                "userName",
                Eq,
                "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
            ),
        ),
        (
            r#"userName eq "non-existent user""#,
            str_cmp("userName", Eq, "non-existent user"),
        ),
        (
            r#"externalId eq "johnwong""#,
            str_cmp("externalId", Eq, "johnwong"),
        ),
        (
            r#"displayName eq "displayName""#,
            str_cmp("displayName", Eq, "displayName"),
        ),
        (
            r#"DisplayName eq "BobIsAmazing""#,
            str_cmp("DisplayName", Eq, "BobIsAmazing"),
        ),
        (
            r#"userName eq "test.user@okta.local""#,
            str_cmp("userName", Eq, "test.user@okta.local"),
        ),
        (
            r#"id eq "u1" and manager eq "m1""#,
            and(str_cmp("id", Eq, "u1"), str_cmp("manager", Eq, "m1")),
        ),
        (
            r#"emails[type eq "work"].value eq "user@contoso.com""#,
            Filter::ValuePath(
                path("emails"),
                Box::new(and(
                    str_cmp("type", Eq, "work"),
                    str_cmp("value", Eq, "user@contoso.com"),
                )),
            ),
        ),
        // Unquoted values from old Entra docs and the SCIMReferenceCode Postman collection.
        ("externalId eq jyoung", str_cmp("externalId", Eq, "jyoung")),
        (
            "name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)",
            and(
                str_cmp("name.FamilyName", Eq, "Employee"),
                or(
                    str_cmp("emails.Value", Co, "example.com"),
                    str_cmp("emails.Value", Co, "example.org"),
                ),
            ),
        ),
        ("userName sw O", str_cmp("userName", Sw, "O")),
        (
            "meta.Created gt 2015-10-10T14:38:21.8617979-07:00",
            str_cmp("meta.Created", Gt, "2015-10-10T14:38:21.8617979-07:00"),
        ),
        (
            r#"roles[primary eq "True"]"#,
            Filter::ValuePath(path("roles"), Box::new(str_cmp("primary", Eq, "True"))),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(p(input), want, "{input}");
    }
}

#[test]
fn and_binds_tighter_than_or_and_both_associate_to_the_left() {
    assert_eq!(
        p("a pr or b pr and c pr"),
        or(present("a"), and(present("b"), present("c")))
    );
    assert_eq!(
        p("a pr and b pr or c pr"),
        or(and(present("a"), present("b")), present("c"))
    );
    assert_eq!(
        p("a pr and b pr and c pr"),
        and(and(present("a"), present("b")), present("c"))
    );
    assert_eq!(
        p("a pr or b pr or c pr"),
        or(or(present("a"), present("b")), present("c"))
    );
    assert_eq!(
        p("a pr and (b pr and c pr)"),
        and(present("a"), and(present("b"), present("c")))
    );
    assert_eq!(
        p("not (a pr) and b pr"),
        and(Filter::Not(Box::new(present("a"))), present("b"))
    );
}

#[test]
fn keywords_and_operators_are_case_insensitive() {
    assert_eq!(
        p(r#"userName EQ "x" AnD title PR oR NOT(nickName Sw "y")"#),
        or(
            and(str_cmp("userName", CompareOp::Eq, "x"), present("title")),
            Filter::Not(Box::new(str_cmp("nickName", CompareOp::Sw, "y"))),
        )
    );
    for op in CompareOp::ALL {
        let upper = format!("a {} 1", op.as_str().to_uppercase());
        assert!(
            matches!(p(&upper), Filter::Compare(_, o, _) if o == op),
            "{upper}"
        );
    }
}

#[test]
fn value_path_with_sub_attribute_desugars_into_the_bracket_filter() {
    assert_eq!(
        p(r#"emails[type eq "work"].value eq "x""#),
        p(r#"emails[type eq "work" and value eq "x"]"#)
    );
    assert_eq!(
        p(r#"emails[type eq "work"].value pr"#),
        p(r#"emails[type eq "work" and value pr]"#)
    );
    assert_eq!(
        p(r#"emails[type eq "a" or type eq "b"].value co "x""#),
        p(r#"emails[(type eq "a" or type eq "b") and value co "x"]"#)
    );
    assert_eq!(
        p(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "m"]"#),
        Filter::ValuePath(
            path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
            Box::new(str_cmp("value", CompareOp::Eq, "m")),
        )
    );
}

#[test]
fn values_follow_json_and_bare_words_are_strings() {
    let value = |s: &str| match p(&format!("a eq {s}")) {
        Filter::Compare(_, _, v) => v,
        other => panic!("{other:?}"),
    };
    let num = |s: &str| CompValue::Num(s.parse().unwrap());
    assert_eq!(value("10"), num("10"));
    assert_eq!(value("-1.5e3"), num("-1.5e3"));
    assert_eq!(value("0"), num("0"));
    assert_eq!(value("1E+2"), num("100.0"));
    assert_eq!(value("true"), CompValue::Bool(true));
    assert_eq!(value("FALSE"), CompValue::Bool(false));
    assert_eq!(value("Null"), CompValue::Null);
    assert_eq!(value(r#""true""#), CompValue::Str("true".into()));
    assert_eq!(value(r#""10""#), CompValue::Str("10".into()));
    // Not JSON numbers, so bare strings.
    for bare in [
        "01", "1.", ".5", "+1", "1e", "0x10", "NaN", "-", "12abc", "a@b.c",
    ] {
        assert_eq!(value(bare), CompValue::Str(bare.into()), "{bare}");
    }
}

#[test]
fn strings_unescape_json_escapes() {
    assert_eq!(
        p(r#"a eq "q\"b\\s\/\n\u00e9\ud83d\ude00""#),
        str_cmp("a", CompareOp::Eq, "q\"b\\s/\né😀")
    );
}

fn err_at(input: &str) -> (ScimError, usize) {
    let e = parse(input).expect_err(input);
    assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter), "{input}");
    let pos = e
        .detail()
        .rsplit_once("at position ")
        .and_then(|(_, n)| n.trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("{input}: no position in {:?}", e.detail()));
    (e, pos)
}

#[test]
fn syntax_errors_are_invalid_filter_with_the_character_position() {
    let cases = [
        ("", 0),
        ("   ", 0),
        ("userName eq", 11),
        (r#"userName "x""#, 9),
        (r#"userName foo "x""#, 9),
        ("(userName pr", 12),
        ("userName pr)", 11),
        ("userName pr and", 15),
        ("userName pr userName pr", 12),
        (r#"emails[type eq "work""#, 21),
        (r#"emails[type eq "a"[x pr]]"#, 18),
        ("emails[value[x pr]]", 12),
        ("name.givenName[x pr]", 14),
        (r#""x" eq "y""#, 0),
        (r#"1abc eq "x""#, 0),
        (r#"userName eq "unterminated"#, 12),
        (r#"a eq "x" and ]"#, 13),
        (r#"emails[type eq "work"].1x eq "y""#, 22),
        (r#"emails[type eq "work"]. eq "y""#, 22),
        (r#"emails[type eq "work"].value"#, 28),
        ("userName eq 1e999", 12),
        (r#"a eq "ü" and )"#, 13),
        ("not a pr", 4),
        ("a eq (", 5),
        ("[a pr]", 0),
        ("emails[]", 7),
    ];
    for (input, pos) in cases {
        assert_eq!(
            err_at(input).1,
            pos,
            "{input}: {:?}",
            err_at(input).0.detail()
        );
    }
}

#[test]
fn error_details_never_echo_values() {
    for input in [
        r#"userName eq "secret"#,
        "userName secret x",
        r#"userName eq "secret" secret"#,
        r#"userName eq "secret\q""#,
        "userName eq secret secret",
    ] {
        let e = parse(input).unwrap_err();
        assert!(!e.detail().contains("secret"), "{input}: {}", e.detail());
    }
}

#[test]
fn filters_longer_than_the_limit_are_rejected_counting_characters() {
    let at_limit = format!(r#"a eq "{}""#, "é".repeat(4096 - 7));
    assert_eq!(at_limit.chars().count(), 4096);
    assert!(parse(&at_limit).is_ok());
    let over = format!(r#"a eq "{}""#, "é".repeat(4096 - 6));
    let e = parse(&over).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter));
    assert!(e.detail().contains("4096"), "{}", e.detail());
    let small = FilterLimits {
        max_length: 8,
        ..FilterLimits::default()
    };
    assert!(parse_with_limits("a pr", &small).is_ok());
    assert!(parse_with_limits("abcd pr or b pr", &small).is_err());
}

#[test]
fn nesting_deeper_than_the_limit_is_rejected_at_the_opening_bracket() {
    let nested = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
    assert!(parse(&nested(32)).is_ok());
    assert_eq!(err_at(&nested(33)).1, 32);
    let nots = |n: usize| format!("{}a pr{}", "not (".repeat(n), ")".repeat(n));
    assert!(parse(&nots(32)).is_ok());
    assert_eq!(err_at(&nots(33)).1, 32 * 5 + 4);
    // A value filter is a level too.
    assert!(parse(&format!("{}x[a pr]{}", "(".repeat(31), ")".repeat(31))).is_ok());
    assert_eq!(
        err_at(&format!("{}x[a pr]{}", "(".repeat(32), ")".repeat(32))).1,
        33
    );
    // Chains count one level per operator: 33 comparisons are 32 deep.
    let chain = |n: usize, joiner: &str| vec!["a pr"; n].join(joiner);
    for joiner in [" and ", " or "] {
        assert!(parse(&chain(33, joiner)).is_ok());
        let pos = 33 * 4 + 32 * joiner.len() + 1;
        assert_eq!(err_at(&chain(34, joiner)).1, pos, "{joiner}");
    }
    assert!(parse(&format!("x[{}]", chain(32, " and "))).is_ok());
    assert_eq!(err_at(&format!("x[{}]", chain(33, " and "))).1, 1);
    assert!(parse(&format!("x[{}].y pr", chain(31, " or "))).is_ok());
    assert!(parse(&format!("x[{}].y pr", chain(32, " or "))).is_err());
    let shallow = FilterLimits {
        max_depth: 1,
        ..FilterLimits::default()
    };
    assert!(parse_with_limits("(a pr)", &shallow).is_ok());
    assert!(parse_with_limits("((a pr))", &shallow).is_err());
}

#[test]
fn hostile_nesting_fails_cleanly_instead_of_overflowing_the_stack() {
    let huge = FilterLimits {
        max_length: usize::MAX,
        ..FilterLimits::default()
    };
    for input in [
        "(".repeat(1_000_000),
        "not (".repeat(200_000),
        "x[".repeat(200_000),
        "a pr or ".repeat(200_000),
        "a pr and ".repeat(200_000),
    ] {
        let e = parse_with_limits(&input, &huge).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter));
    }
}

#[test]
fn patch_paths_of_every_form_parse() {
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let cases = [
        ("userName", path("userName"), None),
        ("name.givenName", path("name.givenName"), None),
        (" members ", path("members"), None),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            AttrPath {
                urn: Some(enterprise.into()),
                name: "manager".into(),
                sub: None,
            },
            None,
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            AttrPath {
                urn: Some(enterprise.into()),
                name: "manager".into(),
                sub: Some("value".into()),
            },
            None,
        ),
        (
            r#"members[value eq "7f4b"]"#,
            path("members"),
            Some(str_cmp("value", CompareOp::Eq, "7f4b")),
        ),
        (
            r#"emails[type eq "work"].value"#,
            path("emails.value"),
            Some(str_cmp("type", CompareOp::Eq, "work")),
        ),
        (
            r#"emails[type eq "other"].Value"#,
            path("emails.Value"),
            Some(str_cmp("type", CompareOp::Eq, "other")),
        ),
        (
            r#"addresses[type eq "work"].streetAddress"#,
            path("addresses.streetAddress"),
            Some(str_cmp("type", CompareOp::Eq, "work")),
        ),
        (
            r#"roles[primary eq "True"].display"#,
            path("roles.display"),
            Some(str_cmp("primary", CompareOp::Eq, "True")),
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work" and value ew "]"].value"#,
            path("urn:ietf:params:scim:schemas:core:2.0:User:emails.value"),
            Some(and(
                str_cmp("type", CompareOp::Eq, "work"),
                str_cmp("value", CompareOp::Ew, "]"),
            )),
        ),
        (
            r#"members[value eq "a" or value eq "b"]"#,
            path("members"),
            Some(or(
                str_cmp("value", CompareOp::Eq, "a"),
                str_cmp("value", CompareOp::Eq, "b"),
            )),
        ),
    ];
    for (input, attr, filter) in cases {
        let got = PatchPath::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(got, PatchPath { attr, filter }, "{input}");
        assert_eq!(
            PatchPath::parse(&got.to_string()).unwrap(),
            got,
            "{input} printed as {got}"
        );
    }
}

#[test]
fn malformed_patch_paths_are_invalid_path_and_bad_bracket_filters_invalid_filter() {
    for input in [
        "",
        "  ",
        "name givenName",
        "1abc",
        "a.b.c",
        "name.givenName[x pr]",
        r#"emails[type eq "work"]value"#,
        r#"emails[type eq "work"].value.x"#,
        r#"emails[type eq "work"].value extra"#,
        r#"emails[type eq "work"]]"#,
        r#"emails[type eq "work"].1x"#,
        r#""emails""#,
        "emails)",
        "urn:",
    ] {
        let e = PatchPath::parse(input).expect_err(input);
        assert_eq!(
            e.scim_type(),
            Some(ScimType::InvalidPath),
            "{input}: {}",
            e.detail()
        );
    }
    for input in [
        "emails[",
        r#"emails[type eq "work""#,
        "emails[]",
        r#"emails[type xx "work"]"#,
        r#"emails[type eq "work]"#,
        "emails[value[x pr]]",
    ] {
        let e = PatchPath::parse(input).expect_err(input);
        assert_eq!(
            e.scim_type(),
            Some(ScimType::InvalidFilter),
            "{input}: {}",
            e.detail()
        );
    }
    let long = "a".repeat(5000);
    assert_eq!(
        PatchPath::parse(&long).unwrap_err().scim_type(),
        Some(ScimType::InvalidPath)
    );
}

// ---- property tests ----

fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "userName", "emails", "value", "type", "$ref", "and", "or", "not", "pr", "eq", "true",
            "null",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
    ]
}

fn urn() -> impl Strategy<Value = Option<String>> {
    prop::option::of(
        prop::sample::select(vec![
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:x",
        ])
        .prop_map(str::to_owned),
    )
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (urn(), attr_name(), prop::option::of(attr_name())).prop_map(|(urn, name, sub)| AttrPath {
        urn,
        name,
        sub,
    })
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        any::<String>().prop_map(CompValue::Str),
        "[ -~]{0,12}".prop_map(CompValue::Str),
        any::<i64>().prop_map(|n| CompValue::Num(n.into())),
        any::<u64>().prop_map(|n| CompValue::Num(n.into())),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompValue::Num),
        any::<bool>().prop_map(CompValue::Bool),
        Just(CompValue::Null),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(CompareOp::ALL.to_vec())
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        (attr_path(), op(), comp_value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
        attr_path().prop_map(Filter::Present),
    ]
}

fn combine(inner: impl Strategy<Value = Filter> + Clone) -> impl Strategy<Value = Filter> {
    prop_oneof![
        (inner.clone(), inner.clone()).prop_map(|(a, b)| and(a, b)),
        (inner.clone(), inner.clone()).prop_map(|(a, b)| or(a, b)),
        inner.prop_map(|a| Filter::Not(Box::new(a))),
    ]
}

/// Filters without value paths: what may stand inside brackets.
fn value_filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(5, 32, 2, combine)
}

/// Any filter the parser can produce.
fn filter() -> impl Strategy<Value = Filter> {
    let top_leaf = prop_oneof![
        3 => leaf(),
        1 => (urn(), attr_name(), value_filter())
            .prop_map(|(urn, name, f)| Filter::ValuePath(AttrPath { urn, name, sub: None }, Box::new(f))),
    ];
    top_leaf.prop_recursive(5, 32, 2, combine)
}

fn patch_path() -> impl Strategy<Value = PatchPath> {
    (attr_path(), prop::option::of(value_filter()))
        .prop_map(|(attr, filter)| PatchPath { attr, filter })
}

proptest! {
    #[test]
    fn printing_then_parsing_a_filter_gives_the_same_ast(f in filter()) {
        let printed = f.to_string();
        prop_assert_eq!(parse(&printed).map_err(|e| e.to_string()), Ok(f), "{}", printed);
    }

    #[test]
    fn printing_then_parsing_a_patch_path_gives_the_same_path(pp in patch_path()) {
        let printed = pp.to_string();
        prop_assert_eq!(PatchPath::parse(&printed).map_err(|e| e.to_string()), Ok(pp), "{}", printed);
    }

    #[test]
    fn arbitrary_input_never_panics_and_reparses_to_a_fixed_point(s in "[a-z\"()\\[\\] .:\\\\]{0,40}") {
        if let Ok(f) = parse(&s) {
            prop_assert_eq!(parse(&f.to_string()).map_err(|e| e.to_string()), Ok(f));
        }
        if let Ok(pp) = PatchPath::parse(&s) {
            prop_assert_eq!(PatchPath::parse(&pp.to_string()).map_err(|e| e.to_string()), Ok(pp));
        }
    }

    #[test]
    fn arbitrary_unicode_never_panics(s in any::<String>()) {
        let _ = parse(&s);
        let _ = PatchPath::parse(&s);
    }

    #[test]
    fn mutated_valid_filters_never_panic(f in filter(), cut in any::<prop::sample::Index>()) {
        let printed = f.to_string();
        let chars: Vec<char> = printed.chars().collect();
        let at = cut.index(chars.len() + 1);
        let truncated: String = chars[..at].iter().collect();
        let _ = parse(&truncated);
        let _ = PatchPath::parse(&truncated);
    }
}

#[test]
fn a_nul_in_a_filter_value_is_a_syntax_error() {
    // PostgreSQL cannot compare text with NUL; SQLite can: one answer for both, before SQL.
    assert!(parse(r#"userName eq "a\u0000b""#).is_err());
    assert!(parse(r#"emails[value eq "\u0000"]"#).is_err());
    assert!(parse(r#"userName eq "a\u0001b""#).is_ok());
}
