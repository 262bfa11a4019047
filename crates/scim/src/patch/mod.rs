//! The PATCH engine (RFC 7644 §3.5.2): parsing a `PatchOp` request ([`PatchRequest`]) and
//! applying it to a stored resource body ([`apply`]), with every client form Entra ID and Okta
//! are known to send (ENTRA §5.3, §6, §13).
//!
//! [`apply`] is pure and atomic: it works on a copy, so an error leaves nothing applied. Group
//! membership never lives in the body; operations on `members` come out as a
//! [`MembersDelta`](crate::members::MembersDelta) for the store.
//!
//! Semantics, where RFC 7644 leaves room or clients depart from it (the tests name each case):
//! - A path-less `add`/`replace` is one operation per key of its value object, with that key as
//!   the path. Keys may be plain (`displayName`), dotted (`name.givenName`), URN-qualified
//!   (`urn:…:enterprise:2.0:User:employeeNumber`), an extension URN with an object of that
//!   extension's attributes, or the core URN with an object of core attributes. `schemas` is
//!   ignored, and so are read-only attributes (`id`, `meta`, `groups`): a client echoing a
//!   resource back sends them, and create/replace ignores them too. With an explicit `path`, a
//!   read-only target is `400 mutability`.
//! - On a single-valued attribute, `add` and `replace` do the same thing (RFC 7644 §3.5.2.1:
//!   add "replaces" a single value). A value that coerces to absent (`null`, `""` for a
//!   reference-like complex attribute, `{"value": ""}`, `{}`, `[]`) clears the attribute.
//! - On a single-valued complex attribute an object value merges sub-attribute by
//!   sub-attribute (RFC 7644 §3.5.2.3), `null` sub-attributes clear; but when the attribute has
//!   a `value` sub-attribute (`manager`) and the new value names `value`, the whole attribute is
//!   replaced, because `$ref`/`displayName` described the old referent.
//! - `add` to a multi-valued attribute appends values not already present (exact equality);
//!   `replace` replaces all values; `remove` without a value removes all values and with a
//!   value (Entra's member removal form, generalised) removes only the values it lists.
//! - A value filter selects elements (`emails[type eq "work"]`). `add`/`replace` through it
//!   merges into every matching element; when none matches, the element is created from the
//!   filter's `eq` conjuncts (`{type: "work"}`) — RFC 7644 says `noTarget` for `replace`, but
//!   Entra relies on creation (ENTRA §6.2) — and a filter that is not a conjunction of `eq`
//!   comparisons is `noTarget`. `remove` through a filter that matches nothing is a no-op
//!   (Entra retries stale removals; failing them would escrow the object forever).
//! - A sub-attribute path on a multi-valued attribute without a filter (`emails.value`) writes
//!   that sub-attribute of every element (creating one element when there is none).
//! - A single-valued complex attribute accepts a value filter too (`manager[value eq "…"]`,
//!   ENTRA §6.1), treated as a list of at most one element.
//! - Writing `""` to a `value` sub-attribute clears it, as `{"value": ""}` does in
//!   [`crate::value::coerce`]. Elements an operation leaves with nothing but `type`/`primary`
//!   are dropped; empty arrays, objects and extension objects are removed.
//! - When an operation makes an element `primary: true`, other elements with `primary: true`
//!   become `false` (RFC 7643 §2.4); an operation making two elements primary is `invalidValue`.
//! - Immutable attributes may be written while absent or to their current value; otherwise
//!   `400 mutability`. `password` (writeOnly) is type-checked and dropped: it is never stored.
//! - Removing a required attribute, or leaving it unassigned, is `400 mutability` (RFC 7644
//!   §3.5.2.2) when the request removed it; [`crate::validate::check_required`] then checks the
//!   result as create does.
//! - `members` (Group): `add` adds, `replace` is clear + add, `remove` without value clears,
//!   `remove` with a value or with `members[value eq "…" or value eq "…"]` removes those ids
//!   (any other member filter is `invalidFilter`); sub-attribute paths (`members.display`) are
//!   `mutability`.

mod apply;
mod element;
mod group;
mod multi;
mod op;
mod single;
mod target;

pub use apply::{PatchOutcome, apply};
pub use op::{PATCH_OP_SCHEMA, PatchLimits, PatchOp, PatchOperation, PatchRequest};
