//! RFC 7644 §3.7 bulk messages: the §3.7.3 request and error response read and write back
//! unchanged, each operation's `data` goes through the same checks as the single request, and
//! the limits answer as §3.7.4 says.

use crate::support::{data, expect_error, patch, registry, stored};
use pretty_assertions::assert_eq;
use scim::ScimError;
use scim::bulk::{BulkMethod, BulkOperationResponse, BulkRequest, BulkResponse};
use scim::meta::IfMatch;
use scim::schema::ResourceKind;
use serde_json::json;

#[test]
fn section_3_7_3_bulk_request_reads_and_round_trips() {
    let body = data("rfc/7644_3_7_3_bulk_request.json");
    let req = BulkRequest::parse(&body).expect("parses");
    assert_eq!(req.fail_on_errors, Some(1));
    let methods: Vec<BulkMethod> = req.operations.iter().map(|o| o.method).collect();
    assert_eq!(
        methods,
        [
            BulkMethod::Post,
            BulkMethod::Put,
            BulkMethod::Patch,
            BulkMethod::Delete
        ]
    );
    assert_eq!(req.operations[0].bulk_id.as_deref(), Some("qwerty"));
    assert!(req.check(1000).is_ok());
    assert_eq!(serde_json::to_value(&req).expect("serializes"), body);
    // Versions are the entity tags If-Match would carry.
    let tag = IfMatch::parse(req.operations[1].version.as_deref().expect("version")).expect("etag");
    assert!(!tag.matches(1));
}

#[test]
fn section_3_7_3_operation_bodies_are_the_single_request_bodies() {
    let req = BulkRequest::parse(&data("rfc/7644_3_7_3_bulk_request.json")).expect("parses");
    let reg = registry();
    let alice = stored(
        &reg,
        ResourceKind::User,
        req.operations[0].data.as_ref().expect("data"),
    );
    assert_eq!(alice.body, json!({"userName": "Alice"}));
    let bob = stored(
        &reg,
        ResourceKind::User,
        req.operations[1].data.as_ref().expect("data"),
    );
    assert_eq!(bob.body, json!({"userName": "Bob"}));
    let dave = patch(
        &reg,
        ResourceKind::User,
        &json!({"userName": "Carol", "nickName": "C"}),
        req.operations[2].data.as_ref().expect("data"),
    )
    .expect("applies");
    assert_eq!(dave.resource, json!({"userName": "Dave"}));
}

#[test]
fn section_3_7_3_error_response_writes_as_in_the_rfc() {
    let rfc = data("rfc/7644_3_7_3_bulk_response_errors.json");
    let parsed: BulkResponse = serde_json::from_value(rfc.clone()).expect("reads");
    assert_eq!(serde_json::to_value(&parsed).expect("writes"), rfc);
    let first = BulkOperationResponse::error(
        BulkMethod::Post,
        Some("qwerty".to_owned()),
        &ScimError::invalid_syntax(
            "Request is unparsable, syntactically incorrect, or violates schema.",
        ),
    );
    assert_eq!(
        serde_json::to_value(&first).expect("writes"),
        rfc["Operations"][0]
    );
    assert_eq!(BulkResponse::new(parsed.operations.clone()), parsed);
}

#[test]
fn section_3_7_4_too_many_operations_is_413_and_malformed_requests_invalid_syntax() {
    let req = BulkRequest::parse(&data("rfc/7644_3_7_3_bulk_request.json")).expect("parses");
    expect_error(req.check(3), 413, &[]);
    let no_bulk_id =
        json!({"Operations": [{"method": "POST", "path": "/Users", "data": {"userName": "a"}}]});
    let parsed = BulkRequest::parse(&no_bulk_id).expect("structurally fine");
    expect_error(parsed.check(10), 400, &[scim::ScimType::InvalidSyntax]);
    for bad in [
        json!({"Operations": [{"method": "GET", "path": "/Users"}]}),
        json!([]),
        json!({"Operations": "x"}),
    ] {
        expect_error(
            BulkRequest::parse(&bad),
            400,
            &[scim::ScimType::InvalidSyntax],
        );
    }
}
