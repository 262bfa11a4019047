//! End-to-end: the real `blogin-scim` binary, in both deployments, driven over HTTP with the
//! request sequences Microsoft Entra ID and Okta send (ENTRA §3–§6, §12).

mod delivery;
mod entra;
mod fanout;
mod faults;
mod fuzz;
mod hostile;
mod large_groups;
mod okta;
mod support;
mod telemetry;
mod tenants;
