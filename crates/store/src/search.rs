//! The search document: a copy of a resource body in which every case-insensitive string is
//! folded by Unicode compatibility caseless matching (`scim::text::fold`) and every dateTime is rewritten as fixed-width UTC.
//!
//! Filters run against it rather than against the body because SQLite's `lower()` only folds
//! ASCII and PostgreSQL's depends on the cluster's locale; folding in Rust makes SQL agree
//! exactly with `scim`'s in-memory evaluator on both databases, and fixed-width UTC makes
//! dateTime order equal string order. The body itself stays exactly as the client sent it.

use scim::schema::{AttrType, Attribute, Registry, ResourceKind};
use serde_json::{Map, Value};

/// Folds a case-insensitive string the way filters compare it (`scim::text::fold`).
pub fn fold(s: &str) -> String {
    scim::text::fold(s)
}

/// Rewrites an RFC 3339 dateTime as fixed-width UTC with nanoseconds, or `None` if unparseable.
pub fn normalize_datetime(s: &str) -> Option<String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.to_utc().format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string())
}

/// The search document of a canonical body.
pub fn search_document(registry: &Registry, kind: ResourceKind, body: &Value) -> Value {
    let Some(obj) = body.as_object() else {
        return body.clone();
    };
    let core = registry.core_schema(kind);
    let mut out = Map::with_capacity(obj.len());
    for (key, value) in obj {
        let folded = if let Some(ext) = registry.extension(kind, key) {
            fold_object(&ext.attributes, value)
        } else {
            match core
                .attribute(key)
                .or_else(|| registry.common_attributes().iter().find(|a| a.name == *key))
            {
                Some(attr) => fold_value(attr, value),
                None => value.clone(),
            }
        };
        out.insert(key.clone(), folded);
    }
    Value::Object(out)
}

fn fold_object(attrs: &[Attribute], value: &Value) -> Value {
    let Some(obj) = value.as_object() else {
        return value.clone();
    };
    let out = obj
        .iter()
        .map(|(k, v)| {
            let folded = match attrs.iter().find(|a| a.name == *k) {
                Some(attr) => fold_value(attr, v),
                None => v.clone(),
            };
            (k.clone(), folded)
        })
        .collect();
    Value::Object(out)
}

fn fold_value(attr: &Attribute, value: &Value) -> Value {
    match value {
        Value::Array(items) if attr.multi_valued => Value::Array(
            items
                .iter()
                .map(|v| fold_scalar_or_complex(attr, v))
                .collect(),
        ),
        v => fold_scalar_or_complex(attr, v),
    }
}

fn fold_scalar_or_complex(attr: &Attribute, value: &Value) -> Value {
    match (attr.ty, value) {
        (AttrType::Complex, v) => fold_object(&attr.sub_attributes, v),
        (AttrType::DateTime, Value::String(s)) => {
            Value::String(normalize_datetime(s).unwrap_or_else(|| s.clone()))
        }
        (AttrType::String | AttrType::Reference, Value::String(s)) if !attr.case_exact => {
            Value::String(fold(s))
        }
        (_, v) => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn case_insensitive_strings_fold_and_case_exact_ones_do_not() {
        let reg = Registry::new();
        let body = json!({
            "userName": "ÉLODIE@Example.com",
            "externalId": "AbC",
            "emails": [{"value": "X@Y.COM", "type": "Work", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "manager": {"value": "M1"}}
        });
        let doc = search_document(&reg, ResourceKind::User, &body);
        assert_eq!(doc["userName"], "élodie@example.com");
        assert_eq!(doc["externalId"], "AbC");
        assert_eq!(
            doc["emails"][0],
            json!({"value": "x@y.com", "type": "work", "primary": true})
        );
        assert_eq!(
            doc["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            "r&d"
        );
    }

    #[test]
    fn datetimes_normalise_to_fixed_width_utc() {
        assert_eq!(
            normalize_datetime("2011-05-13T06:42:34+02:00").unwrap(),
            "2011-05-13T04:42:34.000000000Z"
        );
    }
}
