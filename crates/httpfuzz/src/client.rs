//! One HTTP exchange: a template rendered for one side, sent, and its answer kept.
//!
//! Nothing here fails: a refused connection, a timeout or an unreadable body is an answer
//! with status 0 and the error's text, which the comparison reports as a server error. A
//! request the client itself refuses to build (a method or URL it cannot express) is
//! "unsent" on that side; the same template is then unsent on both.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde_json::Value;

use crate::Lane;
use crate::refs::{Refs, Side};
use crate::request::{Auth, Base, Body, Template, substitute};

/// A wait long enough for the servers' own deadline (25 s by default) to answer first.
const TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn http() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("blogin-scim-httpfuzz/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(TIMEOUT)
        .tcp_nodelay(true)
        // A proxy in the path would answer instead of the servers.
        .no_proxy()
        .build()
}

/// A template with its references resolved for one side.
#[derive(Debug, Clone)]
pub(crate) struct Concrete {
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
}

impl Concrete {
    pub(crate) fn render(
        t: &Template,
        refs: &Refs,
        side: Side,
        lanes: &[Lane],
        lane: usize,
    ) -> Self {
        let me = &lanes[lane];
        let resolve = |s: &str| substitute(s, |r| refs.resolve(r, side));
        let tenant = me.base_url.trim_end_matches('/');
        let base = match t.base {
            Base::Tenant => tenant,
            Base::Parent => tenant.rsplit_once('/').map_or(tenant, |(parent, _)| parent),
        };
        let mut url = format!("{base}{}", resolve(&t.path));
        if let Some(q) = &t.query {
            url.push('?');
            url.push_str(&resolve(q));
        }
        let mut headers: Vec<(String, String)> = t
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), resolve(v)))
            .collect();
        if let Some(auth) = authorization(&t.auth, lanes, lane) {
            headers.push(("Authorization".to_owned(), auth));
        }
        let body = match &t.body {
            Body::None => None,
            Body::Text(text) => Some(resolve(text).into_bytes()),
            Body::Bytes(b) => Some(b.clone()),
        };
        Self {
            method: t.method.clone(),
            url,
            headers,
            body,
        }
    }
}

fn authorization(auth: &Auth, lanes: &[Lane], lane: usize) -> Option<String> {
    let token = &lanes[lane].token;
    Some(match auth {
        Auth::Good => format!("Bearer {token}"),
        Auth::Missing => return None,
        Auth::Around(prefix, suffix) => format!("{prefix}{token}{suffix}"),
        Auth::Truncated(n) => format!("Bearer {}", token.chars().take(*n).collect::<String>()),
        Auth::Raw(v) => v.clone(),
        Auth::OtherLane(r) if lanes.len() > 1 => {
            let other = (lane + 1 + r % (lanes.len() - 1)) % lanes.len();
            format!("Bearer {}", lanes[other].token)
        }
        Auth::OtherLane(_) => "Bearer another-tenants-token".to_owned(),
    })
}

/// What one side answered.
#[derive(Debug, Clone, Default)]
pub(crate) struct Answer {
    /// 0 when there was no HTTP answer.
    pub(crate) status: u16,
    /// The transport error, when `status` is 0.
    pub(crate) error: Option<String>,
    /// The client could not build the request; nothing was sent.
    pub(crate) unsent: bool,
    pub(crate) retry_after: bool,
    pub(crate) etag: Option<String>,
    pub(crate) json: Option<Value>,
    pub(crate) raw: Vec<u8>,
}

impl Answer {
    pub(crate) fn scim_type(&self) -> Option<&str> {
        self.json.as_ref()?.get("scimType")?.as_str()
    }

    pub(crate) fn detail(&self) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(e.clone());
        }
        match self.json.as_ref()?.get("detail")? {
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The id of the resource in a success body.
    pub(crate) fn id(&self) -> Option<String> {
        match self.json.as_ref()?.get("id")? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    /// The `ETag` header, else `meta.version` of the body.
    pub(crate) fn version(&self) -> Option<String> {
        self.etag.clone().or_else(|| {
            let v = self.json.as_ref()?.get("meta")?.get("version")?.as_str()?;
            Some(v.to_owned())
        })
    }

    fn unsent(why: String) -> Self {
        Self {
            unsent: true,
            error: Some(why),
            ..Self::default()
        }
    }
}

pub(crate) async fn send(http: &reqwest::Client, req: &Concrete) -> Answer {
    let Ok(method) = Method::from_bytes(req.method.as_bytes()) else {
        return Answer::unsent(format!("method {:?} cannot be sent", req.method));
    };
    let url = match Url::parse(&req.url) {
        Ok(u) => u,
        Err(e) => return Answer::unsent(format!("URL cannot be sent: {e}")),
    };
    let mut builder = http.request(method, url);
    for (name, value) in &req.headers {
        // A header the client cannot express is dropped the same way on both sides.
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            builder = builder.header(n, v);
        }
    }
    if let Some(body) = &req.body {
        builder = builder.body(body.clone());
    }
    let resp = match builder.send().await {
        Ok(r) => r,
        Err(e) if e.is_builder() => return Answer::unsent(error_chain(&e)),
        Err(e) => return failed(&e),
    };
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header("retry-after").is_some();
    let etag = header("etag");
    let raw = match resp.bytes().await {
        Ok(b) => b.to_vec(),
        Err(e) => return failed(&e),
    };
    let json = serde_json::from_slice(&raw).ok();
    Answer {
        status,
        error: None,
        unsent: false,
        retry_after,
        etag,
        json,
        raw,
    }
}

fn failed(e: &reqwest::Error) -> Answer {
    Answer {
        error: Some(error_chain(e)),
        ..Answer::default()
    }
}

/// reqwest's top-level message is generic ("error sending request"); the cause is below it.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
