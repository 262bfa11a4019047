//! The replayed client behaviours, one module each, and the steps they share.
//!
//! Every scenario runs per tenant, and tenants run side by side: each tenant gets its own
//! `--concurrency` workers, as each Entra tenant has its own provisioning job.

pub(crate) mod entra;
pub(crate) mod incremental;
pub(crate) mod large_groups;
pub(crate) mod okta_import;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::Method;

use crate::client::{Expect, Stopped, Tenant};
use crate::payload;
use crate::stats::Recorder;

/// One tenant's view of the run, shared by its worker tasks.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) tenant: Tenant,
    pub(crate) rec: Arc<Recorder>,
    pub(crate) prefix: String,
    pub(crate) concurrency: usize,
}

/// What a tenant's run leaves behind for the report and for `--verify`.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) users: Vec<UserCheck>,
    pub(crate) groups: Vec<GroupCheck>,
    /// Only `large-groups`.
    pub(crate) convergence: Option<Convergence>,
    /// Only `okta-import`.
    pub(crate) import: Option<Import>,
    /// Scenario-specific failures that `--verify` reports beside its own.
    pub(crate) failures: Vec<String>,
}

/// A created user and what it should look like now.
#[derive(Debug, Clone)]
pub(crate) struct UserCheck {
    pub(crate) id: String,
    pub(crate) user_name: String,
    /// `Some(false)` for users the bench disabled.
    pub(crate) active: Option<bool>,
}

/// A created group and the number of members the server acknowledged adding.
#[derive(Debug, Clone)]
pub(crate) struct GroupCheck {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) members: usize,
}

/// How long users' `groups` took to reflect the membership PATCHes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Convergence {
    pub(crate) sampled: usize,
    /// From the last PATCH response to the last sampled user seen right; None if not within
    /// the timeout.
    pub(crate) after: Option<Duration>,
    /// The last time a sampled user was still seen wrong (None: never), a lower bound.
    pub(crate) last_wrong: Option<Duration>,
    pub(crate) timeout: Duration,
}

/// What a full paged read of /Users saw.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Import {
    pub(crate) pages: u64,
    pub(crate) users_seen: u64,
    pub(crate) distinct_ids: u64,
    pub(crate) total_results: u64,
}

/// Op names of the user-creation steps: plain for measured phases, `setup.*` when seeding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserOps {
    pub(crate) filter: &'static str,
    pub(crate) create: &'static str,
    /// Entra reads each user back after creating it; the quick variants skip that.
    pub(crate) get: Option<&'static str>,
}

impl UserOps {
    pub(crate) const ENTRA: UserOps = UserOps {
        filter: "users.filter",
        create: "users.create",
        get: Some("users.get"),
    };
    pub(crate) const QUICK: UserOps = UserOps {
        get: None,
        ..UserOps::ENTRA
    };
    pub(crate) const SETUP: UserOps = UserOps {
        filter: "setup.users.filter",
        create: "setup.users.create",
        get: None,
    };
}

/// Creates users `0..n` the way Entra does (match by userName, then POST, then maybe GET).
/// Returns each index's id, None where the server did not create it.
pub(crate) async fn create_users(
    ctx: &Arc<Ctx>,
    n: usize,
    ops: UserOps,
) -> Result<Vec<Option<String>>, Stopped> {
    let ids: Arc<Vec<OnceLock<String>>> = Arc::new((0..n).map(|_| OnceLock::new()).collect());
    let (c, slots) = (ctx.clone(), ids.clone());
    crate::pool::run_all(ctx.concurrency, (0..n).collect(), move |i: usize| {
        let (ctx, slots) = (c.clone(), slots.clone());
        async move {
            if let Some(id) = create_user(&ctx, i, ops).await? {
                let _ = slots[i].set(id);
            }
            Ok(())
        }
    })
    .await?;
    Ok(ids.iter().map(|slot| slot.get().cloned()).collect())
}

async fn create_user(ctx: &Ctx, i: usize, ops: UserOps) -> Result<Option<String>, Stopped> {
    let t = &ctx.tenant;
    let name = payload::user_name(&ctx.prefix, i);
    let filter = payload::filter_eq("userName", &name);
    let url = t.url(&["Users"], &[("filter", &filter)]);
    let found = t
        .call(
            &ctx.rec,
            ops.filter,
            Method::GET,
            url,
            None,
            Expect::total_results(0),
        )
        .await?;
    // Like Entra: when it cannot tell whether the user exists, it does not create it.
    if !found.ok {
        return Ok(None);
    }
    let body = payload::user_body(&ctx.prefix, i);
    let created = t
        .call(
            &ctx.rec,
            ops.create,
            Method::POST,
            t.url(&["Users"], &[]),
            Some(&body),
            Expect::CREATED,
        )
        .await?;
    let Some(id) = created.id().filter(|_| created.ok) else {
        return Ok(None);
    };
    if let Some(op) = ops.get {
        t.call(
            &ctx.rec,
            op,
            Method::GET,
            t.url(&["Users", &id], &[]),
            None,
            Expect::OK,
        )
        .await?;
    }
    Ok(Some(id))
}

/// Op names of the group-creation steps, as `UserOps`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GroupOps {
    pub(crate) filter: &'static str,
    pub(crate) create: &'static str,
    /// Entra reads the group back with `excludedAttributes=members`.
    pub(crate) get: Option<&'static str>,
}

impl GroupOps {
    pub(crate) const ENTRA: GroupOps = GroupOps {
        filter: "groups.filter",
        create: "groups.create",
        get: Some("groups.get"),
    };
    pub(crate) const QUICK: GroupOps = GroupOps {
        get: None,
        ..GroupOps::ENTRA
    };
    pub(crate) const SETUP: GroupOps = GroupOps {
        filter: "setup.groups.filter",
        create: "setup.groups.create",
        get: None,
    };
}

/// Creates group `g` empty, as Entra does: match by displayName, POST, maybe read back.
pub(crate) async fn create_group(
    ctx: &Ctx,
    g: usize,
    ops: GroupOps,
) -> Result<Option<String>, Stopped> {
    let t = &ctx.tenant;
    let name = payload::group_name(&ctx.prefix, g);
    let filter = payload::filter_eq("displayName", &name);
    let url = t.url(&["Groups"], &[("filter", &filter)]);
    let found = t
        .call(
            &ctx.rec,
            ops.filter,
            Method::GET,
            url,
            None,
            Expect::total_results(0),
        )
        .await?;
    if !found.ok {
        return Ok(None);
    }
    let body = payload::group_body(&ctx.prefix, g);
    let url = t.url(&["Groups"], &[]);
    let created = t
        .call(
            &ctx.rec,
            ops.create,
            Method::POST,
            url,
            Some(&body),
            Expect::CREATED,
        )
        .await?;
    let Some(id) = created.id().filter(|_| created.ok) else {
        return Ok(None);
    };
    if let Some(op) = ops.get {
        let url = t.url(&["Groups", &id], &[("excludedAttributes", "members")]);
        t.call(&ctx.rec, op, Method::GET, url, None, Expect::OK)
            .await?;
    }
    Ok(Some(id))
}

/// A created group and the members the server acknowledged (PATCH answered with success).
#[derive(Debug)]
pub(crate) struct GroupBook {
    pub(crate) index: usize,
    pub(crate) id: String,
    pub(crate) members: Mutex<HashSet<String>>,
}

impl GroupBook {
    pub(crate) fn new(index: usize, id: String) -> Self {
        Self {
            index,
            id,
            members: Mutex::new(HashSet::new()),
        }
    }

    /// Sends one Add (or Remove) PATCH and books its members when it succeeded.
    pub(crate) async fn patch(
        &self,
        ctx: &Ctx,
        op: &'static str,
        ids: &[String],
        add: bool,
    ) -> Result<bool, Stopped> {
        let body = if add {
            payload::add_members(ids)
        } else {
            payload::remove_members(ids)
        };
        let url = ctx.tenant.url(&["Groups", &self.id], &[]);
        let reply = ctx
            .tenant
            .call(
                &ctx.rec,
                op,
                Method::PATCH,
                url,
                Some(&body),
                Expect::PATCHED,
            )
            .await?;
        if reply.ok {
            let mut members = self.members.lock().unwrap_or_else(|p| p.into_inner());
            for id in ids {
                if add {
                    members.insert(id.clone());
                } else {
                    members.remove(id);
                }
            }
        }
        Ok(reply.ok)
    }

    pub(crate) fn member_ids(&self) -> HashSet<String> {
        self.members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn check(&self, prefix: &str) -> GroupCheck {
        GroupCheck {
            id: self.id.clone(),
            name: payload::group_name(prefix, self.index),
            members: self.member_ids().len(),
        }
    }
}

/// The verify list of users created with `create_users`.
pub(crate) fn user_checks(prefix: &str, ids: &[Option<String>]) -> Vec<UserCheck> {
    ids.iter()
        .enumerate()
        .filter_map(|(i, id)| {
            Some(UserCheck {
                id: id.clone()?,
                user_name: payload::user_name(prefix, i),
                active: None,
            })
        })
        .collect()
}
