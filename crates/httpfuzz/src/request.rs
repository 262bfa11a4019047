//! Request templates: what the generator produces, before it is known which ids each
//! deployment gave to the resources it refers to.
//!
//! A reference is a sentinel inside any text of the template (path, query, header value, JSON
//! body): `~~<kind><mode><n>~~`. It is made of URL-unreserved and JSON-plain characters only,
//! so it survives percent-encoding and JSON serialisation unchanged and can be substituted in
//! the finished text; the generator never produces `~~` followed by a kind letter otherwise.

/// The two kinds of resources the lanes create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Res {
    User,
    Group,
}

impl Res {
    pub(crate) fn endpoint(self) -> &'static str {
        match self {
            Res::User => "/Users",
            Res::Group => "/Groups",
        }
    }
}

/// What a sentinel stands for: a resource's id, or its current ETag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefKind {
    Id(Res),
    Etag(Res),
}

impl RefKind {
    fn letter(self) -> char {
        match self {
            RefKind::Id(Res::User) => 'u',
            RefKind::Id(Res::Group) => 'g',
            RefKind::Etag(Res::User) => 'U',
            RefKind::Etag(Res::Group) => 'G',
        }
    }

    fn from_letter(c: char) -> Option<Self> {
        Some(match c {
            'u' => RefKind::Id(Res::User),
            'g' => RefKind::Id(Res::Group),
            'U' => RefKind::Etag(Res::User),
            'G' => RefKind::Etag(Res::Group),
            _ => return None,
        })
    }
}

/// Which of the lane's resources a reference picks; `n` chooses among the candidates at
/// resolution time, so the generator needs no feedback from the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One that exists on both sides (else behaves as `None`).
    Live,
    /// Any the lane ever created, deleted or unusable ones included.
    Any,
    /// None: a random UUID derived from `n`, the same on both sides.
    None,
}

impl Mode {
    fn letter(self) -> char {
        match self {
            Mode::Live => 'L',
            Mode::Any => 'A',
            Mode::None => 'N',
        }
    }

    fn from_letter(c: char) -> Option<Self> {
        Some(match c {
            'L' => Mode::Live,
            'A' => Mode::Any,
            'N' => Mode::None,
            _ => return None,
        })
    }
}

/// A reference as it appears in a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ref {
    pub(crate) kind: RefKind,
    pub(crate) mode: Mode,
    pub(crate) n: u32,
}

impl Ref {
    pub(crate) fn sentinel(self) -> String {
        format!("~~{}{}{}~~", self.kind.letter(), self.mode.letter(), self.n)
    }

    /// The same pick, but for the resource's ETag instead of its id.
    pub(crate) fn etag(self) -> Ref {
        let kind = match self.kind {
            RefKind::Id(r) | RefKind::Etag(r) => RefKind::Etag(r),
        };
        Ref { kind, ..self }
    }
}

/// Replaces every sentinel of `text` by `f(reference)`; anything else is copied.
pub(crate) fn substitute(text: &str, mut f: impl FnMut(Ref) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("~~") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        match parse_sentinel(tail) {
            Some((r, len)) => {
                out.push_str(&f(r));
                rest = &tail[len..];
            }
            None => {
                out.push('~');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `~~uL12~~…` → (the reference, its length in bytes).
fn parse_sentinel(s: &str) -> Option<(Ref, usize)> {
    let body = s.strip_prefix("~~")?;
    let mut chars = body.chars();
    let kind = RefKind::from_letter(chars.next()?)?;
    let mode = Mode::from_letter(chars.next()?)?;
    let digits = &body[2..];
    let end = digits.find("~~")?;
    let n = digits[..end].parse().ok()?;
    Some((Ref { kind, mode, n }, 2 + 2 + end + 2))
}

/// Where the path of a template starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    /// The lane's tenant base URL.
    Tenant,
    /// The base URL without its last segment (the tenant), to name other tenants.
    Parent,
}

/// The `Authorization` header of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `Bearer <the lane's token>`.
    Good,
    Missing,
    /// `<prefix><the lane's token><suffix>`: odd schemes, spacing, altered tokens.
    Around(String, String),
    /// The token cut to its first `n` characters.
    Truncated(usize),
    /// A fixed value with no token in it.
    Raw(String),
    /// `Bearer <another lane's token>`: a valid token of the wrong tenant.
    OtherLane(usize),
}

/// The body of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    None,
    /// Text with sentinels (JSON, or JSON-like garbage).
    Text(String),
    /// Bytes that need not be UTF-8; never contains references.
    Bytes(Vec<u8>),
}

impl Body {
    pub(crate) fn len(&self) -> usize {
        match self {
            Body::None => 0,
            Body::Text(t) => t.len(),
            Body::Bytes(b) => b.len(),
        }
    }
}

/// How a request, when both sides succeed, changes the lane's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    None,
    Create(Res),
    /// PATCH or PUT of the referenced resource.
    Modify(Ref),
    Delete(Ref),
}

/// One generated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    /// A stable label (`users.create`, `hostile.path`, …) for counts and findings.
    pub(crate) kind: &'static str,
    pub(crate) method: String,
    pub(crate) base: Base,
    /// Appended to the base as is (already percent-encoded as intended).
    pub(crate) path: String,
    /// After `?`, as is.
    pub(crate) query: Option<String>,
    pub(crate) auth: Auth,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
    pub(crate) effect: Effect,
    /// A status both sides must answer whatever they agree on (401 for a bad token).
    pub(crate) expect: Option<u16>,
    /// Compare statuses only: the answer reads users' `groups`, which lag behind membership
    /// writes by design.
    pub(crate) loose: bool,
}

pub(crate) const SCIM_JSON: &str = "application/scim+json";

impl Template {
    /// A request with the lane's token and, when there is a body, the SCIM content type.
    pub(crate) fn new(kind: &'static str, method: &str, path: String, body: Body) -> Self {
        let headers = match body {
            Body::None => Vec::new(),
            _ => vec![("Content-Type".to_owned(), SCIM_JSON.to_owned())],
        };
        Self {
            kind,
            method: method.to_owned(),
            base: Base::Tenant,
            path,
            query: None,
            auth: Auth::Good,
            headers,
            body,
            effect: Effect::None,
            expect: None,
            loose: false,
        }
    }

    pub(crate) fn with_query(mut self, query: Option<String>) -> Self {
        self.query = query;
        self
    }

    pub(crate) fn with_effect(mut self, effect: Effect) -> Self {
        self.effect = effect;
        self
    }

    pub(crate) fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinels_are_substituted_and_lookalikes_are_kept() {
        let r = Ref {
            kind: RefKind::Id(Res::Group),
            mode: Mode::Live,
            n: 42,
        };
        let text = format!("a~~b {} ~~uX1~~ {}~", r.sentinel(), r.etag().sentinel());
        let out = substitute(&text, |r| format!("<{:?}>", r.kind));
        assert_eq!(out, "a~~b <Id(Group)> ~~uX1~~ <Etag(Group)>~");
    }
}
