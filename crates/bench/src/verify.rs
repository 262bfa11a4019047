//! `--verify`: read back what the run created and compare with what the server acknowledged.
//!
//! Its requests go to a recorder of their own, so they never change the measured numbers.

use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::Value;

use crate::client::{Expect, Stopped};
use crate::pool::run_all;
use crate::scenario::{Ctx, GroupCheck, Outcome, UserCheck};
use crate::stats::Recorder;

/// Mismatch lines kept for printing; the count covers all of them.
pub(crate) const MAX_LISTED: usize = 20;

/// The result of `--verify` over all tenants.
#[derive(Debug, Default, Clone)]
pub(crate) struct VerifyReport {
    pub(crate) users_checked: u64,
    pub(crate) users_ok: u64,
    pub(crate) groups_checked: u64,
    pub(crate) groups_ok: u64,
    pub(crate) mismatch_count: u64,
    pub(crate) mismatches: Vec<String>,
}

impl VerifyReport {
    pub(crate) fn passed(&self) -> bool {
        self.mismatch_count == 0
    }

    pub(crate) fn add_mismatch(&mut self, text: String) {
        self.mismatch_count += 1;
        if self.mismatches.len() < MAX_LISTED {
            self.mismatches.push(text);
        }
    }

    pub(crate) fn merge(&mut self, other: VerifyReport) {
        self.users_checked += other.users_checked;
        self.users_ok += other.users_ok;
        self.groups_checked += other.groups_checked;
        self.groups_ok += other.groups_ok;
        let extra = other.mismatch_count - other.mismatches.len() as u64;
        for m in other.mismatches {
            self.add_mismatch(m);
        }
        self.mismatch_count += extra;
    }
}

#[derive(Debug, Clone)]
enum Item {
    User(UserCheck),
    Group(GroupCheck),
}

/// Checks one tenant's users and groups at its concurrency.
pub(crate) async fn verify_tenant(
    ctx: Arc<Ctx>,
    rec: Arc<Recorder>,
    outcome: &Outcome,
) -> Result<VerifyReport, Stopped> {
    let report = Arc::new(Mutex::new(VerifyReport::default()));
    for failure in &outcome.failures {
        lock(&report).add_mismatch(failure.clone());
    }
    let items: Vec<Item> = outcome
        .users
        .iter()
        .cloned()
        .map(Item::User)
        .chain(outcome.groups.iter().cloned().map(Item::Group))
        .collect();
    let (c, r) = (ctx.clone(), report.clone());
    run_all(ctx.concurrency, items, move |item: Item| {
        let (ctx, rec, report) = (c.clone(), rec.clone(), r.clone());
        async move {
            let (is_user, problem) = match &item {
                Item::User(u) => (true, check_user(&ctx, &rec, u).await?),
                Item::Group(g) => (false, check_group(&ctx, &rec, g).await?),
            };
            let mut report = lock(&report);
            match (is_user, problem) {
                (true, None) => report.users_ok += 1,
                (false, None) => report.groups_ok += 1,
                (_, Some(p)) => report.add_mismatch(format!("tenant {}: {p}", ctx.tenant.index)),
            }
            if is_user {
                report.users_checked += 1;
            } else {
                report.groups_checked += 1;
            }
            Ok(())
        }
    })
    .await?;
    let report = lock(&report).clone();
    Ok(report)
}

fn lock(r: &Mutex<VerifyReport>) -> std::sync::MutexGuard<'_, VerifyReport> {
    r.lock().unwrap_or_else(|p| p.into_inner())
}

async fn check_user(ctx: &Ctx, rec: &Recorder, u: &UserCheck) -> Result<Option<String>, Stopped> {
    let t = &ctx.tenant;
    let url = t.url(&["Users", &u.id], &[]);
    let reply = t
        .call(rec, "verify.users.get", Method::GET, url, None, Expect::OK)
        .await?;
    let who = format!("user {} ({})", u.user_name, u.id);
    let Some(body) = reply.body.filter(|_| reply.ok) else {
        return Ok(Some(format!("{who}: GET answered {}", reply.status.key())));
    };
    let name = body.get("userName").and_then(Value::as_str).unwrap_or("");
    if !name.eq_ignore_ascii_case(&u.user_name) {
        return Ok(Some(format!("{who}: userName is {name:?}")));
    }
    if let Some(expected) = u.active {
        let active = match body.get("active") {
            Some(Value::Bool(b)) => Some(*b),
            // Entra's string form ("True"/"False") is tolerated in answers too.
            Some(Value::String(s)) => s.to_ascii_lowercase().parse::<bool>().ok(),
            _ => None,
        };
        if active != Some(expected) {
            return Ok(Some(format!(
                "{who}: active is {active:?}, expected {expected}"
            )));
        }
    }
    Ok(None)
}

async fn check_group(ctx: &Ctx, rec: &Recorder, g: &GroupCheck) -> Result<Option<String>, Stopped> {
    let t = &ctx.tenant;
    let url = t.url(&["Groups", &g.id], &[]);
    let reply = t
        .call(rec, "verify.groups.get", Method::GET, url, None, Expect::OK)
        .await?;
    let who = format!("group {} ({})", g.name, g.id);
    let Some(body) = reply.body.filter(|_| reply.ok) else {
        return Ok(Some(format!("{who}: GET answered {}", reply.status.key())));
    };
    let members = body
        .get("members")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    Ok((members != g.members).then(|| format!("{who}: {members} members, expected {}", g.members)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_reports_keep_the_full_count_but_list_at_most_twenty() {
        let mut total = VerifyReport::default();
        for t in 0..3 {
            let mut r = VerifyReport {
                users_checked: 10,
                users_ok: 2,
                ..VerifyReport::default()
            };
            for i in 0..8 {
                r.add_mismatch(format!("tenant {t} user {i}"));
            }
            total.merge(r);
        }
        assert_eq!(total.users_checked, 30);
        assert_eq!(total.users_ok, 6);
        assert_eq!(total.mismatch_count, 24);
        assert_eq!(total.mismatches.len(), MAX_LISTED);
        assert!(!total.passed());
    }
}
