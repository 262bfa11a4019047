//! Microsoft Entra ID's provisioning cycle (ENTRA §3–§6): Test Connection, user create /
//! match / update / manager / disable / delete, group create / match / members in both
//! removal forms / rename / delete, duplicates and wrong tokens — on `serve` and on the
//! distributed roles.

use crate::support::{Cluster, Deployment, Scim, Serve, eventually, patch_op};
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_the_entra_provisioning_cycle() {
    let serve = Serve::start().await;
    entra_cycle(&serve).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn distributed_roles_answer_the_entra_provisioning_cycle() {
    let cluster = Cluster::start(2).await;
    entra_cycle(&cluster).await;
}

fn entra_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": format!("{external_id}@contoso.example")}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
        "roles": []
    })
}

fn query(filter: &str) -> String {
    // Entra form-encodes: spaces as `+`, quotes and `@` percent-encoded.
    filter
        .replace(' ', "+")
        .replace('"', "%22")
        .replace('@', "%40")
}

async fn entra_cycle(d: &impl Deployment) {
    let tenant = d.create_tenant("contoso");
    assert_eq!(tenant.slug, "contoso");
    assert!(
        tenant.base_url.ends_with("/scim/v2/contoso"),
        "{}",
        tenant.base_url
    );
    let scim = Scim::new(&tenant);

    // Test Connection: a random GUID matches nothing → 200 and an empty ListResponse.
    let probe = scim
        .get(&format!(
            "/Users?filter={}",
            query(&format!("userName eq \"{}\"", Uuid::new_v4()))
        ))
        .await;
    assert_eq!(probe.status, 200, "{:?}", probe.body);
    assert_eq!(probe.body["totalResults"], 0);
    assert_eq!(probe.body["Resources"], json!([]));
    assert_eq!(probe.header("content-type"), Some("application/scim+json"));
    let group_probe = scim
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            query(&format!("displayName eq \"{}\"", Uuid::new_v4()))
        ))
        .await;
    assert_eq!(group_probe.status, 200);
    assert_eq!(group_probe.body["totalResults"], 0);

    // Create → 201 with id, Location = meta.location (absolute), ETag = meta.version.
    let created = scim
        .post("/Users", &entra_user("Ada.Lovelace@contoso.example", "ada"))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let ada = created.body["id"].as_str().unwrap().to_owned();
    let location = created.body["meta"]["location"].as_str().unwrap();
    assert_eq!(location, format!("{}/Users/{ada}", scim.base));
    assert_eq!(created.header("location"), Some(location));
    assert_eq!(
        created.header("etag"),
        created.body["meta"]["version"].as_str()
    );
    assert_eq!(created.body["userName"], "Ada.Lovelace@contoso.example");
    assert_eq!(created.body["active"], true);
    assert!(created.body.get("password").is_none());

    // Duplicate create (any casing) → 409 uniqueness.
    let dup = scim
        .post(
            "/Users",
            &entra_user("ada.lovelace@CONTOSO.example", "ada2"),
        )
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["scimType"], "uniqueness");
    assert_eq!(dup.body["status"], "409");

    // Match by filter, case-insensitively, and by externalId.
    let matched = scim
        .get(&format!(
            "/Users?filter={}",
            query("userName eq \"ADA.LOVELACE@contoso.example\"")
        ))
        .await;
    assert_eq!(matched.body["totalResults"], 1);
    assert_eq!(matched.body["Resources"][0]["id"], ada.as_str());
    let by_external = scim
        .get(&format!("/Users?filter={}", query("externalId eq \"ada\"")))
        .await;
    assert_eq!(by_external.body["Resources"][0]["id"], ada.as_str());

    // Update: value-filtered path and a sub-attribute, capitalised ops → 200 with the user.
    let updated = scim
        .patch(
            &format!("/Users/{ada}"),
            &patch_op(json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada@new.example"},
                {"op": "Replace", "path": "name.familyName", "value": "Byron"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "1815"}
            ])),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["emails"][0]["value"], "ada@new.example");
    assert_eq!(updated.body["name"]["familyName"], "Byron");
    assert_eq!(
        updated.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
        "1815"
    );

    // Manager: a second user, referenced by a bare string id; read back as {"value": id}.
    let boss = scim
        .post("/Users", &entra_user("charles@contoso.example", "charles"))
        .await;
    assert_eq!(boss.status, 201);
    let boss_id = boss.body["id"].as_str().unwrap().to_owned();
    let with_manager = scim
        .patch(
            &format!("/Users/{ada}"),
            &patch_op(json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": boss_id}])),
        )
        .await;
    assert_eq!(with_manager.status, 200, "{:?}", with_manager.body);
    let got = scim.get(&format!("/Users/{ada}")).await;
    assert_eq!(
        got.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        boss_id.as_str()
    );

    // Disable with the default-mode string boolean; still found by GET and by the filter.
    let disabled = scim
        .patch(
            &format!("/Users/{ada}"),
            &patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    assert_eq!(disabled.status, 200);
    assert_eq!(disabled.body["active"], false);
    let still = scim
        .get(&format!(
            "/Users?filter={}",
            query("userName eq \"ada.lovelace@contoso.example\"")
        ))
        .await;
    assert_eq!(still.body["Resources"][0]["active"], false);

    // Groups: created without members (with Entra's extra schema URI), matched by displayName.
    let group = scim
        .post(
            "/Groups",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Engineers",
                "meta": {"resourceType": "Group"}
            }),
        )
        .await;
    assert_eq!(group.status, 201, "{:?}", group.body);
    let gid = group.body["id"].as_str().unwrap().to_owned();
    let dup_group = scim
        .post("/Groups", &json!({"displayName": "ENGINEERS"}))
        .await;
    assert_eq!(dup_group.status, 409);
    let found = scim
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            query("displayName eq \"engineers\"")
        ))
        .await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], gid.as_str());
    assert!(found.body["Resources"][0].get("members").is_none());

    // Members: several in one Add with "$ref": null → 204.
    let add = scim
        .patch(
            &format!("/Groups/{gid}"),
            &patch_op(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": ada}, {"$ref": null, "value": boss_id}]}])),
        )
        .await;
    assert_eq!(add.status, 204, "{:?}", add.body);
    assert_eq!(add.body, Value::Null);
    let with_members = scim.get(&format!("/Groups/{gid}")).await;
    assert_eq!(
        member_ids(&with_members.body),
        sorted(vec![ada.clone(), boss_id.clone()])
    );
    let excluded = scim
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert_eq!(excluded.status, 200);
    assert!(excluded.body.get("members").is_none());
    // The user's `groups` follows through the asynchronous fan-out.
    let ada_path = format!("/Users/{ada}");
    eventually("ada's groups show Engineers", || async {
        let ada_now = scim.get(&ada_path).await;
        ada_now.body["groups"].as_array().is_some_and(|g| {
            g.iter()
                .any(|g| g["value"] == gid.as_str() && g["type"] == "direct")
        })
    })
    .await;

    // Default-mode removal: remove only the listed member.
    let remove = scim
        .patch(
            &format!("/Groups/{gid}"),
            &patch_op(json!([{"op": "Remove", "path": "members", "value": [{"value": boss_id}]}])),
        )
        .await;
    assert_eq!(remove.status, 204);
    assert_eq!(
        member_ids(&scim.get(&format!("/Groups/{gid}")).await.body),
        vec![ada.clone()]
    );
    // aadOptscim062020 removal: a value filter in the path.
    let remove = scim
        .patch(
            &format!("/Groups/{gid}"),
            &patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{ada}\"]")}])),
        )
        .await;
    assert_eq!(remove.status, 204);
    assert_eq!(
        member_ids(&scim.get(&format!("/Groups/{gid}")).await.body),
        Vec::<String>::new()
    );

    // Rename → 204; the new name is what matching finds.
    let rename = scim
        .patch(
            &format!("/Groups/{gid}"),
            &patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Engineering"}])),
        )
        .await;
    assert_eq!(rename.status, 204);
    assert_eq!(
        scim.get(&format!("/Groups/{gid}")).await.body["displayName"],
        "Engineering"
    );

    // Deletes → 204, then 404 with a SCIM body.
    assert_eq!(scim.delete(&format!("/Groups/{gid}")).await.status, 204);
    assert_eq!(scim.get(&format!("/Groups/{gid}")).await.status, 404);
    assert_eq!(scim.delete(&format!("/Users/{ada}")).await.status, 204);
    let gone = scim.get(&format!("/Users/{ada}")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(scim.delete(&format!("/Users/{ada}")).await.status, 404);

    // Wrong, missing and other-tenant tokens: the same 401.
    let wrong = Scim::with_token(&tenant.base_url, "bscim_not-a-token")
        .get("/Users")
        .await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer"))
    );
    let other = d.create_tenant("fabrikam");
    let crossed = Scim::with_token(&tenant.base_url, &other.token)
        .get("/Users")
        .await;
    assert_eq!(crossed.status, 401);
    assert_eq!(crossed.body, wrong.body);
    let unknown_base = tenant.base_url.replace("/contoso", "/no-such-tenant");
    let unknown = Scim::with_token(&unknown_base, &tenant.token)
        .get("/Users")
        .await;
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.body, wrong.body);
}

fn member_ids(group: &Value) -> Vec<String> {
    sorted(
        group["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default(),
    )
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
