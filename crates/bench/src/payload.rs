//! What the bench sends, shaped like Microsoft Entra ID's requests, and who goes into which
//! group.
//!
//! Names are derived from the run prefix and an index, so a later phase (or `--verify`) can
//! recompute them, and two runs with different prefixes never collide on `userName`.

use serde_json::{Value, json};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub(crate) fn user_name(prefix: &str, i: usize) -> String {
    format!("{prefix}.u{i}@example.com")
}

pub(crate) fn group_name(prefix: &str, g: usize) -> String {
    format!("{prefix}.g{g}")
}

/// The body of Entra's `POST /Users` for user `i`.
pub(crate) fn user_body(prefix: &str, i: usize) -> Value {
    let user_name = user_name(prefix, i);
    let (given, family) = (format!("Bench{i}"), prefix.to_owned());
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": uuid::Uuid::new_v4().to_string(),
        "userName": user_name,
        "active": true,
        "displayName": format!("{given} {family}"),
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": format!("{given} {family}"),
            "familyName": family,
            "givenName": given,
        },
        ENTERPRISE: {"employeeNumber": i.to_string(), "department": format!("Dept {}", i % 10)},
    })
}

/// The body of Entra's `POST /Groups`: always without members, which follow as PATCHes.
pub(crate) fn group_body(prefix: &str, g: usize) -> Value {
    json!({
        "schemas": [GROUP_SCHEMA],
        "externalId": uuid::Uuid::new_v4().to_string(),
        "displayName": group_name(prefix, g),
        "meta": {"resourceType": "Group"},
    })
}

/// `attr eq "value"` with the value escaped as a JSON string, as RFC 7644 §3.4.2.2 wants.
pub(crate) fn filter_eq(attr: &str, value: &str) -> String {
    format!("{attr} eq {}", Value::String(value.to_owned()))
}

fn members_op(op: &str, ids: &[String]) -> Value {
    let value: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    json!({
        "schemas": [PATCH_OP],
        "Operations": [{"op": op, "path": "members", "value": value}],
    })
}

pub(crate) fn add_members(ids: &[String]) -> Value {
    members_op("Add", ids)
}

/// Entra's removal shape: path `members` with the removed values, not a valuePath filter.
pub(crate) fn remove_members(ids: &[String]) -> Value {
    members_op("Remove", ids)
}

/// Entra's incremental user update; `disable` adds the string-typed `"False"` Entra sends.
pub(crate) fn update_user(prefix: &str, i: usize, disable: bool) -> Value {
    let display = format!("Bench{i} {prefix} (updated)");
    let mut ops = vec![
        json!({"op": "Replace", "path": "displayName", "value": display}),
        json!({"op": "Replace", "path": "title", "value": format!("Engineer {}", i % 7)}),
    ];
    if disable {
        ops.push(json!({"op": "Replace", "path": "active", "value": "False"}));
    }
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// Indices (into the `n` created users) of the members of group `g` with `m` members each:
/// `[g*m, g*m+m)` modulo `n`, at most `n` of them so nobody is listed twice.
pub(crate) fn group_members(g: usize, m: usize, n: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    (0..m.min(n)).map(|j| (g * m + j) % n).collect()
}

/// `n` users spread evenly over all groups: the groups' members in group order, each user
/// once, then every (len/n)-th of them.
pub(crate) fn spread_sample(groups: &[Vec<usize>], n: usize) -> Vec<usize> {
    let mut seen = std::collections::HashSet::new();
    let all: Vec<usize> = groups
        .iter()
        .flatten()
        .copied()
        .filter(|u| seen.insert(*u))
        .collect();
    if n >= all.len() {
        return all;
    }
    (0..n).map(|k| all[k * all.len() / n]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_take_consecutive_users_and_wrap_around_so_they_overlap() {
        assert_eq!(group_members(0, 3, 10), [0, 1, 2]);
        assert_eq!(group_members(3, 3, 10), [9, 0, 1]);
        // 10 groups of 1000 over 3000 users: group 3 starts where group 0 did.
        assert_eq!(group_members(3, 1000, 3000), group_members(0, 1000, 3000));
    }

    #[test]
    fn a_group_larger_than_the_user_count_lists_each_user_once() {
        let members = group_members(1, 5, 3);
        assert_eq!(members.len(), 3);
        let mut sorted = members.clone();
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2]);
        assert!(group_members(0, 5, 0).is_empty());
    }

    #[test]
    fn patch_count_is_the_ceiling_of_members_over_batch() {
        let chunks = group_members(0, 100, 2000).chunks(10).count();
        assert_eq!(chunks, 10);
        let chunks = group_members(0, 101, 2000).chunks(10).count();
        assert_eq!(chunks, 11);
    }

    #[test]
    fn the_convergence_sample_covers_every_group() {
        let groups: Vec<Vec<usize>> = (0..10).map(|g| group_members(g, 100, 3000)).collect();
        let sample = spread_sample(&groups, 20);
        assert_eq!(sample.len(), 20);
        for g in &groups {
            assert!(sample.iter().any(|u| g.contains(u)));
        }
        assert_eq!(spread_sample(&groups, 5000).len(), 1000);
    }

    #[test]
    fn filter_values_are_quoted_and_escaped() {
        assert_eq!(filter_eq("userName", "a\"b@x"), r#"userName eq "a\"b@x""#);
    }

    #[test]
    fn member_patch_has_entra_shape() {
        let body = add_members(&["a".into(), "b".into()]);
        assert_eq!(
            body,
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}]})
        );
    }
}
