//! Query results and query parameters (RFC 7644 §3.4.2): the `ListResponse` message, paging
//! (`startIndex`, `count`), sorting (`sortBy`, `sortOrder`), and [`ListQuery`], the checked
//! form of a query that the store receives.
//!
//! Paging follows RFC 7644 §3.4.2.4 leniently, as clients expect: a `startIndex` below 1 is
//! 1, a negative `count` is 0 (a count-only query), a `count` above the advertised
//! `filter.maxResults` is clamped to it, and no `count` means `maxResults`. Integers are JSON
//! numbers on the wire (Okta checks this, ENTRA §7), and `Resources` is always present, `[]`
//! when empty (ENTRA §1.1: Test Connection expects an empty list, never a 404).

use crate::filter::{Filter, FilterLimits, parse_with_limits};
use crate::path::AttrPath;
use crate::projection::Projection;
use crate::schema::{AttrType, Registry, ResourceKind};
use crate::search::SearchRequest;
use crate::{Result, ScimError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// URN of the `ListResponse` message.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A `ListResponse` (RFC 7644 §3.4.2). Serialises with its `schemas` and with `Resources`
/// always present.
#[derive(Debug, Clone, PartialEq)]
pub struct ListResponse {
    /// How many resources match in total (over all pages).
    pub total_results: u64,
    /// The 1-based index of the first resource of this page.
    pub start_index: u64,
    /// How many resources this page holds.
    pub items_per_page: u64,
    /// The page's resources, already rendered and projected.
    pub resources: Vec<Value>,
}

impl ListResponse {
    /// A page starting at `start_index`; `items_per_page` is the number of `resources` (its
    /// RFC meaning, ENTRA §7).
    pub fn new(total_results: u64, start_index: u64, resources: Vec<Value>) -> Self {
        Self {
            total_results,
            start_index,
            items_per_page: resources.len() as u64,
            resources,
        }
    }

    /// A list holding every item at once (discovery documents): `totalResults` is the
    /// number of items and `startIndex` 1.
    pub fn complete(resources: Vec<Value>) -> Self {
        Self::new(resources.len() as u64, 1, resources)
    }

    /// The message as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResponseWire {
    #[serde(default)]
    schemas: Vec<String>,
    total_results: u64,
    #[serde(default)]
    items_per_page: Option<u64>,
    #[serde(default)]
    start_index: Option<u64>,
    #[serde(rename = "Resources", alias = "resources", default)]
    resources: Vec<Value>,
}

impl Serialize for ListResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        ListResponseWire {
            schemas: vec![LIST_RESPONSE.to_owned()],
            total_results: self.total_results,
            items_per_page: Some(self.items_per_page),
            start_index: Some(self.start_index),
            resources: self.resources.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ListResponse {
    /// Lenient, for clients and tests: `schemas`, `itemsPerPage`, `startIndex` and `Resources`
    /// may be missing (RFC 7644 makes the last three optional without paging).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let w = ListResponseWire::deserialize(deserializer)?;
        Ok(Self {
            total_results: w.total_results,
            start_index: w.start_index.unwrap_or(1),
            items_per_page: w.items_per_page.unwrap_or(w.resources.len() as u64),
            resources: w.resources,
        })
    }
}

/// One page's bounds, already clamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based index of the first result (≥ 1).
    pub start_index: u64,
    /// Maximum number of results on the page (≤ the server's maximum; 0 = count only).
    pub count: u32,
}

impl Paging {
    /// Clamps the requested values (see the module documentation).
    pub fn new(start_index: Option<i64>, count: Option<i64>, max_results: u32) -> Self {
        let start_index = start_index.map_or(1, |s| s.max(1) as u64);
        let count = count.map_or(max_results, |c| c.clamp(0, i64::from(max_results)) as u32);
        Self { start_index, count }
    }

    /// How many results to skip (`startIndex - 1`).
    pub fn offset(&self) -> u64 {
        self.start_index - 1
    }
}

/// `sortOrder` (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SortOrder {
    /// `ascending`, the default.
    #[default]
    Ascending,
    /// `descending`.
    Descending,
}

impl SortOrder {
    /// Parses `ascending`/`descending` in any case (and `asc`/`desc`); anything else is
    /// `400 invalidValue`.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("ascending") || s.eq_ignore_ascii_case("asc") {
            Ok(SortOrder::Ascending)
        } else if s.eq_ignore_ascii_case("descending") || s.eq_ignore_ascii_case("desc") {
            Ok(SortOrder::Descending)
        } else {
            Err(ScimError::invalid_value(
                "sortOrder must be 'ascending' or 'descending'",
            ))
        }
    }

    /// The RFC keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Ascending => "ascending",
            SortOrder::Descending => "descending",
        }
    }
}

/// A checked sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The canonical path sorted on (extension attributes URN-qualified). A complex attribute
    /// with a `value` sub-attribute sorts on it (`emails` → `emails.value`); for multi-valued
    /// attributes RFC 7644 §3.4.2.3 says to use the primary value, or the first.
    pub by: AttrPath,
    /// The direction.
    pub order: SortOrder,
}

/// Server limits applied to every query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    /// The page size cap (`filter.maxResults` in `/ServiceProviderConfig`).
    pub max_results: u32,
    /// Filter length and depth bounds.
    pub filter: FilterLimits,
}

impl Default for ListLimits {
    /// 200 results per page, default filter limits.
    fn default() -> Self {
        Self {
            max_results: 200,
            filter: FilterLimits::default(),
        }
    }
}

/// A checked query, as the store receives it: a filter resolved against the schemas (canonical
/// names, checked operators), a resolved sort key, clamped paging, and the projection.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// The resolved filter; `None` lists everything.
    pub filter: Option<Filter>,
    /// The sort key; `None` leaves the order to the store (which must keep it stable, ENTRA §12).
    pub sort: Option<Sort>,
    /// The page.
    pub paging: Paging,
    /// Which attributes to return.
    pub projection: Projection,
}

impl ListQuery {
    /// Checks a query given as `GET` parameters or a `POST /.search` body (both are a
    /// [`SearchRequest`]). A blank `filter` means no filter; `sortOrder` without `sortBy` is
    /// ignored (RFC 7644 §3.4.2.3 defines it only with `sortBy`).
    pub fn from_search(
        registry: &Registry,
        kind: ResourceKind,
        req: &SearchRequest,
        limits: &ListLimits,
    ) -> Result<Self> {
        let filter = match req.filter.as_deref().map(str::trim) {
            Some(f) if !f.is_empty() => {
                Some(parse_with_limits(f, &limits.filter)?.resolve(registry, kind)?)
            }
            _ => None,
        };
        let sort = match req.sort_by.as_deref().map(str::trim) {
            Some(by) if !by.is_empty() => Some(Sort {
                by: resolve_sort_by(registry, kind, by)?,
                order: req
                    .sort_order
                    .as_deref()
                    .map(SortOrder::parse)
                    .transpose()?
                    .unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(Self {
            filter,
            sort,
            paging: Paging::new(req.start_index, req.count, limits.max_results),
            projection: Projection::from_lists(
                req.attributes.clone(),
                req.excluded_attributes.clone(),
            )?,
        })
    }
}

fn resolve_sort_by(registry: &Registry, kind: ResourceKind, by: &str) -> Result<AttrPath> {
    let unknown = || {
        ScimError::invalid_value(format!(
            "sortBy attribute '{by}' is not defined by any schema of {}",
            kind.name()
        ))
    };
    let path = AttrPath::parse(by).map_err(|_| unknown())?;
    let res = registry.resolve(kind, &path).ok_or_else(unknown)?;
    let mut canonical = res.canonical_path();
    if res.target().ty == AttrType::Complex {
        match res.attr.sub("value") {
            Some(value) if res.sub.is_none() => canonical.sub = Some(value.name.clone()),
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "sortBy attribute '{by}' is complex; name one of its sub-attributes"
                )));
            }
        }
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScimType;
    use crate::filter::{CompValue, CompareOp};
    use crate::schema::ENTERPRISE_USER;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn empty_list_response_has_empty_resources_and_integer_fields() {
        let v = ListResponse::new(0, 1, vec![]).to_json();
        assert_eq!(
            v,
            json!({"schemas": [LIST_RESPONSE], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []})
        );
        assert!(
            v["totalResults"].is_u64() && v["startIndex"].is_u64() && v["itemsPerPage"].is_u64()
        );
    }

    #[test]
    fn list_response_items_per_page_is_the_page_length() {
        let page = ListResponse::new(5, 3, vec![json!({"id": "a"}), json!({"id": "b"})]);
        assert_eq!(page.items_per_page, 2);
        let text = serde_json::to_string(&page).unwrap();
        assert_eq!(
            text,
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":5,"itemsPerPage":2,"startIndex":3,"Resources":[{"id":"a"},{"id":"b"}]}"#
        );
    }

    #[test]
    fn list_response_round_trips_and_reads_microsoft_examples() {
        let page = ListResponse::new(5, 3, vec![json!({"id": "a"})]);
        let back: ListResponse = serde_json::from_value(page.to_json()).unwrap();
        assert_eq!(back, page);
        let entra: ListResponse = serde_json::from_value(json!({
            "schemas": [LIST_RESPONSE], "totalResults": 0, "Resources": [], "startIndex": 1, "itemsPerPage": 20
        }))
        .unwrap();
        assert_eq!(
            entra,
            ListResponse {
                total_results: 0,
                start_index: 1,
                items_per_page: 20,
                resources: vec![]
            }
        );
    }

    #[test]
    fn paging_table() {
        let cases = [
            ((None, None), (1, 100)),
            ((Some(0), Some(5)), (1, 5)),
            ((Some(-7), Some(-1)), (1, 0)),
            ((Some(11), Some(5)), (11, 5)),
            ((Some(1), Some(1000)), (1, 100)),
            ((Some(i64::MAX), Some(i64::MAX)), (i64::MAX as u64, 100)),
            ((Some(2), Some(0)), (2, 0)),
        ];
        for ((start, count), (want_start, want_count)) in cases {
            let p = Paging::new(start, count, 100);
            assert_eq!(
                (p.start_index, p.count),
                (want_start, want_count),
                "{start:?} {count:?}"
            );
        }
        assert_eq!(Paging::new(Some(11), None, 100).offset(), 10);
    }

    #[test]
    fn sort_order_parses_in_any_case_and_rejects_others() {
        assert_eq!(
            SortOrder::parse("Descending").unwrap(),
            SortOrder::Descending
        );
        assert_eq!(SortOrder::parse("ASCENDING").unwrap(), SortOrder::Ascending);
        assert_eq!(SortOrder::parse("desc").unwrap(), SortOrder::Descending);
        assert_eq!(
            SortOrder::parse("up").unwrap_err().scim_type(),
            Some(ScimType::InvalidValue)
        );
    }

    fn query(req: SearchRequest) -> Result<ListQuery> {
        ListQuery::from_search(
            &Registry::new(),
            ResourceKind::User,
            &req,
            &ListLimits::default(),
        )
    }

    #[test]
    fn entra_test_connection_query_resolves_to_a_canonical_filter() {
        let req = SearchRequest {
            filter: Some("UserName eq \"7e3b6f0e-guid\"".into()),
            ..Default::default()
        };
        let q = query(req).unwrap();
        assert_eq!(
            q.filter,
            Some(Filter::Compare(
                AttrPath::new("userName"),
                CompareOp::Eq,
                CompValue::Str("7e3b6f0e-guid".into())
            ))
        );
        assert_eq!(
            q.paging,
            Paging {
                start_index: 1,
                count: 200
            }
        );
        assert!(q.projection.is_default());
        assert_eq!(q.sort, None);
    }

    #[test]
    fn blank_filter_means_no_filter_and_bad_filters_are_invalid_filter() {
        assert_eq!(
            query(SearchRequest {
                filter: Some("  ".into()),
                ..Default::default()
            })
            .unwrap()
            .filter,
            None
        );
        for bad in ["userName eq", "noSuchAttr eq \"x\""] {
            let e = query(SearchRequest {
                filter: Some(bad.into()),
                ..Default::default()
            })
            .unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter), "{bad}");
        }
    }

    #[test]
    fn filter_limits_apply() {
        let limits = ListLimits {
            max_results: 10,
            filter: FilterLimits {
                max_length: 10,
                max_depth: 32,
            },
        };
        let req = SearchRequest {
            filter: Some("userName eq \"abcdefghij\"".into()),
            ..Default::default()
        };
        let e = ListQuery::from_search(&Registry::new(), ResourceKind::User, &req, &limits)
            .unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter));
    }

    #[test]
    fn sort_by_resolves_to_a_canonical_path() {
        let cases = [
            ("username", AttrPath::new("userName")),
            ("Emails", AttrPath::new("emails").with_sub("value")),
            (
                "name.FamilyName",
                AttrPath::new("name").with_sub("familyName"),
            ),
            (
                "meta.lastModified",
                AttrPath::new("meta").with_sub("lastModified"),
            ),
            (
                "manager",
                AttrPath {
                    urn: Some(ENTERPRISE_USER.into()),
                    name: "manager".into(),
                    sub: Some("value".into()),
                },
            ),
        ];
        for (by, want) in cases {
            let q = query(SearchRequest {
                sort_by: Some(by.into()),
                sort_order: Some("descending".into()),
                ..Default::default()
            })
            .unwrap();
            assert_eq!(
                q.sort,
                Some(Sort {
                    by: want,
                    order: SortOrder::Descending
                }),
                "{by}"
            );
        }
    }

    #[test]
    fn sort_by_unknown_or_complex_attribute_is_invalid_value() {
        for by in ["shoeSize", "name", "a b"] {
            let e = query(SearchRequest {
                sort_by: Some(by.into()),
                ..Default::default()
            })
            .unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidValue), "{by}");
        }
    }

    #[test]
    fn sort_order_without_sort_by_is_ignored() {
        let q = query(SearchRequest {
            sort_order: Some("sideways".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(q.sort, None);
    }

    #[test]
    fn projection_and_paging_come_from_the_request() {
        let req = SearchRequest {
            excluded_attributes: Some(vec!["groups".into()]),
            start_index: Some(6),
            count: Some(5),
            ..Default::default()
        };
        let q = query(req).unwrap();
        assert_eq!(
            q.paging,
            Paging {
                start_index: 6,
                count: 5
            }
        );
        assert_eq!(
            q.projection,
            Projection::parse(None, Some("groups")).unwrap()
        );
    }

    proptest::proptest! {
        #[test]
        fn paging_is_always_within_bounds(start in proptest::option::of(proptest::num::i64::ANY),
                                          count in proptest::option::of(proptest::num::i64::ANY),
                                          max in 0u32..10_000) {
            let p = Paging::new(start, count, max);
            proptest::prop_assert!(p.start_index >= 1);
            proptest::prop_assert!(p.count <= max);
            proptest::prop_assert_eq!(p.offset() + 1, p.start_index);
            if count.is_none() {
                proptest::prop_assert_eq!(p.count, max);
            }
        }
    }
}
