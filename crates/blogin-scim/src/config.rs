//! The one typed configuration of every role, layered (later wins): defaults in code, a TOML
//! file (`--config FILE` or `BLOGIN_SCIM_CONFIG`), `BLOGIN_SCIM_<FIELD>` environment
//! variables, then command-line flags. Printed at start with secrets redacted.

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Environment prefix of every setting.
pub(crate) const ENV_PREFIX: &str = "BLOGIN_SCIM_";

/// Every knob of every role, each with a safe default. Field names are the TOML keys and,
/// upper-cased behind [`ENV_PREFIX`], the environment variables.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Settings {
    /// HTTP address of the SCIM API (`serve`, `gateway`).
    pub(crate) listen: SocketAddr,
    /// Where `serve` keeps its SQLite database and `serve.json`.
    pub(crate) data_dir: PathBuf,
    /// Public origin clients use (`https://scim.example.com`), for `meta.location` and the
    /// printed Base URL; unset: derived from the request's `Host`.
    pub(crate) public_url: Option<String>,
    /// Build `meta.location` from `X-Forwarded-Proto`/`-Host` (only behind a trusted proxy).
    pub(crate) trust_forwarded: bool,
    /// Database of `store`/`migrate` (and `serve`, which defaults to SQLite in `data_dir`):
    /// `postgres://user:password@host/db` or `sqlite://path?mode=rwc`.
    pub(crate) database_url: Option<String>,
    /// Database connections per store process for the synchronous path (authentication,
    /// reads, applying commands).
    pub(crate) database_pool: u32,
    /// Database connections per store process for background work (fan-out jobs, the outbox
    /// relay, lag reports), a pool of its own so that it never takes the synchronous path's.
    pub(crate) background_pool: u32,
    /// RabbitMQ of `gateway` and `worker`.
    pub(crate) amqp_url: String,
    /// Prefix of the RabbitMQ queue names (one broker, several deployments).
    pub(crate) queue_prefix: String,
    /// gRPC address the `store` role listens on.
    pub(crate) store_listen: SocketAddr,
    /// gRPC URL of the store, for `gateway`, `worker` and `tenant --store-url`.
    pub(crate) store_url: String,
    /// Shared secret of the distributed roles (≥ 32 characters, e.g. `openssl rand -hex 32`):
    /// the store admits only gRPC calls that present it, and the worker applies only commands
    /// the gateway signed with it. Required by `store`, `gateway`, `worker` and
    /// `tenant --store-url`; `serve` needs none (no socket between its parts).
    pub(crate) role_secret: Option<String>,
    /// HTTP address of `/healthz` and `/readyz` for the `worker` and `store` roles (the
    /// gateway serves them on `listen`).
    pub(crate) health_listen: SocketAddr,
    /// HTTP address of `/metrics` (and `/healthz`, `/readyz`) for `serve` and `gateway`:
    /// never the public SCIM port, since metrics name tenants and their activity. Unset: no
    /// metrics endpoint on these roles.
    pub(crate) metrics_listen: Option<SocketAddr>,
    /// How long the gateway waits for a write's result before answering `503` (seconds).
    pub(crate) request_timeout_secs: u64,
    /// How long a token check is cached; a revoked token works at most this long (seconds).
    pub(crate) token_cache_ttl_secs: u64,
    /// Largest request body (bytes); larger is `413`.
    pub(crate) max_body_bytes: usize,
    /// Writes one tenant may have queued at once per gateway (fairness between tenants).
    pub(crate) tenant_inflight: usize,
    /// Page size cap (`filter.maxResults`).
    pub(crate) max_results: u32,
    /// Reads one tenant may have running against the store at once per gateway.
    pub(crate) tenant_reads: usize,
    /// Seconds a client may take to send request headers (and an idle keep-alive connection
    /// may wait for its next request).
    pub(crate) header_read_timeout_secs: u64,
    /// HTTP connections one `serve` or gateway serves at once.
    pub(crate) max_connections: usize,
    /// Commands one worker applies at once (and its RabbitMQ prefetch).
    pub(crate) worker_concurrency: usize,
    /// Most commands one worker applies in one database transaction (group commit).
    pub(crate) worker_batch_size: usize,
    /// Deliveries of a failing command before it is dead-lettered.
    pub(crate) worker_max_deliveries: u32,
    /// `text` or `json` log lines (on stderr).
    pub(crate) log_format: String,
    /// OTLP/gRPC collector the spans are exported to; unset: no tracing (JSON logs then carry
    /// no trace ids, and a caller's `traceparent` is passed on as received).
    pub(crate) otlp_endpoint: Option<String>,
    /// Share of new traces exported, 0.0–1.0.
    pub(crate) otlp_sampling_ratio: f64,
    /// `service.name` of the exported spans; unset: `blogin-scim-<role>`.
    pub(crate) service_name: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            public_url: None,
            trust_forwarded: false,
            database_url: None,
            database_pool: 16,
            background_pool: 4,
            amqp_url: "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned(),
            queue_prefix: "scim".to_owned(),
            store_listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            store_url: "http://127.0.0.1:50051".to_owned(),
            role_secret: None,
            health_listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            metrics_listen: None,
            request_timeout_secs: 25,
            token_cache_ttl_secs: 30,
            max_body_bytes: 1 << 20,
            tenant_inflight: 32,
            max_results: 200,
            tenant_reads: 8,
            header_read_timeout_secs: 10,
            max_connections: 4_096,
            worker_concurrency: 16,
            worker_batch_size: 32,
            worker_max_deliveries: 5,
            log_format: "text".to_owned(),
            otlp_endpoint: None,
            otlp_sampling_ratio: 1.0,
            service_name: None,
        }
    }
}

/// The SQLite database file of `serve` in `data_dir`.
pub(crate) const SQLITE_FILE: &str = "blogin-scim.db";

impl Settings {
    /// Loads defaults ← `file` ← environment ← `overrides` (flags given on the command line,
    /// as a partial TOML-shaped map).
    pub(crate) fn load(
        file: Option<&Path>,
        overrides: serde_json::Map<String, serde_json::Value>,
    ) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            anyhow::ensure!(
                file.exists(),
                "config file {} does not exist (--config / BLOGIN_SCIM_CONFIG)",
                file.display()
            );
            figment = figment.merge(Toml::file(file));
        }
        let known = known_keys();
        // Only known keys: `BLOGIN_SCIM_CONFIG` and the test suites' `BLOGIN_SCIM_TEST_*` are
        // not settings (and would trip `deny_unknown_fields`).
        let env = Env::prefixed(ENV_PREFIX)
            .filter(move |key| known.iter().any(|k| key.as_str().eq_ignore_ascii_case(k)));
        figment = figment.merge(env).merge(Serialized::defaults(overrides));
        let settings: Settings = figment
            .extract()
            .context("invalid configuration (check the config file and BLOGIN_SCIM_* variables)")?;
        settings.check()?;
        Ok(settings)
    }

    /// Bounds that keep the service inside its clients' expectations.
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=55).contains(&self.request_timeout_secs),
            "request_timeout_secs must be between 1 and 55: Entra gives up after 60 s"
        );
        anyhow::ensure!(
            self.token_cache_ttl_secs <= 3600,
            "token_cache_ttl_secs must be at most 3600 (revoked tokens work for that long)"
        );
        anyhow::ensure!(self.max_results >= 1, "max_results must be at least 1");
        anyhow::ensure!(
            matches!(self.log_format.as_str(), "text" | "json"),
            "log_format must be text or json"
        );
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.otlp_sampling_ratio),
            "otlp_sampling_ratio must be between 0.0 and 1.0"
        );
        Ok(())
    }

    /// The database `serve` uses unless `database_url` says otherwise.
    pub(crate) fn embedded_database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join(SQLITE_FILE).display()
            )
        })
    }

    /// Reply deadline.
    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }

    /// What the telemetry needs; `role` names the default `service.name`.
    pub(crate) fn telemetry(&self, role: &str) -> scim_telemetry::TelemetrySettings {
        scim_telemetry::TelemetrySettings {
            otlp_endpoint: self.otlp_endpoint.clone().filter(|e| !e.trim().is_empty()),
            sampling_ratio: self.otlp_sampling_ratio,
            service_name: self
                .service_name
                .clone()
                .unwrap_or_else(|| format!("blogin-scim-{role}")),
            log_format: self.log_format.clone(),
        }
    }

    /// The role secret, which the distributed roles cannot run without.
    pub(crate) fn role_secret(&self) -> anyhow::Result<&str> {
        self.role_secret.as_deref().ok_or_else(|| {
            anyhow::anyhow!(
                "role_secret is not set: the store, gateway and worker share a secret \
                 (≥ 32 characters) — set BLOGIN_SCIM_ROLE_SECRET, e.g. to `openssl rand -hex 32`"
            )
        })
    }

    /// The settings as printed at start: passwords in URLs replaced by `[REDACTED]`.
    pub(crate) fn redacted(&self) -> String {
        let mut copy = self.clone();
        copy.database_url = copy.database_url.as_deref().map(redact_url);
        copy.amqp_url = redact_url(&copy.amqp_url);
        copy.otlp_endpoint = copy.otlp_endpoint.as_deref().map(redact_url);
        copy.role_secret = copy.role_secret.as_ref().map(|_| "[REDACTED]".to_owned());
        serde_json::to_string(&copy).unwrap_or_default()
    }
}

/// Field names, as figment sees lower-cased environment keys.
fn known_keys() -> Vec<&'static str> {
    vec![
        "listen",
        "data_dir",
        "public_url",
        "trust_forwarded",
        "database_url",
        "database_pool",
        "background_pool",
        "amqp_url",
        "queue_prefix",
        "store_listen",
        "store_url",
        "role_secret",
        "health_listen",
        "metrics_listen",
        "request_timeout_secs",
        "token_cache_ttl_secs",
        "max_body_bytes",
        "tenant_inflight",
        "max_results",
        "tenant_reads",
        "header_read_timeout_secs",
        "max_connections",
        "worker_concurrency",
        "worker_batch_size",
        "worker_max_deliveries",
        "log_format",
        "otlp_endpoint",
        "otlp_sampling_ratio",
        "service_name",
    ]
}

/// A `BLOGIN_SCIM_*` variable that sets nothing is almost always a typo: say so.
pub(crate) fn warn_unknown_env() {
    let known = known_keys();
    for (key, _) in std::env::vars() {
        let Some(name) = key.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        // CONFIG names the file; TEST_* belong to the test suites.
        if name == "config" || name.starts_with("test_") || known.contains(&name.as_str()) {
            continue;
        }
        tracing::warn!(variable = %key, "environment variable matches no setting; ignored");
    }
}

/// `scheme://user:secret@host/…?password=…` → `scheme://user:[REDACTED]@host/…?password=[REDACTED]`:
/// the userinfo password and every query parameter that carries a credential (libpq and sqlx
/// accept `password`, `sslpassword`, …).
pub(crate) fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = redact_userinfo(base);
    let Some(query) = query else {
        return base;
    };
    let params: Vec<String> = query
        .split('&')
        .map(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            let k = key.to_ascii_lowercase();
            let secret = ["password", "passwd", "pwd", "secret", "token", "key"]
                .iter()
                .any(|s| k.contains(s));
            if secret && pair.contains('=') {
                format!("{key}=[REDACTED]")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

fn redact_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:[REDACTED]@{host}{path}")
            } else {
                url.to_owned()
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_redacted_and_the_rest_is_kept() {
        assert_eq!(
            redact_url("postgres://scim:hunter2@db:5432/scim"),
            "postgres://scim:[REDACTED]@db:5432/scim"
        );
        assert_eq!(
            redact_url("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:[REDACTED]@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            redact_url("sqlite://data/x.db?mode=rwc"),
            "sqlite://data/x.db?mode=rwc"
        );
    }

    #[test]
    fn passwords_in_query_parameters_are_redacted_too() {
        assert_eq!(
            redact_url("postgres://scim@db/scim?sslmode=require&password=hunter2"),
            "postgres://scim@db/scim?sslmode=require&password=[REDACTED]"
        );
        assert_eq!(
            redact_url("postgres://u:p@db/x?sslpassword=k&application_name=a"),
            "postgres://u:[REDACTED]@db/x?sslpassword=[REDACTED]&application_name=a"
        );
    }

    #[test]
    fn the_redacted_settings_never_contain_the_database_password() {
        let s = Settings {
            database_url: Some("postgres://u:s3cret@h/db".into()),
            amqp_url: "amqp://u:t0ps3cret@h/%2f".into(),
            ..Settings::default()
        };
        let printed = s.redacted();
        assert!(
            !printed.contains("s3cret") && !printed.contains("t0ps3cret"),
            "{printed}"
        );
    }

    #[test]
    fn flags_override_the_file_which_overrides_the_defaults() {
        let dir = std::env::temp_dir().join(format!("blogin-scim-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("config.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nmax_results = 50\n").unwrap();
        let mut flags = serde_json::Map::new();
        flags.insert("listen".into(), "127.0.0.1:9001".into());
        let s = Settings::load(Some(&file), flags).unwrap();
        assert_eq!(s.listen, SocketAddr::from(([127, 0, 0, 1], 9001)));
        assert_eq!(s.max_results, 50);
        assert_eq!(s.tenant_inflight, 32);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure type is figment's"
    )]
    fn environment_variables_set_settings() {
        // figment's Jail restores the environment afterwards and serialises its users.
        figment::Jail::expect_with(|jail| {
            jail.set_env("BLOGIN_SCIM_TOKEN_CACHE_TTL_SECS", "7");
            jail.set_env("BLOGIN_SCIM_LISTEN", "127.0.0.1:9002");
            jail.set_env("BLOGIN_SCIM_TEST_SOMETHING", "ignored");
            let s = Settings::load(None, serde_json::Map::new()).map_err(|e| e.to_string())?;
            assert_eq!(s.token_cache_ttl_secs, 7);
            assert_eq!(s.listen, SocketAddr::from(([127, 0, 0, 1], 9002)));
            Ok(())
        });
    }

    #[test]
    fn telemetry_settings_default_to_no_export_and_a_per_role_service_name() {
        let s = Settings::default();
        let t = s.telemetry("worker");
        assert_eq!(t.otlp_endpoint, None);
        assert_eq!(t.sampling_ratio, 1.0);
        assert_eq!(t.service_name, "blogin-scim-worker");
        let mut flags = serde_json::Map::new();
        flags.insert("otlp_sampling_ratio".into(), 1.5.into());
        let err = Settings::load(None, flags).unwrap_err();
        assert!(
            format!("{err:#}").contains("otlp_sampling_ratio"),
            "{err:#}"
        );
    }

    #[test]
    fn a_request_timeout_beyond_what_entra_waits_is_refused() {
        let mut flags = serde_json::Map::new();
        flags.insert("request_timeout_secs".into(), 600.into());
        let err = Settings::load(None, flags).unwrap_err();
        assert!(
            format!("{err:#}").contains("request_timeout_secs"),
            "{err:#}"
        );
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error_that_names_it() {
        let dir =
            std::env::temp_dir().join(format!("blogin-scim-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("config.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        let err = Settings::load(Some(&file), serde_json::Map::new()).unwrap_err();
        assert!(format!("{err:#}").contains("lisen"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
