//! JSON bodies: users and groups with right and wrong types, search requests, arbitrary JSON,
//! bodies around the size limit, and textual mangling that no `Value` can express
//! (duplicate keys, truncation, non-UTF-8, BOM, NaN).

use rand::Rng as _;
use serde_json::{Map, Value, json};

use super::Generator;
use crate::request::{Body, Mode, Ref, RefKind, Res};

pub(super) const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(super) const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub(super) const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

impl Generator {
    pub(super) fn user_body(&mut self) -> Body {
        if self.chance(0.002) {
            return self.huge_body();
        }
        let mut m = Map::new();
        if let Some(s) = self.schemas(CORE_USER) {
            m.insert("schemas".into(), s);
        }
        if self.chance(0.94) {
            m.insert("userName".into(), json!(self.user_name()));
        } else if self.chance(0.7) {
            m.insert("userName".into(), self.any_json(2));
        }
        self.maybe(&mut m, 0.5, "externalId", |g| g.external_id());
        self.maybe(&mut m, 0.6, "active", |g| g.active());
        self.maybe(&mut m, 0.4, "name", |g| g.name());
        self.maybe(&mut m, 0.35, "displayName", |g| json!(g.text()));
        for key in [
            "nickName",
            "title",
            "userType",
            "preferredLanguage",
            "locale",
            "timezone",
        ] {
            self.maybe(&mut m, 0.08, key, |g| g.scalar());
        }
        self.maybe(&mut m, 0.6, "emails", |g| g.multi(|g| g.email()));
        self.maybe(&mut m, 0.15, "phoneNumbers", |g| g.multi(|g| g.phone()));
        self.maybe(&mut m, 0.08, "addresses", |g| g.multi(|g| g.address()));
        self.maybe(&mut m, 0.08, "roles", |g| g.multi(|g| g.role()));
        self.maybe(&mut m, 0.2, ENTERPRISE, |g| g.enterprise());
        self.maybe(&mut m, 0.02, &format!("{ENTERPRISE}:employeeNumber"), |g| {
            g.scalar()
        });
        self.maybe(&mut m, 0.03, "password", |g| json!(g.text()));
        self.maybe(&mut m, 0.03, "id", |g| json!(g.text()));
        self.maybe(
            &mut m,
            0.02,
            "meta",
            |g| json!({"resourceType": "Group", "version": g.text()}),
        );
        self.maybe(
            &mut m,
            0.03,
            "groups",
            |g| json!([{"value": g.reference(Res::Group).sentinel()}]),
        );
        self.maybe(&mut m, 0.04, "x-unknown", |g| g.any_json(3));
        self.maybe(
            &mut m,
            0.03,
            "urn:example:ext:1.0:User",
            |g| json!({"x": g.any_json(2)}),
        );
        self.maybe(&mut m, 0.01, "deep", |g| {
            let depth = g.between(1, 200);
            g.nested(depth)
        });
        Body::Text(Value::Object(m).to_string())
    }

    pub(super) fn group_body(&mut self) -> Body {
        let mut m = Map::new();
        if let Some(s) = self.schemas(CORE_GROUP) {
            m.insert("schemas".into(), s);
        }
        if self.chance(0.94) {
            m.insert("displayName".into(), json!(self.group_name()));
        } else if self.chance(0.7) {
            m.insert("displayName".into(), self.any_json(2));
        }
        self.maybe(&mut m, 0.3, "externalId", |g| g.external_id());
        self.maybe(&mut m, 0.6, "members", |g| g.members());
        self.maybe(&mut m, 0.03, "x-unknown", |g| g.any_json(3));
        Body::Text(Value::Object(m).to_string())
    }

    pub(super) fn search_body(&mut self, res: Res) -> Body {
        let mut m = Map::new();
        if self.chance(0.9) {
            m.insert("schemas".into(), json!([SEARCH]));
        }
        self.maybe(&mut m, 0.85, "filter", |g| json!(g.filter(res)));
        self.maybe(&mut m, 0.3, "startIndex", |g| g.paging_number());
        self.maybe(&mut m, 0.4, "count", |g| g.paging_number());
        self.maybe(&mut m, 0.15, "attributes", |g| g.attribute_list(res));
        self.maybe(&mut m, 0.1, "excludedAttributes", |g| g.attribute_list(res));
        self.maybe(&mut m, 0.05, "sortBy", |g| json!(g.sort_attribute(res)));
        self.maybe(&mut m, 0.05, "sortOrder", |g| {
            json!(g.pick(&["ascending", "descending", "DESCENDING", "sideways"]))
        });
        Body::Text(Value::Object(m).to_string())
    }

    fn maybe(
        &mut self,
        m: &mut Map<String, Value>,
        p: f64,
        key: &str,
        f: impl FnOnce(&mut Self) -> Value,
    ) {
        if self.chance(p) {
            let v = f(self);
            m.insert(key.to_owned(), v);
        }
    }

    /// `Some([urn])` mostly; else missing, wrong type, unknown or extra URNs.
    fn schemas(&mut self, core: &str) -> Option<Value> {
        Some(match self.below(100) {
            0..82 => json!([core]),
            82..90 if core == CORE_USER => json!([core, ENTERPRISE]),
            82..90 => json!([core]),
            90..93 => return None,
            93..95 => json!([core, "urn:example:unknown:2.0:Thing"]),
            95..97 => json!(core),
            97..98 => json!([]),
            98 => json!([CORE_GROUP, CORE_USER]),
            _ => json!(null),
        })
    }

    fn scalar(&mut self) -> Value {
        if self.chance(0.9) {
            json!(self.text())
        } else {
            self.any_json(1)
        }
    }

    fn external_id(&mut self) -> Value {
        match self.below(10) {
            0..6 => json!(format!("ext-{}", self.below(40))),
            6..8 => json!(self.text()),
            8 => json!(self.user_name()),
            _ => self.any_json(1),
        }
    }

    fn active(&mut self) -> Value {
        self.pick(&[
            json!(true),
            json!(false),
            json!("True"),
            json!("False"),
            json!("true"),
            json!("FALSE"),
            json!("yes"),
            json!(1),
            json!(0),
            json!(null),
            json!([true]),
        ])
    }

    fn name(&mut self) -> Value {
        if self.chance(0.06) {
            return self.any_json(2);
        }
        let mut m = Map::new();
        self.maybe(&mut m, 0.8, "givenName", |g| g.scalar());
        self.maybe(&mut m, 0.8, "familyName", |g| g.scalar());
        self.maybe(&mut m, 0.3, "formatted", |g| json!(g.text()));
        self.maybe(&mut m, 0.05, "middleName", |g| json!(g.text()));
        self.maybe(&mut m, 0.03, "nope", |g| g.any_json(1));
        Value::Object(m)
    }

    /// A multi-valued attribute: mostly 0–3 values, sometimes up to 20, rarely around the
    /// 250 limit; sometimes not an array at all.
    fn multi(&mut self, mut one: impl FnMut(&mut Self) -> Value) -> Value {
        let n = match self.below(1000) {
            0..850 => self.below(4),
            850..970 => self.between(4, 20),
            970..990 => self.between(245, 300),
            _ => return self.any_json(2),
        };
        Value::Array((0..n).map(|_| one(self)).collect())
    }

    fn value_type(&mut self) -> Value {
        self.pick(&[
            json!("work"),
            json!("work"),
            json!("home"),
            json!("other"),
            json!("WORK"),
            json!("mobile"),
            json!("x\"y"),
            json!(1),
            json!(null),
        ])
    }

    fn email(&mut self) -> Value {
        if self.chance(0.04) {
            return self.any_json(1);
        }
        let value = match self.below(10) {
            0..6 => json!(format!(
                "{}@example.com",
                self.pick(&["a", "b", "alice", "Bob", "émile"])
            )),
            6..8 => json!(self.user_name()),
            8 => json!(self.text()),
            _ => self.any_json(1),
        };
        let mut m = Map::from_iter([("value".to_owned(), value)]);
        self.maybe(&mut m, 0.8, "type", |g| g.value_type());
        self.maybe(&mut m, 0.4, "primary", |g| {
            g.pick(&[
                json!(true),
                json!(false),
                json!("true"),
                json!("False"),
                json!(1),
            ])
        });
        self.maybe(&mut m, 0.03, "display", |g| json!(g.text()));
        Value::Object(m)
    }

    fn phone(&mut self) -> Value {
        json!({"value": self.pick(&["+1 555 0100", "0", "", "+33 (0)1 23"]), "type": self.value_type()})
    }

    fn address(&mut self) -> Value {
        json!({
            "type": self.value_type(),
            "streetAddress": self.text(),
            "locality": self.pick(&["Paris", "München", "Zürich"]),
            "postalCode": self.scalar(),
            "country": self.pick(&["FR", "DE", "", "Germany"]),
        })
    }

    fn role(&mut self) -> Value {
        json!({
            "primary": self.pick(&[json!("True"), json!(false), json!(true)]),
            "type": "WindowsAzureActiveDirectoryRole",
            "value": self.pick(&["Admin", "User", "", "Ädmin"]),
            "display": self.text(),
        })
    }

    fn enterprise(&mut self) -> Value {
        if self.chance(0.05) {
            return self.any_json(2);
        }
        let mut m = Map::new();
        self.maybe(&mut m, 0.7, "employeeNumber", |g| {
            if g.chance(0.8) {
                json!(format!("{}", g.below(30)))
            } else {
                g.any_json(1)
            }
        });
        for key in ["costCenter", "organization", "division", "department"] {
            self.maybe(&mut m, 0.25, key, |g| g.scalar());
        }
        self.maybe(&mut m, 0.3, "manager", |g| match g.below(10) {
            0..8 => json!({"value": g.reference(Res::User).sentinel()}),
            8 => json!(g.reference(Res::User).sentinel()),
            _ => g.any_json(1),
        });
        Value::Object(m)
    }

    fn members(&mut self) -> Value {
        let n = match self.below(100) {
            0..90 => self.below(6),
            90..97 => self.between(6, 30),
            _ => self.between(200, 300),
        };
        let list = (0..n)
            .map(|_| {
                let value = match self.below(100) {
                    0..82 => json!(self.reference(Res::User).sentinel()),
                    82..90 => json!(self.reference(Res::Group).sentinel()),
                    90..95 => json!(self.text()),
                    _ => self.any_json(1),
                };
                let mut m = Map::from_iter([("value".to_owned(), value)]);
                self.maybe(&mut m, 0.1, "display", |g| json!(g.text()));
                self.maybe(&mut m, 0.1, "type", |g| {
                    json!(g.pick(&["User", "Group", "Robot"]))
                });
                Value::Object(m)
            })
            .collect();
        Value::Array(list)
    }

    /// Any JSON value; containers only while `depth` lasts.
    pub(super) fn any_json(&mut self, depth: u32) -> Value {
        let kinds = if depth == 0 { 6 } else { 8 };
        match self.below(kinds) {
            0 => Value::Null,
            1 => json!(self.chance(0.5)),
            2 => json!(self.pick(&[0i64, 1, -1, i64::MAX, i64::MIN, 250, 251])),
            3 => json!(self.pick(&[0.5f64, -0.0, 1e308, 3.0, 1e-300])),
            4 => json!(self.text()),
            5 => json!(self.pick(&["123", "True", "False", "null", "[]", "{}"])),
            6 => {
                let n = self.below(4);
                Value::Array((0..n).map(|_| self.any_json(depth - 1)).collect())
            }
            _ => {
                let n = self.below(4);
                let keys = ["a", "value", "type", "userName", "primary", "$ref"];
                Value::Object(
                    (0..n)
                        .map(|_| (self.pick(&keys).to_owned(), self.any_json(depth - 1)))
                        .collect(),
                )
            }
        }
    }

    fn nested(&mut self, depth: usize) -> Value {
        let mut v = json!("core");
        for _ in 0..depth {
            v = if self.chance(0.5) {
                json!([v])
            } else {
                json!({"a": v})
            };
        }
        v
    }

    /// A create whose whole body is `max_body_bytes` plus a small offset (just under, at,
    /// just over, well over), the padding in an unknown or a known attribute.
    fn huge_body(&mut self) -> Body {
        let offset = self.pick(&[-200i64, -1, 0, 1, 1_000, 50_000]);
        let target = (self.max_body as i64 + offset).max(64) as usize;
        let key = self.pick(&["x-padding", "displayName", "nickName"]);
        let n = self.below(1_000_000);
        let head = format!("{{\"schemas\":[\"{CORE_USER}\"],\"userName\":\"huge{n}\",\"{key}\":\"");
        let tail = "\"}";
        let pad = target.saturating_sub(head.len() + tail.len());
        let mut s = String::with_capacity(target);
        s.push_str(&head);
        s.extend(std::iter::repeat_n('a', pad));
        s.push_str(tail);
        Body::Text(s)
    }

    /// With probability `p`, breaks the body in a way a `Value` cannot.
    pub(super) fn maybe_mangle(&mut self, body: Body, p: f64) -> Body {
        if !self.chance(p) {
            return body;
        }
        let Body::Text(text) = body else {
            return body;
        };
        let at = self.char_boundary(&text);
        match self.below(12) {
            0 => {
                let dup = json!(self.user_name()).to_string();
                Body::Text(text.replacen(
                    '{',
                    &format!("{{\"userName\":{dup},\"displayName\":{dup},"),
                    1,
                ))
            }
            1 => Body::Text(text[..at].to_owned()),
            2 => {
                let c = self.pick(&[",", "}", "]", "\"", "\\", ":", "\u{0}", "'"]);
                Body::Text(format!("{}{c}{}", &text[..at], &text[at..]))
            }
            3 => Body::Text(format!(
                "{text}{}",
                self.pick(&["x", "}", " \n\t", "{}", "\u{0}"])
            )),
            4 => Body::Text(format!("\u{FEFF}{text}")),
            5 => {
                let bad = self.pick::<&[u8]>(&[b"\xFF", b"\xC3\x28", b"\xED\xA0\x80", b"\xF0\x9F"]);
                let mut bytes = text.into_bytes();
                let at = self.below(bytes.len() + 1);
                bytes.splice(at..at, bad.iter().copied());
                Body::Bytes(bytes)
            }
            6 => Body::Text(String::new()),
            7 => Body::Text(
                self.pick(&["null", "[]", "123", "\"str\"", "true", "[{}]"])
                    .to_owned(),
            ),
            8 => Body::Text(text.replace('"', "'")),
            9 => Body::Text(text.replacen('{', "{\"active\":NaN,\"x\":1e999,", 1)),
            10 => Body::Text(text.replacen('{', "{/* comment */", 1)),
            _ => Body::Text(format!("[{text},{text}]")),
        }
    }

    fn char_boundary(&mut self, s: &str) -> usize {
        let mut at = self.below(s.len() + 1);
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    /// A reference by its sentinel, for places that take a bare id.
    pub(super) fn id_text(&mut self, res: Res) -> String {
        if self.chance(0.95) {
            self.reference(res).sentinel()
        } else {
            Ref {
                kind: RefKind::Id(res),
                mode: Mode::None,
                n: self.rng.random(),
            }
            .sentinel()
        }
    }
}
