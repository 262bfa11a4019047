//! What two deployments may legitimately answer differently, taken out before comparing:
//! server-chosen ids (`id`, member and group `value`s, `$ref`s), `meta` (timestamps,
//! versions, locations), each side's base URL, and the order of multi-valued attributes
//! and list pages. Objects come out with sorted keys, so `to_string` is canonical.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Arrays whose order carries no meaning; sorted by their canonical text.
const UNORDERED: &[&str] = &[
    "Resources",
    "members",
    "groups",
    "emails",
    "phoneNumbers",
    "addresses",
    "roles",
    "ims",
    "photos",
    "entitlements",
    "x509Certificates",
];

/// One side's view: its ids' symbolic labels and its base URL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Norm<'a> {
    /// id → a label both sides share (`user#3` during the run, `user:alice` at the end).
    pub(crate) labels: &'a HashMap<String, String>,
    /// Replaced by `{base}` wherever it appears (tenant names may differ between sides).
    pub(crate) base: &'a str,
    /// Drop users' `groups`: it is recomputed asynchronously after membership changes
    /// (the README's fan-out), so two sides answer it alike only once both are quiet.
    pub(crate) drop_groups: bool,
}

pub(crate) fn normalize(v: &Value, n: Norm<'_>) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m
                .keys()
                .filter(|k| !matches!(k.as_str(), "id" | "meta" | "$ref"))
                .filter(|k| !(n.drop_groups && k.as_str() == "groups"))
                .collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                let value = &m[k.as_str()];
                let value = match (k.as_str(), value) {
                    ("members" | "groups", Value::Array(items)) => {
                        Value::Array(items.iter().map(|i| reference(i, n)).collect())
                    }
                    _ => normalize(value, n),
                };
                out.insert(k.clone(), sorted_if_unordered(k, value));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| normalize(i, n)).collect()),
        Value::String(s) => Value::String(string(s, n)),
        other => other.clone(),
    }
}

/// A member or group entry: its `value` becomes the shared label, or disappears (keeping
/// `display`) when the id is not one this side is known to have created.
fn reference(item: &Value, n: Norm<'_>) -> Value {
    let Value::Object(m) = item else {
        return normalize(item, n);
    };
    let mut m = m.clone();
    if let Some(Value::String(id)) = m.get("value") {
        match n.labels.get(id) {
            Some(label) => {
                m.insert("value".into(), Value::String(label.clone()));
            }
            None => {
                m.remove("value");
            }
        }
    }
    normalize(&Value::Object(m), n)
}

fn string(s: &str, n: Norm<'_>) -> String {
    if let Some(label) = n.labels.get(s) {
        return label.clone();
    }
    let s = with_labels(s, n.labels);
    if !n.base.is_empty() && s.contains(n.base) {
        return s.replace(n.base, "{base}");
    }
    s
}

/// `s` with every known id inside it (a generated value may quote one with text around it,
/// e.g. `"{id}:"`) replaced by its label. Ids are hyphenated UUIDs, so only such runs are
/// looked up.
fn with_labels(s: &str, labels: &HashMap<String, String>) -> String {
    const LEN: usize = 36;
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let (mut copied, mut i) = (0, 0);
    while i + LEN <= bytes.len() {
        if is_uuid(&bytes[i..i + LEN])
            && let Some(label) = labels.get(&s[i..i + LEN])
        {
            out.push_str(&s[copied..i]);
            out.push_str(label);
            i += LEN;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[copied..]);
    out
}

/// 8-4-4-4-12 hex digits.
fn is_uuid(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

fn sorted_if_unordered(key: &str, v: Value) -> Value {
    match v {
        Value::Array(mut items) if UNORDERED.contains(&key) => {
            items.sort_by_cached_key(Value::to_string);
            Value::Array(items)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_meta_and_refs_go_and_members_are_mapped_to_labels_and_sorted() {
        let labels_a = HashMap::from([
            ("a-u1".to_owned(), "user#1".to_owned()),
            ("a-u2".to_owned(), "user#2".to_owned()),
        ]);
        let labels_b = HashMap::from([
            ("b-u1".to_owned(), "user#1".to_owned()),
            ("b-u2".to_owned(), "user#2".to_owned()),
        ]);
        let a = json!({
            "id": "a-g", "displayName": "Eng",
            "meta": {"version": "W/\"1\"", "location": "http://a/scim/v2/t1/Groups/a-g"},
            "members": [
                {"value": "a-u2", "display": "bob", "$ref": "http://a/scim/v2/t1/Users/a-u2"},
                {"value": "a-u1", "display": "alice", "$ref": "http://a/scim/v2/t1/Users/a-u1"},
                {"value": "a-stranger", "display": "eve"}
            ]
        });
        let b = json!({
            "members": [
                {"display": "alice", "value": "b-u1", "$ref": "http://b/scim/v2/t9/Users/b-u1"},
                {"value": "b-other-stranger", "display": "eve"},
                {"value": "b-u2", "display": "bob", "$ref": "http://b/scim/v2/t9/Users/b-u2"}
            ],
            "displayName": "Eng", "id": "b-g",
            "meta": {"version": "W/\"7\""}
        });
        let na = normalize(
            &a,
            Norm {
                labels: &labels_a,
                base: "http://a/scim/v2/t1",
                drop_groups: false,
            },
        );
        let nb = normalize(
            &b,
            Norm {
                labels: &labels_b,
                base: "http://b/scim/v2/t9",
                drop_groups: false,
            },
        );
        assert_eq!(na, nb);
        assert_eq!(na.to_string(), nb.to_string());
        assert_eq!(
            na,
            json!({"displayName": "Eng", "members": [
                {"display": "alice", "value": "user#1"},
                {"display": "bob", "value": "user#2"},
                {"display": "eve"}
            ]})
        );
    }

    #[test]
    fn known_ids_inside_other_text_are_replaced_too() {
        let a = "01a25318-84e5-7669-b0ab-a92e0014784f";
        let labels = HashMap::from([(a.to_owned(), "user#1".to_owned())]);
        let n = Norm {
            labels: &labels,
            base: "",
            drop_groups: false,
        };
        assert_eq!(string(&format!("{a}:"), n), "user#1:");
        assert_eq!(string(&format!("x{a}{a}é"), n), "xuser#1user#1é");
        // An unknown UUID and near-UUIDs stay as they are.
        let other = "01a25318-84e5-7669-b0ab-a92e0014784e";
        assert_eq!(string(&format!("{other}:"), n), format!("{other}:"));
        assert_eq!(string("01a25318_84e5", n), "01a25318_84e5");
    }

    #[test]
    fn other_ids_and_base_urls_in_strings_are_replaced() {
        let labels = HashMap::from([("a-u1".to_owned(), "user#1".to_owned())]);
        let v = json!({"manager": {"value": "a-u1"}, "x": "see http://a/t1/Users", "groups": []});
        let n = normalize(
            &v,
            Norm {
                labels: &labels,
                base: "http://a/t1",
                drop_groups: true,
            },
        );
        assert_eq!(
            n,
            json!({"manager": {"value": "user#1"}, "x": "see {base}/Users"})
        );
    }
}
