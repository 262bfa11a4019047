//! PATCH bodies in both of Entra's dialects and the RFC's, on users and groups: paths with
//! value filters, path-less value objects, member adds and removes, wrong types, bad paths.

use serde_json::{Map, Value, json};

use super::Generator;
use super::values::ENTERPRISE;
use crate::request::{Body, Res};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

const OP_NAMES: &[&str] = &[
    "add", "Add", "replace", "Replace", "Replace", "remove", "Remove", "REPLACE", "merge", "",
];

const BAD_PATHS: &[&str] = &[
    "",
    "emails[type eq",
    "emails[type eq \"work\"].value.x",
    "foo.bar",
    "id",
    "meta.created",
    "schemas",
    "members",
    "name..givenName",
    "urn:example:unknown:2.0:User:x",
    "emails[value eq \"a\\\"b\"].type",
    "emails[not(type pr)].value",
];

impl Generator {
    pub(super) fn user_patch_body(&mut self) -> Body {
        self.patch_body(|g| g.user_op())
    }

    pub(super) fn group_patch_body(&mut self) -> Body {
        self.patch_body(|g| g.group_op())
    }

    fn patch_body(&mut self, mut op: impl FnMut(&mut Self) -> Value) -> Body {
        let n = match self.below(1000) {
            0..890 => self.between(1, 3),
            890..970 => self.between(4, 20),
            970..992 => 0,
            _ => self.between(500, 1_500),
        };
        // Long lists are mostly one cheap op, so that their size stays near the limits on
        // the number of operations rather than on the body.
        let ops: Vec<Value> = (0..n)
            .map(|i| {
                if n > 20 && i % 16 != 0 {
                    json!({"op": "replace", "path": "title", "value": format!("t{i}")})
                } else {
                    op(self)
                }
            })
            .collect();
        let mut m = Map::new();
        match self.below(100) {
            0..94 => {
                m.insert("schemas".into(), json!([PATCH_OP]));
            }
            94..97 => {}
            _ => {
                m.insert(
                    "schemas".into(),
                    json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
                );
            }
        }
        let key = if self.chance(0.97) {
            "Operations"
        } else {
            "operations"
        };
        let ops = if self.chance(0.98) {
            Value::Array(ops)
        } else {
            ops.into_iter().next().unwrap_or(Value::Null)
        };
        m.insert(key.into(), ops);
        Body::Text(Value::Object(m).to_string())
    }

    fn op(&mut self, path: Option<String>, value: Option<Value>) -> Value {
        let mut m = Map::new();
        if self.chance(0.99) {
            m.insert("op".into(), json!(self.pick(OP_NAMES)));
        }
        if let Some(p) = path {
            m.insert("path".into(), json!(p));
        }
        if let Some(v) = value {
            m.insert("value".into(), v);
        }
        Value::Object(m)
    }

    fn user_op(&mut self) -> Value {
        let (path, value): (Option<String>, Option<Value>) = match self.below(100) {
            0..14 => (
                Some("active".into()),
                Some(self.pick(&[
                    json!("False"),
                    json!("True"),
                    json!(false),
                    json!(true),
                    json!("false"),
                    json!("no"),
                    json!(null),
                ])),
            ),
            14..22 => (Some("userName".into()), Some(json!(self.user_name()))),
            22..34 => {
                let p = self.pick(&[
                    "displayName",
                    "title",
                    "nickName",
                    "name.givenName",
                    "name.familyName",
                    "externalId",
                    "preferredLanguage",
                ]);
                (Some(p.into()), Some(json!(self.text())))
            }
            34..44 => {
                let p = self.pick(&[
                    "emails[type eq \"work\"].value",
                    "emails[type eq \"work\"].value",
                    "emails[type eq \"home\"].value",
                    "phoneNumbers[type eq \"mobile\"].value",
                    "addresses[type eq \"work\"].streetAddress",
                    "emails[type eq \"work\"].primary",
                ]);
                (
                    Some(p.into()),
                    Some(json!(format!("{}@example.com", self.below(5)))),
                )
            }
            44..50 => {
                let p = self.pick(&[
                    "emails",
                    "emails[type eq \"work\"]",
                    "phoneNumbers",
                    "roles",
                ]);
                let v = self.user_emails_value();
                (Some(p.into()), Some(v))
            }
            50..60 => {
                let attr = self.pick(&["employeeNumber", "department", "costCenter", "manager"]);
                let v = if attr == "manager" {
                    match self.below(3) {
                        0 => json!(self.id_text(Res::User)),
                        1 => json!({"value": self.id_text(Res::User)}),
                        _ => json!(""),
                    }
                } else {
                    json!(format!("{}", self.below(30)))
                };
                (Some(format!("{ENTERPRISE}:{attr}")), Some(v))
            }
            60..72 => (None, Some(self.pathless_user_value())),
            72..80 => {
                let p = self.pick(&[
                    "emails[type eq \"work\"]",
                    "emails",
                    "name.givenName",
                    "title",
                    "phoneNumbers[type eq \"fax\"].value",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                ]);
                (Some(p.into()), None)
            }
            80..88 => {
                let p = self.pick(&["active", "displayName", "emails", "name", "userName"]);
                (Some(p.into()), Some(self.any_json(2)))
            }
            88..95 => (
                Some(self.pick(BAD_PATHS).to_owned()),
                Some(json!(self.text())),
            ),
            _ => (None, None),
        };
        self.op(path, value)
    }

    fn user_emails_value(&mut self) -> Value {
        let n = self.between(0, 3);
        Value::Array(
            (0..n)
                .map(|i| json!({"value": format!("{i}{}@example.com", self.below(3)), "type": "work", "primary": i == 0}))
                .collect(),
        )
    }

    /// Entra's path-less replace: a value object of attributes, some as dotted or URN paths.
    fn pathless_user_value(&mut self) -> Value {
        if self.chance(0.05) {
            return self.any_json(2);
        }
        let mut m = Map::new();
        if self.chance(0.5) {
            m.insert(
                "active".into(),
                self.pick(&[json!(false), json!("False"), json!(true)]),
            );
        }
        if self.chance(0.4) {
            m.insert("displayName".into(), json!(self.text()));
        }
        if self.chance(0.2) {
            m.insert("userName".into(), json!(self.user_name()));
        }
        if self.chance(0.3) {
            m.insert("name.givenName".into(), json!(self.text()));
        }
        if self.chance(0.3) {
            m.insert(
                format!("{ENTERPRISE}:employeeNumber"),
                json!(format!("{}", self.below(30))),
            );
        }
        if self.chance(0.2) {
            m.insert(
                "emails[type eq \"work\"].value".into(),
                json!("w@example.com"),
            );
        }
        if self.chance(0.05) {
            m.insert("x-unknown".into(), self.any_json(1));
        }
        Value::Object(m)
    }

    fn member_list(&mut self) -> Value {
        let n = match self.below(100) {
            0..92 => self.between(1, 5),
            92..99 => self.between(6, 40),
            _ => self.between(200, 300),
        };
        Value::Array(
            (0..n)
                .map(|_| {
                    let res = if self.chance(0.9) {
                        Res::User
                    } else {
                        Res::Group
                    };
                    json!({"value": self.id_text(res)})
                })
                .collect(),
        )
    }

    fn group_op(&mut self) -> Value {
        let (path, value): (Option<String>, Option<Value>) = match self.below(100) {
            0..30 => (Some("members".into()), Some(self.member_list())),
            30..45 => {
                let id = json!(self.id_text(Res::User));
                (Some(format!("members[value eq {id}]")), None)
            }
            45..52 => (Some("members".into()), Some(self.member_list())),
            52..62 => (Some("displayName".into()), Some(json!(self.group_name()))),
            62..67 => (
                Some("externalId".into()),
                Some(json!(format!("ext-{}", self.below(40)))),
            ),
            67..77 => {
                let mut m = Map::new();
                if self.chance(0.7) {
                    m.insert("displayName".into(), json!(self.group_name()));
                }
                if self.chance(0.4) {
                    m.insert("externalId".into(), json!(self.text()));
                }
                if self.chance(0.2) {
                    m.insert("members".into(), self.member_list());
                }
                (None, Some(Value::Object(m)))
            }
            77..82 => (Some("members".into()), None),
            82..90 => {
                let p = self.pick(&["members", "displayName", "members[value eq \"x\"]"]);
                (Some(p.into()), Some(self.any_json(2)))
            }
            90..96 => (
                Some(self.pick(BAD_PATHS).to_owned()),
                Some(self.member_list()),
            ),
            _ => (None, None),
        };
        self.op(path, value)
    }
}
