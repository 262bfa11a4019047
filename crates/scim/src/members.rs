//! Group membership as data: the [`Member`] references a client sends, and the [`MembersDelta`]
//! a PATCH produces for the store.
//!
//! A group body in storage never holds `members` (memberships are rows, so a 10 000-member
//! group does not turn every PATCH into a rewrite of one huge JSON document). Create/replace
//! bodies hand their members over through [`take_members`]; PATCH hands over a delta whose
//! parts compose in operation order, so the store applies one small change: when `clear`,
//! delete every membership and insert `add`; otherwise delete `remove` and insert `add`,
//! ignoring memberships that already exist. That makes re-adding a member and removing a
//! non-member no-ops (ENTRA §13.7) without the PATCH engine knowing the current members.
//!
//! Member ids are compared exactly (`value` is an `id`, which is caseExact). Clients add
//! hints such as `display`, `displayName` or `"$ref": null` to member objects; `display` is
//! read-only (RFC 7643 §4.2) and the rest carry nothing to store, so they are ignored.

use crate::{Result, ScimError};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// One member reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's `id` (the `value` sub-attribute).
    pub value: String,
    /// `"User"` or `"Group"` when the client said (`type`, or a `$ref` naming `/Users/` or
    /// `/Groups/`); `None` leaves it to the store to look the id up.
    pub kind: Option<String>,
    /// The member's display name. Never taken from client input (it is read-only); the store
    /// fills it in when it renders members.
    pub display: Option<String>,
}

impl Member {
    /// A member with only an id.
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            kind: None,
            display: None,
        }
    }

    /// Sets the member type.
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }
}

/// The membership change a PATCH makes, normalised so that operations compose in order.
///
/// Invariants kept by the methods: a value is never both in `add` and in `remove`; `add` and
/// `remove` hold each value once; when `clear` is set, `remove` is empty (everything goes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembersDelta {
    /// Delete every current membership before inserting `add`.
    pub clear: bool,
    /// Memberships to insert (existing ones are left as they are).
    pub add: Vec<Member>,
    /// Member ids to delete (absent ones are ignored).
    pub remove: Vec<String>,
}

impl MembersDelta {
    /// Whether the delta changes nothing.
    pub fn is_empty(&self) -> bool {
        !self.clear && self.add.is_empty() && self.remove.is_empty()
    }

    /// Adds a member; a later `type` refines an earlier add of the same id.
    pub fn add_member(&mut self, member: Member) {
        self.add_members([member]);
    }

    /// Adds members in order, in time linear in the delta's size (Entra adds thousands of
    /// members to a group in a few requests).
    pub fn add_members(&mut self, members: impl IntoIterator<Item = Member>) {
        let mut index: HashMap<String, usize> = self
            .add
            .iter()
            .enumerate()
            .map(|(i, m)| (m.value.clone(), i))
            .collect();
        let mut added: HashSet<String> = HashSet::new();
        for member in members {
            added.insert(member.value.clone());
            match index.get(&member.value) {
                Some(&i) => {
                    if member.kind.is_some() {
                        self.add[i].kind = member.kind;
                    }
                }
                None => {
                    index.insert(member.value.clone(), self.add.len());
                    self.add.push(member);
                }
            }
        }
        if !added.is_empty() {
            self.remove.retain(|v| !added.contains(v));
        }
    }

    /// Removes a member by id.
    pub fn remove_member(&mut self, value: &str) {
        self.remove_members([value]);
    }

    /// Removes members by id, in order, in time linear in the delta's size.
    pub fn remove_members<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) {
        let values: Vec<&str> = values.into_iter().collect();
        let gone: HashSet<&str> = values.iter().copied().collect();
        self.add.retain(|m| !gone.contains(m.value.as_str()));
        if self.clear {
            return;
        }
        let mut listed: HashSet<String> = self.remove.iter().cloned().collect();
        for v in values {
            if listed.insert(v.to_owned()) {
                self.remove.push(v.to_owned());
            }
        }
    }

    /// Removes every member, including any added earlier in the same request.
    pub fn clear_all(&mut self) {
        self.clear = true;
        self.add.clear();
        self.remove.clear();
    }
}

/// Removes `members` from a create/replace body (any key case) and returns the members,
/// deduplicated by id in first-seen order. A body without members yields an empty list.
pub fn take_members(body: &mut Value) -> Result<Vec<Member>> {
    let Value::Object(obj) = body else {
        return Err(ScimError::invalid_syntax(
            "the resource body must be a JSON object",
        ));
    };
    let keys: Vec<String> = obj
        .keys()
        .filter(|k| k.eq_ignore_ascii_case("members"))
        .cloned()
        .collect();
    let mut members: Vec<Member> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for key in keys {
        let value = obj.shift_remove(&key).unwrap_or(Value::Null);
        for m in parse_members(value)? {
            match index.get(&m.value) {
                Some(&i) if members[i].kind.is_none() => members[i].kind = m.kind,
                Some(_) => {}
                None => {
                    index.insert(m.value.clone(), members.len());
                    members.push(m);
                }
            }
        }
    }
    Ok(members)
}

/// Reads the member references of a `members` value: an array of member objects, one object,
/// or (leniently, as the SCIMReferenceCode tests send) a bare id string or array of strings.
/// `null` and `[]` are no members.
pub fn parse_members(value: Value) -> Result<Vec<Member>> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        single => vec![single],
    };
    items
        .into_iter()
        .filter(|v| !v.is_null())
        .map(parse_member)
        .collect()
}

fn parse_member(item: Value) -> Result<Member> {
    let obj = match item {
        Value::String(s) => return member_from_id(s),
        Value::Object(obj) => obj,
        _ => {
            return Err(ScimError::invalid_value(
                "each value of 'members' must be an object with a 'value'",
            ));
        }
    };
    let value = match field(&obj, "value") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => {
            return Err(ScimError::invalid_value(
                "attribute 'members.value' is required for each member",
            ));
        }
        Some(_) => {
            return Err(ScimError::invalid_value(
                "attribute 'members.value' (string) must be a string",
            ));
        }
    };
    let mut member = member_from_id(value)?;
    member.kind = match field(&obj, "type") {
        None | Some(Value::Null) => field(&obj, "$ref")
            .and_then(Value::as_str)
            .and_then(kind_from_ref),
        Some(Value::String(t)) if t.eq_ignore_ascii_case("user") => Some("User".to_owned()),
        Some(Value::String(t)) if t.eq_ignore_ascii_case("group") => Some("Group".to_owned()),
        Some(_) => {
            return Err(ScimError::invalid_value(
                "attribute 'members.type' must be \"User\" or \"Group\"",
            ));
        }
    };
    Ok(member)
}

fn member_from_id(value: String) -> Result<Member> {
    if value.trim().is_empty() {
        return Err(ScimError::invalid_value(
            "attribute 'members.value' must not be empty",
        ));
    }
    Ok(Member::new(value))
}

/// The member value's key, matched case-insensitively (`Value`, `TYPE`).
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// `…/Users/{id}` or `…/Groups/{id}` tells the member type when `type` is missing.
fn kind_from_ref(r: &str) -> Option<String> {
    let lower = r.to_ascii_lowercase();
    if lower.contains("/groups/") {
        Some("Group".to_owned())
    } else if lower.contains("/users/") {
        Some("User".to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn member_objects_with_null_ref_and_display_hints_parse_to_ids() {
        let got = parse_members(json!([
            {"$ref": null, "value": "u1"},
            {"displayName": "new User", "value": "u2"},
            {"Value": "u3", "Type": "group"},
        ]))
        .unwrap();
        assert_eq!(
            got,
            vec![
                Member::new("u1"),
                Member::new("u2"),
                Member::new("u3").with_kind("Group")
            ]
        );
    }

    #[test]
    fn bare_string_member_values_are_accepted() {
        assert_eq!(
            parse_members(json!("string id 1")).unwrap(),
            vec![Member::new("string id 1")]
        );
        assert_eq!(
            parse_members(json!(["a", "b"])).unwrap(),
            vec![Member::new("a"), Member::new("b")]
        );
    }

    #[test]
    fn member_type_is_inferred_from_ref_when_absent() {
        let got = parse_members(json!([
            {"value": "g1", "$ref": "https://x/scim/v2/Groups/g1"},
            {"value": "u1", "$ref": "../Users/u1"},
            {"value": "z", "$ref": "https://x/other/z"},
        ]))
        .unwrap();
        assert_eq!(
            got,
            vec![
                Member::new("g1").with_kind("Group"),
                Member::new("u1").with_kind("User"),
                Member::new("z")
            ]
        );
    }

    #[test]
    fn member_without_value_or_with_bad_type_is_invalid_value() {
        for bad in [
            json!([{"display": "x"}]),
            json!([{"value": 5}]),
            json!([{"value": ""}]),
            json!([{"value": "a", "type": "Robot"}]),
            json!([7]),
        ] {
            let e = parse_members(bad.clone()).unwrap_err();
            assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidValue), "{bad}");
        }
    }

    #[test]
    fn null_and_empty_members_are_no_members() {
        assert!(parse_members(json!(null)).unwrap().is_empty());
        assert!(parse_members(json!([])).unwrap().is_empty());
        assert!(parse_members(json!([null])).unwrap().is_empty());
    }

    #[test]
    fn take_members_removes_the_key_and_deduplicates_by_value() {
        let mut body = json!({"displayName": "G", "Members": [{"value": "a"}, {"value": "b"}, {"value": "a", "type": "User"}]});
        let got = take_members(&mut body).unwrap();
        assert_eq!(
            got,
            vec![Member::new("a").with_kind("User"), Member::new("b")]
        );
        assert_eq!(body, json!({"displayName": "G"}));
    }

    #[test]
    fn take_members_of_a_body_without_members_is_empty_and_leaves_the_body() {
        let mut body = json!({"displayName": "G"});
        assert!(take_members(&mut body).unwrap().is_empty());
        assert_eq!(body, json!({"displayName": "G"}));
        assert!(take_members(&mut json!([1])).is_err());
    }

    #[test]
    fn add_after_remove_cancels_the_remove() {
        let mut d = MembersDelta::default();
        d.remove_member("x");
        d.add_member(Member::new("x"));
        assert_eq!(
            d,
            MembersDelta {
                clear: false,
                add: vec![Member::new("x")],
                remove: vec![]
            }
        );
    }

    #[test]
    fn remove_after_add_cancels_the_add_and_deletes() {
        let mut d = MembersDelta::default();
        d.add_member(Member::new("x"));
        d.remove_member("x");
        assert_eq!(
            d,
            MembersDelta {
                clear: false,
                add: vec![],
                remove: vec!["x".to_owned()]
            }
        );
    }

    #[test]
    fn clear_discards_earlier_adds_and_later_removes_only_trim_adds() {
        let mut d = MembersDelta::default();
        d.add_member(Member::new("a"));
        d.remove_member("b");
        d.clear_all();
        d.add_member(Member::new("c"));
        d.add_member(Member::new("d"));
        d.remove_member("c");
        d.remove_member("e");
        assert_eq!(
            d,
            MembersDelta {
                clear: true,
                add: vec![Member::new("d")],
                remove: vec![]
            }
        );
        assert!(!d.is_empty());
    }

    #[test]
    fn repeated_adds_and_removes_are_kept_once() {
        let mut d = MembersDelta::default();
        d.add_member(Member::new("a"));
        d.add_member(Member::new("a").with_kind("User"));
        d.add_member(Member::new("a"));
        d.remove_member("b");
        d.remove_member("b");
        assert_eq!(d.add, vec![Member::new("a").with_kind("User")]);
        assert_eq!(d.remove, vec!["b".to_owned()]);
        assert!(MembersDelta::default().is_empty());
    }

    #[test]
    fn bulk_adds_and_removes_keep_order_and_normalisation() {
        let mut d = MembersDelta::default();
        d.add_members((0..10_000).map(|i| Member::new(format!("u{i}"))));
        let evens: Vec<String> = (0..10_000).step_by(2).map(|i| format!("u{i}")).collect();
        d.remove_members(evens.iter().map(String::as_str));
        d.add_members([Member::new("u0"), Member::new("u1").with_kind("User")]);
        assert_eq!(d.add.len(), 5_001);
        assert_eq!(d.add[0], Member::new("u1").with_kind("User"));
        assert_eq!(d.add[5_000], Member::new("u0"));
        assert_eq!(d.remove.len(), 4_999);
        assert_eq!(d.remove[0], "u2");
        let removed: HashSet<&String> = d.remove.iter().collect();
        assert!(d.add.iter().all(|m| !removed.contains(&m.value)));
    }
}
