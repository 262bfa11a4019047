//! The generator: one per lane, seeded from `(seed, lane)`, producing request templates.
//!
//! It is pure: it never sees an answer. References to created resources are picks that the
//! lane resolves against what each side created (see `refs`), which is what keeps a lane
//! reproducible from its seed while still reaching real resources most of the time.
//!
//! The mix (per mille): user creates 200, group creates 80, list reads and searches 200,
//! reads by id 100, PATCH 150, PUT 50, DELETE 50, hostile raw requests 170.

mod filter;
mod hostile;
mod names;
mod patch;
mod values;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::refs::splitmix;
use crate::request::{Body, Effect, Mode, Ref, RefKind, Res, Template};

/// The seed of lane `lane`'s generator (and of its random UUIDs).
pub(crate) fn lane_seed(seed: u64, lane: usize) -> u64 {
    splitmix(seed ^ splitmix(lane as u64 ^ 0xa076_1d64_78bd_642f))
}

#[derive(Debug)]
pub(crate) struct Generator {
    rng: StdRng,
    /// The lane's few userNames: small on purpose, so that look-alikes collide (409).
    names: Vec<String>,
    group_names: Vec<String>,
    max_body: usize,
}

impl Generator {
    pub(crate) fn new(seed: u64, lane: usize, max_body_bytes: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(lane_seed(seed, lane));
        let names = names::pool(&mut rng, names::USER_BASES, 6, true);
        let group_names = names::pool(&mut rng, names::GROUP_BASES, 4, false);
        Self {
            rng,
            names,
            group_names,
            max_body: max_body_bytes.max(1024),
        }
    }

    pub(crate) fn next_template(&mut self) -> Template {
        let roll = self.below(1000);
        let mut t = match roll {
            0..200 => self.create_user(),
            200..280 => self.create_group(),
            280..480 => self.list_read(),
            480..580 => self.get_by_id(),
            580..730 => self.patch(),
            730..780 => self.put(),
            780..830 => self.delete(),
            _ => self.hostile(),
        };
        // A users' read that filters or sorts on `groups` sees the asynchronous fan-out.
        let mentions_groups = |s: &str| s.contains("groups");
        if t.method == "POST" || t.method == "GET" {
            let in_query = t.query.as_deref().is_some_and(mentions_groups);
            let in_body =
                matches!(&t.body, Body::Text(s) if t.method == "POST" && mentions_groups(s));
            t.loose = !t.path.starts_with("/Groups") && (in_query || in_body);
        }
        // Hostile headers also ride on ordinary requests: they must not change the answer.
        if roll < 830 && self.chance(0.04) {
            self.decorate(&mut t);
        }
        // The few generators that multiply sizes (many ops × many members) stay bounded:
        // cut, the body is still over the limit and now also invalid, which is fine.
        let cap = self.max_body + 64 * 1024;
        if t.body.len() > cap {
            t.body = match std::mem::replace(&mut t.body, Body::None) {
                Body::Text(mut s) => {
                    let mut at = cap;
                    while !s.is_char_boundary(at) {
                        at -= 1;
                    }
                    s.truncate(at);
                    Body::Text(s)
                }
                Body::Bytes(mut b) => {
                    b.truncate(cap);
                    Body::Bytes(b)
                }
                Body::None => Body::None,
            };
        }
        t
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.rng.random_range(0..n)
        }
    }

    fn between(&mut self, lo: usize, hi: usize) -> usize {
        self.rng.random_range(lo..=hi.max(lo))
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    /// Mostly a live resource; sometimes any the lane made (deleted ones), sometimes none.
    fn reference(&mut self, res: Res) -> Ref {
        let mode = match self.below(100) {
            0..85 => Mode::Live,
            85..95 => Mode::Any,
            _ => Mode::None,
        };
        Ref {
            kind: RefKind::Id(res),
            mode,
            n: self.rng.random(),
        }
    }

    /// `/Users/<ref>`, or an id no side has; the reference is returned for the effect.
    fn id_path(&mut self, res: Res) -> (String, Option<Ref>) {
        if self.chance(0.93) {
            let r = self.reference(res);
            (format!("{}/{}", res.endpoint(), r.sentinel()), Some(r))
        } else {
            let bad = self.pick(&[
                "not-a-uuid",
                "00000000-0000-0000-0000-000000000000",
                "%00",
                "..",
                "%2e%2e",
                "12345",
                "ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ",
                "%E2%80%AE",
                "me",
            ]);
            (format!("{}/{bad}", res.endpoint()), None)
        }
    }

    fn create_user(&mut self) -> Template {
        let body = self.user_body();
        let body = self.maybe_mangle(body, 0.05);
        Template::new("users.create", "POST", "/Users".into(), body)
            .with_effect(Effect::Create(Res::User))
    }

    fn create_group(&mut self) -> Template {
        let body = self.group_body();
        let body = self.maybe_mangle(body, 0.04);
        Template::new("groups.create", "POST", "/Groups".into(), body)
            .with_effect(Effect::Create(Res::Group))
    }

    fn list_read(&mut self) -> Template {
        match self.below(100) {
            0..40 => {
                let q = self.list_query(Res::User);
                Template::new("users.list", "GET", "/Users".into(), Body::None).with_query(q)
            }
            40..65 => {
                let q = self.list_query(Res::Group);
                Template::new("groups.list", "GET", "/Groups".into(), Body::None).with_query(q)
            }
            65..87 => {
                let (path, res) = self.pick(&[
                    ("/.search", Res::User),
                    ("/Users/.search", Res::User),
                    ("/Groups/.search", Res::Group),
                ]);
                let body = self.search_body(res);
                let body = self.maybe_mangle(body, 0.05);
                Template::new("search", "POST", path.into(), body)
            }
            _ => {
                let path = self.pick(&[
                    "/ServiceProviderConfig",
                    "/Schemas",
                    "/ResourceTypes",
                    "/ResourceTypes/User",
                    "/ResourceTypes/Group",
                    "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
                    "/Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                    "/Schemas/urn:example:unknown",
                    "/ResourceTypes/Nope",
                ]);
                Template::new("discovery", "GET", path.into(), Body::None)
            }
        }
    }

    fn get_by_id(&mut self) -> Template {
        let res = if self.chance(0.65) {
            Res::User
        } else {
            Res::Group
        };
        let (path, r) = self.id_path(res);
        let query = if self.chance(0.3) {
            Some(self.projection_query(res))
        } else {
            None
        };
        let mut t = Template::new("get", "GET", path, Body::None).with_query(query);
        if let Some(r) = r.filter(|_| self.chance(0.08)) {
            let v = if res == Res::Group && self.chance(0.6) {
                r.etag().sentinel()
            } else {
                self.odd_etag()
            };
            t.set_header("If-None-Match", v);
        }
        t
    }

    fn patch(&mut self) -> Template {
        let res = if self.chance(0.65) {
            Res::User
        } else {
            Res::Group
        };
        let (path, r) = self.id_path(res);
        let body = match res {
            Res::User => self.user_patch_body(),
            Res::Group => self.group_patch_body(),
        };
        let body = self.maybe_mangle(body, 0.04);
        let kind = match res {
            Res::User => "users.patch",
            Res::Group => "groups.patch",
        };
        let mut t = Template::new(kind, "PATCH", path, body);
        self.maybe_if_match(&mut t, r);
        t.with_effect(r.map_or(Effect::None, Effect::Modify))
    }

    fn put(&mut self) -> Template {
        let res = if self.chance(0.75) {
            Res::User
        } else {
            Res::Group
        };
        let (path, r) = self.id_path(res);
        let (kind, body) = match res {
            Res::User => ("users.put", self.user_body()),
            Res::Group => ("groups.put", self.group_body()),
        };
        let body = self.maybe_mangle(body, 0.03);
        let mut t = Template::new(kind, "PUT", path, body);
        self.maybe_if_match(&mut t, r);
        t.with_effect(r.map_or(Effect::None, Effect::Modify))
    }

    fn delete(&mut self) -> Template {
        let res = if self.chance(0.6) {
            Res::User
        } else {
            Res::Group
        };
        let (path, r) = self.id_path(res);
        let kind = match res {
            Res::User => "users.delete",
            Res::Group => "groups.delete",
        };
        let mut t = Template::new(kind, "DELETE", path, Body::None);
        self.maybe_if_match(&mut t, r);
        t.with_effect(r.map_or(Effect::None, Effect::Delete))
    }

    /// The current ETag most of the time (must succeed), else a stale or odd one (412).
    /// Only groups get their current ETag: a user's version also moves when the
    /// asynchronous fan-out recomputes its `groups`, so "current" would be a race.
    fn maybe_if_match(&mut self, t: &mut Template, r: Option<Ref>) {
        if !self.chance(0.15) {
            return;
        }
        let group = |r: &Ref| r.kind == RefKind::Id(Res::Group);
        let v = match r {
            Some(r) if group(&r) && self.chance(0.6) => r.etag().sentinel(),
            _ => self.odd_etag(),
        };
        t.set_header("If-Match", v);
    }

    fn odd_etag(&mut self) -> String {
        let n: u32 = self.rng.random();
        self.pick(&[
            "*".to_owned(),
            "W/\"x\"".to_owned(),
            format!("W/\"{n}\""),
            format!("\"{n}\""),
            "garbage".to_owned(),
            String::new(),
            "W/".to_owned(),
            "\"a\", \"b\"".to_owned(),
            "W/\"1\", *".to_owned(),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Auth;

    fn run(seed: u64, lane: usize, n: usize) -> Vec<Template> {
        let mut g = Generator::new(seed, lane, 1 << 20);
        (0..n).map(|_| g.next_template()).collect()
    }

    #[test]
    fn the_same_seed_and_lane_generate_the_same_requests() {
        assert_eq!(run(42, 3, 2_000), run(42, 3, 2_000));
    }

    #[test]
    fn another_lane_or_seed_generates_other_requests() {
        assert_ne!(run(42, 0, 200), run(42, 1, 200));
        assert_ne!(run(42, 0, 200), run(43, 0, 200));
    }

    #[test]
    fn every_kind_of_request_appears_and_huge_ones_are_rare_and_bounded() {
        let all = run(7, 0, 20_000);
        for kind in [
            "users.create",
            "groups.create",
            "users.list",
            "groups.list",
            "search",
            "discovery",
            "get",
            "users.patch",
            "groups.patch",
            "users.put",
            "groups.put",
            "users.delete",
            "groups.delete",
        ] {
            assert!(all.iter().any(|t| t.kind == kind), "no {kind}");
        }
        assert!(all.iter().any(|t| t.kind.starts_with("hostile.")));
        assert!(all.iter().any(|t| t.auth != Auth::Good));
        let huge = all.iter().filter(|t| t.body.len() > 100_000).count();
        assert!(huge > 0 && huge < 100, "{huge} huge bodies");
        let biggest = all.iter().map(|t| t.body.len()).max().unwrap_or(0);
        assert!(biggest <= 1_100 * 1024, "{biggest}");
    }
}
