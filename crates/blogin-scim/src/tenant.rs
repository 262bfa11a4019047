//! `tenant …`: the operator's commands (create, list, rotate or revoke tokens, disable,
//! enable), through the store's gRPC API — either a running store role (`--store-url`) or the
//! database itself served in-process (safe beside a running `serve`: SQLite in WAL mode with
//! a busy timeout serialises the writers). Also the default tenant `serve` creates on its
//! first start.

use crate::cli::{TenantAction, TenantArgs};
use crate::config::Settings;
use crate::serve::SERVE_FILE;
use anyhow::Context as _;
use scim_wire::pb::{self, directory_service_client::DirectoryServiceClient};
use scim_wire::role_auth::StoreChannel;
use serde_json::json;
use std::io::IsTerminal as _;

/// The tenant `serve` creates on first start.
const DEFAULT_TENANT: &str = "default";

/// Runs one `tenant` command.
pub(crate) async fn run(s: Settings, args: TenantArgs) -> anyhow::Result<()> {
    let (channel, local) = match &args.store_url {
        Some(url) => (crate::roles::store_channel(url, s.role_secret()?)?, None),
        None => {
            let conn = crate::database::open(&s.embedded_database_url(), 2).await?;
            let channel =
                scim_store::server::in_process(crate::database::directory(conn.clone())).await;
            (channel, Some(conn))
        }
    };
    let result = act(&s, &args, DirectoryServiceClient::new(channel)).await;
    if let Some(conn) = local {
        conn.close().await.ok();
    }
    result
}

async fn act(
    s: &Settings,
    args: &TenantArgs,
    mut client: DirectoryServiceClient<StoreChannel>,
) -> anyhow::Result<()> {
    let root = base_url_root(s);
    match &args.action {
        TenantAction::Create { name, display_name } => {
            let created = client
                .create_tenant(pb::CreateTenantRequest {
                    slug: name.clone(),
                    name: display_name.clone().unwrap_or_else(|| name.clone()),
                })
                .await
                .map_err(|e| failed("create the tenant", &e))?
                .into_inner();
            let slug = created
                .tenant
                .map(|t| t.slug)
                .unwrap_or_else(|| name.clone());
            print_credentials(&root, &slug, &created.token, args.json);
        }
        TenantAction::List => {
            let tenants = client
                .list_tenants(pb::ListTenantsRequest {})
                .await
                .map_err(|e| failed("list tenants", &e))?
                .into_inner()
                .tenants;
            if args.json {
                let rows: Vec<_> = tenants
                    .iter()
                    .map(|t| {
                        json!({
                            "tenant": t.slug,
                            "id": t.id,
                            "name": t.name,
                            "provisioning_enabled": t.provisioning_enabled,
                            "base_url": base_url(&root, &t.slug),
                            "created": t.created.as_ref().map(|c| scim_wire::convert::timestamp_from_pb(c).to_rfc3339()),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!("{:<24} {:<9} BASE URL", "TENANT", "ENABLED");
                for t in &tenants {
                    println!(
                        "{:<24} {:<9} {}",
                        t.slug,
                        if t.provisioning_enabled { "yes" } else { "no" },
                        base_url(&root, &t.slug)
                    );
                }
            }
        }
        TenantAction::RotateToken {
            name,
            grace_seconds,
        } => {
            let issued = client
                .issue_token(pb::IssueTokenRequest {
                    slug: name.clone(),
                    rotate: true,
                    grace_seconds: *grace_seconds,
                })
                .await
                .map_err(|e| failed("rotate the token", &e))?
                .into_inner();
            print_credentials(&root, name, &issued.token, args.json);
            if !args.json {
                eprintln!("Earlier tokens stay valid for {grace_seconds} s.");
            }
        }
        TenantAction::RevokeToken { name } => {
            let revoked = client
                .revoke_tokens(pb::RevokeTokensRequest { slug: name.clone() })
                .await
                .map_err(|e| failed("revoke tokens", &e))?
                .into_inner()
                .revoked;
            if args.json {
                println!("{}", json!({ "tenant": name, "revoked": revoked }));
            } else {
                println!(
                    "Revoked {revoked} token(s) of {name}; gateways honour this within their token cache lifetime."
                );
            }
        }
        TenantAction::Disable { name } | TenantAction::Enable { name } => {
            let enabled = matches!(args.action, TenantAction::Enable { .. });
            let tenant = client
                .set_tenant_enabled(pb::SetTenantEnabledRequest {
                    slug: name.clone(),
                    enabled,
                })
                .await
                .map_err(|e| failed("change the tenant", &e))?
                .into_inner();
            if args.json {
                println!(
                    "{}",
                    json!({ "tenant": tenant.slug, "provisioning_enabled": tenant.provisioning_enabled })
                );
            } else {
                println!(
                    "Provisioning for {} is {}.",
                    tenant.slug,
                    if tenant.provisioning_enabled {
                        "enabled"
                    } else {
                        "disabled"
                    }
                );
            }
        }
        TenantAction::Log {
            name,
            resource,
            outcome,
            limit,
        } => {
            let tenant_id = tenant_id_of(&mut client, name).await?;
            let outcome = match outcome.as_deref() {
                Some("success") => pb::Outcome::Success,
                Some("failure") => pb::Outcome::Failure,
                _ => pb::Outcome::Unspecified,
            };
            let entries = client
                .query_log(pb::QueryLogRequest {
                    tenant_id,
                    resource_id: resource.clone().unwrap_or_default(),
                    outcome: outcome as i32,
                    limit: *limit,
                    ..Default::default()
                })
                .await
                .map_err(|e| failed("read the provisioning log", &e))?
                .into_inner()
                .entries;
            print_log(&entries, args.json);
        }
        TenantAction::Lag { name } => {
            let tenant_id = match name {
                Some(name) => tenant_id_of(&mut client, name).await?,
                None => String::new(),
            };
            let lag = client
                .fanout_lag(pb::FanoutLagRequest { tenant_id })
                .await
                .map_err(|e| failed("read the fan-out lag", &e))?
                .into_inner()
                .tenants;
            // The store lists idle tenants too (for the gauges); an operator asking about every
            // tenant wants the ones with work.
            let lag: Vec<_> = lag
                .into_iter()
                .filter(|t| name.is_some() || t.pending_jobs > 0 || t.pending_events > 0)
                .collect();
            if args.json {
                let rows: Vec<_> = lag
                    .iter()
                    .map(|t| {
                        json!({
                            "tenant": t.slug,
                            "pending_jobs": t.pending_jobs,
                            "oldest_job_age_seconds": t.oldest_job_age_seconds,
                            "pending_events": t.pending_events,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else if lag.is_empty() {
                println!("No pending fan-out work.");
            } else {
                println!(
                    "{:<24} {:>12} {:>16} {:>14}",
                    "TENANT", "PENDING JOBS", "OLDEST JOB AGE", "PENDING EVENTS"
                );
                for t in &lag {
                    println!(
                        "{:<24} {:>12} {:>15.1}s {:>14}",
                        t.slug, t.pending_jobs, t.oldest_job_age_seconds, t.pending_events
                    );
                }
            }
        }
    }
    Ok(())
}

/// Prints provisioning-log rows as a table or JSON lines.
fn print_log(entries: &[pb::LogEntry], as_json: bool) {
    let at = |e: &pb::LogEntry| {
        e.at.as_ref()
            .map(|t| scim_wire::convert::timestamp_from_pb(t).to_rfc3339())
            .unwrap_or_default()
    };
    let kind = |e: &pb::LogEntry| {
        if e.kind == pb::ResourceKind::Group as i32 {
            "Group"
        } else {
            "User"
        }
    };
    if as_json {
        let rows: Vec<_> = entries
            .iter()
            .map(|e| {
                json!({
                    "at": at(e),
                    "operation": e.operation,
                    "resource_type": kind(e),
                    "resource_id": e.resource_id,
                    "outcome": if e.error.is_some() { "failure" } else { "success" },
                    "status": e.error.as_ref().map(|x| x.status),
                    "scim_type": e.error.as_ref().map(|x| x.scim_type.clone()).filter(|t| !t.is_empty()),
                    "detail": e.error.as_ref().map(|x| x.detail.clone()),
                    "trace_id": e.trace_id,
                    "command_id": e.command_id,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return;
    }
    println!(
        "{:<32} {:<8} {:<6} {:<36} {:<8} {:<32} ERROR",
        "AT", "OP", "TYPE", "RESOURCE", "OUTCOME", "TRACE"
    );
    for e in entries {
        let error = e
            .error
            .as_ref()
            .map(|x| format!("{} {} {}", x.status, x.scim_type, x.detail))
            .unwrap_or_default();
        println!(
            "{:<32} {:<8} {:<6} {:<36} {:<8} {:<32} {}",
            at(e),
            terminal_safe(&e.operation),
            kind(e),
            terminal_safe(&e.resource_id),
            if e.error.is_some() {
                "failure"
            } else {
                "success"
            },
            terminal_safe(&e.trace_id),
            terminal_safe(&error)
        );
    }
}

/// Text from the log as it may reach an operator's terminal: control characters (escape
/// sequences, carriage returns that overwrite a line, line breaks that forge a row) are shown
/// escaped. Error details quote what clients sent.
fn terminal_safe(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.chars()
            .flat_map(|c| {
                if c.is_control() {
                    c.escape_default().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .collect()
    } else {
        s.to_owned()
    }
}

/// The id of the tenant `slug` (an unknown name is an error).
async fn tenant_id_of(
    client: &mut DirectoryServiceClient<StoreChannel>,
    slug: &str,
) -> anyhow::Result<String> {
    client
        .list_tenants(pb::ListTenantsRequest {})
        .await
        .map_err(|e| failed("list tenants", &e))?
        .into_inner()
        .tenants
        .into_iter()
        .find(|t| t.slug == slug)
        .map(|t| t.id)
        .ok_or_else(|| anyhow::anyhow!("no tenant named {slug}"))
}

/// On the first start of `serve` (no tenant at all), creates `default` and prints its
/// credentials once: the token is not stored anywhere but as a hash.
///
/// The token is a live credential: it goes to the terminal when there is one, and otherwise
/// (a service manager, a container whose logs are kept) into `initial-credentials.json` in
/// the data directory, readable by this user only — never into a log.
pub(crate) async fn ensure_default(
    channel: StoreChannel,
    root: &str,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let mut client = DirectoryServiceClient::new(channel);
    let tenants = client
        .list_tenants(pb::ListTenantsRequest {})
        .await
        .map_err(|e| failed("list tenants", &e))?
        .into_inner()
        .tenants;
    if !tenants.is_empty() {
        return Ok(());
    }
    let created = client
        .create_tenant(pb::CreateTenantRequest {
            slug: DEFAULT_TENANT.to_owned(),
            name: "Default tenant".to_owned(),
        })
        .await
        .map_err(|e| failed("create the default tenant", &e))?
        .into_inner();
    if std::io::stdout().is_terminal() {
        println!(
            "First start: created the tenant \"{DEFAULT_TENANT}\". Enter these in Microsoft Entra ID (Provisioning → Admin Credentials):"
        );
        print_credentials(root, DEFAULT_TENANT, &created.token, false);
        return Ok(());
    }
    let file = data_dir.join(INITIAL_CREDENTIALS);
    write_private(
        &file,
        &json!({ "tenant": DEFAULT_TENANT, "base_url": base_url(root, DEFAULT_TENANT), "token": created.token })
            .to_string(),
    )?;
    println!(
        "First start: created the tenant \"{DEFAULT_TENANT}\" (Base (Tenant) URL: {}).",
        base_url(root, DEFAULT_TENANT)
    );
    println!(
        "  Its Secret Token is in {} (readable by this user only; not printed, since this output is not a terminal). Paste it into Entra, then delete the file.",
        file.display()
    );
    Ok(())
}

/// Where `serve` leaves the default tenant's credentials when it has no terminal.
pub(crate) const INITIAL_CREDENTIALS: &str = "initial-credentials.json";

/// Writes `text` to a new file only its owner can read.
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("while writing {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("while writing {}", path.display()))
}

fn print_credentials(root: &str, slug: &str, token: &str, as_json: bool) {
    let url = base_url(root, slug);
    if as_json {
        println!(
            "{}",
            json!({ "tenant": slug, "base_url": url, "token": token })
        );
    } else {
        println!("  Tenant:            {slug}");
        println!("  Base (Tenant) URL: {url}");
        println!("  Secret Token:      {token}");
        println!(
            "  (Shown once: only its SHA-256 is stored. Rotate with `blogin-scim tenant rotate-token {slug}`.)"
        );
    }
}

fn base_url(root: &str, slug: &str) -> String {
    format!("{}/scim/v2/{slug}", root.trim_end_matches('/'))
}

/// Where clients reach the API: the configured public URL, else the address a `serve` on the
/// same data directory announced, else the configured listen address.
fn base_url_root(s: &Settings) -> String {
    if let Some(url) = &s.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let announced = std::fs::read_to_string(s.data_dir.join(SERVE_FILE))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| {
            v.get("base_url_root")
                .and_then(|r| r.as_str())
                .map(str::to_owned)
        });
    announced.unwrap_or_else(|| format!("http://{}", s.listen))
}

/// A failed store call as an operator-readable error (the SCIM detail when there is one).
fn failed(what: &str, status: &tonic::Status) -> anyhow::Error {
    let reason = scim_wire::status::scim_error(status)
        .map(|e| e.detail().to_owned())
        .unwrap_or_else(|| status.message().to_owned());
    anyhow::anyhow!("could not {what}: {reason}")
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn control_characters_never_reach_the_terminal_raw() {
        assert_eq!(terminal_safe("plain é"), "plain é");
        let forged = terminal_safe("x\r\u{1b}[2Kfake row\nnext");
        assert!(!forged.chars().any(char::is_control), "{forged}");
        assert!(forged.contains("\\u{1b}"));
    }
}
