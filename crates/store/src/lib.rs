//! The BlogIn directory store: tenants and their tokens, users, groups, member edges,
//! idempotent change commands, membership fan-out (transactional outbox and the users' groups
//! projection) and the provisioning log, on sea-orm over PostgreSQL (distributed) or SQLite
//! (embedded), served as the gRPC `DirectoryService`.
//!
//! Layout: [`entity`] and [`migration`] (tables), `query/` (filter AST → SQL), [`Directory`]
//! with `reads.rs`, `writes.rs`, `edges.rs` (member rows), `fanout.rs` (affected users, cycle
//! check, fan-out jobs), `outbox.rs` (claim, publish, lag), `tenants.rs`, `log.rs`,
//! `idempotency.rs`; [`grpc`] (the only file that sees the generated server trait) and
//! [`server`] (the `store` role). Only this crate depends on sea-orm.

mod batch;
pub mod convert;
pub mod db;
mod directory;
mod edges;
pub mod entity;
mod error;
mod fanout;
mod idempotency;
mod log;
mod match_index;
pub mod migration;
mod model;
mod outbox;
mod query;
mod reads;
pub mod search;
mod tenants;
pub mod tokens;
mod writes;

pub mod grpc;
pub mod server;

pub use batch::Batched;
pub use directory::Directory;
pub use error::{StoreError, StoreResult};
pub use fanout::{DIRECT, INDIRECT};
pub use log::LogQuery;
pub use model::{Applied, Change, Command, GroupMembership, MemberRef, Outcome, StoredResource};
pub use outbox::{
    JOB_USERS, OutboxItem, OutboxKind, REPUBLISH_AFTER, TenantLag, event_routing_key,
};
pub use reads::{ListPage, ListRequest};
pub use tenants::{TenantInfo, valid_slug};
