//! RFC 7644 §3.4.2.2 rules stated in prose: operator precedence, keyword case, string
//! escapes, value-path desugaring, `pr`/`ne`/`null`, caseExact attributes, dateTime ordering
//! on `meta`, evaluated on resources a client would see.

use crate::support::{client_view, data, registry, stored};
use pretty_assertions::assert_eq;
use scim::filter::{CompValue, CompareOp, Filter};
use scim::path::AttrPath;
use scim::schema::ResourceKind;
use serde_json::{Value, json};

const USER: ResourceKind = ResourceKind::User;

fn parse(s: &str) -> Filter {
    Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn eval(filter: &str, resource: &Value) -> bool {
    let reg = registry();
    parse(filter)
        .resolve(&reg, USER)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(&reg, USER, resource)
}

fn cmp(name: &str, op: CompareOp, v: &str) -> Filter {
    Filter::Compare(AttrPath::new(name), op, CompValue::Str(v.to_owned()))
}

#[test]
fn precedence_is_not_then_and_then_or_and_keywords_are_case_insensitive() {
    let a = || cmp("a", CompareOp::Eq, "1");
    let b = || cmp("b", CompareOp::Eq, "2");
    let c = || cmp("c", CompareOp::Eq, "3");
    let and = |x: Filter, y: Filter| Filter::And(Box::new(x), Box::new(y));
    let or = |x: Filter, y: Filter| Filter::Or(Box::new(x), Box::new(y));
    assert_eq!(
        parse("a eq \"1\" or b eq \"2\" and c eq \"3\""),
        or(a(), and(b(), c()))
    );
    assert_eq!(
        parse("a eq \"1\" AND b eq \"2\" Or c eq \"3\""),
        or(and(a(), b()), c())
    );
    assert_eq!(
        parse("not (a eq \"1\") and b eq \"2\""),
        and(Filter::Not(Box::new(a())), b())
    );
    assert_eq!(
        parse("(a eq \"1\" or b eq \"2\") and c eq \"3\""),
        and(or(a(), b()), c())
    );
    assert_eq!(parse("a EQ \"1\""), a());
    // Printing keeps the meaning: minimal parentheses, but the grouping survives.
    let grouped = parse("(a eq \"1\" or b eq \"2\") and c eq \"3\"");
    assert_eq!(parse(&grouped.to_string()), grouped);
}

#[test]
fn json_string_escapes_in_filter_values() {
    let cases = [
        (r#"a eq "say \"hi\"""#, "say \"hi\""),
        (r#"a eq "back\\slash""#, "back\\slash"),
        (r#"a eq "sl\/ash""#, "sl/ash"),
        (r#"a eq "caf\u00e9""#, "café"),
        (r#"a eq "\ud83d\ude00""#, "😀"),
        (r#"a eq "tab\there""#, "tab\there"),
    ];
    for (text, value) in cases {
        let f = parse(text);
        assert_eq!(f, cmp("a", CompareOp::Eq, value), "{text}");
        assert_eq!(parse(&f.to_string()), f, "{text} prints back");
    }
}

#[test]
fn value_path_followed_by_a_comparison_desugars_into_the_value_filter() {
    assert_eq!(
        parse("emails[type eq \"work\"].value eq \"x\""),
        parse("emails[type eq \"work\" and value eq \"x\"]")
    );
}

#[test]
fn pr_ne_and_null_follow_absent_equals_unassigned() {
    let mut user = stored(
        &registry(),
        USER,
        &data("rfc/7644_3_3_create_user_request.json"),
    )
    .body;
    user["title"] = json!("");
    assert!(!eval("title pr", &user), "an empty string is not a value");
    assert!(!eval("nickName pr", &user));
    assert!(
        eval("nickName ne \"Babs\"", &user),
        "an absent attribute matches ne"
    );
    assert!(eval("nickName eq null", &user));
    assert!(!eval("userName eq null", &user));
    assert!(eval("userName ne null", &user));
    assert!(
        eval("emails.value ne \"x\"", &user),
        "no emails at all: none equals x"
    );
    assert!(!eval("emails[type eq \"work\"]", &user));
    assert!(eval("not (emails pr)", &user));
}

#[test]
fn case_exact_attributes_compare_exactly_and_others_fold_case() {
    let user = stored(
        &registry(),
        USER,
        &json!({"userName": "Babs@Example.com", "externalId": "AbC-1", "emails": [{"value": "Babs@Example.com", "type": "Work"}]}),
    )
    .body;
    assert!(eval("userName eq \"babs@example.COM\"", &user));
    assert!(eval(
        "userName sw \"BABS\" and userName ew \"COM\" and userName co \"@EXAMPLE\"",
        &user
    ));
    assert!(eval("externalId eq \"AbC-1\"", &user));
    assert!(
        !eval("externalId eq \"abc-1\"", &user),
        "externalId is caseExact (RFC 7643 §3.1)"
    );
    assert!(!eval("externalId sw \"abc\"", &user));
    assert!(eval(
        "emails[type eq \"work\" and value eq \"BABS@EXAMPLE.COM\"]",
        &user
    ));
}

#[test]
fn meta_date_times_compare_as_instants_on_a_rendered_resource() {
    let reg = registry();
    let body = stored(&reg, USER, &data("rfc/7643_8_1_minimal_user.json")).body;
    // support::meta renders created = lastModified = 2018-03-27T19:59:26Z.
    let view = client_view(&reg, USER, "2819c223-7f76-453a-919d-413861904646", &body);
    for (filter, want) in [
        ("meta.lastModified ge \"2018-03-27T19:59:26Z\"", true),
        ("meta.lastModified gt \"2018-03-27T19:59:26Z\"", false),
        ("meta.lastModified gt \"2018-03-27T21:59:25+02:00\"", true),
        ("meta.lastModified lt \"2018-03-27T19:59:26.001Z\"", true),
        ("meta.created eq \"2018-03-27T12:59:26-07:00\"", true),
        ("meta.created le \"2011-05-13T04:42:34Z\"", false),
        ("meta.resourceType eq \"User\"", true),
        ("id eq \"2819c223-7f76-453a-919d-413861904646\"", true),
        ("id eq \"2819C223-7F76-453A-919D-413861904646\"", false),
    ] {
        assert_eq!(eval(filter, &view), want, "{filter}");
    }
}

#[test]
fn multi_valued_comparisons_match_any_element_and_value_filters_one_element() {
    let user = stored(
        &registry(),
        USER,
        &json!({"userName": "u", "emails": [
            {"value": "a@work.example", "type": "home"},
            {"value": "b@home.example", "type": "work"}
        ]}),
    )
    .body;
    assert!(
        eval(
            "emails.type eq \"work\" and emails.value co \"@work\"",
            &user
        ),
        "any element per comparison"
    );
    assert!(
        !eval("emails[type eq \"work\" and value co \"@work\"]", &user),
        "one element must satisfy both"
    );
    assert!(eval(
        "emails[type eq \"work\" and value co \"@home\"]",
        &user
    ));
    assert!(
        eval("emails co \"b@home\"", &user),
        "complex attribute compares its value"
    );
}
