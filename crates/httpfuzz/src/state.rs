//! The final state: every user and group of a lane's tenant on both sides, listed page by
//! page, normalised with ids mapped to userNames / displayNames, and compared by name.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::Value;

use crate::Lane;
use crate::client::{Answer, Concrete, send};
use crate::compare::first_difference;
use crate::normalize::{Norm, normalize};
use crate::report::{escape, truncate};

const PAGE: usize = 200;

/// The differences between lane `lane`'s two directories, as sentences. `known` is each
/// side's id → label from the run, for references to resources that are gone (a deleted
/// manager), which the listing cannot name.
pub(crate) async fn compare_lane(
    http: &reqwest::Client,
    lane: usize,
    a: &Lane,
    b: &Lane,
    known: &[HashMap<String, String>; 2],
) -> Vec<String> {
    let mut out = Vec::new();
    let mut listed: [Vec<(&str, Vec<Value>)>; 2] = [Vec::new(), Vec::new()];
    for (side, who) in [(0, a), (1, b)] {
        for what in ["Users", "Groups"] {
            match list_all(http, who, what).await {
                Ok(items) => listed[side].push((what, items)),
                Err(e) => {
                    let name = ["A", "B"][side];
                    out.push(format!("lane {lane}: listing {what} on {name} failed: {e}"));
                }
            }
        }
    }
    if !out.is_empty() {
        return out;
    }
    let labels = [labels(&listed[0], &known[0]), labels(&listed[1], &known[1])];
    for (i, what) in ["Users", "Groups"].iter().enumerate() {
        let key = if i == 0 { "userName" } else { "displayName" };
        let mut by_name: BTreeMap<String, [Vec<Value>; 2]> = BTreeMap::new();
        for side in 0..2 {
            let base = [a, b][side].base_url.trim_end_matches('/');
            let norm = Norm {
                labels: &labels[side],
                base,
                drop_groups: false,
            };
            for item in &listed[side][i].1 {
                let n = normalize(item, norm);
                let name = n.get(key).map_or_else(String::new, name_of);
                by_name.entry(name).or_default()[side].push(n);
            }
        }
        for (name, [mut on_a, mut on_b]) in by_name {
            on_a.sort_by_cached_key(Value::to_string);
            on_b.sort_by_cached_key(Value::to_string);
            if on_a == on_b {
                continue;
            }
            let name = escape(&truncate(&name, 200));
            out.push(match (on_a.as_slice(), on_b.as_slice()) {
                ([x], [y]) => format!(
                    "lane {lane} {what} {name:?}: {}",
                    first_difference(x, y, "")
                ),
                _ => format!(
                    "lane {lane} {what} {name:?}: {} on A, {} on B; A: {}; B: {}",
                    on_a.len(),
                    on_b.len(),
                    escape(&truncate(&Value::Array(on_a.clone()).to_string(), 300)),
                    escape(&truncate(&Value::Array(on_b.clone()).to_string(), 300)),
                ),
            });
        }
    }
    out
}

fn name_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// id → `user:<userName>` / `group:<displayName>`: names are what both sides share.
fn labels(
    listed: &[(&str, Vec<Value>)],
    known: &HashMap<String, String>,
) -> HashMap<String, String> {
    let mut out = known.clone();
    for (what, items) in listed {
        let (prefix, key) = if *what == "Users" {
            ("user", "userName")
        } else {
            ("group", "displayName")
        };
        for item in items {
            if let Some(id) = item.get("id").and_then(Value::as_str) {
                let name = item.get(key).map_or_else(String::new, name_of);
                out.insert(id.to_owned(), format!("{prefix}:{name}"));
            }
        }
    }
    out
}

async fn list_all(http: &reqwest::Client, lane: &Lane, what: &str) -> Result<Vec<Value>, String> {
    let base = lane.base_url.trim_end_matches('/');
    let mut items = Vec::new();
    let mut start = 1;
    // Bounded, so that a server that never stops paging cannot hold the run.
    for _ in 0..100_000 {
        let req = Concrete {
            method: "GET".into(),
            url: format!("{base}/{what}?startIndex={start}&count={PAGE}"),
            headers: vec![
                ("Authorization".into(), format!("Bearer {}", lane.token)),
                ("Accept".into(), "application/scim+json".into()),
            ],
            body: None,
        };
        let answer = send_retrying(http, &req).await;
        if answer.status != 200 {
            let why = answer.detail().unwrap_or_default();
            return Err(format!(
                "status {} at startIndex {start}: {}",
                answer.status,
                truncate(&why, 300)
            ));
        }
        let body = answer.json.unwrap_or(Value::Null);
        let total = body
            .get("totalResults")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let page = match body.get("Resources") {
            Some(Value::Array(page)) => page.clone(),
            _ => Vec::new(),
        };
        if page.is_empty() {
            return Ok(items);
        }
        start += page.len();
        items.extend(page);
        if items.len() >= total {
            return Ok(items);
        }
    }
    Err("more than 100,000 pages".into())
}

/// The listing is not under test: a transient `503` is waited out.
async fn send_retrying(http: &reqwest::Client, req: &Concrete) -> Answer {
    let mut answer = send(http, req).await;
    for attempt in 1..=3 {
        if answer.status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
        answer = send(http, req).await;
    }
    answer
}
