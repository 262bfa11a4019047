//! Filter AST → a sea-query boolean expression with every value bound, never spliced.
//!
//! Semantics mirror `scim`'s in-memory evaluator exactly (the differential test checks it):
//! - case-insensitive strings compare against the folded search document (see `search.rs`)
//!   with the folded needle; case-exact ones against the same document, which keeps them as sent;
//! - attributes with columns (`id`, `userName`, `externalId`, `displayName`, `active`,
//!   `meta.created`, `meta.lastModified`) use their indexed columns;
//! - multi-valued attributes match when any element matches (`EXISTS` over
//!   `jsonb_array_elements` / `json_each`), value paths are one `EXISTS` with the inner filter;
//! - every leaf is written so it is never SQL `NULL`, so `not` and `ne` (= `not eq`) are exact;
//! - anything that cannot be evaluated exactly is `400 invalidFilter`, never a wrong answer.

use crate::match_index;
use crate::search::{fold, normalize_datetime};
use scim::filter::{CompValue, CompareOp, Filter};
use scim::path::AttrPath;
use scim::schema::{AttrType, Attribute, Registry, ResourceKind};
use scim::{Result, ScimError};
use sea_orm::DbBackend;
use sea_orm::sea_query::{Expr, ExprTrait, Value};

/// Translates resolved filters for one backend and resource kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Translator<'a> {
    pub(crate) backend: DbBackend,
    pub(crate) registry: &'a Registry,
    pub(crate) kind: ResourceKind,
    /// The tenant the query is scoped to: the matching index is looked up in it.
    pub(crate) tenant: uuid::Uuid,
}

/// Where a leaf reads its value from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A JSON value at `keys` below the row's search document.
    Doc(Vec<String>),
    /// A JSON value at `keys` below the current array element (`[]` = the element itself).
    Elem(Vec<String>),
}

/// Columns that mirror attributes.
#[derive(Debug, Clone, Copy)]
enum Column {
    Id,
    Text(&'static str),
    Bool(&'static str),
    Time(&'static str),
}

fn false_expr() -> Expr {
    Expr::cust("1 = 0")
}

fn true_expr() -> Expr {
    Expr::cust("1 = 1")
}

impl Translator<'_> {
    /// A custom expression whose `?` placeholders take `args` in order, on either backend.
    pub(crate) fn cust(
        &self,
        sql: impl Into<String>,
        args: impl IntoIterator<Item = Expr>,
    ) -> Expr {
        let sql = sql.into();
        let sql = if self.backend == DbBackend::Postgres {
            numbered(&sql)
        } else {
            sql
        };
        Expr::cust_with_exprs(sql, args)
    }

    /// [`Self::cust`] with bound values.
    pub(crate) fn cust_vals<V: Into<Value>>(
        &self,
        sql: impl Into<String>,
        vals: impl IntoIterator<Item = V>,
    ) -> Expr {
        self.cust(sql, vals.into_iter().map(|v| Expr::val(v.into())))
    }

    /// The condition for a filter already resolved against the registry.
    pub(crate) fn condition(&self, f: &Filter) -> Result<Expr> {
        Ok(match f {
            Filter::And(a, b) => self.condition(a)?.and(self.condition(b)?),
            Filter::Or(a, b) => self.condition(a)?.or(self.condition(b)?),
            Filter::Not(a) => self.condition(a)?.not(),
            Filter::Present(path) => self.present(path)?,
            Filter::Compare(path, op, value) => self.compare(path, *op, value)?,
            Filter::ValuePath(path, inner) => self.value_path(path, inner)?,
        })
    }

    fn resolve<'r>(
        &'r self,
        path: &AttrPath,
    ) -> Result<(&'r Attribute, Option<&'r Attribute>, Vec<String>)> {
        let r = self.registry.resolve(self.kind, path).ok_or_else(|| {
            ScimError::invalid_filter(format!("attribute '{path}' is not defined"))
        })?;
        let mut keys = Vec::with_capacity(3);
        if r.in_extension {
            keys.push(r.schema.to_owned());
        }
        keys.push(r.attr.name.clone());
        Ok((r.attr, r.sub, keys))
    }

    fn column(&self, path: &AttrPath) -> Option<Column> {
        if path.urn.is_some() {
            return None;
        }
        let sub = path.sub.as_deref();
        Some(match (self.kind, path.name.as_str(), sub) {
            (_, "id", None) => Column::Id,
            (_, "externalId", None) => Column::Text("external_id"),
            (ResourceKind::User, "userName", None) => Column::Text("user_name_fold"),
            (ResourceKind::User, "displayName", None) => Column::Text("display_name_fold"),
            (ResourceKind::Group, "displayName", None) => Column::Text("display_name_fold"),
            (ResourceKind::User, "active", None) => Column::Bool("active"),
            (_, "meta", Some("created")) => Column::Time("created"),
            (_, "meta", Some("lastModified")) => Column::Time("last_modified"),
            _ => return None,
        })
    }

    fn unsupported(path: &AttrPath, why: &str) -> ScimError {
        ScimError::invalid_filter(format!("filtering on '{path}' {why}"))
    }

    fn present(&self, path: &AttrPath) -> Result<Expr> {
        if let Some(col) = self.column(path) {
            return Ok(match col {
                Column::Id => true_expr(),
                Column::Text(c) => Expr::cust(format!("({c} IS NOT NULL AND {c} <> '')")),
                Column::Bool(c) | Column::Time(c) => Expr::cust(format!("({c} IS NOT NULL)")),
            });
        }
        if self.is_members(path) {
            return self.members_exists(None);
        }
        let (attr, sub, keys) = self.resolve(path)?;
        self.reject_unstored(path, attr)?;
        match (attr.multi_valued, sub) {
            (true, Some(sub)) => self.exists(
                &keys,
                self.leaf_present(sub, &Source::Elem(vec![sub.name.clone()])),
            ),
            (true, None) => Ok(self.leaf_present(attr, &Source::Doc(keys))),
            (false, Some(sub)) => {
                let mut keys = keys;
                keys.push(sub.name.clone());
                Ok(self.leaf_present(sub, &Source::Doc(keys)))
            }
            (false, None) => Ok(self.leaf_present(attr, &Source::Doc(keys))),
        }
    }

    fn compare(&self, path: &AttrPath, op: CompareOp, value: &CompValue) -> Result<Expr> {
        match (op, value) {
            (CompareOp::Eq, CompValue::Null) => return Ok(self.present(path)?.not()),
            (CompareOp::Ne, CompValue::Null) => return self.present(path),
            (_, CompValue::Null) => {
                return Err(ScimError::invalid_filter(
                    "null can only be compared with eq or ne",
                ));
            }
            (CompareOp::Ne, _) => return Ok(self.compare(path, CompareOp::Eq, value)?.not()),
            _ => {}
        }
        if let Some(col) = self.column(path) {
            return self.column_compare(path, col, op, value);
        }
        if self.is_members(path) {
            return self.members_compare(path, op, value);
        }
        let (attr, sub, keys) = self.resolve(path)?;
        self.reject_unstored(path, attr)?;
        match (attr.multi_valued, sub) {
            (true, Some(sub)) => {
                let leaf =
                    self.leaf(path, sub, &Source::Elem(vec![sub.name.clone()]), op, value)?;
                let cond = self.exists(&keys, leaf)?;
                Ok(self.narrowed(&keys, Some(&sub.name), sub, op, value, cond))
            }
            (true, None) if attr.ty != AttrType::Complex => {
                let leaf = self.leaf(path, attr, &Source::Elem(Vec::new()), op, value)?;
                self.exists(&keys, leaf)
            }
            (false, Some(sub)) => {
                let mut keys = keys;
                keys.push(sub.name.clone());
                self.leaf(path, sub, &Source::Doc(keys), op, value)
            }
            (false, None) if attr.ty != AttrType::Complex => {
                let cond = self.leaf(path, attr, &Source::Doc(keys.clone()), op, value)?;
                Ok(self.narrowed(&keys, None, attr, op, value, cond))
            }
            _ => Err(Self::unsupported(path, "needs a sub-attribute")),
        }
    }

    /// The matching-index attribute of `keys` (+ `sub`), if it has one (see `match_index`).
    fn match_attr(&self, keys: &[String], sub: Option<&str>) -> Option<match_index::Attr> {
        if self.kind != ResourceKind::User {
            return None;
        }
        match (keys, sub) {
            ([a], Some("value")) if a == "emails" => Some(match_index::Attr::EmailValue),
            ([schema, a], None)
                if schema == scim::schema::ENTERPRISE_USER && a == "employeeNumber" =>
            {
                Some(match_index::Attr::EmployeeNumber)
            }
            _ => None,
        }
    }

    /// `cond` — the exact condition of an `eq` leaf — narrowed first to the users the matching
    /// index lists for the value, so that the lookup is an index search, not a scan of the
    /// tenant. `cond` still decides (the index holds hashes, and knows no `type`), and every
    /// user `cond` holds for is in the index, so the result is exactly `cond`'s.
    fn narrowed(
        &self,
        keys: &[String],
        sub: Option<&str>,
        attr: &Attribute,
        op: CompareOp,
        value: &CompValue,
        cond: Expr,
    ) -> Expr {
        let (Some(index), CompareOp::Eq, CompValue::Str(s)) =
            (self.match_attr(keys, sub), op, value)
        else {
            return cond;
        };
        let needle = if attr.case_exact { s.clone() } else { fold(s) };
        self.cust(
            "(id IN (SELECT user_id FROM user_match WHERE tenant_id = ? AND attr = ? AND value_hash = ?) AND ?)",
            [
                Expr::val(self.tenant),
                Expr::val(index as i16),
                Expr::val(match_index::hash(&needle)),
                cond,
            ],
        )
    }

    fn value_path(&self, path: &AttrPath, inner: &Filter) -> Result<Expr> {
        if self.is_members(path) {
            return self.members_value_path(path, inner);
        }
        let (attr, _, keys) = self.resolve(path)?;
        self.reject_unstored(path, attr)?;
        if !attr.multi_valued || attr.ty != AttrType::Complex {
            return Err(Self::unsupported(
                path,
                "with [ ] needs a multi-valued complex attribute",
            ));
        }
        let cond = self.element_condition(attr, inner)?;
        let cond = self.exists(&keys, cond)?;
        // `emails[type eq "work"].value eq "x"` and the like: the value is a conjunct.
        Ok(match (attr.sub("value"), eq_conjunct(inner, "value")) {
            (Some(value_attr), Some(needle)) => self.narrowed(
                &keys,
                Some("value"),
                value_attr,
                CompareOp::Eq,
                &CompValue::Str(needle.to_owned()),
                cond,
            ),
            _ => cond,
        })
    }

    /// The inner filter of a value path, evaluated on one element of `parent`.
    fn element_condition(&self, parent: &Attribute, f: &Filter) -> Result<Expr> {
        let sub_of = |p: &AttrPath| -> Result<&Attribute> {
            parent
                .sub(&p.name)
                .filter(|_| p.sub.is_none() && p.urn.is_none())
                .ok_or_else(|| {
                    ScimError::invalid_filter(format!(
                        "'{}' is not a sub-attribute of '{}'",
                        p, parent.name
                    ))
                })
        };
        Ok(match f {
            Filter::And(a, b) => self
                .element_condition(parent, a)?
                .and(self.element_condition(parent, b)?),
            Filter::Or(a, b) => self
                .element_condition(parent, a)?
                .or(self.element_condition(parent, b)?),
            Filter::Not(a) => self.element_condition(parent, a)?.not(),
            Filter::Present(p) => {
                let sub = sub_of(p)?;
                self.leaf_present(sub, &Source::Elem(vec![sub.name.clone()]))
            }
            Filter::Compare(p, op, v) => {
                let sub = sub_of(p)?;
                let src = Source::Elem(vec![sub.name.clone()]);
                match (op, v) {
                    (CompareOp::Eq, CompValue::Null) => self.leaf_present(sub, &src).not(),
                    (CompareOp::Ne, CompValue::Null) => self.leaf_present(sub, &src),
                    (CompareOp::Ne, _) => self.leaf(p, sub, &src, CompareOp::Eq, v)?.not(),
                    _ => self.leaf(p, sub, &src, *op, v)?,
                }
            }
            Filter::ValuePath(p, _) => return Err(Self::unsupported(p, "cannot nest value paths")),
        })
    }

    /// Attributes that are not stored in the body of this kind.
    fn reject_unstored(&self, path: &AttrPath, attr: &Attribute) -> Result<()> {
        match (self.kind, attr.name.as_str()) {
            (ResourceKind::User, "groups") => Err(Self::unsupported(
                path,
                "is not supported; list the group's members instead",
            )),
            (_, "meta" | "id" | "schemas" | "password") => {
                Err(Self::unsupported(path, "is not supported"))
            }
            _ => Ok(()),
        }
    }

    /// `EXISTS` over the elements of the array at `keys` in the search document.
    fn exists(&self, keys: &[String], cond: Expr) -> Result<Expr> {
        Ok(match self.backend {
            DbBackend::Postgres => {
                let arr = pg_path("search", keys, false);
                self.cust(
                    "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(?) = 'array' THEN ? ELSE '[]'::jsonb END) AS e(v) WHERE ?)",
                    [arr.clone(), arr, cond],
                )
            }
            // `LIMIT 1`: SQLite (3.51) otherwise flattens this EXISTS into a join, one row per
            // matching element, and a page's OFFSET then counted those rows — a page past the
            // matches returned a user again (found by the differential fuzzer). A subquery
            // with a LIMIT is never flattened.
            _ => self.cust(
                "EXISTS (SELECT 1 FROM json_each(search, ?) AS e WHERE ? LIMIT 1)",
                [Expr::val(sqlite_path(keys)), cond],
            ),
        })
    }

    /// The value of a source as SQL text (JSON strings unquoted).
    pub(crate) fn text(&self, src: &Source) -> Expr {
        match (self.backend, src) {
            (DbBackend::Postgres, Source::Doc(keys)) => pg_path("search", keys, true),
            (DbBackend::Postgres, Source::Elem(keys)) if keys.is_empty() => {
                Expr::cust("(e.v #>> '{}')")
            }
            (DbBackend::Postgres, Source::Elem(keys)) => pg_path("e.v", keys, true),
            (_, Source::Doc(keys)) => {
                self.cust_vals("json_extract(search, ?)", [sqlite_path(keys)])
            }
            (_, Source::Elem(keys)) if keys.is_empty() => Expr::cust("e.value"),
            (_, Source::Elem(keys)) => {
                self.cust_vals("json_extract(e.value, ?)", [sqlite_path(keys)])
            }
        }
    }

    /// The JSON type name of a source (`NULL` when absent).
    fn json_type(&self, src: &Source) -> Expr {
        match (self.backend, src) {
            (DbBackend::Postgres, Source::Doc(keys)) => {
                self.cust("jsonb_typeof(?)", [pg_path("search", keys, false)])
            }
            (DbBackend::Postgres, Source::Elem(keys)) if keys.is_empty() => {
                Expr::cust("jsonb_typeof(e.v)")
            }
            (DbBackend::Postgres, Source::Elem(keys)) => {
                self.cust("jsonb_typeof(?)", [pg_path("e.v", keys, false)])
            }
            (_, Source::Doc(keys)) => self.cust_vals("json_type(search, ?)", [sqlite_path(keys)]),
            (_, Source::Elem(keys)) if keys.is_empty() => Expr::cust("e.type"),
            (_, Source::Elem(keys)) => self.cust_vals("json_type(e.value, ?)", [sqlite_path(keys)]),
        }
    }

    /// `pr` on a source: present, not JSON null, and not "" (arrays and objects are never
    /// stored empty: `scim::value::coerce` drops them).
    fn leaf_present(&self, attr: &Attribute, src: &Source) -> Expr {
        let t = self.json_type(src);
        match attr.ty {
            AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime => self
                .cust(
                    "(? IS NOT NULL AND ? <> 'null' AND ? <> '')",
                    [t.clone(), t, self.text(src)],
                ),
            _ => self.cust("(? IS NOT NULL AND ? <> 'null')", [t.clone(), t]),
        }
    }

    /// One comparison on a JSON source.
    fn leaf(
        &self,
        path: &AttrPath,
        attr: &Attribute,
        src: &Source,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<Expr> {
        let pg = self.backend == DbBackend::Postgres;
        let x = self.text(src);
        match (attr.ty, value) {
            (AttrType::Boolean, CompValue::Bool(b)) if op == CompareOp::Eq => {
                let t = self.json_type(src);
                let word = if *b { "true" } else { "false" };
                Ok(if pg {
                    self.cust(
                        "(? IS NOT NULL AND ? = 'boolean' AND ? = ?)",
                        [t.clone(), t, x, Expr::val(word)],
                    )
                } else {
                    self.cust("(? IS NOT NULL AND ? = ?)", [t.clone(), t, Expr::val(word)])
                })
            }
            (AttrType::Integer | AttrType::Decimal, CompValue::Num(n)) => {
                let t = self.json_type(src);
                let sym = ordering_symbol(op).ok_or_else(|| {
                    Self::unsupported(path, "with this operator is not supported")
                })?;
                Ok(if pg {
                    self.cust(
                        format!("(? IS NOT NULL AND ? = 'number' AND CAST(? AS numeric) {sym} CAST(? AS numeric))"),
                        [t.clone(), t, x, Expr::val(n.to_string())],
                    )
                } else {
                    // Integers bind as integers: SQLite compares i64 exactly, like the evaluator.
                    let v = match n.as_i64() {
                        Some(i) => Expr::val(i),
                        None => Expr::val(n.as_f64().unwrap_or(f64::NAN)),
                    };
                    self.cust(
                        format!("(? IS NOT NULL AND ? IN ('integer', 'real') AND ? {sym} ?)"),
                        [t.clone(), t, x, v],
                    )
                })
            }
            (
                AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime,
                CompValue::Str(s),
            ) => {
                let needle = if attr.ty == AttrType::DateTime {
                    normalize_datetime(s).ok_or_else(|| {
                        ScimError::invalid_filter(format!("'{path}' needs a dateTime value"))
                    })?
                } else if attr.case_exact {
                    s.clone()
                } else {
                    fold(s)
                };
                Ok(self.text_leaf(x, op, needle))
            }
            _ => Err(ScimError::invalid_filter(format!(
                "'{path}' cannot be compared with this value"
            ))),
        }
    }

    /// A comparison of the text expression `x` with `needle`. Never SQL `NULL`.
    fn text_leaf(&self, x: Expr, op: CompareOp, needle: String) -> Expr {
        let pg = self.backend == DbBackend::Postgres;
        let n = Expr::val(needle.clone());
        let collate = if pg { " COLLATE \"C\"" } else { "" };
        let cmp = |sym: &str| {
            self.cust(
                format!("(? IS NOT NULL AND ?{collate} {sym} ?)"),
                [x.clone(), x.clone(), n.clone()],
            )
        };
        match op {
            // Every string contains, starts and ends with "".
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew if needle.is_empty() => {
                self.cust("(? IS NOT NULL)", [x])
            }
            CompareOp::Eq => self.cust("(? IS NOT NULL AND ? = ?)", [x.clone(), x, n]),
            CompareOp::Ne => {
                self.cust("(? IS NOT NULL AND ? = ?)", [x.clone(), x, n]).not()
            }
            CompareOp::Co if pg => {
                self.cust("(? IS NOT NULL AND strpos(?, ?) > 0)", [x.clone(), x, n])
            }
            CompareOp::Co => {
                self.cust("(? IS NOT NULL AND instr(?, ?) > 0)", [x.clone(), x, n])
            }
            CompareOp::Sw => self.cust(
                "(? IS NOT NULL AND substr(?, 1, length(?)) = ?)",
                [x.clone(), x, n.clone(), n],
            ),
            CompareOp::Ew => self.cust(
                "(? IS NOT NULL AND length(?) >= length(?) AND substr(?, length(?) - length(?) + 1) = ?)",
                [x.clone(), x.clone(), n.clone(), x.clone(), x, n.clone(), n],
            ),
            CompareOp::Gt => cmp(">"),
            CompareOp::Ge => cmp(">="),
            CompareOp::Lt => cmp("<"),
            CompareOp::Le => cmp("<="),
        }
    }

    fn column_compare(
        &self,
        path: &AttrPath,
        col: Column,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<Expr> {
        match (col, value) {
            (Column::Id, CompValue::Str(s)) if op == CompareOp::Eq => {
                Ok(match uuid::Uuid::parse_str(s) {
                    // Ids are case-exact: only the canonical text form names a resource.
                    Ok(id) if id.to_string() == *s => self.cust_vals("(id = ?)", [Value::from(id)]),
                    _ => false_expr(),
                })
            }
            (Column::Id, _) => Err(Self::unsupported(path, "supports eq, ne and pr only")),
            (Column::Text(c), CompValue::Str(s)) => {
                let needle = if c.ends_with("_fold") {
                    fold(s)
                } else {
                    s.clone()
                };
                Ok(self.text_leaf(Expr::cust(c), op, needle))
            }
            (Column::Bool(c), CompValue::Bool(b)) if op == CompareOp::Eq => {
                Ok(self.cust_vals(format!("({c} IS NOT NULL AND {c} = ?)"), [*b]))
            }
            (Column::Time(c), CompValue::Str(s)) => {
                let t = chrono::DateTime::parse_from_rfc3339(s)
                    .map_err(|_| {
                        ScimError::invalid_filter(format!("'{path}' needs a dateTime value"))
                    })?
                    .to_utc();
                let sym = ordering_symbol(op).ok_or_else(|| {
                    Self::unsupported(path, "with this operator is not supported")
                })?;
                Ok(match self.backend {
                    DbBackend::Postgres => self.cust_vals(format!("({c} {sym} ?)"), [t]),
                    // SQLite stores timestamps as text whose fraction width varies: compare instants.
                    _ => self.cust_vals(format!("(julianday({c}) {sym} julianday(?))"), [t]),
                })
            }
            _ => Err(ScimError::invalid_filter(format!(
                "'{path}' cannot be compared with this value"
            ))),
        }
    }

    fn is_members(&self, path: &AttrPath) -> bool {
        self.kind == ResourceKind::Group && path.urn.is_none() && path.name == "members"
    }

    /// `EXISTS` over the group's member edges, optionally restricted to one member id.
    fn members_exists(&self, member: Option<&str>) -> Result<Expr> {
        let base = "EXISTS (SELECT 1 FROM group_members gm WHERE gm.tenant_id = groups.tenant_id AND gm.group_id = groups.id";
        // `LIMIT 1` keeps SQLite from flattening the EXISTS into a join (see `exists`).
        Ok(match member {
            None => Expr::cust(format!("{base} LIMIT 1)")),
            Some(s) => match uuid::Uuid::parse_str(s) {
                // `members.value` is not caseExact in the Group schema: any case names the id.
                Ok(id) if id.to_string() == s.to_lowercase() => self.cust_vals(
                    format!("{base} AND gm.member_id = ? LIMIT 1)"),
                    [Value::from(id)],
                ),
                _ => false_expr(),
            },
        })
    }

    fn members_compare(&self, path: &AttrPath, op: CompareOp, value: &CompValue) -> Result<Expr> {
        match (path.sub.as_deref(), op, value) {
            (Some("value") | None, CompareOp::Eq, CompValue::Str(s)) => {
                self.members_exists(Some(s))
            }
            _ => Err(Self::unsupported(
                path,
                "supports 'members.value eq' and 'members pr' only",
            )),
        }
    }

    fn members_value_path(&self, path: &AttrPath, inner: &Filter) -> Result<Expr> {
        match inner {
            Filter::Compare(p, CompareOp::Eq, CompValue::Str(s))
                if p.name == "value" && p.sub.is_none() =>
            {
                self.members_exists(Some(s))
            }
            Filter::Or(a, b) => Ok(self
                .members_value_path(path, a)?
                .or(self.members_value_path(path, b)?)),
            _ => Err(Self::unsupported(
                path,
                "supports members[value eq \"…\"] only",
            )),
        }
    }
}

/// The string an inner filter requires sub-attribute `name` to equal, when it is one of the
/// filter's conjuncts (`value eq "x"`, `type eq "work" and value eq "x"`).
fn eq_conjunct<'f>(f: &'f Filter, name: &str) -> Option<&'f str> {
    match f {
        Filter::Compare(p, CompareOp::Eq, CompValue::Str(s))
            if p.urn.is_none() && p.sub.is_none() && p.name.eq_ignore_ascii_case(name) =>
        {
            Some(s)
        }
        Filter::And(a, b) => eq_conjunct(a, name).or_else(|| eq_conjunct(b, name)),
        _ => None,
    }
}

/// Rewrites `?` placeholders as `$1, $2, …`: sea-query only numbers `$N` in custom PostgreSQL
/// expressions, where `?` is a jsonb operator. Templates here never contain a literal `?`.
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

fn ordering_symbol(op: CompareOp) -> Option<&'static str> {
    Some(match op {
        CompareOp::Eq => "=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        _ => return None,
    })
}

/// `(base -> ? -> ? ->> ?)` (text) or `(base -> ? -> ?)` (jsonb) with the keys bound.
fn pg_path(base: &str, keys: &[String], text: bool) -> Expr {
    let mut sql = format!("({base}");
    for i in 0..keys.len() {
        sql.push_str(if text && i + 1 == keys.len() {
            " ->> ?"
        } else {
            " -> ?"
        });
    }
    sql.push(')');
    Expr::cust_with_values(numbered(&sql), keys.iter().cloned())
}

/// A SQLite JSON path `$."a"."b"`. Keys are schema names (letters, digits, `$`, `:`, `.`,
/// `-`, `_`), never client text, so quoting cannot be broken out of.
fn sqlite_path(keys: &[String]) -> String {
    let mut p = String::from("$");
    for k in keys {
        p.push_str(".\"");
        p.push_str(k);
        p.push('"');
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::user;
    use sea_orm::{EntityTrait, QueryFilter, QueryTrait};

    fn sql(backend: DbBackend, f: &str) -> String {
        let reg = Registry::new();
        let f = scim::filter::parse(f)
            .unwrap()
            .resolve(&reg, ResourceKind::User)
            .unwrap();
        let cond = Translator {
            backend,
            registry: &reg,
            kind: ResourceKind::User,
            tenant: uuid::Uuid::nil(),
        }
        .condition(&f)
        .unwrap();
        user::Entity::find().filter(cond).build(backend).to_string()
    }

    #[test]
    fn every_placeholder_is_bound_on_both_backends() {
        let filters = [
            r#"userName eq "a""#,
            r#"title co "x" or not (nickName sw "y")"#,
            r#"emails[type eq "work"].value eq "x""#,
            r#"emails.primary eq true and active eq false"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m""#,
            r#"meta.lastModified gt "2020-01-01T00:00:00Z""#,
        ];
        for f in filters {
            for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
                let sql = sql(backend, f);
                assert!(
                    !sql.contains('?') && !sql.contains("$1"),
                    "{backend:?} {f}: {sql}"
                );
            }
        }
        assert!(
            sql(DbBackend::Postgres, r#"title co "x""#)
                .contains("strpos((search ->> 'title'), 'x') > 0")
        );
    }
}
