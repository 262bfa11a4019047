//! `entra`: Microsoft Entra ID's initial provisioning cycle.
//!
//! Per tenant, all users first (match by userName, POST, GET), then all groups (match by
//! displayName, POST without members, GET without members, then the memberships in PATCHes
//! of `--members-per-patch`), because Entra provisions a group's members only once they exist.

use std::sync::{Arc, OnceLock};

use super::{Ctx, GroupBook, GroupOps, Outcome, UserOps, create_group, create_users, user_checks};
use crate::cli::EntraArgs;
use crate::client::Stopped;
use crate::payload::group_members;
use crate::pool::run_all;

pub(crate) async fn run(ctx: Arc<Ctx>, args: EntraArgs) -> Result<Outcome, Stopped> {
    let ids = create_users(&ctx, args.users, UserOps::ENTRA).await?;
    // Round-robin over the users that exist: a failed create is already counted as an error
    // and must not turn every PATCH naming it into a second one.
    let created: Arc<Vec<String>> = Arc::new(ids.iter().flatten().cloned().collect());
    let books: Arc<Vec<OnceLock<GroupBook>>> =
        Arc::new((0..args.groups).map(|_| OnceLock::new()).collect());
    let per_patch = usize::try_from(args.members_per_patch).unwrap_or(usize::MAX);
    let (c, b, members) = (ctx.clone(), books.clone(), args.members_per_group);
    run_all(
        ctx.concurrency,
        (0..args.groups).collect(),
        move |g: usize| {
            let (ctx, books, created) = (c.clone(), b.clone(), created.clone());
            async move {
                let Some(id) = create_group(&ctx, g, GroupOps::ENTRA).await? else {
                    return Ok(());
                };
                let book = books[g].get_or_init(|| GroupBook::new(g, id));
                let ids: Vec<String> = group_members(g, members, created.len())
                    .into_iter()
                    .map(|i| created[i].clone())
                    .collect();
                // One group's PATCHes go one after another, as Entra sends them.
                for chunk in ids.chunks(per_patch) {
                    book.patch(&ctx, "groups.patch", chunk, true).await?;
                }
                Ok(())
            }
        },
    )
    .await?;
    Ok(Outcome {
        users: user_checks(&ctx.prefix, &ids),
        groups: books
            .iter()
            .filter_map(|b| Some(b.get()?.check(&ctx.prefix)))
            .collect(),
        ..Outcome::default()
    })
}
