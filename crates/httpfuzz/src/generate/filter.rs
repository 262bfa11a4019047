//! Filters from a grammar (attribute paths × operators × values, and/or/not, parentheses,
//! value paths), mutations of valid ones, garbage, and the query strings that carry them.

use serde_json::{Value, json};

use super::Generator;
use super::values::ENTERPRISE;
use crate::request::Res;

/// `userName` and `externalId` repeat: they are what Entra filters on.
const USER_ATTRS: &[&str] = &[
    "userName",
    "userName",
    "userName",
    "externalId",
    "externalId",
    "displayName",
    "id",
    "name.givenName",
    "name.familyName",
    "emails",
    "emails.value",
    "emails.value",
    "emails.type",
    "emails.primary",
    "active",
    "title",
    "meta.lastModified",
    "meta.created",
    "meta.resourceType",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "groups",
    "groups.value",
    "phoneNumbers.value",
    "roles.value",
    "addresses.locality",
    "x-unknown",
    "name.bogus",
    "USERNAME",
    "emails.value.x",
    "1abc",
];

const GROUP_ATTRS: &[&str] = &[
    "displayName",
    "displayName",
    "displayName",
    "externalId",
    "id",
    "members",
    "members.value",
    "members.display",
    "meta.lastModified",
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
    "x-unknown",
    "DISPLAYNAME",
];

const OPS: &[&str] = &[
    "eq", "eq", "eq", "eq", "ne", "co", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Sw",
    "eqq", "=", "==",
];

const GARBAGE: &[&str] = &[
    "",
    " ",
    "userName",
    "eq",
    "((",
    ")",
    "userName eq",
    "\"",
    "userName eq \"unterminated",
    "userName eq x",
    "and",
    "userName pr and",
    "not userName pr",
    "emails[type eq \"work\"",
    "emails[type eq \"work\"]]",
    "emails[type eq \"work\"].value eq \"a\"",
    "a.b.c.d eq 1",
    "userName eq \"\\u12\"",
    "userName eq \"a\" userName eq \"b\"",
    "userName eq \"a\" or",
    "[]",
    "members[value eq \"x\"][value eq \"y\"]",
    "userName eq \"x\"\u{0}",
    "userName\teq\t\"x\"",
];

impl Generator {
    pub(super) fn filter(&mut self, res: Res) -> String {
        let depth = self.between(0, 3) as u32;
        let f = self.filter_expr(res, depth);
        match self.below(100) {
            0..84 => f,
            84..94 => self.mutate_filter(f),
            94..97 => {
                let n = self.between(1, 300);
                let open = if self.chance(0.5) { "(" } else { "not (" };
                format!("{}{f}{}", open.repeat(n), ")".repeat(n))
            }
            _ => self.pick(GARBAGE).to_owned(),
        }
    }

    fn filter_expr(&mut self, res: Res, depth: u32) -> String {
        if depth == 0 || self.chance(0.45) {
            return self.filter_atom(res);
        }
        match self.below(10) {
            0..4 => {
                let (l, r) = (
                    self.filter_expr(res, depth - 1),
                    self.filter_expr(res, depth - 1),
                );
                format!("{l} {} {r}", self.pick(&["and", "and", "AND"]))
            }
            4..7 => {
                let (l, r) = (
                    self.filter_expr(res, depth - 1),
                    self.filter_expr(res, depth - 1),
                );
                format!("{l} {} {r}", self.pick(&["or", "or", "Or"]))
            }
            7 => format!("not ({})", self.filter_expr(res, depth - 1)),
            8 => format!("({})", self.filter_expr(res, depth - 1)),
            _ => self.value_path(res),
        }
    }

    fn filter_atom(&mut self, res: Res) -> String {
        let attrs = match res {
            Res::User => USER_ATTRS,
            Res::Group => GROUP_ATTRS,
        };
        let attr = self.pick(attrs);
        if self.chance(0.1) {
            return format!("{attr} pr");
        }
        let op = self.pick(OPS);
        let value = self.filter_value(res);
        format!("{attr} {op} {value}")
    }

    /// `emails[type eq "work" and value sw "a"]`, `members[value eq "<id>"]`.
    fn value_path(&mut self, res: Res) -> String {
        match res {
            Res::User => {
                let inner = match self.below(5) {
                    0 => "type eq \"work\"".to_owned(),
                    1 => format!("type eq \"work\" and value sw {}", self.filter_value(res)),
                    2 => "value co \"@\"".to_owned(),
                    3 => "primary eq true".to_owned(),
                    _ => format!("value {} {}", self.pick(OPS), self.filter_value(res)),
                };
                let attr = self.pick(&["emails", "emails", "phoneNumbers", "addresses", "roles"]);
                format!("{attr}[{inner}]")
            }
            Res::Group => {
                let id = json!(self.id_text(Res::User));
                format!("members[value eq {id}]")
            }
        }
    }

    /// A literal as it appears in a filter: JSON-escaped string, number, boolean, null,
    /// date, a reference, or a malformed literal.
    fn filter_value(&mut self, res: Res) -> String {
        match self.below(100) {
            0..35 => {
                let name = match res {
                    Res::User => self.user_name(),
                    Res::Group => self.group_name(),
                };
                json!(name).to_string()
            }
            35..44 => json!(self.id_text(res)).to_string(),
            44..52 => self.pick(&["true", "false", "True"]).to_owned(),
            52..56 => "null".to_owned(),
            56..62 => self
                .pick(&["1", "-1.5", "1e3", "007", "1e999", "-0"])
                .to_owned(),
            62..72 => self
                .pick(&[
                    "\"2020-01-01T00:00:00Z\"",
                    "\"2999-01-01T00:00:00Z\"",
                    "\"2020-01-01\"",
                    "\"2020-01-01T00:00:00+02:00\"",
                    "\"2020-13-45T99:00:00Z\"",
                    "\"yesterday\"",
                    "\"2020-01-01T00:00:00.123456789Z\"",
                ])
                .to_owned(),
            72..82 => json!(self.text()).to_string(),
            82..89 => self
                .pick(&[
                    "\"a\\\"b\"",
                    "\"back\\\\slash\"",
                    "\"\\u00e9\"",
                    "\"@\"",
                    "\"\"",
                    "\"%\"",
                ])
                .to_owned(),
            89..94 => format!("\"ext-{}\"", self.below(40)),
            _ => self
                .pick(&[
                    "\"unterminated",
                    "'single'",
                    "\"bad \\q\"",
                    "abc",
                    "\"\\u12\"",
                    "\"\\ud800\"",
                ])
                .to_owned(),
        }
    }

    fn mutate_filter(&mut self, f: String) -> String {
        let mut chars: Vec<char> = f.chars().collect();
        let at = self.below(chars.len() + 1);
        match self.below(4) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 => {
                let c = self.pick(&['"', '(', ')', '[', ']', '\\', ' ', '.']);
                chars.insert(at, c);
            }
            2 => chars.truncate(at),
            _ => return f.replacen(" eq ", " eqq ", 1).replacen('"', "", 1),
        }
        chars.into_iter().collect()
    }

    /// A list query string, or none.
    pub(super) fn list_query(&mut self, res: Res) -> Option<String> {
        let mut parts = Vec::new();
        if self.chance(0.75) {
            let f = self.filter(res);
            parts.push(format!("filter={}", self.encode(&f)));
        }
        if self.chance(0.2) {
            parts.push(format!("startIndex={}", self.paging_text()));
        }
        if self.chance(0.25) {
            parts.push(format!("count={}", self.paging_text()));
        }
        if self.chance(0.12) {
            parts.push(self.projection_query(res));
        }
        if self.chance(0.04) {
            let by = self.sort_attribute(res);
            let order = self.pick(&["ascending", "descending", "x"]);
            parts.push(format!("sortBy={}&sortOrder={order}", self.encode(by)));
        }
        if self.chance(0.03) {
            let f = self.filter(res);
            parts.push(format!("filter={}", self.encode(&f)));
        }
        if self.chance(0.02) {
            parts.push(
                self.pick(&["foo=bar", "filter", "=x", "%zz", "count", "&&"])
                    .to_owned(),
            );
        }
        if parts.is_empty() && self.chance(0.9) {
            None
        } else {
            Some(parts.join("&"))
        }
    }

    pub(super) fn projection_query(&mut self, res: Res) -> String {
        let key = self.pick(&["attributes", "excludedAttributes"]);
        let list = self.attribute_list(res);
        let text = match list {
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        format!("{key}={}", self.encode(&text))
    }

    pub(super) fn attribute_list(&mut self, res: Res) -> Value {
        let known: &[&str] = match res {
            Res::User => &[
                "userName",
                "emails",
                "emails.value",
                "name",
                "name.givenName",
                "active",
                "groups",
                "meta",
                "id",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                ENTERPRISE,
                "nope",
                "",
            ],
            Res::Group => &[
                "displayName",
                "members",
                "members.value",
                "meta",
                "id",
                "nope",
                "",
            ],
        };
        if self.chance(0.05) {
            return self.any_json(1);
        }
        let n = self.between(1, 3);
        Value::Array((0..n).map(|_| json!(self.pick(known))).collect())
    }

    pub(super) fn sort_attribute(&mut self, res: Res) -> &'static str {
        match res {
            Res::User => self.pick(&[
                "userName",
                "name.familyName",
                "emails.value",
                "meta.created",
                "x",
            ]),
            Res::Group => self.pick(&["displayName", "externalId", "members"]),
        }
    }

    fn paging_text(&mut self) -> String {
        self.pick(&[
            "1",
            "1",
            "2",
            "0",
            "-5",
            "200",
            "201",
            "1000000",
            "99999999999999999999",
            "abc",
            "1.5",
            "",
            "+3",
            "%201",
        ])
        .to_owned()
    }

    pub(super) fn paging_number(&mut self) -> Value {
        self.pick(&[
            json!(1),
            json!(2),
            json!(0),
            json!(-1),
            json!(200),
            json!(201),
            json!(10_000_000),
            json!("2"),
            json!(1.5),
            json!(null),
        ])
    }

    /// Percent-encoding as a client should do it, mostly; sometimes form style, sometimes
    /// left to the URL parser (which leaves `&`, `+` and `'` alone and stops at `#`).
    fn encode(&mut self, s: &str) -> String {
        match self.below(100) {
            0..82 => percent_encode(s, false),
            82..92 => percent_encode(s, true),
            _ => s.to_owned(),
        }
    }
}

pub(super) fn percent_encode(s: &str, plus_for_space: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' if plus_for_space => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters_and_sentinels() {
        assert_eq!(percent_encode("a b\"~~uL1~~", false), "a%20b%22~~uL1~~");
        assert_eq!(percent_encode("a b&é", true), "a+b%26%C3%A9");
    }
}
