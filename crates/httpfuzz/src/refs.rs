//! The lane's resources as each side knows them: symbolic index `k` (the k-th create that
//! succeeded on at least one side) → that side's id and last seen ETag.
//!
//! Both sides are resolved from the same table, and a pick is turned into a slot before the
//! side is looked at, so A and B always receive "the same" resource.

use std::collections::HashMap;

use crate::request::{Mode, Ref, RefKind, Res};

/// A = 0, B = 1.
pub(crate) type Side = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotState {
    Live,
    /// Deleted on both sides: the old ids are still sent, and must be 404 on both.
    Deleted,
    /// The sides disagreed about it: references to it resolve to a random UUID on both.
    Unusable,
}

#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) ids: [Option<String>; 2],
    pub(crate) etags: [Option<String>; 2],
    pub(crate) state: SlotState,
}

/// What a reference resolves to, independently of the side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    Slot(Res, usize),
    Nothing(u32),
}

#[derive(Debug)]
pub(crate) struct Refs {
    seed: u64,
    users: Vec<Slot>,
    groups: Vec<Slot>,
    /// Per side, id → `user#k` / `group#k`, so bodies can be compared across sides.
    labels: [HashMap<String, String>; 2],
}

impl Refs {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            seed,
            users: Vec::new(),
            groups: Vec::new(),
            labels: [HashMap::new(), HashMap::new()],
        }
    }

    fn slots(&self, res: Res) -> &Vec<Slot> {
        match res {
            Res::User => &self.users,
            Res::Group => &self.groups,
        }
    }

    fn slots_mut(&mut self, res: Res) -> &mut Vec<Slot> {
        match res {
            Res::User => &mut self.users,
            Res::Group => &mut self.groups,
        }
    }

    pub(crate) fn labels(&self, side: Side) -> &HashMap<String, String> {
        &self.labels[side]
    }

    pub(crate) fn bind(&self, r: Ref) -> Bound {
        let res = match r.kind {
            RefKind::Id(res) | RefKind::Etag(res) => res,
        };
        let slots = self.slots(res);
        let n = r.n as usize;
        match r.mode {
            Mode::None => Bound::Nothing(r.n),
            Mode::Any if slots.is_empty() => Bound::Nothing(r.n),
            Mode::Any => match slots[n % slots.len()].state {
                SlotState::Unusable => Bound::Nothing(r.n),
                _ => Bound::Slot(res, n % slots.len()),
            },
            Mode::Live => {
                // Counting instead of collecting: this runs for every reference of every step.
                let live = slots.iter().filter(|s| s.state == SlotState::Live).count();
                if live == 0 {
                    return Bound::Nothing(r.n);
                }
                let want = n % live;
                let at = slots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.state == SlotState::Live)
                    .nth(want)
                    .map_or(0, |(i, _)| i);
                Bound::Slot(res, at)
            }
        }
    }

    /// The text a reference stands for on `side`.
    pub(crate) fn resolve(&self, r: Ref, side: Side) -> String {
        let etag = matches!(r.kind, RefKind::Etag(_));
        match self.bind(r) {
            Bound::Slot(res, k) => {
                let slot = &self.slots(res)[k];
                let v = if etag {
                    &slot.etags[side]
                } else {
                    &slot.ids[side]
                };
                v.clone().unwrap_or_else(|| {
                    if etag {
                        "W/\"unknown\"".to_owned()
                    } else {
                        self.uuid(r.n)
                    }
                })
            }
            Bound::Nothing(n) if etag => format!("W/\"{}\"", self.uuid(n)),
            Bound::Nothing(n) => self.uuid(n),
        }
    }

    /// How a reference is shown in findings: the same on both sides.
    pub(crate) fn describe(&self, r: Ref) -> String {
        let what = if matches!(r.kind, RefKind::Etag(_)) {
            "etag of "
        } else {
            ""
        };
        match self.bind(r) {
            Bound::Slot(Res::User, k) => format!("{{{what}user#{k}}}"),
            Bound::Slot(Res::Group, k) => format!("{{{what}group#{k}}}"),
            Bound::Nothing(_) => format!("{{{what}random {}}}", self.uuid(r.n)),
        }
    }

    /// A UUID-shaped id no side created, derived from the lane and `n` only.
    pub(crate) fn uuid(&self, n: u32) -> String {
        let hi = splitmix(self.seed ^ u64::from(n));
        let lo = splitmix(hi ^ 0x5bd1_e995);
        let hex = format!("{hi:016x}{lo:016x}");
        format!(
            "{}-{}-4{}-a{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..32]
        )
    }

    /// Records a create that succeeded on at least one side.
    pub(crate) fn created(
        &mut self,
        res: Res,
        ids: [Option<String>; 2],
        etags: [Option<String>; 2],
    ) {
        let state = if ids.iter().all(Option::is_some) {
            SlotState::Live
        } else {
            SlotState::Unusable
        };
        let k = self.slots(res).len();
        let prefix = match res {
            Res::User => "user",
            Res::Group => "group",
        };
        for (side, id) in ids.iter().enumerate() {
            if let Some(id) = id {
                self.labels[side].insert(id.clone(), format!("{prefix}#{k}"));
            }
        }
        self.slots_mut(res).push(Slot { ids, etags, state });
    }

    pub(crate) fn set_state(&mut self, res: Res, k: usize, state: SlotState) {
        if let Some(slot) = self.slots_mut(res).get_mut(k) {
            slot.state = state;
        }
    }

    pub(crate) fn set_etag(&mut self, res: Res, k: usize, side: Side, etag: Option<String>) {
        if let Some(slot) = self.slots_mut(res).get_mut(k) {
            slot.etags[side] = etag;
        }
    }
}

/// SplitMix64: a good mixer for deriving independent seeds from related inputs.
pub(crate) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(mode: Mode, n: u32) -> Ref {
        Ref {
            kind: RefKind::Id(Res::User),
            mode,
            n,
        }
    }

    #[test]
    fn live_picks_skip_unusable_and_deleted_slots_and_resolve_per_side() {
        let mut refs = Refs::new(7);
        refs.created(
            Res::User,
            [Some("a0".into()), Some("b0".into())],
            [None, None],
        );
        refs.created(Res::User, [Some("a1".into()), None], [None, None]);
        refs.created(
            Res::User,
            [Some("a2".into()), Some("b2".into())],
            [None, None],
        );
        refs.set_state(Res::User, 0, SlotState::Deleted);
        for n in 0..5 {
            assert_eq!(refs.resolve(user(Mode::Live, n), 0), "a2");
            assert_eq!(refs.resolve(user(Mode::Live, n), 1), "b2");
        }
        assert_eq!(refs.resolve(user(Mode::Any, 0), 1), "b0");
        let unusable = refs.resolve(user(Mode::Any, 1), 0);
        assert_eq!(unusable, refs.resolve(user(Mode::Any, 1), 1));
        assert_eq!(unusable.len(), 36);
    }
}
