//! `incremental`: Entra's incremental cycle against users it provisioned earlier.
//!
//! Seeding (untimed, `setup.*`): `--users` users and one large group holding the first half
//! of them. Measured: per user a match by userName and a PATCH Replace of displayName and
//! title (every 10th user also `active` → `"False"`, Entra's string form), mixed with PATCHes
//! that remove the first half from the group and add the second half.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::Method;

use super::{Ctx, GroupBook, GroupOps, Outcome, UserOps, create_group, create_users, user_checks};
use crate::cli::IncrementalArgs;
use crate::client::{Expect, Stopped};
use crate::payload;
use crate::pool::run_all;

#[derive(Debug, Clone)]
enum Work {
    User(usize),
    Members { ids: Vec<String>, add: bool },
}

pub(crate) async fn run(ctx: Arc<Ctx>, args: IncrementalArgs) -> Result<Outcome, Stopped> {
    let ids = Arc::new(create_users(&ctx, args.users, UserOps::SETUP).await?);
    let per_patch = usize::try_from(args.members_per_patch).unwrap_or(usize::MAX);
    let half = args.users / 2;
    let (first, second): (Vec<String>, Vec<String>) = {
        let first = ids[..half].iter().flatten().cloned().collect();
        let second = ids[half..].iter().flatten().cloned().collect();
        (first, second)
    };
    let book = create_group(&ctx, 0, GroupOps::SETUP)
        .await?
        .map(|id| Arc::new(GroupBook::new(0, id)));
    if let Some(book) = &book {
        let chunks: Vec<Vec<String>> = first.chunks(per_patch).map(<[String]>::to_vec).collect();
        let (c, b) = (ctx.clone(), book.clone());
        run_all(ctx.concurrency, chunks, move |chunk: Vec<String>| {
            let (ctx, book) = (c.clone(), b.clone());
            async move {
                book.patch(&ctx, "setup.groups.patch", &chunk, true).await?;
                Ok(())
            }
        })
        .await?;
    }

    let work = plan(args.users, per_patch, &first, &second, book.is_some());
    let updated: Arc<Vec<AtomicBool>> =
        Arc::new((0..args.users).map(|_| AtomicBool::new(false)).collect());
    let (c, b, i, u) = (ctx.clone(), book.clone(), ids.clone(), updated.clone());
    run_all(ctx.concurrency, work, move |w: Work| {
        let (ctx, book, ids, updated) = (c.clone(), b.clone(), i.clone(), u.clone());
        async move {
            match w {
                Work::User(n) => {
                    let Some(id) = &ids[n] else { return Ok(()) };
                    if update_user(&ctx, n, id).await? {
                        updated[n].store(true, Ordering::Relaxed);
                    }
                }
                Work::Members { ids, add } => {
                    if let Some(book) = &book {
                        book.patch(&ctx, "groups.patch", &ids, add).await?;
                    }
                }
            }
            Ok(())
        }
    })
    .await?;

    let mut users = user_checks(&ctx.prefix, &ids);
    for user in &mut users {
        let n = index_of(&ctx.prefix, &user.user_name);
        if let Some(n) = n.filter(|n| updated[*n].load(Ordering::Relaxed)) {
            user.active = Some(!disabled(n));
        }
    }
    Ok(Outcome {
        users,
        groups: book.iter().map(|b| b.check(&ctx.prefix)).collect(),
        ..Outcome::default()
    })
}

fn disabled(n: usize) -> bool {
    n.is_multiple_of(10)
}

fn index_of(prefix: &str, user_name: &str) -> Option<usize> {
    user_name
        .strip_prefix(prefix)?
        .strip_prefix(".u")?
        .strip_suffix("@example.com")?
        .parse()
        .ok()
}

/// Users in order, with one membership PATCH after every `per_patch` users, alternating
/// removals (first half) and additions (second half) while either lasts.
fn plan(
    users: usize,
    per_patch: usize,
    first: &[String],
    second: &[String],
    group: bool,
) -> Vec<Work> {
    let per_patch = per_patch.max(1);
    let mut members = Vec::new();
    if group {
        let mut removes = first.chunks(per_patch);
        let mut adds = second.chunks(per_patch);
        loop {
            let remove = removes.next().map(|c| Work::Members {
                ids: c.to_vec(),
                add: false,
            });
            let add = adds.next().map(|c| Work::Members {
                ids: c.to_vec(),
                add: true,
            });
            if remove.is_none() && add.is_none() {
                break;
            }
            members.extend(remove.into_iter().chain(add));
        }
    }
    let mut members = members.into_iter();
    let mut out = Vec::with_capacity(users + members.len());
    for n in 0..users {
        out.push(Work::User(n));
        if (n + 1) % per_patch == 0 {
            out.extend(members.next());
        }
    }
    out.extend(members);
    out
}

async fn update_user(ctx: &Ctx, n: usize, id: &str) -> Result<bool, Stopped> {
    let t = &ctx.tenant;
    let filter = payload::filter_eq("userName", &payload::user_name(&ctx.prefix, n));
    let url = t.url(&["Users"], &[("filter", &filter)]);
    let found = t
        .call(
            &ctx.rec,
            "users.filter",
            Method::GET,
            url,
            None,
            Expect::total_results(1),
        )
        .await?;
    if !found.ok {
        return Ok(false);
    }
    let body = payload::update_user(&ctx.prefix, n, disabled(n));
    let url = t.url(&["Users", id], &[]);
    let reply = t
        .call(
            &ctx.rec,
            "users.patch",
            Method::PATCH,
            url,
            Some(&body),
            Expect::PATCHED,
        )
        .await?;
    Ok(reply.ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("id{i}")).collect()
    }

    #[test]
    fn the_plan_updates_every_user_and_moves_every_member_once() {
        let (first, second) = (ids(0..50), ids(50..100));
        let work = plan(100, 10, &first, &second, true);
        let users = work.iter().filter(|w| matches!(w, Work::User(_))).count();
        assert_eq!(users, 100);
        let (mut added, mut removed) = (0, 0);
        for w in &work {
            if let Work::Members { ids, add } = w {
                if *add {
                    added += ids.len()
                } else {
                    removed += ids.len()
                }
            }
        }
        assert_eq!((added, removed), (50, 50));
        assert!(matches!(work[10], Work::Members { add: false, .. }));
        assert!(matches!(work[21], Work::Members { add: true, .. }));
    }

    #[test]
    fn user_names_map_back_to_their_index() {
        let name = payload::user_name("ab12", 37);
        assert_eq!(index_of("ab12", &name), Some(37));
        assert_eq!(index_of("zz", &name), None);
    }
}
