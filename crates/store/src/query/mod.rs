//! Read queries: SCIM filter AST → sea-query conditions ([`filter`]), sort keys ([`sort`]).

pub(crate) mod filter;
pub(crate) mod sort;
