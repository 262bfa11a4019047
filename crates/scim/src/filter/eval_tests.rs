//! Tests of filter evaluation (kept apart from `eval.rs` for its size).

use super::super::parse;
use super::*;
use crate::path::PatchPath;
use crate::schema::{ENTERPRISE_USER, Schema};
use proptest::prelude::*;
use serde_json::json;

fn user() -> Value {
    json!({
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "jYoung",
        "userName": "Bjensen@Example.com",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "title": "",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [],
        "ims": [{}],
        "roles": [{"value": "Admin", "primary": true}],
        "meta": {"lastModified": "2011-05-13T04:42:34Z", "location": "https://x/Users/2819c223"},
        ENTERPRISE_USER: {"employeeNumber": "701984", "manager": {"value": "m-26118915"}}
    })
}

/// Evaluates `input` against `resource` both as parsed and as resolved, checks they agree, and
/// returns the result.
fn eval_on(kind: ResourceKind, input: &str, resource: &Value) -> bool {
    let registry = Registry::new();
    let parsed = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    let resolved = parsed
        .resolve(&registry, kind)
        .unwrap_or_else(|e| panic!("{input}: {e}"));
    let result = resolved.matches(&registry, kind, resource);
    assert_eq!(
        parsed.matches(&registry, kind, resource),
        result,
        "parsed and resolved disagree on {input}"
    );
    result
}

fn eval(input: &str) -> bool {
    eval_on(ResourceKind::User, input, &user())
}

fn check(cases: &[(&str, bool)]) {
    for (input, want) in cases {
        assert_eq!(eval(input), *want, "{input}");
    }
}

#[test]
fn case_exact_attributes_compare_exactly_and_others_ignore_case() {
    check(&[
        (r#"userName eq "bjensen@example.com""#, true),
        (r#"USERNAME EQ "BJENSEN@EXAMPLE.COM""#, true),
        (r#"externalId eq "jYoung""#, true),
        (r#"externalId eq "jyoung""#, false),
        (r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false),
        (r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true),
        (r#"meta.location sw "https://x/users""#, false),
        (r#"meta.location sw "https://x/Users""#, true),
    ]);
}

#[test]
fn string_operators_work_on_folded_strings() {
    check(&[
        (r#"userName co "EXAMPLE""#, true),
        (r#"userName sw "bjen""#, true),
        (r#"userName ew ".COM""#, true),
        (r#"userName ew ".org""#, false),
        (r#"userName co """#, true),
        (r#"userName gt "a""#, true),
        (r#"userName gt "BZ""#, false),
        (r#"userName lt "bk""#, true),
        (r#"userName ge "bjensen@example.com""#, true),
        (r#"userName le "bjensen@example.com""#, true),
        (r#"name.familyName co "ENS""#, true),
        (r#"externalId sw "jy""#, false),
    ]);
}

#[test]
fn unicode_case_folding_applies_beyond_ascii() {
    let u = json!({"userName": "ÅSA.ÖBERG"});
    assert!(eval_on(
        ResourceKind::User,
        r#"userName eq "åsa.öberg""#,
        &u
    ));
    assert!(eval_on(ResourceKind::User, r#"userName sw "Åsa.ö""#, &u));
}

#[test]
fn multi_valued_attributes_match_when_any_value_matches() {
    check(&[
        (r#"emails.value ew "@jensen.org""#, true),
        (r#"emails.type eq "home""#, true),
        (r#"emails co "jensen.org""#, true),
        (r#"emails.value eq "nobody@example.com""#, false),
        // The value filter needs one element with both; the dotted form does not.
        (
            r#"emails[type eq "work" and value ew "@jensen.org"]"#,
            false,
        ),
        (
            r#"emails.type eq "work" and emails.value ew "@jensen.org""#,
            true,
        ),
        (r#"emails[type eq "work"].value co "example""#, true),
        (r#"emails[type eq "WORK" and primary eq true]"#, true),
        (r#"emails[type eq "home" and primary eq true]"#, false),
        (r#"emails[not (type eq "work")]"#, true),
        (r#"phoneNumbers[type pr]"#, false),
        (r#"roles[primary eq "True"]"#, true),
    ]);
}

#[test]
fn ne_is_not_eq_so_absent_attributes_match_it() {
    check(&[
        (r#"nickName ne "x""#, true),
        (r#"nickName eq "x""#, false),
        (r#"userType ne "employee""#, false),
        (r#"userType ne "Intern""#, true),
        (r#"emails.value ne "babs@jensen.org""#, false),
        (r#"emails.value ne "other@x.com""#, true),
        (r#"phoneNumbers.value ne "1""#, true),
    ]);
}

#[test]
fn presence_excludes_null_empty_strings_arrays_and_objects() {
    check(&[
        ("userName pr", true),
        ("title pr", false),
        ("nickName pr", false),
        ("phoneNumbers pr", false),
        ("ims pr", false),
        ("emails pr", true),
        ("emails.display pr", false),
        ("name pr", true),
        ("name.givenName pr", true),
        ("active pr", true),
        ("title eq null", true),
        ("title ne null", false),
        ("userName eq null", false),
        ("userName ne null", true),
    ]);
    let nulls = json!({"userName": "a", "nickName": null, "emails": [null], "name": {}});
    for input in ["nickName pr", "emails pr", "name pr", "name.givenName pr"] {
        assert!(!eval_on(ResourceKind::User, input, &nulls), "{input}");
    }
}

#[test]
fn date_times_compare_as_instants() {
    check(&[
        (r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#, true),
        (r#"meta.lastModified gt "2011-05-13T05:42:34+02:00""#, true),
        (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
        (r#"meta.lastModified ge "2011-05-13T04:42:34.000Z""#, true),
        (r#"meta.lastModified lt "2011-05-13T04:42:34.001Z""#, true),
        (r#"meta.lastModified le "2011-05-12T23:30:00-05:00""#, false),
        (
            "meta.lastModified gt 2011-05-13T04:42:33.8617979-00:00",
            true,
        ),
    ]);
    let garbage = json!({"userName": "a", "meta": {"lastModified": "last tuesday"}});
    assert!(!eval_on(
        ResourceKind::User,
        r#"meta.lastModified lt "2100-01-01T00:00:00Z""#,
        &garbage
    ));
}

#[test]
fn booleans_compare_with_eq_and_accept_entra_strings() {
    check(&[
        ("active eq true", true),
        ("active eq false", false),
        (r#"active eq "True""#, true),
        (r#"active ne "false""#, true),
    ]);
    let inactive = json!({"userName": "a", "active": false});
    assert!(eval_on(ResourceKind::User, "active eq false", &inactive));
    assert!(!eval_on(ResourceKind::User, "active eq true", &inactive));
}

#[test]
fn extension_attributes_are_read_under_their_urn() {
    check(&[
        (r#"employeeNumber eq "701984""#, true),
        ("employeeNumber eq 701984", true),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber sw "70""#,
            true,
        ),
        (r#"manager eq "M-26118915""#, true),
        (r#"manager.value eq "m-26118915""#, true),
        (
            r#"id eq "2819c223-7f76-453a-919d-413861904646" and manager eq "m-26118915""#,
            true,
        ),
        ("department pr", false),
    ]);
    // Only under the URN: a top-level key of the same name is not the extension attribute.
    let misplaced = json!({"userName": "a", "employeeNumber": "701984"});
    assert!(!eval_on(
        ResourceKind::User,
        r#"employeeNumber eq "701984""#,
        &misplaced
    ));
}

#[test]
fn stored_values_of_the_wrong_type_do_not_equal_anything() {
    let odd = json!({"userName": 42, "active": "true", "emails": [{"value": 7}]});
    assert!(!eval_on(ResourceKind::User, r#"userName eq "42""#, &odd));
    assert!(eval_on(ResourceKind::User, r#"userName ne "42""#, &odd));
    assert!(!eval_on(ResourceKind::User, "active eq true", &odd));
    assert!(!eval_on(ResourceKind::User, r#"emails.value eq "7""#, &odd));
    assert!(eval_on(ResourceKind::User, "userName pr", &odd));
}

#[test]
fn logical_operators_combine_results() {
    check(&[
        (r#"title pr or userType eq "Employee""#, true),
        (r#"title pr and userType eq "Employee""#, false),
        (r#"not (title pr) and userType eq "Employee""#, true),
        (
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            true,
        ),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            false,
        ),
        (
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            true,
        ),
        (
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            true,
        ),
    ]);
}

#[test]
fn numbers_compare_numerically() {
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
    let resource = json!({"urn:example:Ext": {"level": 10, "score": 2.5}});
    for (input, want) in [
        ("level eq 10", true),
        ("level gt 9", true),
        ("level lt 9", false),
        ("level ge 10", true),
        ("level le -1", false),
        ("level eq 10.0", false),
        ("score eq 2.5", true),
        ("score gt 2", true),
        ("score lt 2.5", false),
        ("score le 2.50", true),
        ("score ne 3", true),
    ] {
        let parsed = parse(input).unwrap();
        let plain = parsed.matches(&registry, ResourceKind::User, &resource);
        assert_eq!(plain, want, "{input}");
        if let Ok(resolved) = parsed.resolve(&registry, ResourceKind::User) {
            assert_eq!(
                resolved.matches(&registry, ResourceKind::User, &resource),
                want,
                "{input}"
            );
        }
    }
    let huge = json!({"urn:example:Ext": {"level": u64::MAX}});
    let f = parse(&format!("level eq {}", u64::MAX)).unwrap();
    assert!(f.matches(&registry, ResourceKind::User, &huge));
    let f = parse(&format!("level lt {}", u64::MAX)).unwrap();
    assert!(!f.matches(&registry, ResourceKind::User, &huge));
}

#[test]
fn group_members_are_matched_by_value() {
    let group = json!({"displayName": "Admins", "members": [{"value": "u1", "type": "User"}, {"value": "g2", "type": "Group"}]});
    for (input, want) in [
        (r#"displayName eq "admins""#, true),
        (r#"members[value eq "u1"]"#, true),
        (r#"members.value eq "g2""#, true),
        (r#"members eq "u3""#, false),
        (r#"members[type eq "Group" and value eq "u1"]"#, false),
    ] {
        assert_eq!(eval_on(ResourceKind::Group, input, &group), want, "{input}");
    }
}

#[test]
fn unknown_attributes_match_nothing_when_unresolved() {
    let registry = Registry::new();
    for input in [
        r#"foo eq "x""#,
        r#"foo ne "x""#,
        "foo pr",
        r#"emails[foo eq "x"]"#,
        r#"name[givenName pr]"#,
    ] {
        assert!(
            !parse(input)
                .unwrap()
                .matches(&registry, ResourceKind::User, &user()),
            "{input}"
        );
    }
}

fn element_matches(attr: &str, path: &str, element: Value) -> bool {
    let registry = Registry::new();
    let resolved = registry
        .resolve(ResourceKind::User, &AttrPath::parse(attr).unwrap())
        .unwrap();
    let filter = PatchPath::parse(path).unwrap().filter.unwrap();
    matches_element(&filter, resolved.attr, &element)
}

#[test]
fn matches_element_evaluates_patch_path_filters_against_one_element() {
    let work = json!({"value": "a@x.com", "type": "work", "primary": true});
    assert!(element_matches(
        "emails",
        r#"emails[type eq "work"].value"#,
        work.clone()
    ));
    assert!(element_matches(
        "emails",
        r#"emails[Type eq "WORK"]"#,
        work.clone()
    ));
    assert!(element_matches(
        "emails",
        r#"emails[type eq "work" and primary eq "True"]"#,
        work.clone()
    ));
    assert!(!element_matches(
        "emails",
        r#"emails[type eq "home"]"#,
        work.clone()
    ));
    assert!(element_matches(
        "emails",
        r#"emails[type ne "home"]"#,
        work.clone()
    ));
    assert!(element_matches(
        "emails",
        r#"emails[display eq null]"#,
        work.clone()
    ));
    assert!(!element_matches(
        "emails",
        r#"emails[foo eq "x"]"#,
        work.clone()
    ));
    assert!(!element_matches(
        "emails",
        r#"emails[emails.type eq "work"]"#,
        work
    ));
    assert!(element_matches(
        "roles",
        r#"roles[primary eq "True"].value"#,
        json!({"value": "r", "primary": true})
    ));
    let manager = ENTERPRISE_USER.to_owned() + ":manager";
    assert!(element_matches(
        &manager,
        r#"manager[value eq "m1"]"#,
        json!({"value": "m1"})
    ));
    assert!(element_matches(
        "addresses",
        r#"addresses[type eq "work"].streetAddress"#,
        json!({"type": "work", "streetAddress": "1 Main St"})
    ));
}

#[test]
fn matches_element_compares_member_ids_under_group_schema_rules() {
    let registry = Registry::new();
    let members = registry
        .resolve(ResourceKind::Group, &AttrPath::new("members"))
        .unwrap()
        .attr;
    let filter = PatchPath::parse(r#"members[value eq "7f4b" or value eq "9c1d"]"#)
        .unwrap()
        .filter
        .unwrap();
    assert!(matches_element(&filter, members, &json!({"value": "9c1d"})));
    assert!(!matches_element(
        &filter,
        members,
        &json!({"value": "0000"})
    ));
    assert!(!matches_element(&filter, members, &json!("7f4b")));
}

// ---- property test: resolution never changes the answer ----

fn leaf() -> impl Strategy<Value = String> {
    let path = prop::sample::select(vec![
        "userName",
        "USERNAME",
        "externalId",
        "title",
        "active",
        "emails",
        "emails.value",
        "emails.type",
        "emails.primary",
        "name.givenName",
        "meta.lastModified",
        "employeeNumber",
        "manager",
        "roles.primary",
        "phoneNumbers",
    ]);
    let value = prop::sample::select(vec![
        r#""a""#,
        r#""A""#,
        r#""work""#,
        r#""""#,
        "true",
        r#""True""#,
        "false",
        "null",
        "7",
        "1.5",
        r#""2011-05-13T04:42:34Z""#,
        r#""2012-01-01T00:00:00+05:00""#,
        r#""@x.com""#,
    ]);
    let op = prop::sample::select(vec![
        "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr",
    ]);
    (path, op, value).prop_map(|(p, o, v)| {
        if o == "pr" {
            format!("{p} pr")
        } else {
            format!("{p} {o} {v}")
        }
    })
}

fn filter_text() -> impl Strategy<Value = String> {
    let vp = (leaf(), leaf()).prop_map(|(a, b)| {
        // Inner paths are sub-attributes of emails.
        let strip = |s: String| s.replace("emails.", "").replace("emails ", "value ");
        format!("emails[{} or {}]", strip(a), strip(b))
    });
    prop_oneof![3 => leaf(), 1 => vp].prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn resource() -> impl Strategy<Value = Value> {
    let s = prop::sample::select(vec![
        json!("a"),
        json!("A"),
        json!("work"),
        json!(""),
        json!(7),
        json!(null),
        json!(true),
    ]);
    let date = prop::sample::select(vec![
        json!("2011-05-13T04:42:34Z"),
        json!("2011-05-12T23:42:34-05:00"),
        json!("x"),
    ]);
    let email = (s.clone(), s.clone(), prop::option::of(any::<bool>()))
        .prop_map(|(value, ty, primary)| json!({"value": value, "type": ty, "primary": primary}));
    (
        s.clone(),
        s.clone(),
        prop::option::of(s.clone()),
        prop::option::of(prop_oneof![any::<bool>().prop_map(Value::from), Just(json!("True"))]),
        prop::collection::vec(email, 0..3),
        date,
        s.clone(),
        s,
    )
        .prop_map(|(user_name, external_id, title, active, emails, date, number, manager)| {
            json!({
                "userName": user_name, "externalId": external_id, "title": title, "active": active,
                "emails": emails, "name": {"givenName": "a"}, "meta": {"lastModified": date},
                "roles": [{"value": "r", "primary": true}],
                ENTERPRISE_USER: {"employeeNumber": number, "manager": {"value": manager}},
            })
        })
}

#[test]
fn the_deepest_filters_the_limits_allow_print_resolve_and_evaluate() {
    let registry = Registry::new();
    let chain = |joiner: &str| vec!["id pr"; 33].join(joiner);
    let not = format!("{}id pr{}", "not (".repeat(32), ")".repeat(32));
    let right = format!("{}id pr{}", "id pr and (".repeat(32), ")".repeat(32));
    for input in [chain(" and "), chain(" or "), not, right] {
        let parsed = parse(&input).unwrap();
        assert_eq!(parse(&parsed.to_string()).unwrap(), parsed);
        let resolved = parsed.resolve(&registry, ResourceKind::User).unwrap();
        assert!(resolved.matches(&registry, ResourceKind::User, &json!({"id": "x"})));
        // An even number of nots cancels out, so every input means `id pr`.
        assert!(!resolved.matches(&registry, ResourceKind::User, &json!({})));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn a_filter_and_its_resolved_form_match_the_same_resources(f in filter_text(), r in resource()) {
        let registry = Registry::new();
        let parsed = parse(&f).unwrap();
        if let Ok(resolved) = parsed.resolve(&registry, ResourceKind::User) {
            prop_assert_eq!(
                parsed.matches(&registry, ResourceKind::User, &r),
                resolved.matches(&registry, ResourceKind::User, &r),
                "{} resolved to {}", f, resolved
            );
            // And resolving is idempotent.
            prop_assert_eq!(resolved.resolve(&registry, ResourceKind::User).ok(), Some(resolved.clone()));
        }
    }

    #[test]
    fn ne_is_exactly_not_eq(l in leaf(), r in resource()) {
        let registry = Registry::new();
        if !l.contains(" eq ") {
            return Ok(());
        }
        let eq = parse(&l).unwrap();
        let ne = parse(&l.replacen(" eq ", " ne ", 1)).unwrap();
        prop_assert_ne!(eq.matches(&registry, ResourceKind::User, &r), ne.matches(&registry, ResourceKind::User, &r), "{}", l);
    }
}
