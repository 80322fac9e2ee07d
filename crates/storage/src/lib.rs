//! Storage: the SQLite database, through diesel and an r2d2 pool.
//!
//! Owns the connection settings (WAL, foreign keys, busy timeout, synchronous), the embedded
//! migrations from `migrations/`, the schema, and one repository module per table. Repositories
//! take a connection (usually inside a transaction opened by `app`) and return `domain` types,
//! never diesel rows.
//!
//! Must not depend on: actix, maud, tokio, `app`, `web`, `integrations`, `ai`. Holds no business
//! rules beyond what the schema enforces; ownership checks are part of every query that reads a
//! user's data, so a row of another user is simply "not found".

pub mod api_keys;
pub mod audit;
pub mod backups;
pub mod bulk;
pub mod contact_log;
pub mod contacts;
pub mod custom_fields;
pub mod db;
pub mod imports;
pub mod inbound;
pub mod lists;
pub mod messages;
pub mod providers;
pub mod sessions;
pub mod shares;
pub mod suppressions;
pub mod users;
pub mod webhook_receipts;
pub mod workspaces;

mod bulk_insert;
mod error;
mod schema;
mod time;

pub use db::{Conn, Db};
pub use error::StorageError;
