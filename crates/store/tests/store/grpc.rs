//! The DirectoryService over real gRPC on a random loopback port: a tenant, a write, a read
//! with a filter AST, and a SCIM error carried in the status details.

use crate::both;
use crate::support::*;
use prost::Message;
use scim::schema::ResourceKind::User;
use scim_wire::convert::{filter_to_pb, kind_to_pb};
use scim_wire::pb::{self, directory_service_client::DirectoryServiceClient};

both!(
    directory_service_round_trip_over_grpc,
    |fx: Fixture| async move {
        let grpc = GrpcStore::start(&fx).await;
        let mut client = grpc.client.clone();

        let created = client
            .create_tenant(pb::CreateTenantRequest {
                slug: "grpc".into(),
                name: "G".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let tenant_id = created.tenant.unwrap().id;
        // Gateways send the token's hash only; a plain token (older gateways) still works.
        let auth = client
            .authenticate(pb::AuthenticateRequest {
                slug: "grpc".into(),
                token: String::new(),
                token_sha256: scim_store::tokens::hash(&created.token),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(auth.authenticated && auth.tenant_id == tenant_id);
        let legacy = client
            .authenticate(pb::AuthenticateRequest {
                slug: "grpc".into(),
                token: created.token.clone(),
                token_sha256: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(legacy.authenticated);
        let wrong = client
            .authenticate(pb::AuthenticateRequest {
                slug: "grpc".into(),
                token: String::new(),
                token_sha256: scim_store::tokens::hash("bscim_wrong"),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!wrong.authenticated);

        let cmd = pb::ChangeCommand {
            command_id: "c1".into(),
            tenant_id: tenant_id.clone(),
            kind: kind_to_pb(User),
            expected_version: None,
            change: Some(pb::change_command::Change::Create(pb::CreateChange {
                body_json: r#"{"userName":"Grpc@X.com"}"#.into(),
            })),
        };
        let result = client.apply_change(cmd.clone()).await.unwrap().into_inner();
        let Some(pb::command_result::Outcome::Resource(res)) = result.outcome else {
            panic!("{result:?}")
        };
        let again = client.apply_change(cmd).await.unwrap().into_inner();
        assert_eq!(
            again.outcome,
            Some(pb::command_result::Outcome::Resource(res.clone()))
        );

        let filter = scim::filter::parse(r#"userName eq "grpc@x.com""#).unwrap();
        let list = client
            .list_resources(pb::ListResourcesRequest {
                tenant_id: tenant_id.clone(),
                kind: kind_to_pb(User),
                filter: Some(filter_to_pb(&filter)),
                start_index: 1,
                count: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (list.total_results, list.resources[0].id.clone()),
            (1, res.id.clone())
        );

        let missing = client
            .get_resource(pb::GetResourceRequest {
                tenant_id,
                kind: kind_to_pb(User),
                id: uuid::Uuid::new_v4().to_string(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(missing.code(), tonic::Code::NotFound);
        let scim_err = pb::ScimError::decode(missing.details()).unwrap();
        assert_eq!(scim_err.status, 404);

        // Without the role secret the store answers nothing, health included.
        let mut anonymous = DirectoryServiceClient::connect(grpc.url.clone())
            .await
            .unwrap();
        let refused = anonymous
            .list_tenants(pb::ListTenantsRequest {})
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
        let mut health = tonic_health::pb::health_client::HealthClient::new(grpc.channel.clone());
        let h = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            h.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
        let _ = fx;
        grpc.stop().await;
    }
);

both!(
    apply_batch_answers_each_command_and_a_malformed_one_alone,
    |fx: Fixture| async move {
        let grpc = GrpcStore::start(&fx).await;
        let mut client = grpc.client.clone();
        let create = |id: &str, user_name: &str| pb::ChangeCommand {
            command_id: id.into(),
            tenant_id: fx.a.to_string(),
            kind: kind_to_pb(User) as i32,
            expected_version: None,
            change: Some(pb::change_command::Change::Create(pb::CreateChange {
                body_json: serde_json::json!({"userName": user_name}).to_string(),
            })),
        };
        let item = |command: Option<pb::ChangeCommand>| pb::BatchedCommand {
            command,
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            deadline: None,
        };
        let mut no_tenant = create("b3", "c@example.com");
        no_tenant.tenant_id = "not-a-uuid".into();
        let answers = client
            .apply_batch(pb::ApplyBatchRequest {
                commands: vec![
                    item(Some(create("b1", "a@example.com"))),
                    item(None),
                    item(Some(no_tenant)),
                    item(Some(create("b2", "A@EXAMPLE.com"))),
                    item(Some(create("b4", "d@example.com"))),
                ],
            })
            .await
            .unwrap()
            .into_inner()
            .answers;
        let kinds: Vec<String> = answers
            .iter()
            .map(|a| match a.answer.as_ref().unwrap() {
                pb::batch_answer::Answer::Result(r) => match r.outcome.as_ref().unwrap() {
                    pb::command_result::Outcome::Resource(_) => "created".to_owned(),
                    pb::command_result::Outcome::Error(e) => format!("refused {}", e.status),
                    pb::command_result::Outcome::Deleted(_) => "deleted".to_owned(),
                },
                pb::batch_answer::Answer::Failure(f) => {
                    format!("failed {:?}", tonic::Code::from_i32(f.code))
                }
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "created",
                "failed InvalidArgument",
                "failed InvalidArgument",
                "refused 409",
                "created"
            ]
        );
        // Each command's log row keeps its own trace id.
        let log = fx
            .dir
            .query_log(
                fx.a,
                &scim_store::LogQuery {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(log.len(), 3);
        assert!(
            log.iter()
                .all(|r| r.trace_id.as_deref() == Some("4bf92f3577b34da6a3ce929d0e0e4736"))
        );
        grpc.stop().await;
    }
);
