//! The use cases of pi-crm, shared by the web server, scheduled jobs and admin commands.
//!
//! Owns the rules that span layers: sign-in and sessions, first-run setup, workspaces, API keys,
//! the audit trail (every mutation writes its audit row in the same transaction), housekeeping,
//! and the installation secret used to sign and encrypt. A rule lives here once, so the browser,
//! the API, the CLI and the scheduler cannot disagree.
//!
//! Synchronous by design: every function does blocking SQLite work, and callers on an async
//! runtime run it on a blocking thread (`actix_web::web::block`, `spawn_blocking`).
//!
//! Must not depend on: actix, maud, or anything about HTTP, HTML or the command line.

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod backup;
pub mod bulk;
pub mod contacts;
pub mod custom_fields;
pub mod export;
pub mod housekeeping;
pub mod imports;
pub mod lists;
pub mod messaging;
pub mod secrets;
pub mod seed;
pub mod sessions;
pub mod settings;
pub mod shares;
pub mod workspaces;

mod error;

use std::sync::Arc;

pub use error::AppError;
pub use settings::Settings;
pub use storage::Db;

use domain::audit::{Actor, NewAuditEntry};
use domain::ids::UserId;
use secrets::Secrets;

/// Who is asking: the signed-in user, how they came in (browser or API key), and from where.
/// Use cases that touch a user's data take one, and scope every query to `user_id`.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub actor: Actor,
    pub ip: Option<String>,
}

impl Caller {
    pub fn browser(user_id: UserId, ip: Option<String>) -> Self {
        Self {
            user_id,
            actor: Actor::User { user_id },
            ip,
        }
    }

    pub fn api(user_id: UserId, key_id: domain::ids::ApiKeyId, ip: Option<String>) -> Self {
        Self {
            user_id,
            actor: Actor::ApiKey { user_id, key_id },
            ip,
        }
    }

    /// An audit entry by this caller about their own data.
    pub fn audit(&self, action: &'static str, entity_type: &'static str) -> NewAuditEntry {
        NewAuditEntry::new(self.actor.clone(), action, entity_type)
            .owner(Some(self.user_id))
            .ip(self.ip.clone())
    }
}

/// Everything a use case needs: the database, the installation secret and the settings.
/// Cheap to clone; one per process.
#[derive(Clone)]
pub struct App {
    db: Db,
    secrets: Arc<Secrets>,
    settings: Arc<Settings>,
    queue_signal: Arc<messaging::QueueSignal>,
}

impl App {
    /// Opens the data directory: creates it, loads (or creates) the secret key, opens the
    /// database and applies pending migrations.
    pub fn open(settings: Settings) -> Result<Self, AppError> {
        let secrets = Secrets::load_or_create(&settings.data_dir, settings.secret_key.as_deref())?;
        let existed = settings.data_dir.join(storage::db::DATABASE_FILE).exists();
        let db = Db::open_in(&settings.data_dir)?;
        // Upgrading a database that holds data: keep a copy as it was before migrating.
        // Only a database with pending migrations is written to on open, so commands such as
        // `pi-crm backup` do not queue for the write lock behind a busy server.
        if db.pending_migrations()? > 0 {
            if existed && db.has_tables()? {
                let path = backup::before_upgrade(&db, &settings.data_dir)?;
                tracing::info!(archive = %path.display(), "backed up the database before upgrading it");
            }
            db.migrate()?;
            // A migration may have rebuilt the search index: write the documents again.
            let written = db.write(storage::contacts::rebuild_search_if_empty)?;
            if written > 0 {
                tracing::info!(contacts = written, "rebuilt the search index");
            }
        }
        Ok(Self {
            db,
            secrets: Arc::new(secrets),
            settings: Arc::new(settings),
            queue_signal: Arc::default(),
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Wakes the send queue's worker when a message is queued.
    pub fn queue_signal(&self) -> &messaging::QueueSignal {
        &self.queue_signal
    }
}
