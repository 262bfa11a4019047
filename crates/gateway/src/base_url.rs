//! The tenant's SCIM base URL, `{origin}/scim/v2/{tenant}`, from which `meta.location`,
//! `Location` and member `$ref`s are built. They must be absolute (RFC 7643 §3.1) and must
//! name the URL the identity provider actually uses, which behind a proxy is not the
//! gateway's own address.
//!
//! Header-derived parts are checked before use: a `Host` or `X-Forwarded-*` value with
//! characters a host (or path prefix) cannot have is ignored, so a client cannot make the
//! gateway hand out arbitrary URLs.

use crate::config::GatewayConfig;
use http::header::HOST;
use http::{HeaderMap, Uri};
use std::net::SocketAddr;

/// The tenant's SCIM base URL, without a trailing slash.
pub(crate) fn tenant_base(
    config: &GatewayConfig,
    headers: &HeaderMap,
    uri: &Uri,
    local: Option<SocketAddr>,
    tenant: &str,
) -> String {
    format!(
        "{}/scim/v2/{}",
        origin(config, headers, uri, local),
        encode_segment(tenant)
    )
}

/// The origin: `public_url`; else, behind a trusted proxy, the forwarded headers; else the
/// address the client connected to. The `Host` header is used only where that address is
/// unknown (a router driven without a listener, as in tests): it is the client's to choose.
fn origin(
    config: &GatewayConfig,
    headers: &HeaderMap,
    uri: &Uri,
    local: Option<SocketAddr>,
) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host_header = header(headers, HOST.as_str()).filter(|h| valid_host(h));
    let own_host = match local {
        Some(addr) => addr.to_string(),
        None => host_header
            .map(str::to_owned)
            .or_else(|| uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| "localhost".to_owned()),
    };
    if !config.trust_forwarded {
        return format!("http://{own_host}");
    }
    let proto = header(headers, "x-forwarded-proto")
        .map(str::to_ascii_lowercase)
        .filter(|p| p == "http" || p == "https")
        .unwrap_or_else(|| "http".to_owned());
    let host = header(headers, "x-forwarded-host")
        .filter(|h| valid_host(h))
        .map(str::to_owned)
        .unwrap_or(own_host);
    let prefix = header(headers, "x-forwarded-prefix")
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| valid_prefix(p))
        .unwrap_or_default();
    format!("{proto}://{host}{prefix}")
}

/// The first value of a (possibly comma-separated, proxy-appended) header, trimmed.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let v = headers.get(name)?.to_str().ok()?;
    let first = v.split(',').next()?.trim();
    (!first.is_empty()).then_some(first)
}

fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_')
        })
}

fn valid_prefix(p: &str) -> bool {
    p.is_empty()
        || (p.starts_with('/')
            && !p.starts_with("//")
            && p.len() <= 255
            && p.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~' | b'%')
            }))
}

/// Percent-encodes a path segment (tenant slugs are plain, but the URL must stay a URL
/// whatever the path held).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use pretty_assertions::assert_eq;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn uri() -> Uri {
        "/scim/v2/acme/Users".parse().unwrap()
    }

    #[test]
    fn configured_public_url_wins_and_loses_its_trailing_slash() {
        let cfg = GatewayConfig {
            public_url: Some("https://scim.example.com/".into()),
            trust_forwarded: true,
            ..Default::default()
        };
        let h = headers(&[
            ("host", "internal:8080"),
            ("x-forwarded-host", "evil.example"),
        ]);
        assert_eq!(
            tenant_base(&cfg, &h, &uri(), None, "acme"),
            "https://scim.example.com/scim/v2/acme"
        );
    }

    #[test]
    fn without_public_url_or_a_connection_the_host_header_is_used_over_plain_http() {
        let cfg = GatewayConfig::default();
        let h = headers(&[("host", "127.0.0.1:8080"), ("x-forwarded-proto", "https")]);
        assert_eq!(
            tenant_base(&cfg, &h, &uri(), None, "acme"),
            "http://127.0.0.1:8080/scim/v2/acme"
        );
    }

    #[test]
    fn on_a_real_connection_the_host_header_is_not_reflected() {
        let cfg = GatewayConfig::default();
        let h = headers(&[("host", "evil.example")]);
        let local: SocketAddr = "10.0.0.5:8080".parse().unwrap();
        assert_eq!(
            tenant_base(&cfg, &h, &uri(), Some(local), "acme"),
            "http://10.0.0.5:8080/scim/v2/acme"
        );
    }

    #[test]
    fn trusted_forwarded_headers_set_scheme_host_and_prefix() {
        let cfg = GatewayConfig {
            trust_forwarded: true,
            ..Default::default()
        };
        let h = headers(&[
            ("host", "gateway:8080"),
            ("x-forwarded-proto", "https, http"),
            ("x-forwarded-host", "scim.example.com"),
            ("x-forwarded-prefix", "/api/"),
        ]);
        assert_eq!(
            tenant_base(&cfg, &h, &uri(), None, "acme"),
            "https://scim.example.com/api/scim/v2/acme"
        );
    }

    #[test]
    fn malformed_header_values_are_ignored() {
        let cfg = GatewayConfig {
            trust_forwarded: true,
            ..Default::default()
        };
        let h = headers(&[
            ("host", "gateway:8080"),
            ("x-forwarded-proto", "javascript"),
            ("x-forwarded-host", "a.example/evil?x"),
            ("x-forwarded-prefix", "//evil.example"),
        ]);
        assert_eq!(
            tenant_base(&cfg, &h, &uri(), None, "acme"),
            "http://gateway:8080/scim/v2/acme"
        );
        let h = headers(&[("host", "bad host")]);
        assert_eq!(
            tenant_base(&GatewayConfig::default(), &h, &uri(), None, "a b"),
            "http://localhost/scim/v2/a%20b"
        );
    }
}
