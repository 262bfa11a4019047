//! SCIM 2.0 protocol core for the BlogIn provisioning service (RFC 7643, RFC 7644).
//!
//! Everything that speaks SCIM goes through this crate: schemas and attribute
//! characteristics ([`schema`]), value coercion ([`value`]), attribute paths ([`path`]), the
//! filter language ([`filter`]), the PATCH engine ([`patch`]), errors ([`error`]).
//! Create/replace validation ([`validate`]), rendering ([`resource`], [`meta`]), projection
//! ([`projection`]), queries and their results ([`search`], [`list`]), discovery documents
//! ([`discovery`]) and bulk messages ([`bulk`]); text rules — caseless folding, forbidden
//! characters, identity strings — in [`text`].
//!
//! It is pure: no I/O, no async runtime, no framework or storage crate. Transport and storage
//! meet it through plain data (`serde_json::Value`, the filter AST, the membership delta).

pub mod bulk;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod list;
pub mod members;
pub mod meta;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod search;
pub mod text;
pub mod validate;
pub mod value;

pub use error::{ErrorBody, Result, ScimError, ScimType};
