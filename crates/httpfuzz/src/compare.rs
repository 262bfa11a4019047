//! The verdict on one request: the same answer on both sides, a disagreement, or a server
//! error (any 5xx or no answer on either side).

use serde_json::Value;

use crate::client::Answer;
use crate::normalize::{Norm, normalize};
use crate::report::truncate;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Same,
    Disagree(String),
    ServerError(String),
}

/// `expect` is a status both sides must answer (401 for a bad token) whatever they agree on;
/// `loose` compares statuses only (the body depends on asynchronous work).
pub(crate) fn compare(
    expect: Option<u16>,
    loose: bool,
    a: &Answer,
    b: &Answer,
    na: Norm<'_>,
    nb: Norm<'_>,
) -> Verdict {
    match (a.unsent, b.unsent) {
        (true, true) => return Verdict::Same,
        (false, false) => {}
        _ => return Verdict::Disagree("the client could send it to one side only".into()),
    }
    // `/Bulk` answers 501 by design: only a one-sided 501 is suspicious.
    let both_501 = a.status == 501 && b.status == 501;
    let broken = |x: &Answer| x.status == 0 || (x.status >= 500 && !both_501);
    if broken(a) || broken(b) {
        return Verdict::ServerError(format!("A {} / B {}", show(a), show(b)));
    }
    if let Some(want) = expect
        && (a.status != want || b.status != want)
    {
        return Verdict::Disagree(format!(
            "expected {want} on both, got A {} / B {}",
            a.status, b.status
        ));
    }
    if a.status != b.status {
        return Verdict::Disagree(format!("status A {} ≠ B {}", a.status, b.status));
    }
    if (400..500).contains(&a.status) && a.scim_type() != b.scim_type() {
        return Verdict::Disagree(format!(
            "scimType A {:?} ≠ B {:?}",
            a.scim_type(),
            b.scim_type()
        ));
    }
    // Every 401 must be the same, so that it tells nothing about the tenant or the token.
    if a.status == 401 && a.raw != b.raw {
        return Verdict::Disagree("the two 401 bodies differ".into());
    }
    if a.is_success() && !loose {
        return compare_bodies(a, b, na, nb);
    }
    Verdict::Same
}

fn compare_bodies(a: &Answer, b: &Answer, na: Norm<'_>, nb: Norm<'_>) -> Verdict {
    match (&a.json, &b.json) {
        (Some(ja), Some(jb)) => {
            if ja.get("totalResults") != jb.get("totalResults") {
                // The count says more than which page item differs: report it first.
                return Verdict::Disagree(format!(
                    "totalResults differ: A {}, B {}",
                    ja["totalResults"], jb["totalResults"]
                ));
            }
            let (ja, jb) = (normalize(ja, na), normalize(jb, nb));
            if ja == jb {
                Verdict::Same
            } else {
                Verdict::Disagree(format!(
                    "bodies differ: {}{}",
                    first_difference(&ja, &jb, ""),
                    page_shape(&a.json, &b.json)
                ))
            }
        }
        (None, None) if a.raw == b.raw => Verdict::Same,
        (None, None) => Verdict::Disagree(format!(
            "non-JSON bodies differ ({} and {} bytes)",
            a.raw.len(),
            b.raw.len()
        )),
        (Some(_), None) => Verdict::Disagree("only A's body is JSON".into()),
        (None, Some(_)) => Verdict::Disagree("only B's body is JSON".into()),
    }
}

/// For list responses: where each page started and how long it was, beside the total.
fn page_shape(a: &Option<Value>, b: &Option<Value>) -> String {
    let shape = |v: &Option<Value>| {
        v.as_ref()
            .filter(|v| v.get("totalResults").is_some())
            .map(|v| {
                format!(
                    "total {} start {} items {}",
                    v["totalResults"], v["startIndex"], v["itemsPerPage"]
                )
            })
    };
    match (shape(a), shape(b)) {
        (Some(x), Some(y)) => format!(" (A: {x}; B: {y})"),
        _ => String::new(),
    }
}

fn show(x: &Answer) -> String {
    match &x.error {
        Some(e) if x.status == 0 => format!("no answer ({})", truncate(e, 200)),
        _ => x.status.to_string(),
    }
}

/// Where two normalised documents first differ, as a JSON pointer and both values.
pub(crate) fn first_difference(a: &Value, b: &Value, at: &str) -> String {
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) => {
            let mut keys: Vec<&String> = ma.keys().chain(mb.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let here = format!("{at}/{k}");
                match (ma.get(k), mb.get(k)) {
                    (Some(x), Some(y)) if x == y => {}
                    (Some(x), Some(y)) => return first_difference(x, y, &here),
                    (Some(x), None) => return format!("{here} only on A: {}", brief(x)),
                    (None, Some(y)) => return format!("{here} only on B: {}", brief(y)),
                    (None, None) => {}
                }
            }
            format!("{at}: (no difference found)")
        }
        (Value::Array(xa), Value::Array(xb)) if xa.len() != xb.len() => {
            format!("{at}: A has {} items, B has {}", xa.len(), xb.len())
        }
        (Value::Array(xa), Value::Array(xb)) => xa
            .iter()
            .zip(xb)
            .enumerate()
            .find(|(_, (x, y))| x != y)
            .map_or_else(
                || format!("{at}: (no difference found)"),
                |(i, (x, y))| first_difference(x, y, &format!("{at}/{i}")),
            ),
        _ => format!("{at}: A {} ≠ B {}", brief(a), brief(b)),
    }
}

fn brief(v: &Value) -> String {
    truncate(&v.to_string(), 200)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    fn answer(status: u16, body: Value) -> Answer {
        Answer {
            status,
            raw: body.to_string().into_bytes(),
            json: Some(body),
            ..Answer::default()
        }
    }

    fn verdict(a: &Answer, b: &Answer) -> Verdict {
        let labels = HashMap::new();
        let n = Norm {
            labels: &labels,
            base: "",
            drop_groups: true,
        };
        compare(None, false, a, b, n, n)
    }

    fn error(status: u16, scim_type: &str) -> Answer {
        answer(
            status,
            json!({"status": status.to_string(), "scimType": scim_type, "detail": "x"}),
        )
    }

    #[test]
    fn a_status_difference_is_a_disagreement() {
        let v = verdict(
            &answer(201, json!({"userName": "a"})),
            &error(409, "uniqueness"),
        );
        assert_eq!(v, Verdict::Disagree("status A 201 ≠ B 409".into()));
    }

    #[test]
    fn a_scim_type_difference_is_a_disagreement_but_the_detail_may_differ() {
        let v = verdict(&error(400, "invalidValue"), &error(400, "invalidSyntax"));
        assert!(matches!(v, Verdict::Disagree(r) if r.contains("scimType")));
        let mut other_detail = error(400, "invalidValue");
        other_detail.json = Some(json!({"scimType": "invalidValue", "detail": "other words"}));
        assert_eq!(
            verdict(&error(400, "invalidValue"), &other_detail),
            Verdict::Same
        );
    }

    #[test]
    fn a_500_on_either_side_or_no_answer_is_a_server_error() {
        let ok = answer(200, json!({}));
        assert!(matches!(
            verdict(&ok, &answer(500, json!({}))),
            Verdict::ServerError(_)
        ));
        assert!(matches!(
            verdict(&answer(500, json!({})), &answer(500, json!({}))),
            Verdict::ServerError(_)
        ));
        let refused = Answer {
            error: Some("connection refused".into()),
            ..Answer::default()
        };
        assert!(matches!(verdict(&refused, &ok), Verdict::ServerError(r) if r.contains("refused")));
        assert_eq!(
            verdict(&answer(501, json!({})), &answer(501, json!({}))),
            Verdict::Same
        );
    }

    #[test]
    fn success_bodies_are_compared_after_normalisation() {
        let a = answer(
            200,
            json!({"id": "1", "userName": "a", "emails": [{"value": "x"}, {"value": "y"}]}),
        );
        let b = answer(
            200,
            json!({"id": "2", "userName": "a", "emails": [{"value": "y"}, {"value": "x"}]}),
        );
        assert_eq!(verdict(&a, &b), Verdict::Same);
        let c = answer(200, json!({"id": "2", "userName": "A"}));
        assert!(matches!(verdict(&a, &c), Verdict::Disagree(r) if r.contains("/emails only on A")));
    }

    #[test]
    fn an_expected_401_must_be_answered_by_both() {
        let labels = HashMap::new();
        let n = Norm {
            labels: &labels,
            base: "",
            drop_groups: true,
        };
        let ok = answer(200, json!({}));
        assert!(matches!(
            compare(Some(401), false, &ok, &ok, n, n),
            Verdict::Disagree(_)
        ));
        let denied = error(401, "");
        assert_eq!(
            compare(Some(401), false, &denied, &denied, n, n),
            Verdict::Same
        );
    }
}
