//! The domain: pi-crm's types and rules, with no I/O.
//!
//! Owns the values people type (usernames, passwords, workspace names, colours, time zones,
//! API scopes), parsed on construction so an invalid value cannot exist, and the plain records
//! the other layers pass around (users, workspaces, API keys, audit entries, sessions).
//!
//! Must not depend on: diesel, actix, tokio, or any other crate of this workspace. No file,
//! network or clock access: callers pass the current time in.

pub mod api_key;
pub mod audit;
pub mod contact;
pub mod contact_log;
pub mod csv_import;
pub mod custom_field;
pub mod field_definition;
pub mod ids;
pub mod import_job;
pub mod list;
pub mod messaging;
pub mod pagination;
pub mod placeholders;
pub mod session;
pub mod user;
pub mod validation;
pub mod values;
pub mod workspace;

mod common_passwords;
