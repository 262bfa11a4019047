//! Query parameters in their two transports: the query string of `GET /Users` / `GET /Groups`
//! (RFC 7644 §3.4.2) and the `SearchRequest` body of `POST /.search` (RFC 7644 §3.4.3). Both
//! become one [`SearchRequest`], which [`crate::list::ListQuery::from_search`] checks.
//!
//! Leniency, because IdPs vary: parameter and key names match case-insensitively; unknown
//! query parameters are ignored (Entra may forward `aadOptscim062020`, ENTRA §2); in a body,
//! `attributes` may be an array or a comma-separated string and `startIndex`/`count` numbers
//! or numeric strings; integers too large for 64 bits saturate (they are clamped anyway).
//! A parameter given twice is `400 invalidValue`, since either reading could be wrong.

use crate::{Result, ScimError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

/// URN of the `SearchRequest` message.
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The query parameters of a list or search request, unchecked (names are not resolved and
/// the filter is not parsed yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchRequest {
    /// `attributes`: names to return instead of the defaults.
    pub attributes: Option<Vec<String>>,
    /// `excludedAttributes`: names to leave out of the defaults.
    pub excluded_attributes: Option<Vec<String>>,
    /// `filter`, as text.
    pub filter: Option<String>,
    /// `sortBy`.
    pub sort_by: Option<String>,
    /// `sortOrder`.
    pub sort_order: Option<String>,
    /// `startIndex` as sent (clamped later by [`crate::list::Paging::new`]).
    pub start_index: Option<i64>,
    /// `count` as sent (clamped later).
    pub count: Option<i64>,
}

/// The parameters, by canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    Attributes,
    ExcludedAttributes,
    Filter,
    SortBy,
    SortOrder,
    StartIndex,
    Count,
}

impl Param {
    const ALL: [Param; 7] = [
        Param::Attributes,
        Param::ExcludedAttributes,
        Param::Filter,
        Param::SortBy,
        Param::SortOrder,
        Param::StartIndex,
        Param::Count,
    ];

    fn name(self) -> &'static str {
        match self {
            Param::Attributes => "attributes",
            Param::ExcludedAttributes => "excludedAttributes",
            Param::Filter => "filter",
            Param::SortBy => "sortBy",
            Param::SortOrder => "sortOrder",
            Param::StartIndex => "startIndex",
            Param::Count => "count",
        }
    }

    fn find(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }
}

impl SearchRequest {
    /// Reads already-decoded query parameters (`+` and `%20` are the gateway's to decode,
    /// ENTRA §13.10). Unknown parameters are ignored.
    pub fn from_query<'a, I>(params: I) -> Result<Self>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut req = Self::default();
        let mut seen = Vec::new();
        for (name, value) in params {
            let Some(param) = Param::find(name.trim()) else {
                continue;
            };
            if seen.contains(&param) {
                return Err(repeated(param));
            }
            seen.push(param);
            req.set_text(param, value)?;
        }
        Ok(req)
    }

    /// Reads a `POST /.search` body. `schemas` is not checked (a missing or different URN is
    /// tolerated like everywhere else); unknown keys are ignored; `null` means absent. A body
    /// that is not an object, or a value of the wrong type, is `400 invalidSyntax`.
    pub fn parse(body: &Value) -> Result<Self> {
        let Value::Object(obj) = body else {
            return Err(ScimError::invalid_syntax(
                "the SearchRequest body must be a JSON object",
            ));
        };
        let mut req = Self::default();
        let mut seen = Vec::new();
        for (key, value) in obj {
            let Some(param) = Param::find(key) else {
                continue;
            };
            if seen.contains(&param) {
                return Err(repeated(param));
            }
            seen.push(param);
            req.set_json(param, value)?;
        }
        Ok(req)
    }

    /// The RFC 7644 §3.4.3 body for this request (absent parameters omitted).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("schemas".into(), json!([SEARCH_REQUEST]));
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_owned(), v);
            }
        };
        put("attributes", self.attributes.as_ref().map(|a| json!(a)));
        put(
            "excludedAttributes",
            self.excluded_attributes.as_ref().map(|a| json!(a)),
        );
        put("filter", self.filter.as_ref().map(|f| json!(f)));
        put("sortBy", self.sort_by.as_ref().map(|s| json!(s)));
        put("sortOrder", self.sort_order.as_ref().map(|s| json!(s)));
        put("startIndex", self.start_index.map(|i| json!(i)));
        put("count", self.count.map(|c| json!(c)));
        Value::Object(m)
    }

    fn set_text(&mut self, param: Param, value: &str) -> Result<()> {
        let list = |v: &str| Some(split_names(v));
        match param {
            Param::Attributes => self.attributes = list(value),
            Param::ExcludedAttributes => self.excluded_attributes = list(value),
            Param::Filter => self.filter = Some(value.to_owned()),
            Param::SortBy => self.sort_by = Some(value.to_owned()),
            Param::SortOrder => self.sort_order = Some(value.to_owned()),
            Param::StartIndex => self.start_index = Some(parse_int(param, value)?),
            Param::Count => self.count = Some(parse_int(param, value)?),
        }
        Ok(())
    }

    fn set_json(&mut self, param: Param, value: &Value) -> Result<()> {
        if value.is_null() {
            return Ok(());
        }
        let wrong = |expected: &str| {
            ScimError::invalid_syntax(format!(
                "SearchRequest '{}' must be {expected}",
                param.name()
            ))
        };
        let text = || {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| wrong("a string"))
        };
        match param {
            Param::Attributes | Param::ExcludedAttributes => {
                let names = match value {
                    Value::String(s) => split_names(s),
                    Value::Array(items) => {
                        let mut names = Vec::with_capacity(items.len());
                        for item in items {
                            names.extend(split_names(
                                item.as_str().ok_or_else(|| wrong("an array of strings"))?,
                            ));
                        }
                        names
                    }
                    _ => return Err(wrong("an array of strings")),
                };
                if param == Param::Attributes {
                    self.attributes = Some(names);
                } else {
                    self.excluded_attributes = Some(names);
                }
            }
            Param::Filter => self.filter = Some(text()?),
            Param::SortBy => self.sort_by = Some(text()?),
            Param::SortOrder => self.sort_order = Some(text()?),
            Param::StartIndex | Param::Count => {
                let n = match value {
                    Value::Number(n) => json_int(n).ok_or_else(|| wrong("an integer"))?,
                    Value::String(s) => parse_int(param, s)?,
                    _ => return Err(wrong("an integer")),
                };
                if param == Param::StartIndex {
                    self.start_index = Some(n);
                } else {
                    self.count = Some(n);
                }
            }
        }
        Ok(())
    }
}

impl Serialize for SearchRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SearchRequest {
    /// The same lenient reading as [`SearchRequest::parse`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let body = Value::deserialize(deserializer)?;
        SearchRequest::parse(&body).map_err(|e| serde::de::Error::custom(e.detail()))
    }
}

fn repeated(param: Param) -> ScimError {
    ScimError::invalid_value(format!(
        "parameter '{}' is given more than once",
        param.name()
    ))
}

fn split_names(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An integer parameter; all-digit values beyond `i64` saturate.
fn parse_int(param: Param, s: &str) -> Result<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(if negative { i64::MIN } else { i64::MAX });
    }
    Err(ScimError::invalid_value(format!(
        "parameter '{}' must be an integer",
        param.name()
    )))
}

fn json_int(n: &serde_json::Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.as_u64().is_some() {
        return Some(i64::MAX);
    }
    let f = n.as_f64()?;
    // 2.0 is an integer written as a float; 2.5 is not.
    (f.fract() == 0.0).then(|| f.clamp(i64::MIN as f64, i64::MAX as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScimType;
    use pretty_assertions::assert_eq;

    #[test]
    fn entra_group_probe_query_is_read_and_unknown_parameters_ignored() {
        let req = SearchRequest::from_query([
            ("excludedAttributes", "members"),
            ("filter", "displayName eq \"8c8ae0fb\""),
            ("aadOptscim062020", ""),
        ])
        .unwrap();
        assert_eq!(
            req,
            SearchRequest {
                excluded_attributes: Some(vec!["members".into()]),
                filter: Some("displayName eq \"8c8ae0fb\"".into()),
                ..Default::default()
            }
        );
    }

    #[test]
    fn okta_paging_query_parses_integers_and_parameter_names_in_any_case() {
        let req = SearchRequest::from_query([
            ("filter", "userName eq \"test.user@okta.local\""),
            ("STARTINDEX", "1"),
            ("Count", "100"),
            ("attributes", "userName, emails.value"),
        ])
        .unwrap();
        assert_eq!(req.start_index, Some(1));
        assert_eq!(req.count, Some(100));
        assert_eq!(
            req.attributes,
            Some(vec!["userName".into(), "emails.value".into()])
        );
    }

    #[test]
    fn non_integer_paging_is_invalid_value_and_huge_integers_saturate() {
        let e = SearchRequest::from_query([("count", "ten")]).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        assert!(e.detail().contains("count"));
        let req = SearchRequest::from_query([
            ("count", "99999999999999999999"),
            ("startIndex", "-99999999999999999999"),
        ])
        .unwrap();
        assert_eq!(
            (req.count, req.start_index),
            (Some(i64::MAX), Some(i64::MIN))
        );
    }

    #[test]
    fn repeated_parameter_is_invalid_value() {
        let e = SearchRequest::from_query([("filter", "a pr"), ("Filter", "b pr")]).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        let e = SearchRequest::parse(&json!({"count": 1, "COUNT": 2})).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    }

    /// RFC 7644 §3.4.3, Figure 5.
    #[test]
    fn rfc7644_search_request_example_parses() {
        let body = json!({
            "schemas": [SEARCH_REQUEST],
            "attributes": ["displayName", "userName"],
            "filter": "displayName sw \"smith\"",
            "startIndex": 1,
            "count": 10
        });
        let req = SearchRequest::parse(&body).unwrap();
        assert_eq!(
            req,
            SearchRequest {
                attributes: Some(vec!["displayName".into(), "userName".into()]),
                filter: Some("displayName sw \"smith\"".into()),
                start_index: Some(1),
                count: Some(10),
                ..Default::default()
            }
        );
        assert_eq!(req.to_json(), body);
    }

    #[test]
    fn search_request_round_trips_through_json() {
        let req = SearchRequest {
            attributes: Some(vec!["userName".into()]),
            excluded_attributes: Some(vec!["groups".into(), "meta".into()]),
            filter: Some("userName sw \"a\"".into()),
            sort_by: Some("userName".into()),
            sort_order: Some("descending".into()),
            start_index: Some(3),
            count: Some(0),
        };
        assert_eq!(SearchRequest::parse(&req.to_json()).unwrap(), req);
        let text = serde_json::to_string(&req).unwrap();
        assert_eq!(serde_json::from_str::<SearchRequest>(&text).unwrap(), req);
    }

    #[test]
    fn search_request_keys_are_case_insensitive_and_values_lenient() {
        let body = json!({
            "Filter": "userName pr",
            "ATTRIBUTES": "userName,name.givenName",
            "excludedattributes": null,
            "startIndex": "2",
            "count": 5.0,
            "somethingElse": {"x": 1}
        });
        let req = SearchRequest::parse(&body).unwrap();
        assert_eq!(req.filter.as_deref(), Some("userName pr"));
        assert_eq!(
            req.attributes,
            Some(vec!["userName".into(), "name.givenName".into()])
        );
        assert_eq!(req.excluded_attributes, None);
        assert_eq!((req.start_index, req.count), (Some(2), Some(5)));
    }

    #[test]
    fn search_request_with_wrong_types_is_invalid_syntax() {
        for body in [
            json!([]),
            json!({"filter": 3}),
            json!({"attributes": [1]}),
            json!({"attributes": {"a": 1}}),
            json!({"count": 2.5}),
            json!({"startIndex": true}),
        ] {
            let e = SearchRequest::parse(&body).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidSyntax), "{body}");
        }
    }

    proptest::proptest! {
        #[test]
        fn query_parameters_never_panic(params in proptest::collection::vec(
            (proptest::sample::select(vec!["filter", "COUNT", "startIndex", "attributes", "sortOrder", "x"]), ".{0,12}"),
            0..6,
        )) {
            let _ = SearchRequest::from_query(params.iter().map(|(k, v)| (*k, v.as_str())));
        }
    }
}
