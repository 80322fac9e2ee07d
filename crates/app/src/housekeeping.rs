//! The daily housekeeping job: drop expired sessions, delete contacts that have been in a trash
//! for more than 30 days, and let SQLite refresh its planner statistics (`PRAGMA optimize`).
//! Each run is written to the audit log.

use chrono::Utc;
use domain::audit::{Actor, NewAuditEntry};

use crate::{App, AppError};

pub const JOB_NAME: &str = "housekeeping";
pub const ACTION: &str = "system.housekeeping";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub expired_sessions_removed: usize,
    /// Contacts that had been in a trash for more than 30 days, now deleted for good.
    pub trashed_contacts_purged: usize,
}

pub fn run(app: &App) -> Result<Report, AppError> {
    let report = app.db().write(|conn| {
        let now = Utc::now();
        let removed = storage::sessions::delete_expired(conn, now)?;
        let cutoff = now - chrono::Duration::days(domain::contact::TRASH_DAYS);
        let mut purged = 0;
        for ws in storage::workspaces::all_ids(conn)? {
            purged += storage::contacts::purge_trash(conn, ws, cutoff)?.len();
        }
        let report = Report {
            expired_sessions_removed: removed,
            trashed_contacts_purged: purged,
        };
        storage::audit::insert(
            conn,
            &NewAuditEntry::new(
                Actor::Job {
                    name: JOB_NAME.into(),
                },
                ACTION,
                "installation",
            )
            .after(&report),
            now,
        )?;
        Ok::<_, AppError>(report)
    })?;
    app.db().optimize()?;
    // Uploaded CSV files hold personal data: none outlives its use by more than a day.
    if let Err(e) = crate::imports::remove_stale_uploads(app) {
        tracing::warn!(cause = %e, "could not remove old uploads");
    }
    Ok(report)
}

/// How many times housekeeping has run on this installation.
pub fn runs(app: &App) -> Result<i64, AppError> {
    Ok(app.db().read(|c| storage::audit::count_action(c, ACTION))?)
}
