//! sea-orm entities, one file per table. Column names match the migration.

pub mod applied_command;
pub mod group;
pub mod group_member;
pub mod outbox;
pub mod provisioning_log;
pub mod tenant;
pub mod tenant_token;
pub mod user;
pub mod user_group;
pub mod user_match;
