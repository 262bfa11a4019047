//! The SCIM filter language (RFC 7644 §3.4.2.2): the AST ([`Filter`]), its parser ([`parse`])
//! and printer (`Display`), checking and canonicalisation against the schemas
//! ([`Filter::resolve`]), and in-memory evaluation ([`Filter::matches`], [`matches_element`]),
//! whose documented semantics the store's SQL translation mirrors.

mod ast;
mod display;
mod eval;
mod lexer;
mod literal;
mod parser;
mod patch_path;
mod resolve;

pub use ast::{CompValue, CompareOp, Filter};
pub use eval::matches_element;
pub use parser::{FilterLimits, parse, parse_with_limits};
pub(crate) use patch_path::parse_patch_path;
