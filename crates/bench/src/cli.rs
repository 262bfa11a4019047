//! Command line: global flags, one subcommand per scenario, and the tenant targets.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use reqwest::Url;

/// Flags that apply to every scenario, listed apart from the scenario's own in `--help`.
const GLOBAL: &str = "Global options";

/// Replays Microsoft Entra ID's (and Okta's) SCIM 2.0 provisioning traffic against one or more
/// tenants and reports latency percentiles, throughput and status counts.
///
/// Exit code: 0 when every request got its expected status (and --verify passed, if asked),
/// 1 otherwise (errors, failed verification, or the --deadline cut the run short), 2 for usage
/// errors.
#[derive(Debug, Parser)]
#[command(name = "blogin-scim-bench", version)]
pub(crate) struct Cli {
    /// SCIM base URL of one tenant, e.g. http://127.0.0.1:8080/scim/v2/t1 (repeatable; the
    /// n-th --target goes with the n-th --token). Plain http only.
    #[arg(
        long = "target",
        value_name = "BASE_URL",
        global = true,
        help_heading = GLOBAL
    )]
    pub(crate) targets: Vec<String>,

    /// Bearer token of the tenant given by the --target at the same position (repeatable).
    #[arg(
        long = "token",
        value_name = "TOKEN",
        global = true,
        help_heading = GLOBAL
    )]
    pub(crate) tokens: Vec<String>,

    /// File with one tenant per line: `BASE_URL TOKEN` (blank lines and lines starting with #
    /// are ignored). Keeps tokens out of the process list.
    #[arg(
        long,
        value_name = "FILE",
        global = true,
        help_heading = GLOBAL
    )]
    pub(crate) targets_file: Option<PathBuf>,

    /// Requests in flight per tenant.
    #[arg(
        long,
        default_value_t = 16,
        value_parser = clap::value_parser!(u32).range(1..=4096),
        global = true,
        help_heading = GLOBAL
    )]
    pub(crate) concurrency: u32,

    /// Hard bound on the whole run in seconds: no request is issued after it, requests in
    /// flight are abandoned, and what was measured so far is reported (exit code 1).
    #[arg(
        long,
        value_name = "SECS",
        global = true,
        help_heading = GLOBAL
    )]
    pub(crate) deadline: Option<f64>,

    /// Issue at most this many requests per second over the whole run (all tenants together),
    /// evenly spaced; unset: as fast as --concurrency allows. For latency at a given load, e.g.
    /// half of the saturation rate an unpaced run measured. A request's latency is timed from
    /// when it is sent, not from when its slot came.
    #[arg(
        long,
        value_name = "REQ_PER_S",
        global = true,
        help_heading = GLOBAL
    )]
    pub(crate) rate: Option<f64>,

    /// Per-request timeout in seconds (Entra gives up after about a minute).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60.0,
        global = true,
        help_heading = GLOBAL
    )]
    pub(crate) timeout: f64,

    /// After the run, read back every created user and group and compare with what the server
    /// acknowledged; `large-groups` also requires convergence, `okta-import` that paging saw
    /// totalResults distinct users.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub(crate) verify: bool,

    /// Print only the final JSON line on stdout (progress still goes to stderr).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub(crate) json_only: bool,

    /// Prefix of generated userNames and displayNames [default: a random 8-hex run id, so
    /// repeated runs against the same tenant do not collide].
    #[arg(
        long,
        value_name = "STR",
        global = true,
        help_heading = GLOBAL
    )]
    pub(crate) prefix: Option<String>,

    /// The traffic to replay.
    #[command(subcommand)]
    pub(crate) scenario: Scenario,
}

/// One subcommand per replayed client behaviour.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum Scenario {
    /// Entra's initial cycle: per user filter → POST → GET; then per group filter → POST → GET
    /// (without members) → membership PATCHes of --members-per-patch members each.
    Entra(EntraArgs),
    /// The large-group initial sync: users, empty groups, then every group's membership
    /// PATCHes interleaved; then measures how long until users' `groups` reflect them.
    LargeGroups(LargeGroupsArgs),
    /// Entra's incremental cycle on freshly seeded users: filter + PATCH Replace per user
    /// (every 10th is disabled) mixed with member add/remove PATCHes on one large group.
    Incremental(IncrementalArgs),
    /// Okta's import: read all users with paged GET /Users?startIndex=&count=.
    OktaImport(OktaImportArgs),
}

impl Scenario {
    /// The stable name used in the report.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Scenario::Entra(_) => "entra",
            Scenario::LargeGroups(_) => "large-groups",
            Scenario::Incremental(_) => "incremental",
            Scenario::OktaImport(_) => "okta-import",
        }
    }

    /// The scenario's arguments, for the JSON report.
    pub(crate) fn params(&self) -> serde_json::Value {
        let params = match self {
            Scenario::Entra(a) => serde_json::to_value(a),
            Scenario::LargeGroups(a) => serde_json::to_value(a),
            Scenario::Incremental(a) => serde_json::to_value(a),
            Scenario::OktaImport(a) => serde_json::to_value(a),
        };
        params.unwrap_or_default()
    }
}

/// Arguments of `entra`.
#[derive(Debug, Clone, Args, serde::Serialize)]
pub(crate) struct EntraArgs {
    /// Users to create per tenant.
    #[arg(long, default_value_t = 2000)]
    pub(crate) users: usize,
    /// Groups to create per tenant.
    #[arg(long, default_value_t = 20)]
    pub(crate) groups: usize,
    /// Members per group, taken round-robin from the tenant's created users.
    #[arg(long, default_value_t = 100)]
    pub(crate) members_per_group: usize,
    /// Members added by one PATCH (Entra sends small batches).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) members_per_patch: u64,
}

/// Arguments of `large-groups`.
#[derive(Debug, Clone, Args, serde::Serialize)]
pub(crate) struct LargeGroupsArgs {
    /// Users to create per tenant.
    #[arg(long, default_value_t = 3000)]
    pub(crate) users: usize,
    /// Groups to create per tenant.
    #[arg(long, default_value_t = 10)]
    pub(crate) groups: usize,
    /// Members per group: group g gets users [g*M, g*M+M) modulo --users.
    #[arg(long, default_value_t = 1000)]
    pub(crate) members_per_group: usize,
    /// Members added by one PATCH.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) members_per_patch: u64,
    /// Users (spread over all groups) whose `groups` attribute is polled for convergence.
    #[arg(long, default_value_t = 200)]
    pub(crate) check_users: usize,
    /// Seconds after the last PATCH response to wait for `groups` to converge.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub(crate) converge_timeout: f64,
}

/// Arguments of `incremental`.
#[derive(Debug, Clone, Args, serde::Serialize)]
pub(crate) struct IncrementalArgs {
    /// Users to seed (untimed, reported as `setup.*`) and then update.
    #[arg(long, default_value_t = 1000)]
    pub(crate) users: usize,
    /// Members added or removed by one PATCH of the large group.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) members_per_patch: u64,
}

/// Arguments of `okta-import`.
#[derive(Debug, Clone, Args, serde::Serialize)]
pub(crate) struct OktaImportArgs {
    /// Create --users users first (untimed, reported as `setup.*`).
    #[arg(long)]
    pub(crate) seed: bool,
    /// Users to create with --seed.
    #[arg(long, default_value_t = 1000)]
    pub(crate) users: usize,
    /// `count` of each page.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) page_size: u64,
}

/// One tenant to drive: its SCIM base URL and bearer token.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:8080/scim/v2/t1`.
    pub(crate) base: Url,
    /// Bearer token; never printed (see the `Debug` impl).
    pub(crate) token: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("base", &self.base.as_str())
            .field("token", &"[REDACTED]")
            .finish()
    }
}

/// A command line that parses but cannot be run; reported like clap's own errors (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// The run's settings after validation.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) concurrency: usize,
    pub(crate) timeout: Duration,
    pub(crate) deadline: Option<Duration>,
    /// Time between two requests when paced (`--rate`).
    pub(crate) spacing: Option<Duration>,
    pub(crate) verify: bool,
    pub(crate) json_only: bool,
    pub(crate) prefix: String,
}

impl Cli {
    /// Collects the tenants from --target/--token pairs and --targets-file.
    pub(crate) fn targets(&self) -> Result<Vec<Target>, UsageError> {
        if self.targets.len() != self.tokens.len() {
            return Err(UsageError(format!(
                "--target and --token come in pairs: got {} --target and {} --token",
                self.targets.len(),
                self.tokens.len()
            )));
        }
        let mut out = Vec::new();
        for (base, token) in self.targets.iter().zip(&self.tokens) {
            out.push(target(base, token)?);
        }
        if let Some(path) = &self.targets_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                UsageError(format!(
                    "cannot read --targets-file {}: {e}",
                    path.display()
                ))
            })?;
            out.extend(parse_targets_file(&text)?);
        }
        if out.is_empty() {
            return Err(UsageError(
                "no tenant given: use --target BASE_URL --token TOKEN or --targets-file FILE"
                    .into(),
            ));
        }
        Ok(out)
    }

    /// Validates the global flags.
    pub(crate) fn settings(&self) -> Result<Settings, UsageError> {
        let timeout = seconds("--timeout", self.timeout)?;
        let deadline = self
            .deadline
            .map(|d| seconds("--deadline", d))
            .transpose()?;
        let spacing = self
            .rate
            .map(|r| {
                Some(r)
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .and_then(|r| Duration::try_from_secs_f64(1.0 / r).ok())
                    .ok_or_else(|| UsageError("--rate must be a positive number".into()))
            })
            .transpose()?;
        let prefix = match &self.prefix {
            Some(p) if p.is_empty() || p.chars().any(|c| c.is_whitespace() || c == '"') => {
                return Err(UsageError(
                    "--prefix must be non-empty, without spaces or quotes (it goes into filters)"
                        .into(),
                ));
            }
            Some(p) => p.clone(),
            None => uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
        };
        Ok(Settings {
            concurrency: self.concurrency as usize,
            timeout,
            deadline,
            spacing,
            verify: self.verify,
            json_only: self.json_only,
            prefix,
        })
    }
}

fn seconds(flag: &str, value: f64) -> Result<Duration, UsageError> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| UsageError(format!("{flag} must be a positive number of seconds")))
}

/// Parses the `BASE_URL TOKEN` lines of a targets file.
pub(crate) fn parse_targets_file(text: &str) -> Result<Vec<Target>, UsageError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        match (fields.next(), fields.next(), fields.next()) {
            (Some(base), Some(token), None) => out.push(target(base, token)?),
            // The line is not echoed: it may hold a token.
            _ => {
                return Err(UsageError(format!(
                    "--targets-file line {}: expected `BASE_URL TOKEN`",
                    n + 1
                )));
            }
        }
    }
    Ok(out)
}

fn target(base: &str, token: &str) -> Result<Target, UsageError> {
    let trimmed = base.trim_end_matches('/');
    let url = Url::parse(trimmed)
        .ok()
        // reqwest is built without TLS here (targets are loopback or a private network), so
        // an https URL would only fail later as an `io` error on every request.
        .filter(|u| u.scheme() == "http" && u.host().is_some())
        .filter(|u| u.query().is_none() && u.fragment().is_none())
        .ok_or_else(|| {
            UsageError(format!(
                "not a plain http:// SCIM base URL (this build has no TLS): {base}"
            ))
        })?;
    if token.is_empty() {
        return Err(UsageError(format!("empty token for {base}")));
    }
    Ok(Target {
        base: url,
        token: token.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_file_skips_comments_and_blank_lines_and_trims_slashes() {
        let text = "# tenants\n\n\
            http://127.0.0.1:8080/scim/v2/t1/  tok1\n\
            \x20 http://127.0.0.1:8080/scim/v2/t2\ttok2  \n";
        let targets = parse_targets_file(text).unwrap();
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0].base.as_str(), "http://127.0.0.1:8080/scim/v2/t1");
        assert_eq!(targets[0].token, "tok1");
        assert_eq!(targets[1].base.as_str(), "http://127.0.0.1:8080/scim/v2/t2");
        assert_eq!(targets[1].token, "tok2");
    }

    #[test]
    fn targets_file_line_without_token_is_a_usage_error_that_does_not_echo_the_line() {
        let err = parse_targets_file("http://h/scim/v2/t1\n").unwrap_err();
        assert!(err.0.contains("line 1"), "{err}");
        let err = parse_targets_file("http://h/x secret extra\n").unwrap_err();
        assert!(!err.0.contains("secret"), "{err}");
    }

    #[test]
    fn targets_file_rejects_a_base_that_is_not_plain_http() {
        assert!(parse_targets_file("ftp://h/scim tok\n").is_err());
        assert!(parse_targets_file("https://h/scim tok\n").is_err());
        assert!(parse_targets_file("not-a-url tok\n").is_err());
    }

    #[test]
    fn target_debug_output_never_shows_the_token() {
        let t = target("http://127.0.0.1:1/scim/v2/x", "bscim_secret").unwrap();
        assert!(!format!("{t:?}").contains("bscim_secret"));
    }

    #[test]
    fn unpaired_target_and_token_is_a_usage_error() {
        let cli = Cli::try_parse_from([
            "b",
            "--target",
            "http://127.0.0.1:1/a",
            "--target",
            "http://127.0.0.1:1/b",
            "--token",
            "t",
            "entra",
        ])
        .unwrap();
        assert!(cli.targets().is_err());
    }

    #[test]
    fn global_flags_are_accepted_after_the_subcommand_and_defaults_hold() {
        let cli = Cli::try_parse_from([
            "b",
            "entra",
            "--target",
            "http://127.0.0.1:1/a",
            "--token",
            "t",
            "--concurrency",
            "4",
        ])
        .unwrap();
        assert_eq!(cli.concurrency, 4);
        let Scenario::Entra(a) = &cli.scenario else {
            panic!("not entra")
        };
        assert_eq!(
            (a.users, a.groups, a.members_per_group, a.members_per_patch),
            (2000, 20, 100, 10)
        );
        let s = cli.settings().unwrap();
        assert_eq!(s.prefix.len(), 8);
        assert_eq!(s.timeout, Duration::from_secs(60));
    }
}
