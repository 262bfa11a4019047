//! The gateway driven over HTTP the way Microsoft Entra ID and Okta drive it (ENTRA §3–§6,
//! §12), against a real directory store on SQLite. One test binary; each module is one area.

mod auth;
mod discovery;
mod failures;
mod fairness;
mod groups;
mod health;
mod isolation;
mod protocol;
mod read_slots;
mod search;
mod support;
mod users;
