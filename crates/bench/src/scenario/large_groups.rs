//! `large-groups`: the initial sync of an Entra tenant with a few very large groups.
//!
//! Users and empty groups first, then every group's membership PATCHes interleaved (group 0
//! patch 0, group 1 patch 0, …) so several groups grow at once. Then it measures projection
//! convergence: how long after the last PATCH answer each sampled user's `groups` attribute
//! lists exactly the groups the bench put it in. A server that computes `groups`
//! asynchronously shows its lag here; one that answers from the same transaction shows ~0.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tokio::time::Instant;

use super::{
    Convergence, Ctx, GroupBook, GroupOps, Outcome, UserOps, create_group, create_users,
    user_checks,
};
use crate::cli::LargeGroupsArgs;
use crate::client::{Expect, Stopped};
use crate::payload::{group_members, spread_sample};
use crate::pool::run_all;

/// Pause between polling rounds: short against the seconds being measured, long enough not
/// to turn the check itself into load.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

pub(crate) async fn run(ctx: Arc<Ctx>, args: LargeGroupsArgs) -> Result<Outcome, Stopped> {
    let ids = create_users(&ctx, args.users, UserOps::QUICK).await?;
    let created: Arc<Vec<String>> = Arc::new(ids.iter().flatten().cloned().collect());
    let books = Arc::new(create_groups(&ctx, args.groups).await?);

    // Member indices (into `created`) per group, in the same order as `books`.
    let assignment: Vec<Vec<usize>> = books
        .iter()
        .map(|b| group_members(b.index, args.members_per_group, created.len()))
        .collect();
    let per_patch = usize::try_from(args.members_per_patch).unwrap_or(usize::MAX);
    let patches = interleave(&assignment, per_patch);
    let (c, b, cr, a) = (
        ctx.clone(),
        books.clone(),
        created.clone(),
        Arc::new(assignment.clone()),
    );
    run_all(
        ctx.concurrency,
        patches,
        move |(group, chunk): (usize, usize)| {
            let (ctx, books, created, assignment) = (c.clone(), b.clone(), cr.clone(), a.clone());
            async move {
                let ids: Vec<String> = assignment[group]
                    .chunks(per_patch)
                    .nth(chunk)
                    .unwrap_or_default()
                    .iter()
                    .map(|&i| created[i].clone())
                    .collect();
                books[group].patch(&ctx, "groups.patch", &ids, true).await?;
                Ok(())
            }
        },
    )
    .await?;
    let patched_at = Instant::now();

    let sample = spread_sample(&assignment, args.check_users);
    let expected = expected_groups(&books, &created, &sample);
    let timeout = Duration::try_from_secs_f64(args.converge_timeout).unwrap_or(Duration::MAX);
    let seen = converge(&ctx, expected, patched_at, timeout).await?;
    let mut outcome = Outcome {
        users: user_checks(&ctx.prefix, &ids),
        groups: books.iter().map(|b| b.check(&ctx.prefix)).collect(),
        convergence: Some(Convergence {
            sampled: sample.len(),
            after: seen.all_right,
            last_wrong: seen.last_wrong,
            timeout,
        }),
        ..Outcome::default()
    };
    if seen.all_right.is_none() && !sample.is_empty() {
        outcome.failures.push(format!(
            "tenant {}: users' groups not converged within {} s of the last PATCH",
            ctx.tenant.index,
            timeout.as_secs_f64()
        ));
    }
    Ok(outcome)
}

/// Creates the groups empty; only the ones the server created are returned.
async fn create_groups(ctx: &Arc<Ctx>, n: usize) -> Result<Vec<GroupBook>, Stopped> {
    let slots: Arc<Vec<OnceLock<String>>> = Arc::new((0..n).map(|_| OnceLock::new()).collect());
    let (c, s) = (ctx.clone(), slots.clone());
    run_all(ctx.concurrency, (0..n).collect(), move |g: usize| {
        let (ctx, slots) = (c.clone(), s.clone());
        async move {
            if let Some(id) = create_group(&ctx, g, GroupOps::QUICK).await? {
                let _ = slots[g].set(id);
            }
            Ok(())
        }
    })
    .await?;
    Ok(slots
        .iter()
        .enumerate()
        .filter_map(|(g, id)| Some(GroupBook::new(g, id.get()?.clone())))
        .collect())
}

/// (group position, chunk number) in round-robin order over the groups.
fn interleave(assignment: &[Vec<usize>], per_patch: usize) -> Vec<(usize, usize)> {
    let chunks: Vec<usize> = assignment
        .iter()
        .map(|m| m.len().div_ceil(per_patch.max(1)))
        .collect();
    let rounds = chunks.iter().copied().max().unwrap_or(0);
    (0..rounds)
        .flat_map(|round| {
            chunks
                .iter()
                .enumerate()
                .filter(move |(_, n)| round < **n)
                .map(move |(group, _)| (group, round))
        })
        .collect()
}

/// For each sampled user: its id and the group ids whose acknowledged PATCHes added it.
fn expected_groups(
    books: &[GroupBook],
    created: &[String],
    sample: &[usize],
) -> Vec<(String, HashSet<String>)> {
    let members: Vec<(String, HashSet<String>)> = books
        .iter()
        .map(|b| (b.id.clone(), b.member_ids()))
        .collect();
    sample
        .iter()
        .map(|&u| {
            let user = created[u].clone();
            let groups = members
                .iter()
                .filter(|(_, m)| m.contains(&user))
                .map(|(g, _)| g.clone())
                .collect();
            (user, groups)
        })
        .collect()
}

/// What the polling saw, both relative to the last PATCH answer.
#[derive(Debug, Clone, Copy)]
struct Seen {
    /// The answer that showed the last sampled user right; None if not within the timeout.
    all_right: Option<Duration>,
    /// The last answer that still showed a sampled user wrong. The true convergence lies
    /// between this and `all_right`; the gap is the polling's own granularity.
    last_wrong: Option<Duration>,
}

/// Polls the pending users round after round until every one's `groups` is right.
async fn converge(
    ctx: &Arc<Ctx>,
    expected: Vec<(String, HashSet<String>)>,
    since: Instant,
    timeout: Duration,
) -> Result<Seen, Stopped> {
    let mut pending = expected;
    let (mut last_right, mut last_wrong) = (since, None::<Instant>);
    let give_up = since + timeout;
    loop {
        let seen: Arc<Mutex<Vec<(String, bool, Instant)>>> = Arc::default();
        let (c, r) = (ctx.clone(), seen.clone());
        run_all(ctx.concurrency, pending.clone(), move |(user, groups)| {
            let (ctx, seen) = (c.clone(), r.clone());
            async move {
                // An error answer says nothing about convergence either way.
                if let Some(right) = has_groups(&ctx, &user, &groups).await? {
                    let now = Instant::now();
                    seen.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((user, right, now));
                }
                Ok(())
            }
        })
        .await?;
        let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|p| p.into_inner()));
        let mut right_now = HashSet::new();
        for (user, right, at) in seen {
            if right {
                last_right = last_right.max(at);
                right_now.insert(user);
            } else {
                last_wrong = Some(last_wrong.map_or(at, |w| w.max(at)));
            }
        }
        pending.retain(|(u, _)| !right_now.contains(u));
        let last_wrong = last_wrong.map(|w| w - since);
        if pending.is_empty() {
            let after = last_right - since;
            let all_right = (after <= timeout).then_some(after);
            return Ok(Seen {
                all_right,
                last_wrong,
            });
        }
        if Instant::now() >= give_up {
            return Ok(Seen {
                all_right: None,
                last_wrong,
            });
        }
        ctx.tenant.runner.sleep(POLL_INTERVAL).await?;
    }
}

/// Some(whether the user's groups are exactly `groups`), None when the GET failed.
async fn has_groups(
    ctx: &Ctx,
    user: &str,
    groups: &HashSet<String>,
) -> Result<Option<bool>, Stopped> {
    let t = &ctx.tenant;
    let url = t.url(&["Users", user], &[("attributes", "groups")]);
    let op = "users.groups_check";
    let reply = t
        .call(&ctx.rec, op, Method::GET, url, None, Expect::OK)
        .await?;
    Ok(reply
        .body
        .filter(|_| reply.ok)
        .map(|b| group_ids(&b) == *groups))
}

/// `groups[].value` of a user; an absent attribute is no groups.
fn group_ids(user: &Value) -> HashSet<String> {
    user.get("groups")
        .and_then(Value::as_array)
        .map(|gs| {
            gs.iter()
                .filter_map(|g| g.get("value")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patches_are_interleaved_across_groups_round_by_round() {
        let assignment = vec![vec![0; 25], vec![0; 10], vec![0; 30]];
        assert_eq!(
            interleave(&assignment, 10),
            [(0, 0), (1, 0), (2, 0), (0, 1), (2, 1), (0, 2), (2, 2)]
        );
    }

    #[test]
    fn group_ids_come_from_values_and_missing_groups_means_none() {
        let user = json!({"groups": [{"value": "g1", "display": "x"}, {"value": "g2"}]});
        assert_eq!(group_ids(&user), HashSet::from(["g1".into(), "g2".into()]));
        assert!(group_ids(&json!({"id": "u"})).is_empty());
    }
}
