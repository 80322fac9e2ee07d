//! Backups and restores of the whole data directory.
//!
//! A backup is one timestamped `.tar.gz` holding a consistent snapshot of the database (taken
//! with `VACUUM INTO` while the server keeps serving writes), `secret.key` (without it encrypted
//! values cannot be read) and a manifest with every table's row count. The snapshot is checked
//! (`PRAGMA integrity_check`) before it is packed; the archive is written to a temporary name,
//! fsynced, then renamed, so a half-written backup never looks like a backup. A restore unpacks
//! to a temporary directory, checks integrity and row counts against the manifest, and only then
//! moves it into place, keeping the old data aside.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use domain::audit::{Actor, NewAuditEntry};
use serde::{Deserialize, Serialize};
use storage::backups::{self, BackupRecord, NewBackup};

use crate::{App, AppError};

pub mod offsite;

pub const MANIFEST: &str = "manifest.json";
const DATABASE: &str = storage::db::DATABASE_FILE;
const KEY: &str = crate::secrets::KEY_FILE;

/// What a backup archive says about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub created_at: DateTime<Utc>,
    pub app_version: String,
    pub row_counts: BTreeMap<String, i64>,
    pub files: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Report {
    /// The row in the backups table.
    pub id: i64,
    pub path: PathBuf,
    pub size_bytes: u64,
    pub row_counts: BTreeMap<String, i64>,
    pub duration_ms: i64,
}

/// Where backups go when no directory is given: `DATA_DIR/backups`.
pub fn default_dir(app: &App) -> PathBuf {
    app.settings().data_dir.join("backups")
}

fn io<'a>(what: &str, path: &'a Path) -> impl Fn(std::io::Error) -> AppError + 'a {
    let what = what.to_owned();
    move |e| {
        let hint = if e.raw_os_error() == Some(28) {
            " The disk is full: free some space and try again."
        } else {
            ""
        };
        AppError::Internal(format!("{what} {}: {e}.{hint}", path.display()))
    }
}

fn sync_dir(dir: &Path) {
    // Makes the rename durable; not every file system supports it, and nothing is lost if not.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Takes a backup into `to` (default `DATA_DIR/backups`) and records it, with its outcome,
/// in the backups table and the audit log.
pub fn create(
    app: &App,
    actor: Actor,
    to: Option<&Path>,
    trigger: &str,
) -> Result<Report, AppError> {
    // One backup at a time: a second press of Backup Now fills no disk.
    static RUNNING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let Ok(_running) = RUNNING.try_lock() else {
        return Err(AppError::Conflict {
            field: "",
            message: "A backup is already running. Wait for it to finish.".into(),
        });
    };
    let started = Utc::now();
    let dir = to.map(Path::to_owned).unwrap_or_else(|| default_dir(app));
    let result = write_archive(app.db(), &app.settings().data_dir, &dir, started, "");
    let finished = Utc::now();
    let (ok, error) = match &result {
        Ok(_) => (true, None),
        Err(e) => (false, Some(e.to_string())),
    };
    let file_name = result
        .as_ref()
        .ok()
        .and_then(|r| r.path.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    let id = app.db().write(|conn| {
        let id = backups::insert(
            conn,
            NewBackup {
                started_at: started,
                finished_at: finished,
                trigger,
                ok,
                file_name: file_name.as_deref(),
                size_bytes: result.as_ref().ok().map(|r| r.size_bytes as i64),
                row_counts: result.as_ref().ok().map(|r| &r.row_counts),
                error: error.as_deref(),
            },
        )?;
        storage::audit::insert(
            conn,
            &NewAuditEntry::new(
                actor,
                if ok { "backup.create" } else { "backup.failed" },
                "backup",
            )
            .entity(id)
            .after(&serde_json::json!({"file": file_name, "error": error, "trigger": trigger})),
            finished,
        )?;
        Ok::<_, AppError>(id)
    })?;
    result.map(|r| Report { id, ..r })
}

fn write_archive(
    db: &storage::Db,
    data_dir: &Path,
    dir: &Path,
    started: DateTime<Utc>,
    suffix: &str,
) -> Result<Report, AppError> {
    fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
    let name = format!(
        "pi-crm-backup-{}{suffix}.tar.gz",
        started.format("%Y%m%d-%H%M%S-%3f")
    );
    let staging = dir.join(format!(".staging-{name}"));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(io("cannot create", &staging))?;
    let result = pack(db, data_dir, dir, &staging, &name, started);
    let _ = fs::remove_dir_all(&staging);
    if result.is_err() {
        // A failed attempt leaves nothing behind on the disk it may have filled.
        let _ = fs::remove_file(dir.join(format!("{name}.partial")));
    }
    result
}

fn pack(
    db: &storage::Db,
    data_dir: &Path,
    dir: &Path,
    staging: &Path,
    name: &str,
    started: DateTime<Utc>,
) -> Result<Report, AppError> {
    let db_copy = staging.join(DATABASE);
    db.read(|conn| backups::snapshot(conn, &db_copy))?;
    let row_counts = verify_database(&db_copy)?;
    let mut files = vec![DATABASE.to_owned()];
    let key = data_dir.join(KEY);
    if key.exists() {
        fs::copy(&key, staging.join(KEY)).map_err(io("cannot copy", &key))?;
        files.push(KEY.to_owned());
    }
    let manifest = Manifest {
        format: 1,
        created_at: started,
        app_version: env!("CARGO_PKG_VERSION").to_owned(),
        row_counts: row_counts.clone(),
        files: files.clone(),
    };
    let manifest_path = staging.join(MANIFEST);
    fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
    )
    .map_err(io("cannot write", &manifest_path))?;

    let partial = dir.join(format!("{name}.partial"));
    let file = File::create(&partial).map_err(io("cannot create", &partial))?;
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::default(),
    ));
    for f in files.iter().chain(std::iter::once(&MANIFEST.to_owned())) {
        tar.append_path_with_name(staging.join(f), f)
            .map_err(io("cannot pack", &staging.join(f)))?;
    }
    let file = tar
        .into_inner()
        .and_then(|gz| gz.finish())
        .map_err(io("cannot finish", &partial))?;
    file.sync_all().map_err(io("cannot sync", &partial))?;
    drop(file);
    let final_path = dir.join(name);
    fs::rename(&partial, &final_path).map_err(io("cannot rename", &partial))?;
    sync_dir(dir);
    let size_bytes = fs::metadata(&final_path).map(|m| m.len()).unwrap_or(0);
    Ok(Report {
        id: 0,
        path: final_path,
        size_bytes,
        row_counts,
        duration_ms: (Utc::now() - started).num_milliseconds(),
    })
}

/// Integrity check and row counts of a database file that is not the live one.
fn verify_database(path: &Path) -> Result<BTreeMap<String, i64>, AppError> {
    let mut conn = storage::Db::connect(path)?;
    let check = storage::Db::check_integrity(&mut conn)?;
    if check != "ok" {
        return Err(AppError::Internal(format!(
            "the copy failed its integrity check: {check}"
        )));
    }
    Ok(backups::row_counts(&mut conn)?)
}

/// The backups taken, newest first.
pub fn recent(app: &App, limit: i64) -> Result<Vec<BackupRecord>, AppError> {
    Ok(app.db().read(|c| backups::recent(c, limit))?)
}

/// How the backups stand, for the warning in the top bar and on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Fine,
    NeverBackedUp,
    /// The last good backup is older than 36 hours.
    Stale {
        hours: i64,
    },
    LastFailed {
        error: String,
    },
}

pub fn health(app: &App) -> Result<Health, AppError> {
    let recent = recent(app, 20)?;
    if let Some(last) = recent.first()
        && !last.ok
    {
        return Ok(Health::LastFailed {
            error: last.error.clone().unwrap_or_default(),
        });
    }
    match recent.iter().find(|b| b.ok) {
        None => Ok(Health::NeverBackedUp),
        Some(good) => {
            let hours = (Utc::now() - good.finished_at).num_hours();
            Ok(if hours > 36 {
                Health::Stale { hours }
            } else {
                Health::Fine
            })
        }
    }
}

/// Restores `archive` into `data_dir`: the database and the secret key are replaced, anything
/// else there (the backups folder, the lock) stays. Refuses to replace an existing database
/// unless `force`, and then keeps the replaced files in `data_dir/before-restore-<time>/`.
/// Returns that folder, if any. The caller holds the data directory's lock.
pub fn restore(
    archive: &Path,
    data_dir: &Path,
    force: bool,
    key_from_env: bool,
) -> Result<Option<PathBuf>, AppError> {
    fs::create_dir_all(data_dir).map_err(io("cannot create", data_dir))?;
    let staging = data_dir.join(".restoring");
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(io("cannot create", &staging))?;
    let result = unpack_and_check(archive, &staging, key_from_env).and_then(|_| {
        if data_dir.join(DATABASE).exists() && !force {
            return Err(AppError::Forbidden(format!(
                "{} already holds a database. Restore into an empty directory, or add --force to replace it (the current files are kept aside).",
                data_dir.display()
            )));
        }
        swap_in(&staging, data_dir)
    });
    let _ = fs::remove_dir_all(&staging);
    result
}

/// The files a restore replaces.
const LIVE_FILES: &[&str] = &[
    "pi-crm.sqlite3",
    "pi-crm.sqlite3-wal",
    "pi-crm.sqlite3-shm",
    KEY,
];

fn swap_in(staging: &Path, data_dir: &Path) -> Result<Option<PathBuf>, AppError> {
    let present: Vec<&str> = LIVE_FILES
        .iter()
        .copied()
        .filter(|f| data_dir.join(f).exists())
        .collect();
    let aside = if present.is_empty() {
        None
    } else {
        let aside = data_dir.join(format!(
            "before-restore-{}",
            Utc::now().format("%Y%m%d-%H%M%S")
        ));
        fs::create_dir_all(&aside).map_err(io("cannot create", &aside))?;
        for f in &present {
            fs::rename(data_dir.join(f), aside.join(f))
                .map_err(io("cannot move aside", &data_dir.join(f)))?;
        }
        Some(aside)
    };
    let incoming: Vec<&str> = [DATABASE, KEY]
        .into_iter()
        .filter(|f| staging.join(f).exists())
        .collect();
    for (i, f) in incoming.iter().enumerate() {
        if let Err(e) = fs::rename(staging.join(f), data_dir.join(f)) {
            // Put everything back as it was: a failed restore must not leave an empty directory
            // that the next start would fill with a new, empty database.
            for done in &incoming[..i] {
                let _ = fs::remove_file(data_dir.join(done));
            }
            if let Some(aside) = &aside {
                for p in &present {
                    let _ = fs::rename(aside.join(p), data_dir.join(p));
                }
            }
            return Err(io("cannot move into place", &staging.join(f))(e));
        }
    }
    sync_dir(data_dir);
    Ok(aside)
}

fn unpack_and_check(
    archive: &Path,
    staging: &Path,
    key_from_env: bool,
) -> Result<Manifest, AppError> {
    let file = File::open(archive).map_err(io("cannot open", archive))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in tar.entries().map_err(io("cannot read", archive))? {
        let mut entry = entry.map_err(io("cannot read", archive))?;
        if !entry.header().entry_type().is_file() {
            return Err(AppError::Internal(format!(
                "{} holds something that is not a plain file",
                archive.display()
            )));
        }
        let path = entry
            .path()
            .map_err(io("cannot read", archive))?
            .into_owned();
        // Only the plain file names a backup holds; nothing can land outside the staging dir.
        let allowed = [DATABASE, KEY, MANIFEST];
        let Some(name) = path.to_str().filter(|n| allowed.contains(n)) else {
            return Err(AppError::Internal(format!(
                "{} holds an unexpected file: {}",
                archive.display(),
                path.display()
            )));
        };
        let target = staging.join(name);
        let mut out = File::create(&target).map_err(io("cannot write", &target))?;
        std::io::copy(&mut entry, &mut out).map_err(io("cannot write", &target))?;
        out.flush().map_err(io("cannot write", &target))?;
        out.sync_all().map_err(io("cannot sync", &target))?;
    }
    let manifest_path = staging.join(MANIFEST);
    let manifest: Manifest = serde_json::from_slice(
        &fs::read(&manifest_path).map_err(io("cannot read", &manifest_path))?,
    )
    .map_err(|e| AppError::Internal(format!("the backup's manifest is damaged: {e}")))?;
    for f in &manifest.files {
        if !staging.join(f).exists() {
            return Err(AppError::Internal(format!(
                "the backup is incomplete: {f} is missing from it"
            )));
        }
    }
    if !staging.join(KEY).exists() && !key_from_env {
        return Err(AppError::Internal(
            "this backup has no secret.key, so encrypted values could not be read: set PI_CRM_SECRET_KEY to the key it was made with, then restore".into(),
        ));
    }
    let counts = verify_database(&staging.join(DATABASE))?;
    if counts != manifest.row_counts {
        return Err(AppError::Internal(
            "the restored database does not have the rows the backup recorded".into(),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = staging.join(KEY);
        if key.exists() {
            let _ = fs::set_permissions(&key, fs::Permissions::from_mode(0o600));
        }
    }
    let _ = fs::remove_file(&manifest_path);
    sync_dir(staging);
    Ok(manifest)
}

/// Deletes backup archives in `dir` older than `days`, always keeping the newest few; returns
/// how many went.
pub fn prune(dir: &Path, days: i64) -> Result<usize, AppError> {
    const ALWAYS_KEEP: usize = 3;
    let cutoff = std::time::SystemTime::now()
        - std::time::Duration::from_secs((days.max(1) as u64) * 86_400);
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut archives: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("pi-crm-backup-") && name.ends_with(".tar.gz")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    archives.sort_by_key(|a| std::cmp::Reverse(a.0));
    let mut removed = 0;
    for (modified, path) in archives.into_iter().skip(ALWAYS_KEEP) {
        if modified < cutoff && fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Copies an archive into `dir` (a USB drive, a NAS mount): written under a temporary name,
/// fsynced, then renamed, like the original.
pub fn copy_to(archive: &Path, dir: &Path) -> Result<PathBuf, AppError> {
    fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
    let name = archive
        .file_name()
        .ok_or_else(|| AppError::Internal("an archive has no name".into()))?;
    let target = dir.join(name);
    let partial = dir.join(format!("{}.partial", name.to_string_lossy()));
    fs::copy(archive, &partial).map_err(io("cannot copy to", &partial))?;
    File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io("cannot sync", &partial))?;
    fs::rename(&partial, &target).map_err(io("cannot rename", &partial))?;
    sync_dir(dir);
    Ok(target)
}

/// A backup with its copies, as the schedule, Backup Now and `pi-crm backup` take it: written
/// to `to` (default `DATA_DIR/backups`), copied to the configured directory and, encrypted,
/// to the configured bucket; archives older than the configured number of days are pruned in
/// each place the copy reached. A failed copy marks the backup failed, so the warning shows.
pub fn take(app: &App, actor: Actor, to: Option<&Path>, trigger: &str) -> Result<Report, AppError> {
    let report = create(app, actor, to, trigger)?;
    let settings = app.settings();
    let mut copies = Vec::new();
    let mut errors = Vec::new();
    if let Some(dir) = &settings.backup_copy_to {
        match copy_to(&report.path, dir) {
            Ok(path) => {
                copies.push(path.display().to_string());
                prune(dir, settings.backup_keep_days)?;
            }
            // Never prune a destination the copy did not reach: its old archives may be the
            // only ones left there.
            Err(e) => errors.push(format!("The copy to {} failed: {e}", dir.display())),
        }
    }
    if let Some(offsite) = &settings.backup_offsite {
        match offsite::copy(&report.path, offsite, settings.backup_keep_days) {
            Ok(url) => copies.push(url),
            Err(e) => errors.push(format!("The copy to the S3 bucket failed: {e}")),
        }
    }
    prune(
        &to.map(Path::to_owned).unwrap_or_else(|| default_dir(app)),
        settings.backup_keep_days,
    )?;
    let error = (!errors.is_empty()).then(|| errors.join(" "));
    app.db()
        .write(|conn| backups::set_copies(conn, report.id, &copies, error.as_deref()))?;
    match error {
        Some(e) => Err(AppError::Internal(e)),
        None => Ok(report),
    }
}

/// The scheduled backup.
pub fn scheduled(app: &App) -> Result<Report, AppError> {
    take(
        app,
        Actor::Job {
            name: "backup".into(),
        },
        None,
        "scheduled",
    )
}

/// Before migrations change a database that already holds data, keep a copy as it was, so an
/// upgrade can be rolled back by restoring it with the old binary. Written to
/// `DATA_DIR/backups/pi-crm-backup-<time>-pre-upgrade.tar.gz`; not recorded in the backups
/// table, whose shape may be what is about to change.
pub fn before_upgrade(db: &storage::Db, data_dir: &Path) -> Result<PathBuf, AppError> {
    let report = write_archive(
        db,
        data_dir,
        &data_dir.join("backups"),
        Utc::now(),
        "-pre-upgrade",
    )?;
    Ok(report.path)
}
