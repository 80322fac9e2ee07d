//! The off-site copy of a backup: encrypted with the owner's passphrase (age), uploaded to an
//! S3-compatible bucket, pruned there like on the disk; and, for a restore, fetched back and
//! decrypted into a plain archive.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use integrations::offsite::{self as remote, OffsiteError, S3Config, SecretString};

use crate::AppError;
use crate::settings::Offsite;

/// Encrypted archives end with this after the archive's own name.
pub const SEALED: &str = ".age";

fn failed(e: OffsiteError) -> AppError {
    AppError::Internal(e.to_string())
}

/// Encrypts `archive`, uploads it, prunes the bucket's old backups; returns the copy's
/// `s3://` address.
pub(crate) fn copy(archive: &Path, offsite: &Offsite, keep_days: i64) -> Result<String, AppError> {
    let name = format!(
        "{}{SEALED}",
        archive
            .file_name()
            .ok_or_else(|| AppError::Internal("an archive has no name".into()))?
            .to_string_lossy()
    );
    let sealed = archive.with_file_name(format!(".{name}.partial"));
    let result = remote::encrypt_file(archive, &sealed, &offsite.passphrase)
        .and_then(|()| {
            let bucket = remote::Offsite::connect(&offsite.s3)?;
            bucket.upload(&sealed, &name)?;
            Ok(bucket)
        })
        .map_err(failed);
    // The encrypted copy is only a step on the way out: never left on the disk.
    let _ = fs::remove_file(&sealed);
    let bucket = result?;
    prune(&bucket, keep_days)?;
    Ok(bucket.url(&name))
}

/// Deletes the bucket's backups older than `days`, always keeping the newest few, like
/// [`super::prune`] on a disk.
fn prune(bucket: &remote::Offsite, days: i64) -> Result<usize, AppError> {
    let files = bucket.list().map_err(failed)?;
    let old = expired(&files, Utc::now(), days);
    for name in &old {
        bucket.delete(name).map_err(failed)?;
    }
    Ok(old.len())
}

/// The backups among `files` to delete: older than `days`, and not among the newest three.
fn expired(files: &[remote::RemoteFile], now: DateTime<Utc>, days: i64) -> Vec<String> {
    const ALWAYS_KEEP: usize = 3;
    let cutoff = now - chrono::Duration::days(days.max(1));
    let mut archives: Vec<&remote::RemoteFile> = files
        .iter()
        .filter(|f| f.name.starts_with("pi-crm-backup-") && f.name.ends_with(SEALED))
        .collect();
    archives.sort_by_key(|f| std::cmp::Reverse(f.modified));
    archives
        .into_iter()
        .skip(ALWAYS_KEEP)
        .filter(|f| f.modified < cutoff)
        .map(|f| f.name.clone())
        .collect()
}

/// What a restore needs to reach a bucket: the connection settings without a bucket, which
/// the `s3://` address names.
pub struct Access {
    pub s3: Option<S3Config>,
    pub passphrase: Option<SecretString>,
}

/// Turns what `pi-crm restore` was given (a plain archive, an encrypted one, or an `s3://`
/// address) into a plain archive on this disk, fetched and decrypted in `work_dir`.
pub fn fetch(source: &str, access: &Access, work_dir: &Path) -> Result<PathBuf, AppError> {
    let io = |what: &str, e: std::io::Error| AppError::Internal(format!("{what}: {e}"));
    let sealed = if source.starts_with("s3://") {
        let (bucket, key) = remote::parse_s3_url(source).map_err(failed)?;
        let (folder, name) = key.rsplit_once('/').unwrap_or(("", key.as_str()));
        if name.is_empty() {
            return Err(AppError::Internal(format!(
                "{source} names no backup: give the whole address shown on the Backups page, s3://bucket/folder/pi-crm-backup-....tar.gz.age"
            )));
        }
        let mut s3 = access.s3.clone().ok_or_else(|| {
            AppError::Internal(
                "to restore from a bucket, set PI_CRM_BACKUP_S3_ACCESS_KEY_ID and PI_CRM_BACKUP_S3_SECRET_ACCESS_KEY (and PI_CRM_BACKUP_S3_ENDPOINT unless it is AWS)".into(),
            )
        })?;
        s3.bucket = bucket;
        s3.prefix = folder.to_owned();
        fs::create_dir_all(work_dir).map_err(|e| io("cannot create the download folder", e))?;
        let local = work_dir.join(name);
        remote::Offsite::connect(&s3)
            .and_then(|b| b.download(name, &local))
            .map_err(failed)?;
        local
    } else {
        PathBuf::from(source)
    };
    if !sealed.to_string_lossy().ends_with(SEALED) {
        return Ok(sealed);
    }
    let passphrase = access.passphrase.as_ref().ok_or_else(|| {
        AppError::Internal(
            "this backup is encrypted: set PI_CRM_BACKUP_PASSPHRASE to the passphrase it was made with".into(),
        )
    })?;
    fs::create_dir_all(work_dir).map_err(|e| io("cannot create the download folder", e))?;
    let name = sealed
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(SEALED).to_owned())
        .unwrap_or_else(|| "backup.tar.gz".into());
    let plain = work_dir.join(name);
    remote::decrypt_file(&sealed, &plain, passphrase).map_err(failed)?;
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_keeps_recent_backups_the_newest_three_and_other_files() {
        let now = Utc::now();
        let file = |name: &str, days: i64| remote::RemoteFile {
            name: name.into(),
            size: 1,
            modified: now - chrono::Duration::days(days),
        };
        let files = vec![
            file("pi-crm-backup-a.tar.gz.age", 1),
            file("pi-crm-backup-b.tar.gz.age", 40),
            file("pi-crm-backup-c.tar.gz.age", 41),
            file("pi-crm-backup-d.tar.gz.age", 42),
            file("pi-crm-backup-e.tar.gz.age", 43),
            file("notes.txt", 90),
            file("pi-crm-backup-f.tar.gz", 90),
        ];
        assert_eq!(
            expired(&files, now, 30),
            vec!["pi-crm-backup-d.tar.gz.age", "pi-crm-backup-e.tar.gz.age"]
        );
        assert!(expired(&files, now, 60).is_empty());
        assert!(expired(&files[..3], now, 1).is_empty(), "three always stay");
    }
}
