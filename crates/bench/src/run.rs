//! One run: build the client, drive every tenant's scenario side by side, verify, report.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::cli::{Cli, Scenario, Settings, Target};
use crate::client::{Runner, Stopped, Tenant};
use crate::report::{Report, Verified};
use crate::scenario::{self, Convergence, Ctx, Import, Outcome};
use crate::stats::Recorder;
use crate::verify::{VerifyReport, verify_tenant};

/// Runs the scenario, prints the report, and says whether the run succeeded.
pub(crate) async fn run(
    cli: &Cli,
    settings: Settings,
    targets: Vec<Target>,
) -> anyhow::Result<bool> {
    let started = Instant::now();
    let deadline = settings.deadline.map(|d| started + d);
    let pool = settings.concurrency.saturating_mul(targets.len());
    let runner = Arc::new(
        Runner::new(pool, settings.timeout, deadline, settings.spacing)
            .context("while building the HTTP client")?,
    );
    let rec = Arc::new(Recorder::default());
    let verify_rec = Arc::new(Recorder::default());
    let mut ctxs = Vec::with_capacity(targets.len());
    for (i, target) in targets.iter().enumerate() {
        ctxs.push(Arc::new(Ctx {
            tenant: Tenant::new(i, target, runner.clone())?,
            rec: rec.clone(),
            prefix: settings.prefix.clone(),
            concurrency: settings.concurrency,
        }));
    }
    let progress = tokio::spawn(crate::progress::every_second(
        started,
        rec.clone(),
        verify_rec.clone(),
    ));

    let handles: Vec<_> = ctxs
        .iter()
        .map(|ctx| tokio::spawn(run_tenant(ctx.clone(), cli.scenario.clone())))
        .collect();
    let outcomes = join_all(handles).await?;
    let verify = if !settings.verify {
        Verified::NotAsked
    } else if runner.deadline_hit() || outcomes.iter().any(Result::is_err) {
        Verified::Skipped("the --deadline was reached")
    } else {
        let done: Vec<Arc<Outcome>> = outcomes.iter().flatten().cloned().collect();
        verify_all(&ctxs, &done, &verify_rec).await?
    };
    progress.abort();
    crate::progress::last(started, &rec, &verify_rec);

    let finished: Vec<&Outcome> = outcomes.iter().flatten().map(|o| o.as_ref()).collect();
    let report = Report {
        scenario: cli.scenario.name(),
        tenants: ctxs.len(),
        concurrency: settings.concurrency,
        rate: cli.rate,
        prefix: settings.prefix.clone(),
        params: cli.scenario.params(),
        summary: rec.summary(),
        aborted: runner.aborted(),
        deadline_hit: runner.deadline_hit(),
        verify,
        convergence: worst_convergence(&finished),
        import: total_import(&finished),
    };
    let samples = rec.error_samples();
    if !samples.is_empty() {
        eprintln!("first errors:");
        for s in samples {
            eprintln!("  {s}");
        }
    }
    if !settings.json_only {
        println!("{}", report.text());
    }
    println!("{}", report.json());
    Ok(report.success())
}

async fn run_tenant(ctx: Arc<Ctx>, scenario: Scenario) -> Result<Arc<Outcome>, Stopped> {
    let outcome = match scenario {
        Scenario::Entra(a) => scenario::entra::run(ctx, a).await?,
        Scenario::LargeGroups(a) => scenario::large_groups::run(ctx, a).await?,
        Scenario::Incremental(a) => scenario::incremental::run(ctx, a).await?,
        Scenario::OktaImport(a) => scenario::okta_import::run(ctx, a).await?,
    };
    Ok(Arc::new(outcome))
}

async fn join_all<T>(handles: Vec<JoinHandle<T>>) -> anyhow::Result<Vec<T>> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        match h.await {
            Ok(v) => out.push(v),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(e).context("while waiting for a tenant's run"),
        }
    }
    Ok(out)
}

async fn verify_all(
    ctxs: &[Arc<Ctx>],
    outcomes: &[Arc<Outcome>],
    rec: &Arc<Recorder>,
) -> anyhow::Result<Verified> {
    let handles: Vec<_> = ctxs
        .iter()
        .zip(outcomes)
        .map(|(ctx, outcome)| {
            let (ctx, outcome, rec) = (ctx.clone(), outcome.clone(), rec.clone());
            tokio::spawn(async move { verify_tenant(ctx, rec, &outcome).await })
        })
        .collect();
    let mut total = VerifyReport::default();
    for result in join_all(handles).await? {
        match result {
            Ok(r) => total.merge(r),
            Err(Stopped) => {
                return Ok(Verified::Skipped(
                    "the --deadline was reached during verify",
                ));
            }
        }
    }
    Ok(Verified::Done(total))
}

/// The slowest tenant decides; one tenant not converged means the run did not converge.
fn worst_convergence(outcomes: &[&Outcome]) -> Option<Convergence> {
    outcomes
        .iter()
        .filter_map(|o| o.convergence)
        .reduce(|a, b| Convergence {
            sampled: a.sampled + b.sampled,
            after: a.after.zip(b.after).map(|(x, y)| x.max(y)),
            last_wrong: a.last_wrong.max(b.last_wrong),
            timeout: a.timeout,
        })
}

fn total_import(outcomes: &[&Outcome]) -> Option<Import> {
    outcomes
        .iter()
        .filter_map(|o| o.import)
        .reduce(|a, b| Import {
            pages: a.pages + b.pages,
            users_seen: a.users_seen + b.users_seen,
            distinct_ids: a.distinct_ids + b.distinct_ids,
            total_results: a.total_results + b.total_results,
        })
}
