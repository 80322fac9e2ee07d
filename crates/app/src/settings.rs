//! Settings that the use cases read. The command line fills them in from flags and
//! `PI_CRM_*` environment variables.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the database, the secret key and (later) uploads and backups live.
    pub data_dir: PathBuf,
    /// A base64 key given in the environment instead of the key file (`PI_CRM_SECRET_KEY`).
    pub secret_key: Option<String>,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// A session ends this long after sign-in, however active.
    pub session_absolute: Duration,
    /// A directory each scheduled backup is copied to (a USB drive, a NAS mount).
    pub backup_copy_to: Option<PathBuf>,
    /// Archives older than this many days are deleted by the scheduled backup.
    pub backup_keep_days: i64,
    /// An S3-compatible bucket each backup is copied to, encrypted.
    pub backup_offsite: Option<Offsite>,
    /// The address at which people and providers reach this server from outside
    /// (`PI_CRM_PUBLIC_URL`): unsubscribe links, Twilio callbacks and their signatures.
    pub public_url: Option<String>,
    /// How often connected Google and Microsoft mailboxes are read for replies.
    pub mail_poll_interval: Duration,
}

/// Off-site copies: where, and the passphrase that encrypts them (the owner keeps it; a
/// restore from the bucket needs it).
#[derive(Debug, Clone)]
pub struct Offsite {
    pub s3: integrations::offsite::S3Config,
    pub passphrase: integrations::offsite::SecretString,
}

impl Settings {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            secret_key: None,
            session_idle: Duration::from_secs(12 * 60 * 60),
            session_absolute: Duration::from_secs(30 * 24 * 60 * 60),
            backup_copy_to: None,
            backup_keep_days: 30,
            backup_offsite: None,
            public_url: None,
            mail_poll_interval: Duration::from_secs(120),
        }
    }

    /// The public URL without a trailing slash. `serve` always sets one (the listening address
    /// when `PI_CRM_PUBLIC_URL` is not given); other commands fall back to the default port.
    pub fn public_base(&self) -> String {
        self.public_url
            .as_deref()
            .unwrap_or("http://localhost:8080")
            .trim_end_matches('/')
            .to_owned()
    }

    pub fn session_limits(&self) -> domain::session::SessionLimits {
        domain::session::SessionLimits {
            idle: chrono::Duration::from_std(self.session_idle)
                .unwrap_or(chrono::Duration::hours(12)),
            absolute: chrono::Duration::from_std(self.session_absolute)
                .unwrap_or(chrono::Duration::days(30)),
        }
    }
}
