//! The BlogIn SCIM HTTP gateway: the SCIM 2.0 API (RFC 7644) that Microsoft Entra ID, Okta and
//! other identity providers call, one base URL per tenant, `/scim/v2/{tenant}/…`.
//!
//! It is thin on purpose (DESIGN §1–§2): it authenticates the tenant's bearer token, parses and
//! validates SCIM at the edge, answers reads straight from the directory store over gRPC, and
//! turns writes into change commands on the bus, waiting for the worker's result so the
//! identity provider still gets a synchronous answer. It never depends on the store crate:
//! reads go through [`ports::DirectoryReads`], writes through `scim_bus::CommandClient`.
//!
//! # Layout
//! - [`GatewayConfig`] (`config`), [`AppState`] (`state`), [`router`] and [`Gateway`] (`server`):
//!   what the binary uses.
//! - `routes/`: the SCIM entry point and one file per concern (reads, search, writes and the
//!   command they send, discovery, health).
//! - `operation`: method + path → [`operation::Operation`], the span name.
//! - `auth`: bearer token → tenant, with the answer cache. `fairness`: per-tenant write slots.
//! - `extract`: query strings, bodies, content types. `precondition`: `If-Match`.
//! - `render`: stored resource → SCIM resource. `base_url`: absolute URLs. `response`: success
//!   responses. `error`: every failure as a SCIM error body.
//! - [`ports`]: the store port and its gRPC adapter.

mod auth;
mod base_url;
mod config;
mod error;
mod extract;
mod fairness;
pub mod operation;
pub mod ports;
mod precondition;
mod render;
mod response;
mod routes;
mod server;
mod stall;
mod state;

pub use config::GatewayConfig;
pub use error::GatewayError;
pub use extract::TraceContext;
pub use routes::router;
pub use server::{Gateway, ServerLimits};
pub use state::AppState;
