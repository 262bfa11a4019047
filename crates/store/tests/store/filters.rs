//! Filters in SQL: Entra's queries, paging and sorting, and a differential test that evaluates
//! generated filters on generated users both in SQL and with `scim`'s in-memory evaluator.

use crate::both;
use crate::support::*;
use scim::filter::Filter;
use scim::schema::ResourceKind::{self, Group, User};
use scim_store::ListRequest;
use serde_json::{Value, json};
use std::collections::BTreeSet;

async fn ids(fx: &Fixture, kind: ResourceKind, filter: &str) -> BTreeSet<String> {
    let req = ListRequest {
        filter: Some(scim::filter::parse(filter).unwrap()),
        count: 1000,
        ..Default::default()
    };
    fx.dir
        .list(fx.a, kind, &req)
        .await
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .resources
        .iter()
        .map(|r| {
            r.body["userName"]
                .as_str()
                .or(r.body["displayName"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

both!(
    entra_queries_find_users_case_insensitively_and_test_connection_finds_none,
    |fx: Fixture| async move {
        fx.create(User, json!({"userName": "Test_User@contoso.com", "externalId": "JYoung", "emails": [{"type": "work", "value": "Jo@Contoso.com"}]})).await;
        fx.create(
            User,
            json!({"userName": "other@contoso.com", "active": false, "externalId": "jyoung"}),
        )
        .await;
        assert_eq!(
            ids(&fx, User, r#"userName eq "test_user@CONTOSO.com""#).await,
            set(&["Test_User@contoso.com"])
        );
        assert_eq!(
            ids(
                &fx,
                User,
                r#"userName eq "5c0b1f6a-2c86-4a3c-a1f4-0c2b0a9f2d10""#
            )
            .await,
            set(&[])
        );
        assert_eq!(
            ids(&fx, User, r#"externalId eq "jyoung""#).await,
            set(&["other@contoso.com"]),
            "externalId is caseExact"
        );
        assert_eq!(
            ids(
                &fx,
                User,
                r#"emails[type eq "work"].value eq "jo@contoso.com""#
            )
            .await,
            set(&["Test_User@contoso.com"])
        );
        assert_eq!(
            ids(&fx, User, r#"active eq false"#).await,
            set(&["other@contoso.com"])
        );
        assert_eq!(
            ids(&fx, User, r#"active ne false"#).await,
            set(&["Test_User@contoso.com"]),
            "absent matches ne"
        );
        assert_eq!(
            ids(&fx, User, r#"userName sw "TEST" and not (emails pr)"#).await,
            set(&[])
        );
        fx.create(Group, json!({"displayName": "Sales"})).await;
        assert_eq!(
            ids(&fx, Group, r#"displayName eq "SALES""#).await,
            set(&["Sales"])
        );
    }
);

both!(
    paging_is_stable_and_total_results_exact,
    |fx: Fixture| async move {
        for i in 0..11 {
            fx.user(&format!("user{i:02}")).await;
        }
        let mut seen = Vec::new();
        for start in [1, 6, 11] {
            let page = fx
                .dir
                .list(
                    fx.a,
                    User,
                    &ListRequest {
                        start_index: start,
                        count: 5,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(page.total_results, 11);
            seen.extend(
                page.resources
                    .into_iter()
                    .map(|r| r.body["userName"].as_str().unwrap().to_owned()),
            );
        }
        let expected: Vec<_> = (0..11).map(|i| format!("user{i:02}")).collect();
        assert_eq!(seen, expected, "creation order, every user once");
        let sorted = fx
            .dir
            .list(
                fx.a,
                User,
                &ListRequest {
                    sort_by: Some(scim::path::AttrPath::new("userName")),
                    descending: true,
                    start_index: 1,
                    count: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(sorted.resources[0].body["userName"], "user10");
    }
);

both!(
    filters_the_store_cannot_answer_exactly_are_invalid_filter,
    |fx: Fixture| async move {
        for f in [
            r#"groups.value eq "x""#,
            r#"id gt "a""#,
            r#"meta.location eq "x""#,
        ] {
            let req = ListRequest {
                filter: Some(scim::filter::parse(f).unwrap()),
                count: 10,
                ..Default::default()
            };
            let err = fx.dir.list(fx.a, User, &req).await.unwrap_err();
            assert!(
                err.to_string().contains("filter") || err.to_string().contains("'"),
                "{f}: {err}"
            );
        }
    }
);

/// A tiny deterministic generator (splitmix64), so failures reproduce.
struct Gen(u64);
impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
}

const WORDS: &[&str] = &[
    "alpha", "Alpha", "ALPHA", "beta", "Élan", "élan", "zeta", "al", "", "a", "Straße", "b@x.com",
    "B@X.COM",
];
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn user(g: &mut Gen, i: usize) -> Value {
    let mut u = json!({"userName": format!("{}{i}", g.pick(WORDS))});
    let o = u.as_object_mut().unwrap();
    for key in ["displayName", "title", "nickName", "externalId"] {
        if g.chance(60) {
            o.insert(key.into(), json!(g.pick(WORDS)));
        }
    }
    if g.chance(70) {
        o.insert("active".into(), json!(g.chance(50)));
    }
    if g.chance(50) {
        o.insert(
            "name".into(),
            json!({"givenName": g.pick(WORDS), "familyName": g.pick(WORDS)}),
        );
    }
    if g.chance(70) {
        let n = 1 + g.next() % 2;
        // At most one primary (validation refuses more), and often none at all, so absent
        // sub-attributes meet NOT inside value paths.
        let emails: Vec<Value> = (0..n)
            .map(|i| {
                let mut e =
                    json!({"value": g.pick(WORDS), "type": g.pick(&["work", "home", "Work"])});
                if g.chance(50) {
                    e["primary"] = json!(i == 0 && g.chance(50));
                }
                e
            })
            .collect();
        o.insert("emails".into(), Value::Array(emails));
    }
    if g.chance(50) {
        o.insert(
            ENT.into(),
            json!({"department": g.pick(WORDS), "employeeNumber": g.pick(WORDS)}),
        );
    }
    u
}

const STRING_ATTRS: &[&str] = &[
    "userName",
    "displayName",
    "title",
    "nickName",
    "externalId",
    "name.givenName",
    "name.familyName",
    "emails.value",
    "emails.type",
    "emails",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "DisplayName",
    "EMAILS.VALUE",
];

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn leaf(g: &mut Gen) -> String {
    match g.next() % 10 {
        0 => format!("active eq {}", g.chance(50)),
        1 => format!(
            "{} pr",
            g.pick(&[
                "title",
                "emails",
                "name.givenName",
                "active",
                "emails.primary",
                "externalId"
            ])
        ),
        2 => format!(
            "emails[type eq {} and value {} {}]",
            quoted(g.pick(&["work", "WORK", "home"])),
            g.pick(&["co", "sw", "eq"]),
            quoted(g.pick(WORDS))
        ),
        3 => match g.next() % 3 {
            0 => format!("emails.primary eq {}", g.chance(50)),
            // Absent `primary` inside an element must not turn NOT into NULL.
            1 => format!("emails[not (primary eq {})]", g.chance(50)),
            _ => format!("emails[primary ne {} and type pr]", g.chance(50)),
        },
        _ => {
            let op = g.pick(&[
                "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Co",
            ]);
            format!("{} {} {}", g.pick(STRING_ATTRS), op, quoted(g.pick(WORDS)))
        }
    }
}

fn filter(g: &mut Gen, depth: u32) -> String {
    if depth == 0 || g.chance(40) {
        return leaf(g);
    }
    match g.next() % 3 {
        0 => format!("({}) and ({})", filter(g, depth - 1), filter(g, depth - 1)),
        1 => format!("{} or {}", filter(g, depth - 1), filter(g, depth - 1)),
        _ => format!("not ({})", filter(g, depth - 1)),
    }
}

both!(
    generated_filters_agree_between_sql_and_the_in_memory_evaluator,
    |fx: Fixture| async move {
        let mut g = Gen(0x5C1A_2026);
        let mut bodies = Vec::new();
        for i in 0..60 {
            let r = fx.create(User, user(&mut g, i)).await;
            bodies.push(r.body);
        }
        let registry = fx.dir.registry().clone();
        let mut checked = 0;
        for _ in 0..400 {
            let text = filter(&mut g, 3);
            let parsed: Filter =
                scim::filter::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let resolved = parsed
                .resolve(&registry, User)
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            let want: BTreeSet<String> = bodies
                .iter()
                .filter(|b| resolved.matches(&registry, User, b))
                .map(|b| b["userName"].as_str().unwrap().to_owned())
                .collect();
            let got = ids(&fx, User, &text).await;
            assert_eq!(got, want, "filter: {text}");
            checked += 1;
        }
        assert_eq!(checked, 400);
    }
);

both!(
    sort_by_user_name_is_code_point_order_on_both_databases,
    |fx: Fixture| async move {
        for name in ["ab", "a-c", "B", "a"] {
            fx.user(name).await;
        }
        let page = fx
            .dir
            .list(
                fx.a,
                User,
                &ListRequest {
                    sort_by: Some(scim::path::AttrPath::new("userName")),
                    start_index: 1,
                    count: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let names: Vec<_> = page
            .resources
            .iter()
            .map(|r| r.body["userName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "a-c", "ab", "B"], "folded, then by code point");
    }
);

both!(
    a_page_past_the_matches_is_empty_for_every_kind_of_filter,
    |fx: Fixture| async move {
        fx.create(
            User,
            json!({"userName": "only", "emails": [
                {"type": "work", "value": "o@x.com"},
                {"value": "p@x.com"},
                {"type": "home", "value": "q@x.com"},
                {"type": "other", "value": "r@x.com"},
                {"type": "work", "value": "s@x.com"},
            ]}),
        )
        .await;
        // A filter whose SQL binds parameters inside JSON functions, then LIMIT/OFFSET: the
        // page past the one match must be empty (SQLite once returned the match again).
        for filter in [
            "emails.type pr",
            "emails.value pr",
            r#"emails.type eq "work""#,
            "userName pr",
            r#"emails[type eq "work"]"#,
        ] {
            let req = ListRequest {
                filter: Some(scim::filter::parse(filter).unwrap()),
                start_index: 3,
                count: 200,
                ..Default::default()
            };
            let page = fx.dir.list(fx.a, User, &req).await.unwrap();
            assert_eq!(page.total_results, 1, "{filter}");
            assert!(page.resources.is_empty(), "{filter}: a page past the end");
        }
        let members: Vec<_> = futures_util::future::join_all(
            (0..4).map(|i| fx.create(User, json!({"userName": format!("member{i}")}))),
        )
        .await
        .iter()
        .map(|u| json!({"value": u.id.to_string()}))
        .collect();
        fx.create(Group, json!({"displayName": "big", "members": members}))
            .await;
        let req = ListRequest {
            filter: Some(scim::filter::parse("members.value pr").unwrap()),
            start_index: 2,
            count: 200,
            ..Default::default()
        };
        let page = fx.dir.list(fx.a, Group, &req).await.unwrap();
        assert_eq!(page.total_results, 1);
        assert!(page.resources.is_empty(), "members pr: a page past the end");
    }
);
