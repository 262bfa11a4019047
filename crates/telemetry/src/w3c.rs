//! Validation of the W3C Trace Context headers (`traceparent`, `tracestate`) that arrive from
//! outside: from an identity provider over HTTP, and — defence in depth — from every queue
//! and gRPC carrier a request crosses.
//!
//! Why it matters: these headers are copied into the gRPC metadata of the gateway's calls to
//! the store and into AMQP message headers. A client that sends a 120 KB `traceparent` with a
//! made-up token would otherwise push a header block past HTTP/2's limits on the connection
//! that every tenant's requests share, and the peer would tear it down. So a value that does
//! not match the W3C grammar (or is longer than the spec lets a conforming value be) is
//! dropped, never forwarded; a `tracestate` without a valid `traceparent` is dropped too
//! (W3C Trace Context §3.3: it must then be ignored).

/// Length of a version-00 `traceparent`: `00-{32 hex}-{16 hex}-{2 hex}`.
const TRACEPARENT_LEN: usize = 55;

/// Longest `traceparent` of a future version accepted (its first 55 characters are parsed as
/// version 00 and only those are forwarded).
const MAX_FUTURE_TRACEPARENT: usize = 256;

/// Longest `tracestate` forwarded: W3C asks vendors to propagate at least 512 characters and
/// lets them drop the rest.
pub const MAX_TRACESTATE: usize = 512;

/// Most list members of a `tracestate` (W3C: 32).
const MAX_TRACESTATE_MEMBERS: usize = 32;

fn lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn all_zero(s: &str) -> bool {
    s.bytes().all(|b| b == b'0')
}

/// The canonical version-00 form of a valid `traceparent`, or `None` when the value is not one
/// (wrong grammar, upper-case hex, all-zero ids, version `ff`, over-long).
pub fn traceparent(value: &str) -> Option<String> {
    let v = value.trim_matches([' ', '\t']);
    if v.len() < TRACEPARENT_LEN || !v.is_ascii() {
        return None;
    }
    let version = &v[0..2];
    if !lower_hex(version) || version == "ff" {
        return None;
    }
    if version == "00" && v.len() != TRACEPARENT_LEN {
        return None;
    }
    // A later version may append fields after a '-', within a sane bound.
    if v.len() > TRACEPARENT_LEN
        && (v.len() > MAX_FUTURE_TRACEPARENT || v.as_bytes()[TRACEPARENT_LEN] != b'-')
    {
        return None;
    }
    let b = v.as_bytes();
    if b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
        return None;
    }
    let (trace_id, parent_id, flags) = (&v[3..35], &v[36..52], &v[53..55]);
    if !lower_hex(trace_id) || !lower_hex(parent_id) || !lower_hex(flags) {
        return None;
    }
    if all_zero(trace_id) || all_zero(parent_id) {
        return None;
    }
    Some(format!("00-{trace_id}-{parent_id}-{flags}"))
}

/// A `tracestate` key: `[a-z0-9][a-z0-9_\-*/]{0,255}`, or `tenant@system` with the tenant part
/// up to 241 characters and the system part up to 14 (W3C Trace Context §3.3.1.3.1).
fn tracestate_key(k: &str) -> bool {
    let simple = |s: &str, max: usize| {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= max
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && b.iter().all(|c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || matches!(c, b'_' | b'-' | b'*' | b'/')
            })
    };
    match k.split_once('@') {
        None => simple(k, 256),
        Some((tenant, system)) => {
            simple(tenant, 241)
                && system.len() <= 14
                && system
                    .as_bytes()
                    .first()
                    .is_some_and(u8::is_ascii_lowercase)
                && simple(system, 14)
        }
    }
}

/// A `tracestate` value: 1–256 printable ASCII characters except `,` and `=`, not ending in a
/// space.
fn tracestate_value(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 256
        && !v.ends_with(' ')
        && v.bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
}

/// A valid `tracestate` (at most [`MAX_TRACESTATE`] characters and 32 members, every member
/// `key=value` by the W3C grammar), trimmed of empty members; `None` otherwise.
pub fn tracestate(value: &str) -> Option<String> {
    if value.len() > MAX_TRACESTATE {
        return None;
    }
    let mut members = Vec::new();
    for m in value.split(',') {
        let m = m.trim_matches([' ', '\t']);
        if m.is_empty() {
            continue;
        }
        let (k, v) = m.split_once('=')?;
        if !tracestate_key(k) || !tracestate_value(v) {
            return None;
        }
        members.push(m);
    }
    if members.is_empty() || members.len() > MAX_TRACESTATE_MEMBERS {
        return None;
    }
    Some(members.join(","))
}

/// The trace context headers of a carrier after validation: `traceparent` in canonical form,
/// `tracestate` only beside a valid `traceparent`.
pub fn validated(
    traceparent_value: Option<&str>,
    tracestate_value: Option<&str>,
) -> [Option<String>; 2] {
    let Some(tp) = traceparent_value.and_then(traceparent) else {
        return [None, None];
    };
    [Some(tp), tracestate_value.and_then(tracestate)]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_kept_and_a_future_version_is_cut_to_version_00() {
        assert_eq!(traceparent(TP).as_deref(), Some(TP));
        assert_eq!(traceparent(&format!(" {TP} ")).as_deref(), Some(TP));
        let future =
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds";
        assert_eq!(traceparent(future).as_deref(), Some(TP));
    }

    #[test]
    fn malformed_or_oversized_traceparents_are_dropped() {
        let huge = "z".repeat(120_000);
        let long00 = format!("{TP}-extra");
        let long_future = format!("01{}-{}", &TP[2..], "a".repeat(300));
        for bad in [
            "",
            huge.as_str(),
            long00.as_str(),
            long_future.as_str(),
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473é-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        ] {
            assert_eq!(traceparent(bad), None, "{bad:.80}");
        }
    }

    #[test]
    fn tracestate_follows_the_w3c_grammar_and_bounds() {
        assert_eq!(
            tracestate("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE").as_deref(),
            Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
        );
        assert_eq!(
            tracestate("acme@vendor=x").as_deref(),
            Some("acme@vendor=x")
        );
        // White space around a list member is optional white space, not part of the value.
        assert_eq!(tracestate("k=v , l=w\t").as_deref(), Some("k=v,l=w"));
        let too_many = (0..33)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        let too_long = format!("k={}", "v".repeat(MAX_TRACESTATE));
        for bad in [
            "",
            "novalue",
            "Upper=x",
            "k=a,b",
            "k=x\u{7f}",
            "k=tab\tinside",
            too_many.as_str(),
            too_long.as_str(),
        ] {
            assert_eq!(tracestate(bad), None, "{bad:.80}");
        }
    }

    #[test]
    fn tracestate_is_dropped_without_a_valid_traceparent() {
        assert_eq!(validated(Some("junk"), Some("k=v")), [None, None]);
        assert_eq!(
            validated(Some(TP), Some("k=v")),
            [Some(TP.to_owned()), Some("k=v".to_owned())]
        );
        assert_eq!(
            validated(Some(TP), Some("bad")),
            [Some(TP.to_owned()), None]
        );
    }
}
