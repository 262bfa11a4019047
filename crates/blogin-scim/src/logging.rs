//! Log lines on stderr, text or JSON, filtered by `RUST_LOG` (default `info` for services, `warn` for
//! operator commands). Stdout is kept
//! for what scripts read (credentials, `--json` output).

/// Installs the global subscriber.
pub(crate) fn init(format: &str, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        format!("{default_level},h2=off,tower=warn,hyper=warn,sqlx=warn,lapin=warn").into()
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format.eq_ignore_ascii_case("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
