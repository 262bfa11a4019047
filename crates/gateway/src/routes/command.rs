//! Sending one write as a `ChangeCommand` and reading its `CommandResult`.
//!
//! Order matters: the tenant's write slot is taken first (waiting, within the request's
//! deadline — see `fairness`), then the command is published and its reply awaited for what is
//! left of the deadline. Whatever goes wrong on the way — no slot in time, an unconfirmed
//! publish, no reply in time, a broken bus — is a `503` with `Retry-After`: the gateway never
//! answers `2xx` for a write the worker did not confirm.

use super::context::Ctx;
use crate::error::GatewayError;
use scim::ScimError;
use scim::schema::ResourceKind;
use scim_bus::{BusError, Headers};
use scim_wire::convert::kind_to_pb;
use scim_wire::pb;
use scim_wire::pb::change_command::Change;
use scim_wire::pb::command_result::Outcome;
use uuid::Uuid;

/// What a confirmed write did.
#[derive(Debug)]
pub(super) enum Applied {
    /// Create, replace or patch: the stored resource (group members not included).
    Resource(pb::Resource),
    /// Delete.
    Deleted,
}

/// Headers travelling with the command: the tenant id and the trace context of this
/// request's span (the transport's publish span replaces it with its own, a child of it).
/// Without an OpenTelemetry layer the caller's `traceparent` is passed on as received.
/// Nothing else (no token, no body, no personal data).
fn headers(ctx: &Ctx) -> Headers {
    let mut h = Headers::new();
    h.insert("tenant".to_owned(), ctx.tenant.id.clone());
    for (name, value) in ctx.trace.pairs() {
        h.insert(name.to_owned(), value.to_owned());
    }
    scim_telemetry::inject(&mut h);
    h
}

/// Publishes `change` for `kind` and waits for the worker's result.
pub(super) async fn send(
    ctx: &Ctx,
    kind: ResourceKind,
    expected_version: Option<u64>,
    change: Change,
) -> Result<Applied, GatewayError> {
    let command = pb::ChangeCommand {
        command_id: Uuid::now_v7().to_string(),
        tenant_id: ctx.tenant.id.clone(),
        kind: kind_to_pb(kind),
        expected_version,
        change: Some(change),
    };
    let _slot = ctx.state.gate.acquire(&ctx.tenant.id, ctx.deadline).await?;
    let remaining = ctx
        .deadline
        .saturating_duration_since(tokio::time::Instant::now());
    if remaining.is_zero() {
        return Err(GatewayError::Unavailable(
            "deadline passed before publishing".into(),
        ));
    }
    // The transport bounds its own waits, but a broker that blocks publishers (memory or disk
    // alarm) can stall a publish before any timer starts: the deadline is enforced here too.
    let answered = tokio::time::timeout_at(
        ctx.deadline,
        ctx.state
            .commands
            .request(&command, headers(ctx), remaining),
    )
    .await
    .unwrap_or(Err(BusError::Timeout(remaining)));
    let result = match answered {
        Ok(result) => result,
        Err(e) => {
            if e.may_be_queued() {
                // The command may still be applied until its deadline (a broker restart can
                // break the reply path of a queued command): a 503 before then could be a
                // lie the client acts on. Past it, workers drop the command unapplied.
                tokio::time::sleep_until(ctx.deadline + SETTLE).await;
            }
            return Err(bus_error(e));
        }
    };
    // A transport that mixed up replies must not answer for another client's write.
    if !result.command_id.is_empty() && result.command_id != command.command_id {
        return Err(GatewayError::Internal(
            "reply is for another command".into(),
        ));
    }
    match result.outcome {
        Some(Outcome::Resource(res)) => Ok(Applied::Resource(res)),
        Some(Outcome::Deleted(_)) => Ok(Applied::Deleted),
        Some(Outcome::Error(e)) => Err(GatewayError::Scim(ScimError::from(&e))),
        None => Err(GatewayError::Internal("empty command result".into())),
    }
}

/// How long after a command's deadline a write still in flight in the store may take to
/// commit or roll back (its gRPC deadline cancels it; this covers the race).
const SETTLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Every bus failure means "not confirmed": `503`.
fn bus_error(e: BusError) -> GatewayError {
    GatewayError::Unavailable(format!("command not confirmed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_bus_error_is_a_503() {
        for e in [
            BusError::NotConfirmed("nack".into()),
            BusError::Timeout(Duration::from_secs(25)),
            BusError::Unavailable("conn reset".into()),
            BusError::ReplyLost("channel closed".into()),
            BusError::Closed,
        ] {
            assert_eq!(bus_error(e).to_scim().status(), 503);
        }
    }
}
