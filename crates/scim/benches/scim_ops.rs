//! Per-operation cost of the SCIM core on the request shapes Entra ID sends: parsing a matching
//! filter, parsing a 10-operation PATCH, applying it to a user, applying a 100-member add to a
//! group, and projecting a user. Criterion prints the time per operation for each.
//!
//! Run: `cargo bench -p scim --bench scim_ops`.

use criterion::{Criterion, criterion_group, criterion_main};
use scim::patch::{PatchRequest, apply};
use scim::projection::Projection;
use scim::schema::{Registry, ResourceKind};
use scim::validate::normalize_resource;
use serde_json::{Value, json};
use std::hint::black_box;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn enterprise_user(reg: &Registry) -> Value {
    let example: Value = serde_json::from_str(include_str!(
        "../tests/data/rfc/7643_8_3_enterprise_user.json"
    ))
    .expect("data file is JSON");
    normalize_resource(reg, ResourceKind::User, example).expect("RFC 7643 §8.3 user is valid")
}

/// Ten operations in the forms Entra sends in one update (ENTRA §5.3, §6).
fn ten_operation_patch() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": "Pvlo"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "TestBcwqnm@test.microsoft.com"},
            {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
            {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
            {"op": "Replace", "path": "externalId", "value": "Eqpj"},
            {"op": "Replace", "path": format!("{ENT}:employeeNumber"), "value": "Eqpj"},
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
            {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"},
            {"op": "add", "path": format!("{ENT}:manager"), "value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"},
            {"op": "Replace", "path": "active", "value": "False"}
        ]
    })
}

fn hundred_member_add() -> Value {
    let members: Vec<Value> = (0..100)
        .map(|i| json!({"$ref": null, "value": format!("{i:08x}-5ea4-4cd3-8e9c-f648f8d5ea4e")}))
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": "members", "value": members}]
    })
}

fn benches(c: &mut Criterion) {
    let reg = Registry::new();

    let filter = "userName eq \"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee\"";
    c.bench_function("filter: parse a typical Entra matching filter", |b| {
        b.iter(|| scim::filter::parse(black_box(filter)).expect("parses"))
    });
    c.bench_function(
        "filter: parse + resolve a typical Entra matching filter",
        |b| {
            b.iter(|| {
                scim::filter::parse(black_box(filter))
                    .and_then(|f| f.resolve(&reg, ResourceKind::User))
                    .expect("resolves")
            })
        },
    );

    let body = ten_operation_patch();
    c.bench_function("patch: parse a 10-operation PATCH", |b| {
        b.iter(|| PatchRequest::parse(black_box(&body)).expect("parses"))
    });

    let user = enterprise_user(&reg);
    let request = PatchRequest::parse(&body).expect("parses");
    c.bench_function("patch: apply the 10-operation PATCH to a user", |b| {
        b.iter(|| {
            apply(
                &reg,
                ResourceKind::User,
                black_box(&user),
                black_box(&request),
            )
            .expect("applies")
        })
    });

    let group =
        json!({"displayName": "Tour Guides", "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"});
    let add = hundred_member_add();
    let add_request = PatchRequest::parse(&add).expect("parses");
    c.bench_function("patch: apply a 100-member add to a group", |b| {
        b.iter(|| {
            apply(
                &reg,
                ResourceKind::Group,
                black_box(&group),
                black_box(&add_request),
            )
            .expect("applies")
        })
    });
    c.bench_function("patch: parse + apply a 100-member add to a group", |b| {
        b.iter(|| {
            let req = PatchRequest::parse(black_box(&add)).expect("parses");
            apply(&reg, ResourceKind::Group, &group, &req).expect("applies")
        })
    });

    let now = chrono::Utc::now();
    let meta = scim::meta::Meta::new(
        ResourceKind::User,
        "https://blogin.example/scim/v2",
        "2819c223",
        now,
        now,
        3,
    );
    let rendered = scim::resource::render(
        &reg,
        ResourceKind::User,
        "2819c223-7f76-453a-919d-413861904646",
        &user,
        &meta,
    );
    let attributes = Projection::parse(Some("userName,name.givenName,emails.value,active"), None)
        .expect("parses");
    let excluded = Projection::parse(None, Some("groups,x509Certificates,photos")).expect("parses");
    c.bench_function(
        "projection: attributes=userName,name.givenName,emails.value,active",
        |b| b.iter(|| attributes.apply(&reg, ResourceKind::User, black_box(&rendered))),
    );
    c.bench_function("projection: excludedAttributes on a full user", |b| {
        b.iter(|| excluded.apply(&reg, ResourceKind::User, black_box(&rendered)))
    });
    c.bench_function("render: full enterprise user", |b| {
        b.iter(|| {
            scim::resource::render(
                &reg,
                ResourceKind::User,
                "2819c223",
                black_box(&user),
                &meta,
            )
        })
    });
}

criterion_group!(scim_ops, benches);
criterion_main!(scim_ops);
