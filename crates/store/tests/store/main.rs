//! The store suite: every test runs against SQLite and against a real PostgreSQL
//! (`BLOGIN_SCIM_TEST_PG_URL`, set by `scripts/test.sh`; the PostgreSQL half fails, never
//! skips, when it is missing).

mod budget;
mod support;

mod background;
mod batch;
mod concurrency;
mod crud;
mod fanout;
mod filters;
mod grpc;
mod identity;
mod isolation;
mod matching;
mod members;
mod tenants;
