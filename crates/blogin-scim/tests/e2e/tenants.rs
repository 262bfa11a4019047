//! Tenancy: two tenants side by side cannot see or change each other's resources; the
//! operator's `tenant` commands (first-start default tenant, create, list, rotate, revoke,
//! disable, enable) take effect on a running server.

use crate::support::{Cluster, Deployment, Scim, Serve, patch_op};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn two_tenants_on_the_distributed_roles_cannot_see_or_change_each_other() {
    let cluster = Cluster::start(1).await;
    let a = Scim::new(&cluster.create_tenant("tenant-a"));
    let b = Scim::new(&cluster.create_tenant("tenant-b"));
    let user = a
        .post("/Users", &json!({"userName": "shared@example.com"}))
        .await;
    assert_eq!(user.status, 201);
    let uid = user.body["id"].as_str().unwrap().to_owned();
    let group = a.post("/Groups", &json!({"displayName": "Shared"})).await;
    let gid = group.body["id"].as_str().unwrap().to_owned();

    // The same names are free in the other tenant.
    assert_eq!(
        b.post("/Users", &json!({"userName": "shared@example.com"}))
            .await
            .status,
        201
    );
    assert_eq!(
        b.post("/Groups", &json!({"displayName": "Shared"}))
            .await
            .status,
        201
    );

    for path in [format!("/Users/{uid}"), format!("/Groups/{gid}")] {
        assert_eq!(b.get(&path).await.status, 404, "{path}");
        let patch = patch_op(json!([{"op": "replace", "path": "externalId", "value": "stolen"}]));
        assert_eq!(b.patch(&path, &patch).await.status, 404, "{path}");
        assert_eq!(b.delete(&path).await.status, 404, "{path}");
    }
    // B cannot add A's user to its own group either.
    let b_group = b.get("/Groups").await.body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cross = b
        .patch(
            &format!("/Groups/{b_group}"),
            &patch_op(json!([{"op": "add", "path": "members", "value": [{"value": uid}]}])),
        )
        .await;
    assert_ne!(
        cross.status, 204,
        "a member from another tenant must be refused"
    );
    let listed = b.get("/Users").await;
    assert_eq!(listed.body["totalResults"], 1);
    assert_ne!(listed.body["Resources"][0]["id"], uid.as_str());
    // A still has its resources, unchanged.
    assert_eq!(
        a.get(&format!("/Users/{uid}")).await.body.get("externalId"),
        None
    );
    assert_eq!(a.get(&format!("/Groups/{gid}")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_creates_the_default_tenant_once_and_operators_manage_tokens() {
    let serve = Serve::start_with(&[("BLOGIN_SCIM_TOKEN_CACHE_TTL_SECS", "1".into())]).await;
    // First start printed the default tenant's Base URL; with no terminal, the token went to a
    // file only this user can read, never to the (logged) output.
    let out = &serve.first_start_stdout;
    let file = serve.data_dir.join("initial-credentials.json");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let token = written["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("bscim_"));
    assert!(
        !out.contains(&token),
        "the token must not be in the output: {out}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let base = format!("{}/scim/v2/default", serve.root);
    assert!(out.contains(&base), "{out}");
    assert_eq!(written["base_url"], base.as_str());
    let default = Scim::with_token(&base, &token);
    assert_eq!(default.get("/Users").await.status, 200);

    let listed: Value = serde_json::from_str(&serve.tenant(&["list", "--json"])).unwrap();
    assert_eq!(listed[0]["tenant"], "default");
    assert_eq!(listed[0]["base_url"], base.as_str());

    // Rotation: the new token works, the old one keeps working during the grace period.
    let rotated: Value = serde_json::from_str(&serve.tenant(&[
        "rotate-token",
        "default",
        "--grace-seconds",
        "600",
        "--json",
    ]))
    .unwrap();
    let new_token = rotated["token"].as_str().unwrap();
    assert_ne!(new_token, token);
    assert_eq!(
        Scim::with_token(&base, new_token)
            .get("/Users")
            .await
            .status,
        200
    );
    assert_eq!(default.get("/Users").await.status, 200);

    // Revocation takes effect within the token cache lifetime (1 s here).
    serve.tenant(&["revoke-token", "default"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        Scim::with_token(&base, new_token)
            .get("/Users")
            .await
            .status,
        401
    );
    assert_eq!(default.get("/Users").await.status, 401);

    // Disable / enable a tenant with a fresh token.
    let fresh: Value = serde_json::from_str(&serve.tenant(&[
        "rotate-token",
        "default",
        "--grace-seconds",
        "0",
        "--json",
    ]))
    .unwrap();
    let fresh = Scim::with_token(&base, fresh["token"].as_str().unwrap());
    assert_eq!(fresh.get("/Users").await.status, 200);
    serve.tenant(&["disable", "default"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(fresh.get("/Users").await.status, 401);
    serve.tenant(&["enable", "default"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(fresh.get("/Users").await.status, 200);

    // A second tenant created beside the running server works at once; names are unique.
    let second = serve.create_tenant("second");
    assert_eq!(second.base_url, format!("{}/scim/v2/second", serve.root));
    assert_eq!(Scim::new(&second).get("/Groups").await.status, 200);
    let again = std::process::Command::new(crate::support::bin())
        .args([
            "tenant",
            "create",
            "second",
            "--data-dir",
            serve.data_dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_stops_gracefully_on_sigterm_and_keeps_its_data() {
    let mut serve = Serve::start().await;
    let tenant = serve.create_tenant("durable");
    let scim = Scim::new(&tenant);
    let id = scim
        .post("/Users", &json!({"userName": "kept@example.com"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        serve.proc.terminate(),
        "serve did not exit cleanly:\n{}",
        serve.proc.log()
    );
    assert!(serve.proc.log().contains("stopped"));
    // The data outlives the process: the tenant and user are there for a new tenant command.
    let listed: Value = serde_json::from_str(&serve.tenant(&["list", "--json"])).unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["tenant"] == "durable")
    );
    let _ = id;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_provisioning_log_lists_writes_with_their_outcome_and_error() {
    let serve = Serve::start().await;
    let scim = Scim::new(&serve.create_tenant("audited"));
    let created = scim
        .post("/Users", &json!({"userName": "audit@example.com"}))
        .await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        scim.post("/Users", &json!({"userName": "AUDIT@example.com"}))
            .await
            .status,
        409
    );

    let log: Value = serde_json::from_str(&serve.tenant(&["log", "audited", "--json"])).unwrap();
    let rows = log.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{log}");
    assert_eq!(rows[0]["outcome"], "failure", "newest first");
    assert_eq!(rows[0]["status"], 409);
    assert_eq!(rows[0]["scim_type"], "uniqueness");
    assert_eq!(rows[1]["outcome"], "success");
    assert_eq!(rows[1]["operation"], "create");
    assert_eq!(rows[1]["resource_id"], id.as_str());
    let text = log.to_string();
    assert!(
        !text.contains("audit@example.com") && !text.contains("AUDIT@"),
        "no personal data: {text}"
    );

    let failures: Value =
        serde_json::from_str(&serve.tenant(&["log", "audited", "--outcome", "failure", "--json"]))
            .unwrap();
    assert_eq!(failures.as_array().unwrap().len(), 1);
    let by_resource: Value =
        serde_json::from_str(&serve.tenant(&["log", "audited", "--resource", &id, "--json"]))
            .unwrap();
    assert_eq!(by_resource.as_array().unwrap().len(), 1);
}
