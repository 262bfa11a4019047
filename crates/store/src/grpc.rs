//! The tonic `DirectoryService` adapter: the only file that sees the generated server trait.
//! It converts wire messages to store calls and maps every store error to a gRPC status in one
//! place ([`status`]).
//!
//! A SCIM refusal travels as the status code that matches its HTTP status *and* the encoded
//! `pb::ScimError` in the status details, so the gateway can answer the client exactly.

use crate::batch::Batched;
use crate::convert::{outcome_to_pb, resource_to_pb};
use crate::directory::Directory;
use crate::error::StoreError;
use crate::log::LogQuery;
use crate::model::{Change, Command};
use crate::reads::ListRequest;
use crate::tenants::TenantInfo;
use prost::Message;
use scim::ScimError;
use scim_wire::convert::{
    filter_from_pb, kind_from_pb, patch_from_pb, path_from_pb, timestamp_from_pb, timestamp_to_pb,
};
use scim_wire::pb::{self, directory_service_server::DirectoryService};
use std::future::Future;
use tonic::{Code, Request, Response, Status};
use tracing::field::Empty;
use tracing::{Instrument as _, Span};
use uuid::Uuid;

/// The gRPC service over a [`Directory`].
#[derive(Debug, Clone)]
pub struct DirectoryGrpc {
    dir: Directory,
}

impl DirectoryGrpc {
    /// Wraps a directory.
    pub fn new(dir: Directory) -> Self {
        Self { dir }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> pb::directory_service_server::DirectoryServiceServer<Self> {
        pb::directory_service_server::DirectoryServiceServer::new(self)
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(256 << 20)
    }
}

/// The one mapping from store errors to gRPC statuses.
pub fn status(e: StoreError) -> Status {
    match e {
        StoreError::Scim(s) => scim_status(&s),
        StoreError::Convert(c) => Status::invalid_argument(c.to_string()),
        StoreError::Invalid(m) => Status::invalid_argument(m),
        e if e.is_transient() => Status::unavailable(e.to_string()),
        e => {
            tracing::error!(error.message = %e, "directory operation failed");
            Status::internal("internal store error")
        }
    }
}

/// A batched command's failure: the status `ApplyChange` would have failed with.
fn batch_failure(status: Status) -> pb::BatchAnswer {
    pb::BatchAnswer {
        answer: Some(pb::batch_answer::Answer::Failure(pb::BatchFailure {
            code: status.code() as i32,
            message: status.message().to_owned(),
        })),
    }
}

/// A SCIM error as a status: code by HTTP status, the SCIM error itself in the details.
pub fn scim_status(s: &ScimError) -> Status {
    let code = match s.status() {
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        409 => Code::AlreadyExists,
        412 => Code::FailedPrecondition,
        413 => Code::ResourceExhausted,
        501 => Code::Unimplemented,
        503 => Code::Unavailable,
        _ => Code::Internal,
    };
    Status::with_details(
        code,
        s.detail().to_owned(),
        pb::ScimError::from(s).encode_to_vec().into(),
    )
}

/// The span of one call, `directory.{Method}`, the child of the trace context in the call's
/// metadata. Attributes (tenant, resource type and id) are recorded by the methods that
/// know them; `quiet` calls (the relay's and the lag reporter's polls, several a second
/// while idle) are at debug level, so they are neither exported nor logged by default.
fn rpc_span(name: &'static str, metadata: &tonic::metadata::MetadataMap, quiet: bool) -> Span {
    let span = if quiet {
        tracing::debug_span!(
            "directory",
            otel.name = name,
            otel.kind = "server",
            otel.status_code = Empty,
            outcome = Empty,
        )
    } else {
        tracing::info_span!(
            "directory",
            otel.name = name,
            otel.kind = "server",
            otel.status_code = Empty,
            rpc.system = "grpc",
            tenant = Empty,
            tenant_id = Empty,
            resource_type = Empty,
            resource_id = Empty,
            command_id = Empty,
            outcome = Empty,
        )
    };
    scim_telemetry::set_remote_parent(&span, metadata);
    span
}

/// Runs a call in `span` and records its outcome: `ok` or the gRPC code. SCIM refusals
/// (`NotFound`, `AlreadyExists`, …) are answers, not failures; only server-side codes mark
/// the span as an error.
async fn traced<T>(
    span: Span,
    call: impl Future<Output = Result<Response<T>, Status>>,
) -> Result<Response<T>, Status> {
    let result = call.instrument(span.clone()).await;
    match &result {
        Ok(_) => {
            span.record("outcome", "ok");
        }
        Err(status) => {
            span.record("outcome", format!("{:?}", status.code()));
            if matches!(
                status.code(),
                Code::Internal | Code::Unavailable | Code::Unknown | Code::DataLoss
            ) {
                span.record("otel.status_code", "ERROR");
            }
        }
    }
    result
}

/// The attributes of a command's span: tenant, resource type, command id and, for changes
/// of an existing resource, its id.
fn record_command(cmd: &Command) {
    attr("tenant_id", &cmd.tenant.to_string());
    attr("resource_type", cmd.kind.name());
    attr("command_id", &cmd.id);
    match &cmd.change {
        Change::Create(_) => {}
        Change::Replace { id, .. } | Change::Patch { id, .. } | Change::Delete { id } => {
            uuid_attr("resource_id", id)
        }
    }
}

/// Records `field` = `value` on the current call's span.
fn attr(field: &'static str, value: &str) {
    Span::current().record(field, value);
}

/// `id` when it is a UUID: resource ids are, and anything else is client text.
fn uuid_attr(field: &'static str, id: &str) {
    if Uuid::parse_str(id).is_ok() {
        attr(field, id);
    }
}

/// The trace id of the W3C `traceparent` the caller sent, for the provisioning log.
fn trace_id(metadata: &tonic::metadata::MetadataMap) -> Option<String> {
    trace_id_of(metadata.get("traceparent").and_then(|v| v.to_str().ok())?)
}

/// The trace id in a W3C `traceparent` (checked against the grammar first).
fn trace_id_of(traceparent: &str) -> Option<String> {
    scim_telemetry::w3c::traceparent(traceparent)
        .and_then(|tp| tp.split('-').nth(1).map(str::to_owned))
}

fn tenant_id(s: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(s).map_err(|_| Status::invalid_argument("tenant_id is not a UUID"))
}

fn tenant_to_pb(t: TenantInfo) -> pb::Tenant {
    pb::Tenant {
        id: t.id.to_string(),
        slug: t.slug,
        name: t.name,
        provisioning_enabled: t.provisioning_enabled,
        created: Some(timestamp_to_pb(t.created)),
    }
}

/// Decodes a `ChangeCommand`.
pub fn command_from_pb(c: &pb::ChangeCommand, trace_id: Option<String>) -> Result<Command, Status> {
    use pb::change_command::Change as C;
    let bad = |what: &str| Status::invalid_argument(format!("ChangeCommand: {what}"));
    let json = |s: &str| serde_json::from_str(s).map_err(|_| bad("body is not JSON"));
    let change = match c.change.as_ref().ok_or_else(|| bad("no change"))? {
        C::Create(x) => Change::Create(json(&x.body_json)?),
        C::Replace(x) => Change::Replace {
            id: x.id.clone(),
            body: json(&x.body_json)?,
        },
        C::Patch(x) => Change::Patch {
            id: x.id.clone(),
            request: patch_from_pb(&x.operations).map_err(|e| bad(&e.to_string()))?,
        },
        C::Delete(x) => Change::Delete { id: x.id.clone() },
    };
    if c.command_id.is_empty() {
        return Err(bad("empty command_id"));
    }
    Ok(Command {
        id: c.command_id.clone(),
        tenant: tenant_id(&c.tenant_id)?,
        kind: kind_from_pb(c.kind).map_err(|e| bad(&e.to_string()))?,
        expected_version: c.expected_version.map(|v| v as i64),
        change,
        trace_id,
    })
}

#[tonic::async_trait]
impl DirectoryService for DirectoryGrpc {
    async fn create_tenant(
        &self,
        req: Request<pb::CreateTenantRequest>,
    ) -> Result<Response<pb::CreateTenantResponse>, Status> {
        let span = rpc_span("directory.CreateTenant", req.metadata(), false);
        traced(span, async move {
            let r = req.into_inner();
            let (t, token) = self
                .dir
                .create_tenant(&r.slug, &r.name)
                .await
                .map_err(status)?;
            Ok(Response::new(pb::CreateTenantResponse {
                tenant: Some(tenant_to_pb(t)),
                token,
            }))
        })
        .await
    }

    async fn list_tenants(
        &self,
        req: Request<pb::ListTenantsRequest>,
    ) -> Result<Response<pb::ListTenantsResponse>, Status> {
        let span = rpc_span("directory.ListTenants", req.metadata(), false);
        traced(span, async move {
            let tenants = self.dir.list_tenants().await.map_err(status)?;
            Ok(Response::new(pb::ListTenantsResponse {
                tenants: tenants.into_iter().map(tenant_to_pb).collect(),
            }))
        })
        .await
    }

    async fn set_tenant_enabled(
        &self,
        req: Request<pb::SetTenantEnabledRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        let span = rpc_span("directory.SetTenantEnabled", req.metadata(), false);
        traced(span, async move {
            let r = req.into_inner();
            let t = self
                .dir
                .set_tenant_enabled(&r.slug, r.enabled)
                .await
                .map_err(status)?;
            Ok(Response::new(tenant_to_pb(t)))
        })
        .await
    }

    async fn issue_token(
        &self,
        req: Request<pb::IssueTokenRequest>,
    ) -> Result<Response<pb::IssueTokenResponse>, Status> {
        let span = rpc_span("directory.IssueToken", req.metadata(), false);
        traced(span, async move {
            let r = req.into_inner();
            let grace = chrono::Duration::seconds(r.grace_seconds.min(90 * 86_400) as i64);
            let token = self
                .dir
                .issue_token(&r.slug, r.rotate, grace)
                .await
                .map_err(status)?;
            let prefix = crate::tokens::display_prefix(&token);
            Ok(Response::new(pb::IssueTokenResponse { token, prefix }))
        })
        .await
    }

    async fn revoke_tokens(
        &self,
        req: Request<pb::RevokeTokensRequest>,
    ) -> Result<Response<pb::RevokeTokensResponse>, Status> {
        let span = rpc_span("directory.RevokeTokens", req.metadata(), false);
        traced(span, async move {
            let n = self
                .dir
                .revoke_tokens(&req.into_inner().slug)
                .await
                .map_err(status)?;
            Ok(Response::new(pb::RevokeTokensResponse {
                revoked: n as u32,
            }))
        })
        .await
    }

    async fn authenticate(
        &self,
        req: Request<pb::AuthenticateRequest>,
    ) -> Result<Response<pb::AuthenticateResponse>, Status> {
        let span = rpc_span("directory.Authenticate", req.metadata(), false);
        traced(span, async move {
            let r = req.into_inner();
            // The slug only: the token never goes near a span.
            attr("tenant", &r.slug);
            let hash = if r.token_sha256.is_empty() {
                crate::tokens::hash(&r.token)
            } else {
                r.token_sha256
            };
            let tenant = self
                .dir
                .authenticate_hash(&r.slug, &hash)
                .await
                .map_err(status)?;
            Ok(Response::new(pb::AuthenticateResponse {
                authenticated: tenant.is_some(),
                tenant_id: tenant.map(|t| t.to_string()).unwrap_or_default(),
            }))
        })
        .await
    }

    async fn get_resource(
        &self,
        req: Request<pb::GetResourceRequest>,
    ) -> Result<Response<pb::Resource>, Status> {
        let span = rpc_span("directory.GetResource", req.metadata(), false);
        traced(span, async move {
            let r = req.into_inner();
            let kind = kind_from_pb(r.kind).map_err(|e| Status::invalid_argument(e.to_string()))?;
            uuid_attr("tenant_id", &r.tenant_id);
            attr("resource_type", kind.name());
            uuid_attr("resource_id", &r.id);
            let res = self
                .dir
                .get(
                    tenant_id(&r.tenant_id)?,
                    kind,
                    &r.id,
                    r.include_members,
                    r.include_groups,
                )
                .await
                .map_err(status)?;
            Ok(Response::new(resource_to_pb(&res)))
        })
        .await
    }

    async fn list_resources(
        &self,
        req: Request<pb::ListResourcesRequest>,
    ) -> Result<Response<pb::ListResourcesResponse>, Status> {
        let span = rpc_span("directory.ListResources", req.metadata(), false);
        traced(span, async move {
            let r = req.into_inner();
            let kind = kind_from_pb(r.kind).map_err(|e| Status::invalid_argument(e.to_string()))?;
            uuid_attr("tenant_id", &r.tenant_id);
            attr("resource_type", kind.name());
            let list = ListRequest {
                filter: r
                    .filter
                    .as_ref()
                    .map(filter_from_pb)
                    .transpose()
                    .map_err(|e| Status::invalid_argument(e.to_string()))?,
                sort_by: r
                    .sort_by
                    .as_ref()
                    .map(path_from_pb)
                    .transpose()
                    .map_err(|e| Status::invalid_argument(e.to_string()))?,
                descending: r.sort_order == pb::SortOrder::Descending as i32,
                start_index: r.start_index,
                count: r.count,
                include_members: r.include_members,
                include_groups: r.include_groups,
            };
            let page = self
                .dir
                .list(tenant_id(&r.tenant_id)?, kind, &list)
                .await
                .map_err(status)?;
            Ok(Response::new(pb::ListResourcesResponse {
                total_results: page.total_results,
                resources: page.resources.iter().map(resource_to_pb).collect(),
            }))
        })
        .await
    }

    async fn list_members(
        &self,
        req: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        let span = rpc_span("directory.ListMembers", req.metadata(), false);
        traced(span, async move {
            let r = req.into_inner();
            let after = if r.after.is_empty() {
                None
            } else {
                Some(
                    Uuid::parse_str(&r.after)
                        .map_err(|_| Status::invalid_argument("after is not a member id"))?,
                )
            };
            let limit = if r.limit == 0 {
                1000
            } else {
                u64::from(r.limit)
            };
            let (page, next) = self
                .dir
                .members_page(tenant_id(&r.tenant_id)?, &r.group_id, after, limit)
                .await
                .map_err(status)?;
            Ok(Response::new(pb::ListMembersResponse {
                members: page
                    .into_iter()
                    .map(|m| pb::Member {
                        value: m.id.to_string(),
                        r#type: m.member_type,
                        display: String::new(),
                    })
                    .collect(),
                next: next.map(|n| n.to_string()).unwrap_or_default(),
            }))
        })
        .await
    }

    async fn apply_change(
        &self,
        req: Request<pb::ChangeCommand>,
    ) -> Result<Response<pb::CommandResult>, Status> {
        let span = rpc_span("directory.ApplyChange", req.metadata(), false);
        traced(span, async move {
            let cmd = command_from_pb(req.get_ref(), trace_id(req.metadata()))?;
            record_command(&cmd);
            let outcome = self.dir.apply(&cmd).await.map_err(status)?;
            if let Ok(crate::model::Applied::Resource { resource, .. }) = &outcome {
                attr("resource_id", &resource.id.to_string());
            }
            Ok(Response::new(outcome_to_pb(&cmd.id, &outcome)))
        })
        .await
    }

    async fn apply_batch(
        &self,
        req: Request<pb::ApplyBatchRequest>,
    ) -> Result<Response<pb::ApplyBatchResponse>, Status> {
        let span = rpc_span("directory.ApplyBatch", req.metadata(), false);
        traced(span, async move {
            let items = req.into_inner().commands;
            attr("batch_size", &items.len().to_string());
            // A malformed item is its own failure, never the batch's.
            let mut answers: Vec<Option<pb::BatchAnswer>> = Vec::with_capacity(items.len());
            let mut batch = Vec::with_capacity(items.len());
            for item in &items {
                let command = item
                    .command
                    .as_ref()
                    .ok_or_else(|| {
                        Status::invalid_argument("ApplyBatch: an item without a command")
                    })
                    .and_then(|c| command_from_pb(c, trace_id_of(&item.traceparent)));
                match command {
                    Ok(command) => {
                        answers.push(None);
                        batch.push(Batched {
                            command,
                            deadline: item.deadline.as_ref().map(|t| timestamp_from_pb(t).into()),
                        });
                    }
                    Err(e) => answers.push(Some(batch_failure(e))),
                }
            }
            let mut applied = batch
                .iter()
                .zip(self.dir.apply_batch(&batch).await.map_err(status)?);
            for slot in answers.iter_mut().filter(|a| a.is_none()) {
                let Some((b, answer)) = applied.next() else {
                    break;
                };
                *slot = Some(match answer {
                    Ok(outcome) => pb::BatchAnswer {
                        answer: Some(pb::batch_answer::Answer::Result(outcome_to_pb(
                            &b.command.id,
                            &outcome,
                        ))),
                    },
                    Err(e) => batch_failure(status(e)),
                });
            }
            Ok(Response::new(pb::ApplyBatchResponse {
                answers: answers.into_iter().flatten().collect(),
            }))
        })
        .await
    }

    async fn query_log(
        &self,
        req: Request<pb::QueryLogRequest>,
    ) -> Result<Response<pb::QueryLogResponse>, Status> {
        let span = rpc_span("directory.QueryLog", req.metadata(), false);
        traced(span, async move {
            let r = req.into_inner();
            let q = LogQuery {
                since: r.since.as_ref().map(timestamp_from_pb),
                until: r.until.as_ref().map(timestamp_from_pb),
                resource_id: (!r.resource_id.is_empty()).then(|| r.resource_id.clone()),
                success: match pb::Outcome::try_from(r.outcome) {
                    Ok(pb::Outcome::Success) => Some(true),
                    Ok(pb::Outcome::Failure) => Some(false),
                    _ => None,
                },
                limit: u64::from(r.limit),
            };
            let rows = self
                .dir
                .query_log(tenant_id(&r.tenant_id)?, &q)
                .await
                .map_err(status)?;
            let entries = rows
                .into_iter()
                .map(|m| pb::LogEntry {
                    id: m.id,
                    at: Some(timestamp_to_pb(m.at)),
                    command_id: m.command_id,
                    operation: m.operation,
                    kind: if m.resource_kind == "Group" {
                        pb::ResourceKind::Group as i32
                    } else {
                        pb::ResourceKind::User as i32
                    },
                    resource_id: m.resource_id.unwrap_or_default(),
                    outcome: if m.success {
                        pb::Outcome::Success as i32
                    } else {
                        pb::Outcome::Failure as i32
                    },
                    error: (!m.success).then(|| pb::ScimError {
                        status: m.status as u32,
                        scim_type: m.scim_type.unwrap_or_default(),
                        detail: m.detail.unwrap_or_default(),
                    }),
                    trace_id: m.trace_id.unwrap_or_default(),
                })
                .collect();
            Ok(Response::new(pb::QueryLogResponse { entries }))
        })
        .await
    }

    async fn record_failure(
        &self,
        req: Request<pb::RecordFailureRequest>,
    ) -> Result<Response<pb::RecordFailureResponse>, Status> {
        let span = rpc_span("directory.RecordFailure", req.metadata(), false);
        traced(span, async move {
            let trace_id = trace_id(req.metadata());
            let r = req.into_inner();
            let cmd = r
                .command
                .as_ref()
                .ok_or_else(|| Status::invalid_argument("RecordFailure: no command"))?;
            let cmd = command_from_pb(cmd, trace_id)?;
            record_command(&cmd);
            let error =
                r.error.as_ref().map(ScimError::from).unwrap_or_else(|| {
                    ScimError::status_only(500, "the command could not be applied")
                });
            self.dir
                .record_failure(&cmd, &error)
                .await
                .map_err(status)?;
            Ok(Response::new(pb::RecordFailureResponse {}))
        })
        .await
    }

    async fn claim_outbox(
        &self,
        req: Request<pb::ClaimOutboxRequest>,
    ) -> Result<Response<pb::ClaimOutboxResponse>, Status> {
        let span = rpc_span("directory.ClaimOutbox", req.metadata(), true);
        traced(span, async move {
            let r = req.into_inner();
            let lease = std::time::Duration::from_secs(u64::from(r.lease_seconds));
            let items = self
                .dir
                .claim_outbox(r.limit, lease)
                .await
                .map_err(status)?;
            Ok(Response::new(pb::ClaimOutboxResponse {
                items: items
                    .into_iter()
                    .map(|i| pb::OutboxItem {
                        id: i.id,
                        tenant_id: i.tenant.to_string(),
                        kind: i.kind.to_pb() as i32,
                        payload: i.payload,
                        routing_key: i.routing_key.unwrap_or_default(),
                        created: Some(timestamp_to_pb(i.created)),
                    })
                    .collect(),
            }))
        })
        .await
    }

    async fn mark_published(
        &self,
        req: Request<pb::MarkPublishedRequest>,
    ) -> Result<Response<pb::MarkPublishedResponse>, Status> {
        let span = rpc_span("directory.MarkPublished", req.metadata(), false);
        traced(span, async move {
            self.dir
                .mark_published(&req.into_inner().ids)
                .await
                .map_err(status)?;
            Ok(Response::new(pb::MarkPublishedResponse {}))
        })
        .await
    }

    async fn run_fanout_job(
        &self,
        req: Request<pb::FanoutJob>,
    ) -> Result<Response<pb::RunFanoutJobResponse>, Status> {
        let span = rpc_span("directory.RunFanoutJob", req.metadata(), false);
        traced(span, async move {
            let changed_users = self
                .dir
                .run_fanout_job(req.get_ref())
                .await
                .map_err(status)?;
            Ok(Response::new(pb::RunFanoutJobResponse { changed_users }))
        })
        .await
    }

    async fn fanout_lag(
        &self,
        req: Request<pb::FanoutLagRequest>,
    ) -> Result<Response<pb::FanoutLagResponse>, Status> {
        let span = rpc_span("directory.FanoutLag", req.metadata(), true);
        traced(span, async move {
            let r = req.into_inner();
            let tenant = if r.tenant_id.is_empty() {
                None
            } else {
                Some(tenant_id(&r.tenant_id)?)
            };
            let lag = self.dir.fanout_lag(tenant).await.map_err(status)?;
            Ok(Response::new(pb::FanoutLagResponse {
                tenants: lag
                    .into_iter()
                    .map(|l| pb::TenantLag {
                        tenant_id: l.tenant.to_string(),
                        slug: l.slug,
                        pending_jobs: l.pending_jobs,
                        oldest_job_age_seconds: l.oldest_job_age_seconds,
                        pending_events: l.pending_events,
                    })
                    .collect(),
            }))
        })
        .await
    }
}
