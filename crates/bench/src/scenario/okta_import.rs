//! `okta-import`: Okta's user import, a full read of /Users in pages.
//!
//! Pages are read one after another, as Okta does (each `startIndex` follows from the last
//! page's size), so `--concurrency` only applies to the optional `--seed`. Multiple tenants
//! import side by side.

use std::collections::HashSet;
use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;

use super::{Ctx, Import, Outcome, UserOps, create_users, user_checks};
use crate::cli::OktaImportArgs;
use crate::client::{BodyCheck, Expect, Stopped, resource_id};

pub(crate) async fn run(ctx: Arc<Ctx>, args: OktaImportArgs) -> Result<Outcome, Stopped> {
    let mut outcome = Outcome::default();
    if args.seed {
        let ids = create_users(&ctx, args.users, UserOps::SETUP).await?;
        outcome.users = user_checks(&ctx.prefix, &ids);
    }
    let import = import(&ctx, args.page_size).await?;
    if import.distinct_ids != import.total_results {
        outcome.failures.push(format!(
            "tenant {}: paging returned {} distinct users but totalResults is {}",
            ctx.tenant.index, import.distinct_ids, import.total_results
        ));
    }
    outcome.import = Some(import);
    Ok(outcome)
}

async fn import(ctx: &Ctx, page_size: u64) -> Result<Import, Stopped> {
    let t = &ctx.tenant;
    let count = page_size.to_string();
    let expect = Expect {
        statuses: &[200],
        body: BodyCheck::List,
    };
    let mut seen = HashSet::new();
    let mut import = Import::default();
    let mut start: u64 = 1;
    loop {
        let start_index = start.to_string();
        let url = t.url(
            &["Users"],
            &[("startIndex", &start_index), ("count", &count)],
        );
        let reply = t
            .call(&ctx.rec, "users.page", Method::GET, url, None, expect)
            .await?;
        // A failed page ends the import: the next startIndex is unknown.
        let Some(page) = reply.body.filter(|_| reply.ok) else {
            break;
        };
        import.pages += 1;
        import.total_results = page
            .get("totalResults")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let resources = page
            .get("Resources")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        import.users_seen += resources.len() as u64;
        seen.extend(resources.iter().filter_map(resource_id));
        // An empty page before the end would otherwise loop forever.
        if resources.is_empty() {
            break;
        }
        start += resources.len() as u64;
        if start > import.total_results {
            break;
        }
    }
    import.distinct_ids = seen.len() as u64;
    Ok(import)
}
