//! Hostile raw requests: odd paths and methods, broken or foreign credentials, hostile
//! headers, raw bodies with wrong content types, tenants that do not exist.

use rand::Rng as _;

use super::Generator;
use super::values::CORE_USER;
use crate::request::{Auth, Base, Body, Res, SCIM_JSON, Template};

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "PROPFIND", "FOO", "get",
];

const CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "application/json",
    "application/scim+json; charset=utf-8",
    "application/scim+json; charset=utf-16",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "",
    "application/scim+jsonx",
    "APPLICATION/SCIM+JSON",
    "application/json;;;",
];

impl Generator {
    pub(super) fn hostile(&mut self) -> Template {
        match self.below(100) {
            0..25 => self.hostile_path(),
            25..38 => self.hostile_method(),
            38..58 => self.hostile_auth(),
            58..72 => {
                let mut t = self.ordinary();
                t.kind = "hostile.headers";
                self.decorate(&mut t);
                self.decorate(&mut t);
                t
            }
            72..93 => self.hostile_body(),
            _ => self.other_tenant(),
        }
    }

    /// An ordinary, small request whose answer should not depend on what is added to it.
    fn ordinary(&mut self) -> Template {
        match self.below(5) {
            0 => self.list_read(),
            1 => self.get_by_id(),
            2 => self.patch(),
            3 => self.delete(),
            _ => self.create_user(),
        }
    }

    fn hostile_path(&mut self) -> Template {
        let user = self.reference(Res::User).sentinel();
        let group = self.reference(Res::Group).sentinel();
        let path = match self.below(34) {
            0 => "/users".to_owned(),
            1 => "/USERS".to_owned(),
            2 => "/Users/".to_owned(),
            3 => "/Users//".to_owned(),
            4 => "//Users".to_owned(),
            5 => "/Groups/".to_owned(),
            6 => format!("/Users/{user}/"),
            7 => format!("/Users/{user}/extra"),
            8 => format!("/Users/{user}%2F.."),
            9 => "/Users/%00".to_owned(),
            10 => "/Users/%2F".to_owned(),
            11 => "/Users/%2e%2e".to_owned(),
            12 => "/Users/..%2f..%2fGroups".to_owned(),
            13 => "/Users/.search".to_owned(),
            14 => "/Bulk".to_owned(),
            15 => "/Me".to_owned(),
            16 => "/unknown".to_owned(),
            17 => String::new(),
            18 => "/".to_owned(),
            19 => "/%55sers".to_owned(),
            20 => format!("/Users/{group}"),
            21 => format!("/Groups/{user}"),
            22 => "/Schemas/".to_owned(),
            23 => "/ServiceProviderConfigs".to_owned(),
            24 => {
                let n = self.between(1, 8_000);
                format!("/Users/{}", "a".repeat(n))
            }
            25 => {
                let n = self.between(1, 2_600);
                format!("/Users/{}", "%41".repeat(n))
            }
            26 => {
                let n = self.between(1, 100);
                format!("/Users/{}", "../".repeat(n))
            }
            27 => format!("/Users/{user};jsessionid=1"),
            28 => format!("/Users/{user}%20"),
            29 => "/Users/%E2%80%AE".to_owned(),
            30 => "/Groups/.search/".to_owned(),
            31 => "/.search/x".to_owned(),
            32 => "/Users/\u{e9}".to_owned(),
            _ => "/Bulk/".to_owned(),
        };
        let method = self.pick(METHODS);
        let body = match method {
            "POST" | "PUT" | "PATCH" if path.starts_with("/Bulk") => Body::Text(format!(
                "{{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:BulkRequest\"],\"Operations\":[{{\"method\":\"POST\",\"path\":\"/Users\",\"bulkId\":\"1\",\"data\":{{\"schemas\":[\"{CORE_USER}\"],\"userName\":\"bulk\"}}}}]}}"
            )),
            "POST" | "PUT" if self.chance(0.6) => self.user_body(),
            "PATCH" if self.chance(0.6) => self.user_patch_body(),
            _ => Body::None,
        };
        Template::new("hostile.path", method, path, body)
    }

    fn hostile_method(&mut self) -> Template {
        let method = self.pick(&[
            "OPTIONS", "HEAD", "TRACE", "PROPFIND", "FOO", "get", "PUT", "PATCH", "DELETE", "POST",
        ]);
        let path = match self.below(8) {
            0 => "/Users".to_owned(),
            1 => "/Groups".to_owned(),
            2 => format!("/Users/{}", self.reference(Res::User).sentinel()),
            3 => format!("/Groups/{}", self.reference(Res::Group).sentinel()),
            4 => "/.search".to_owned(),
            5 => "/ServiceProviderConfig".to_owned(),
            6 => "/Schemas".to_owned(),
            _ => "/ResourceTypes".to_owned(),
        };
        let body = if self.chance(0.3) {
            self.user_body()
        } else {
            Body::None
        };
        Template::new("hostile.method", method, path, body)
    }

    /// An ordinary request with missing, malformed, wrong or foreign credentials.
    fn hostile_auth(&mut self) -> Template {
        let mut t = self.ordinary();
        t.kind = "hostile.auth";
        let n: u64 = self.rng.random();
        // `false`: a form the server may legitimately accept (scheme case, spacing).
        let (auth, must_fail) = match self.below(17) {
            0 | 1 => (Auth::Missing, true),
            2 => (Auth::Raw("Bearer".into()), true),
            3 => (Auth::Raw("Bearer ".into()), true),
            4 => (Auth::Raw("Basic dXNlcjpwYXNzd29yZA==".into()), true),
            5 => (Auth::Raw("Bearer wrong-token".into()), true),
            6 => (Auth::Raw(format!("Bearer bscim_{n:016x}")), true),
            7 => (Auth::Around("bearer ".into(), String::new()), false),
            8 => (Auth::Around("Bearer  ".into(), String::new()), false),
            9 => (Auth::Around("Bearer ".into(), " ".into()), false),
            10 => (Auth::Around("Bearer ".into(), "x".into()), true),
            11 => (Auth::Around(String::new(), String::new()), true),
            12 => (Auth::Around("Bearer \"".into(), "\"".into()), true),
            13 => (Auth::Truncated(self.between(0, 20)), true),
            14 | 15 => (Auth::OtherLane(self.between(1, 64)), true),
            _ => (
                Auth::Raw(format!("Bearer {}", "a".repeat(self.between(100, 8_000)))),
                true,
            ),
        };
        t.auth = auth;
        let routed = [
            "/Users",
            "/Groups",
            "/.search",
            "/Users/.search",
            "/Groups/.search",
        ]
        .contains(&t.path.as_str())
            || t.path.starts_with("/Users/~~")
            || t.path.starts_with("/Groups/~~");
        if must_fail && routed && t.body.len() <= self.max_body {
            t.expect = Some(401);
        }
        t
    }

    fn hostile_body(&mut self) -> Template {
        let (method, path, body) = match self.below(4) {
            0 => ("POST", "/Users".to_owned(), self.user_body()),
            1 => ("POST", "/Groups".to_owned(), self.group_body()),
            2 => {
                let path = format!("/Users/{}", self.reference(Res::User).sentinel());
                ("PATCH", path, self.user_patch_body())
            }
            _ => ("POST", "/.search".to_owned(), self.search_body(Res::User)),
        };
        let body = match self.below(10) {
            0..5 => self.maybe_mangle(body, 1.0),
            5 => Body::None,
            6 => {
                let depth = self.between(1, 200);
                Body::Text(format!("{}1{}", "[".repeat(depth), "]".repeat(depth)))
            }
            7 => {
                let n = self.below(64);
                Body::Bytes((0..n).map(|_| self.rng.random()).collect())
            }
            8 => Body::Text(format!(
                "{{\"schemas\":[\"{CORE_USER}\"],\"userName\":{}}}",
                self.pick(&[
                    "1e999999",
                    "-0",
                    "[\"a\"]",
                    "{\"a\":1}",
                    "\"\\ud800\"",
                    "\"a\\u0000b\""
                ])
            )),
            _ => body,
        };
        let mut t = Template::new("hostile.body", method, path, body);
        match self.below(3) {
            0 => {}
            1 => t.headers.retain(|(n, _)| n != "Content-Type"),
            _ => {
                let ct = self.pick(CONTENT_TYPES);
                t.set_header("Content-Type", ct.to_owned());
            }
        }
        t
    }

    fn other_tenant(&mut self) -> Template {
        let tenant = self.pick(&[
            "no-such-tenant",
            "NO-SUCH-TENANT",
            "..",
            "%2e%2e",
            "",
            "tenant%00",
            "%20",
        ]);
        let tail = self.pick(&["/Users", "/Groups", "/ServiceProviderConfig", "/Users/x"]);
        let mut t = Template::new(
            "hostile.tenant",
            "GET",
            format!("/{tenant}{tail}"),
            Body::None,
        );
        t.base = Base::Parent;
        if self.chance(0.3) {
            let long = "t".repeat(self.between(100, 2_000));
            t.path = format!("/{long}/Users");
        }
        t
    }

    /// Adds one hostile-but-harmless header: trace context, Accept, padding, forwarding.
    pub(super) fn decorate(&mut self, t: &mut Template) {
        let trace: u128 = self.rng.random();
        let span: u64 = self.rng.random();
        let (name, value) = match self.below(9) {
            0 | 1 => (
                "traceparent",
                match self.below(8) {
                    0 => format!("00-{trace:032x}-{span:016x}-01"),
                    1 => format!("ff-{trace:032x}-{span:016x}-01"),
                    2 => format!("00-{:032x}-{:016x}-01", 0, 0),
                    3 => format!("00-{trace:032X}-{span:016x}-01"),
                    4 => format!("00-{trace:x}"),
                    5 => {
                        let junk = "z".repeat(self.between(10, 8_000));
                        format!("00-{trace:032x}-{span:016x}-01-{junk}")
                    }
                    6 => "garbage".to_owned(),
                    _ => String::new(),
                },
            ),
            2 => (
                "tracestate",
                match self.below(4) {
                    0 => "a=b".to_owned(),
                    1 => (0..self.between(2, 300))
                        .map(|i| format!("k{i}=v{i}"))
                        .collect::<Vec<_>>()
                        .join(","),
                    2 => "=,=,,===".to_owned(),
                    _ => format!("k={}", "v".repeat(self.between(100, 8_000))),
                },
            ),
            3 | 4 => (
                "Accept",
                self.pick(&[
                    SCIM_JSON.to_owned(),
                    "application/json".to_owned(),
                    "*/*".to_owned(),
                    "text/html".to_owned(),
                    "application/xml".to_owned(),
                    String::new(),
                    "garbage/////".to_owned(),
                    "application/scim+json;q=0, text/html".to_owned(),
                ]),
            ),
            5 => ("X-Padding", "p".repeat(self.between(1, 8_000))),
            6 => ("X-Forwarded-Host", "evil.example".to_owned()),
            7 => ("Host", "evil.example".to_owned()),
            _ => ("Accept-Charset", "utf-16".to_owned()),
        };
        t.set_header(name, value);
    }
}
