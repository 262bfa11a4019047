//! `sortBy` → an ORDER BY expression (RFC 7644 §3.4.2.3). Case-insensitive strings sort by
//! their folded form, so `sortBy=userName` orders the way filters compare.

use super::filter::{Source, Translator};
use scim::path::AttrPath;
use scim::schema::AttrType;
use scim::{Result, ScimError};
use sea_orm::DbBackend;
use sea_orm::sea_query::Expr;

impl Translator<'_> {
    /// The sort key of a single-valued attribute.
    pub(crate) fn sort_key(&self, path: &AttrPath) -> Result<Expr> {
        let r = self.registry.resolve(self.kind, path).ok_or_else(|| {
            ScimError::invalid_value(format!("sortBy attribute '{path}' is not defined"))
        })?;
        let canonical = r.canonical_path();
        let column = match (
            canonical.name.as_str(),
            canonical.sub.as_deref(),
            r.in_extension,
        ) {
            ("id", None, false) => Some("id"),
            ("userName", None, false) => Some("user_name_fold"),
            ("displayName", None, false) => Some("display_name_fold"),
            ("externalId", None, false) => Some("external_id"),
            ("meta", Some("created"), false) => Some("created"),
            ("meta", Some("lastModified"), false) => Some("last_modified"),
            _ => None,
        };
        if let Some(c) = column {
            // Code-point order on both databases, as filters compare (the cluster's default
            // collation on PostgreSQL would ignore punctuation).
            let text = !matches!(c, "id" | "created" | "last_modified");
            return Ok(if text && self.backend == DbBackend::Postgres {
                Expr::cust(format!("{c} COLLATE \"C\""))
            } else {
                Expr::cust(c)
            });
        }
        if r.attr.multi_valued || r.target().ty == AttrType::Complex || r.attr.name == "meta" {
            return Err(ScimError::invalid_value(format!(
                "sortBy '{path}' must name a single-valued simple attribute"
            )));
        }
        let mut keys = Vec::new();
        if r.in_extension {
            keys.push(r.schema.to_owned());
        }
        keys.push(r.attr.name.clone());
        if let Some(sub) = r.sub {
            keys.push(sub.name.clone());
        }
        let numeric = matches!(r.target().ty, AttrType::Integer | AttrType::Decimal);
        let x = self.text(&Source::Doc(keys));
        Ok(match self.backend {
            DbBackend::Postgres if numeric => self.cust("CAST(? AS numeric)", [x]),
            DbBackend::Postgres => self.cust("? COLLATE \"C\"", [x]),
            _ => x,
        })
    }
}
