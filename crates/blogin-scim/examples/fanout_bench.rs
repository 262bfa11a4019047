//! Fan-out benchmark: the time from the `204` of one PATCH that adds `N` members to a group
//! until every one of those users' `groups` projection is updated (the tenant's fan-out jobs
//! are all done) and until their `MembershipChanged` events are all published, read from the
//! store's `FanoutLag`. Run it against the distributed roles with 1 and with 2 workers.
//!
//! ```sh
//! BLOGIN_SCIM_ROLE_SECRET=… cargo run --release -p blogin-scim --example fanout_bench -- BASE_URL TOKEN STORE_URL [N=10000]
//! ```
//!
//! (the store admits only callers presenting the deployment's role secret).

use scim_wire::pb::{self, directory_service_client::DirectoryServiceClient};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() >= 4,
        "usage: fanout_bench BASE_URL TOKEN STORE_URL [N]"
    );
    let (base, token, store_url) = (
        args[1].trim_end_matches('/').to_owned(),
        args[2].clone(),
        args[3].clone(),
    );
    let n: usize = args.get(4).map_or(Ok(10_000), |s| s.parse())?;
    let http = reqwest::Client::new();
    let secret = std::env::var("BLOGIN_SCIM_ROLE_SECRET")
        .map_err(|_| anyhow::anyhow!("set BLOGIN_SCIM_ROLE_SECRET to the store's role secret"))?;
    let mut store = DirectoryServiceClient::new(
        scim_wire::role_auth::PresentSecret::new(Some(&secret))?.wrap(
            tonic::transport::Endpoint::from_shared(store_url)?
                .connect()
                .await?,
        ),
    );
    let run = uuid::Uuid::new_v4().simple().to_string();

    // Seed N users (not timed).
    let mut ids = Vec::with_capacity(n);
    let mut pending = futures_util::stream::FuturesUnordered::new();
    use futures_util::StreamExt;
    for i in 0..n {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        let user = format!("fan-{run}-{i}@example.com");
        pending.push(async move {
            let r = http
                .post(format!("{base}/Users"))
                .bearer_auth(&token)
                .header("content-type", "application/scim+json")
                .body(json!({"userName": user}).to_string())
                .send()
                .await?;
            anyhow::ensure!(r.status() == 201, "create answered {}", r.status());
            let v: serde_json::Value = r.json().await?;
            Ok::<_, anyhow::Error>(v["id"].as_str().unwrap_or_default().to_owned())
        });
        if pending.len() >= 32 {
            ids.push(pending.next().await.unwrap()?);
        }
    }
    while let Some(id) = pending.next().await {
        ids.push(id?);
    }
    let group: serde_json::Value = http
        .post(format!("{base}/Groups"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({"displayName": format!("fan-{run}")}).to_string())
        .send()
        .await?
        .json()
        .await?;
    let gid = group["id"].as_str().unwrap_or_default().to_owned();
    let tenant_id = {
        let tenants = store
            .list_tenants(pb::ListTenantsRequest {})
            .await?
            .into_inner()
            .tenants;
        let slug = base.rsplit('/').next().unwrap_or_default();
        tenants
            .into_iter()
            .find(|t| t.slug == slug)
            .map(|t| t.id)
            .unwrap_or_default()
    };

    let members: Vec<_> = ids.iter().map(|id| json!({"value": id})).collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "Add", "path": "members", "value": members}]});
    let sent = Instant::now();
    let r = http
        .patch(format!("{base}/Groups/{gid}"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await?;
    anyhow::ensure!(r.status() == 204, "PATCH answered {}", r.status());
    let answered = Instant::now();
    let (mut projections_done, mut events_done) = (None, None);
    while events_done.is_none() {
        let lag = store
            .fanout_lag(pb::FanoutLagRequest {
                tenant_id: tenant_id.clone(),
            })
            .await?
            .into_inner()
            .tenants;
        let (jobs, events) = lag.iter().fold((0, 0), |a, t| {
            (a.0 + t.pending_jobs, a.1 + t.pending_events)
        });
        if jobs == 0 && projections_done.is_none() {
            projections_done = Some(answered.elapsed());
        }
        if jobs == 0 && events == 0 {
            events_done = Some(answered.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let p = projections_done.unwrap_or_default();
    let e = events_done.unwrap_or_default();
    println!(
        "PATCH adding {n} members: 204 after {:.0} ms; all projections updated {:.2} s after the 204 ({:.0} projections/s); all events published after {:.2} s",
        (answered - sent).as_secs_f64() * 1e3,
        p.as_secs_f64(),
        n as f64 / p.as_secs_f64().max(1e-9),
        e.as_secs_f64(),
    );
    Ok(())
}
