//! `blogin-scim-httpfuzz`: property-based differential fuzzing of a SCIM 2.0 HTTP surface.
//!
//! A seeded generator produces valid-ish and hostile SCIM requests (look-alike userNames,
//! wrong JSON types, broken filters, odd paths, methods and headers, bodies near the size
//! limit). The same sequence is sent, per lane (one tenant), to two deployments — A, `serve`
//! on SQLite, and B, the distributed roles on PostgreSQL — and their answers are compared:
//! equal statuses, equal `scimType`s, equal bodies once server-chosen ids and `meta` are
//! normalised away, no `5xx`. At the end both directories are listed and compared. The
//! property is "the two deployments are the same service", so no oracle of the right answer
//! is needed: any difference is either a bug in one of them or a nondeterminism to explain.
//!
//! What must never live here: knowledge of the server's internals (only what its HTTP
//! surface and README promise), a dependency on any crate of this workspace (the fuzzer must
//! not share the bugs it hunts), and timing assertions (latency is the bench's business; a
//! slow answer is never a finding, only a failed one is).
//!
//! A finding is reproducible from `(seed, lane, step)`: each lane's generator is seeded from
//! `(seed, lane)` alone, and symbolic references to created resources are resolved from
//! what the lane's earlier steps created, so replaying the lane replays the request.
//!
//! # Layout
//! - `generate`: the generator (`mod.rs` the mix; `names`, `values`, `filter`, `patch`,
//!   `hostile` the kinds of input). `request`: request templates with symbolic references.
//! - `refs`: the lane's created resources on each side, and how references resolve.
//! - `client`: one HTTP exchange, never failing (a failed connection is status 0).
//! - `normalize` and `compare`: what "the same answer" means. `state`: the final listing.
//! - `run`: lanes and the request loop. `report`: [`Report`], [`Finding`] and their table.

mod client;
mod compare;
mod generate;
mod normalize;
mod refs;
mod report;
mod request;
mod run;
mod state;

pub use report::{AnswerView, Finding, Report, RequestView};
pub use run::run;

/// One tenant of one deployment.
#[derive(Debug, Clone)]
pub struct Lane {
    /// The tenant's SCIM base URL, such as `http://127.0.0.1:8080/scim/v2/tenant1`.
    pub base_url: String,
    /// The tenant's bearer token (sent as `Authorization: Bearer <token>`).
    pub token: String,
}

/// One deployment under test.
#[derive(Debug, Clone)]
pub struct Target {
    /// Shown in the report (`A`'s and `B`'s answers are labelled with it).
    pub name: String,
    /// Lane `i` of A is paired with lane `i` of B; both targets should have as many lanes.
    pub lanes: Vec<Lane>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Everything generated derives from it.
    pub seed: u64,
    /// Requests generated in total, split evenly across lanes (each goes to A and to B).
    pub requests: usize,
    /// The servers' body limit (`max_body_bytes`, 1 MiB by default): bodies are generated
    /// just under, at and just over it.
    pub max_body_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: 0,
            requests: 1_000,
            max_body_bytes: 1 << 20,
        }
    }
}
