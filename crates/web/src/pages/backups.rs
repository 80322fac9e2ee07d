//! The backups page: when backups ran, how big they were, how they ended; Backup Now; and, for
//! the installation's administrator (the account made at setup), downloading an archive and
//! the steps to restore it. A backup holds every user's data, so only the administrator may
//! download one.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use app::backup::Health;
use domain::audit::Actor;
use maud::html;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::{flash, html, see_other};
use crate::state::blocking;
use crate::views::components::{csrf_field, when};
use crate::views::layout::{FlashKind, Section};

fn megabytes(bytes: Option<i64>) -> String {
    bytes.map_or_else(String::new, |b| format!("{:.1} MB", b as f64 / 1_000_000.0))
}

pub async fn show(who: SignedIn) -> Result<HttpResponse, PageError> {
    let uid = who.user.id;
    let (records, health, admin) = blocking(&who.state.app, move |app| {
        Ok((
            app::backup::recent(app, 50)?,
            app::backup::health(app)?,
            app::accounts::is_administrator(app, uid)?,
        ))
    })
    .await?;
    let dir = app::backup::default_dir(&who.state.app);
    let markup = who
        .render("Backups", None, Section::Workspaces, |chrome| html! {
            div ."mb-4 flex flex-wrap items-center gap-3" {
                h1 ."text-2xl font-semibold" { "Backups" }
                @if admin {
                    form ."ml-auto" method="post" action="/backups" {
                        (csrf_field(&chrome.csrf))
                        button ."btn btn-primary" type="submit" { "Backup Now" }
                    }
                }
            }
            @match &health {
                Health::Fine => p ."mb-4 rounded-md bg-emerald-50 p-3 text-sm text-emerald-900" #backup-health { "Backups are up to date." },
                Health::NeverBackedUp => p ."mb-4 rounded-md bg-amber-50 p-3 text-sm text-amber-900" #backup-health { "No backup yet. Take one now." },
                Health::Stale { hours } => p ."mb-4 rounded-md bg-amber-50 p-3 text-sm text-amber-900" #backup-health { "The last good backup is " (hours) " hours old." },
                Health::LastFailed { error } => p ."mb-4 rounded-md bg-red-50 p-3 text-sm text-red-900" #backup-health { "The last backup failed: " (error) },
            }
            @if records.is_empty() {
                p ."card text-slate-700" { "Backups are kept in " code { (dir.display().to_string()) } "." }
            } @else {
                ul ."divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white" #backup-list {
                    @for b in &records {
                        li ."flex flex-wrap items-center gap-3 p-3" {
                            span ."rounded px-2 py-0.5 text-xs" .(if b.ok { "bg-emerald-100 text-emerald-900" } else { "bg-red-100 text-red-900" }) {
                                @if b.ok { "OK" } @else { "Failed" }
                            }
                            span ."text-sm" { (when(b.started_at)) }
                            span ."text-sm text-slate-600" { (megabytes(b.size_bytes)) " · " (b.duration_ms) " ms · " (b.trigger) }
                            @for copy in &b.copies { span ."text-sm text-slate-600" { "copied to " code { (copy) } } }
                            @if let Some(e) = &b.error { span ."text-sm text-red-800" { (e) } }
                            @if admin && b.ok {
                                @if let Some(name) = &b.file_name {
                                    a ."btn ml-auto" href=(format!("/backups/{}/download", b.id)) download { "Download" }
                                    details ."w-full text-sm" {
                                        summary ."cursor-pointer text-blue-700" { "How to restore this backup" }
                                        ol ."mt-2 list-decimal space-y-1 pl-5" {
                                            li { "Stop pi-crm (" code { "pm2 stop pi-crm" } " or " code { "sudo systemctl stop pi-crm" } ")." }
                                            li { "Run " code { "pi-crm restore " (dir.join(name).display().to_string()) " --data-dir DATA_DIR --force" } ". The current data is kept aside." }
                                            li { "Start pi-crm again. It checks the database when it starts." }
                                        }
                                        @for copy in b.copies.iter().filter(|c| c.starts_with("s3://")) {
                                            p ."mt-2" {
                                                "If this Pi is lost: on the new one, with the bucket's key and your backup passphrase in the environment ("
                                                code { "PI_CRM_BACKUP_S3_ACCESS_KEY_ID" } ", " code { "PI_CRM_BACKUP_S3_SECRET_ACCESS_KEY" } ", "
                                                code { "PI_CRM_BACKUP_S3_ENDPOINT" } ", " code { "PI_CRM_BACKUP_PASSPHRASE" } "), run "
                                                code { "pi-crm restore " (copy) " --data-dir DATA_DIR" } "."
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        })
        .await?;
    Ok(html(markup))
}

pub async fn create(who: SignedIn) -> Result<HttpResponse, PageError> {
    let (uid, actor) = (
        who.user.id,
        Actor::User {
            user_id: who.user.id,
        },
    );
    let outcome = blocking(&who.state.app, move |app| {
        // A backup writes a copy of everyone's data to the disk: the administrator's call.
        if !app::accounts::is_administrator(app, uid)? {
            return Err(app::AppError::Forbidden(
                "Only the administrator (the account made at setup) can take backups from here."
                    .into(),
            ));
        }
        Ok(app::backup::take(app, actor, None, "manual"))
    })
    .await?;
    match outcome {
        Ok(report) => flash(
            &who.session,
            FlashKind::Success,
            format!(
                "Backup done ({:.1} MB).",
                report.size_bytes as f64 / 1_000_000.0
            ),
        ),
        Err(app::AppError::Conflict { message, .. }) => {
            flash(&who.session, FlashKind::Info, message)
        }
        Err(e) => {
            tracing::error!(cause = %e, "backup failed");
            flash(
                &who.session,
                FlashKind::Error,
                "The backup failed; the list below says why.",
            );
        }
    }
    Ok(see_other("/backups"))
}

/// Only archive names pi-crm writes, with no path in them, are ever opened.
fn is_archive_name(name: &str) -> bool {
    name.starts_with("pi-crm-backup-")
        && name.ends_with(".tar.gz")
        && !name.contains(['/', '\\'])
        && !name.contains("..")
}

pub async fn download(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    use std::io::Read;
    let (uid, id) = (who.user.id, path.into_inner());
    let record = blocking(&who.state.app, move |app| {
        if !app::accounts::is_administrator(app, uid)? {
            return Err(app::AppError::NotFound);
        }
        app::backup::recent(app, 10_000)?
            .into_iter()
            .find(|b| b.id == id && b.ok)
            .ok_or(app::AppError::NotFound)
    })
    .await?;
    let name = record
        .file_name
        .filter(|n| is_archive_name(n))
        .ok_or(PageError::NotFound)?;
    let file_path = app::backup::default_dir(&who.state.app).join(&name);
    let file = web::block(move || std::fs::File::open(file_path))
        .await
        .map_err(|_| PageError::Internal)?
        .map_err(|_| PageError::NotFound)?;
    // Streamed in 64 KiB pieces: archives can be hundreds of megabytes on a small Pi.
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        let read = web::block(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((file, buf))
        })
        .await;
        match read {
            Ok(Ok((_, buf))) if buf.is_empty() => None,
            Ok(Ok((file, buf))) => Some((Ok::<_, actix_web::Error>(web::Bytes::from(buf)), file)),
            _ => None,
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/gzip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .streaming(chunks))
}
