//! Backups, restores and crash safety, with the real binary where a person would use it.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::StatusCode;
use serde_json::json;

use crate::cli::{Server, add_user, pi_crm};
use crate::harness::{PASSWORD, spawn_app};

fn contact_count(data_dir: &std::path::Path) -> i64 {
    let app = app::App::open(app::Settings::new(data_dir.to_owned())).unwrap();
    assert_eq!(app.db().integrity_check().unwrap(), "ok");
    let user = app::accounts::find_user(&app, "andy").unwrap();
    let caller = app::Caller::browser(user.id, None);
    app::workspaces::all_active(&app, user.id)
        .unwrap()
        .iter()
        .map(|ws| {
            app::contacts::search(
                &app,
                &caller,
                ws.id,
                &Default::default(),
                Default::default(),
            )
            .unwrap()
            .total
        })
        .sum()
}

/// The names of the files in `dir`, sorted.
fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn last_archive(dir: &std::path::Path) -> std::path::PathBuf {
    let last = file_names(dir)
        .into_iter()
        .rfind(|n| n.ends_with(".tar.gz"));
    dir.join(last.expect("an archive"))
}

#[tokio::test]
async fn a_backup_taken_during_writes_restores_with_matching_counts() {
    let app = spawn_app().await;
    let user = app.add_user("andy");
    let caller = app::Caller::browser(user.id, None);
    let ws = app::workspaces::create(
        app.app(),
        &caller,
        app::workspaces::CreateWorkspace {
            name: "W".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (core, writing) = (app.app().clone(), writing.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while writing.load(Ordering::Relaxed) {
                let input = app::contacts::ContactInput {
                    first_name: format!("Writer {n}"),
                    ..Default::default()
                };
                app::contacts::create(&core, &caller, ws.id, input).unwrap();
                n += 1;
                // A busy office, not a tight loop that starves every other writer.
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let backups = tempfile::tempdir().unwrap();
    let out = pi_crm(app.data_dir())
        .arg("backup")
        .arg("--to")
        .arg(backups.path())
        .output()
        .unwrap();
    writing.store(false, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(written > 0);
    let archive = last_archive(backups.path());
    assert!(
        !file_names(backups.path())
            .iter()
            .any(|n| n.contains("partial"))
    );

    let target = tempfile::tempdir().unwrap();
    let restored_dir = target.path().join("restored");
    let out = pi_crm(&restored_dir)
        .arg("restore")
        .arg(&archive)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = contact_count(&restored_dir);
    assert!(
        restored > 0 && restored <= written,
        "the snapshot holds a consistent part: {restored} of {written}"
    );
    assert!(
        restored_dir.join("secret.key").exists(),
        "the key comes back with the data"
    );
    // The server starts on it.
    let server = Server::start(&restored_dir, &[]);
    let status = reqwest::get(format!("{}/readyz", server.url))
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    server.stop_gracefully();
    // Recorded, and audited.
    let recent = app::backup::recent(app.app(), 5).unwrap();
    assert!(
        recent[0].ok
            && recent[0]
                .row_counts
                .get("contacts")
                .is_some_and(|n| *n <= written)
    );
    app.stop().await;
}

#[test]
fn restore_refuses_to_replace_data_unless_forced_and_keeps_it_aside() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(add_user(&data, "andy", PASSWORD).status.success());
    let out = pi_crm(&data).args(["backup"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archive = last_archive(&data.join("backups"));
    let out = pi_crm(&data).arg("restore").arg(&archive).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--force"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pi_crm(&data)
        .arg("restore")
        .arg(&archive)
        .arg("--force")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let aside: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("before-restore-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "the replaced files are kept aside");
    assert!(aside[0].path().join("pi-crm.sqlite3").exists());
    assert!(aside[0].path().join("secret.key").exists());
    assert!(
        data.join("backups")
            .join(archive.file_name().unwrap())
            .exists(),
        "the backups folder stays in place"
    );
    // A damaged archive is refused and changes nothing.
    let bad = dir.path().join("bad.tar.gz");
    std::fs::write(&bad, b"not an archive").unwrap();
    let fresh = dir.path().join("fresh");
    let out = pi_crm(&fresh).arg("restore").arg(&bad).output().unwrap();
    assert!(!out.status.success());
    assert!(!fresh.join("pi-crm.sqlite3").exists());
}

#[tokio::test]
async fn restore_refuses_a_directory_a_running_server_holds() {
    let dir = tempfile::tempdir().unwrap();
    assert!(add_user(dir.path(), "andy", PASSWORD).status.success());
    assert!(
        pi_crm(dir.path())
            .args(["backup"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let archive = last_archive(&dir.path().join("backups"));
    let server = Server::start(dir.path(), &[]);
    let out = pi_crm(dir.path())
        .arg("restore")
        .arg(&archive)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("running"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And a second server on the same data is refused too.
    let second = pi_crm(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already running"));
    server.stop_gracefully();
}

#[tokio::test]
async fn every_acknowledged_write_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    assert!(add_user(dir.path(), "andy", PASSWORD).status.success());
    let key_out = pi_crm(dir.path())
        .args([
            "apikey",
            "create",
            "--username",
            "andy",
            "--label",
            "k",
            "--scopes",
            "workspaces:write,contacts:write,contacts:read",
        ])
        .output()
        .unwrap();
    let key = String::from_utf8(key_out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let mut server = Server::start(dir.path(), &[]);
    let client = reqwest::Client::new();
    let (_, ws) = crate::harness::json(
        client
            .post(format!("{}/api/v1/workspaces", server.url))
            .bearer_auth(&key)
            .json(&json!({"name": "W"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let path = format!("{}/api/v1/workspaces/{}/contacts", server.url, ws["id"]);
    let mut acknowledged = Vec::new();
    let pid = server.child.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(700));
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    });
    for n in 0..100_000 {
        let name = format!("Durable {n}");
        match client
            .post(&path)
            .bearer_auth(&key)
            .json(&json!({"first_name": name}))
            .send()
            .await
        {
            Ok(res) if res.status() == StatusCode::CREATED => acknowledged.push(name),
            _ => break,
        }
    }
    killer.join().unwrap();
    let _ = server.child.wait();
    assert!(
        acknowledged.len() > 5,
        "writes were acknowledged before the kill"
    );
    // After the crash: integrity ok, and every acknowledged contact is there.
    let app = app::App::open(app::Settings::new(dir.path().to_owned())).unwrap();
    assert_eq!(app.db().integrity_check().unwrap(), "ok");
    let user = app::accounts::find_user(&app, "andy").unwrap();
    let caller = app::Caller::browser(user.id, None);
    let ws_id = domain::ids::WorkspaceId(ws["id"].as_i64().unwrap());
    let all = app::contacts::search(
        &app,
        &caller,
        ws_id,
        &Default::default(),
        domain::pagination::PageRequest::new(Some(1), Some(200)),
    )
    .unwrap();
    let mut names: Vec<String> = all.items.iter().map(|c| c.first_name.clone()).collect();
    let mut page = 2;
    while (names.len() as i64) < all.total {
        let more = app::contacts::search(
            &app,
            &caller,
            ws_id,
            &Default::default(),
            domain::pagination::PageRequest::new(Some(page), Some(200)),
        )
        .unwrap();
        names.extend(more.items.iter().map(|c| c.first_name.clone()));
        page += 1;
    }
    for name in &acknowledged {
        assert!(names.contains(name), "{name} was acknowledged but is gone");
    }
}

#[tokio::test]
async fn backup_now_from_the_page_and_the_warning_until_then() {
    let app = spawn_app().await;
    let mut admin = app.signed_in("andy").await;
    let (_, html) = admin.get_text("/workspaces").await;
    assert!(html.contains("backup-warning") && html.contains("No backup has been taken yet."));
    let res = admin.post("/backups", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = admin.get_text("/backups").await;
    assert!(html.contains("Backups are up to date."), "{html}");
    assert!(
        !html.contains("id=\"backup-warning\""),
        "the warning is gone"
    );
    let id = app::backup::recent(app.app(), 1).unwrap()[0].id;
    let res = admin.get(&format!("/backups/{id}/download")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a gzip archive");
    // Another user sees the status but cannot download everyone's data.
    let other = app.signed_in("monalisa").await;
    let (status, html) = other.get_text("/backups").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("/download"));
    assert_eq!(
        other.get(&format!("/backups/{id}/download")).await.status(),
        StatusCode::NOT_FOUND
    );
    // A failed backup is shown, and warns everywhere.
    let actor = domain::audit::Actor::Cli;
    let blocked = app.data_dir().join("not-a-dir");
    std::fs::write(&blocked, b"x").unwrap();
    assert!(app::backup::create(app.app(), actor, Some(&blocked), "cli").is_err());
    let (_, html) = admin.get_text("/workspaces").await;
    assert!(html.contains("The last backup failed."), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn the_daily_backup_runs_copies_and_prunes() {
    let dir = tempfile::tempdir().unwrap();
    let usb = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Archives from 40 to 43 days ago, in both places: the newest three archives always stay,
    // so with today's that keeps two of these, and the two oldest go.
    for place in [data.join("backups"), usb.path().to_owned()] {
        std::fs::create_dir_all(&place).unwrap();
        for days in 40..44u64 {
            let old = place.join(format!("pi-crm-backup-20200101-0000{days}-000.tar.gz"));
            let file = std::fs::File::create(&old).unwrap();
            file.set_modified(
                std::time::SystemTime::now() - std::time::Duration::from_secs(days * 86_400),
            )
            .unwrap();
        }
    }
    let mut settings = app::Settings::new(data.clone());
    settings.backup_copy_to = Some(usb.path().to_owned());
    let running = pi_crm::serve::start(pi_crm::serve::ServeOptions {
        settings,
        web: web::WebConfig::default(),
        bind: "127.0.0.1:0".into(),
        housekeeping_cron: "0 30 3 * * *".into(),
        // Every second, so the test sees it run.
        backup_cron: "* * * * * *".into(),
        tls: None,
    })
    .await
    .unwrap();
    let mut done = Vec::new();
    for _ in 0..80 {
        crate::harness::sleep(100).await;
        done = app::backup::recent(&running.app, 5).unwrap();
        if done.iter().any(|b| b.ok && !b.copies.is_empty()) {
            break;
        }
    }
    running.stop().await;
    let good = done
        .iter()
        .find(|b| b.ok && !b.copies.is_empty())
        .expect("a scheduled backup with its copy");
    assert_eq!(good.trigger, "scheduled");
    let name = good.file_name.clone().unwrap();
    assert!(data.join("backups").join(&name).exists());
    assert!(usb.path().join(&name).exists(), "copied to the USB drive");
    for place in [data.join("backups"), usb.path().to_owned()] {
        let left = file_names(&place);
        assert!(
            !left
                .iter()
                .any(|n| n.contains("000042") || n.contains("000043")),
            "the oldest are pruned: {left:?}"
        );
        assert!(
            left.iter().any(|n| n.contains("000040")),
            "the newest three stay: {left:?}"
        );
    }
}

#[test]
fn upgrading_a_database_takes_a_backup_first() {
    let dir = tempfile::tempdir().unwrap();
    assert!(add_user(dir.path(), "andy", PASSWORD).status.success());
    // Make the database look like one from before the newest migration, with its down.sql.
    {
        use diesel::connection::SimpleConnection;
        let migrations =
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations"));
        let latest = std::fs::read_dir(migrations)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .max()
            .unwrap();
        let version = latest.split('_').next().unwrap().replace('-', "");
        let down = std::fs::read_to_string(migrations.join(&latest).join("down.sql")).unwrap();
        let mut conn = storage::Db::connect(&dir.path().join("pi-crm.sqlite3")).unwrap();
        conn.batch_execute(&down).unwrap();
        conn.batch_execute(&format!(
            "DELETE FROM __diesel_schema_migrations WHERE version = '{version}';"
        ))
        .unwrap();
    }
    let out = pi_crm(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archives = file_names(&dir.path().join("backups"));
    assert!(
        archives.iter().any(|n| n.ends_with("-pre-upgrade.tar.gz")),
        "{archives:?}"
    );
    let pre = dir.path().join("backups").join(
        archives
            .iter()
            .find(|n| n.ends_with("-pre-upgrade.tar.gz"))
            .unwrap(),
    );
    let rolled_back = dir.path().join("rollback");
    let out = pi_crm(&rolled_back)
        .arg("restore")
        .arg(&pre)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the pre-upgrade archive restores: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Running it again finds nothing to migrate and takes no backup.
    assert!(
        pi_crm(dir.path())
            .arg("migrate")
            .output()
            .unwrap()
            .status
            .success()
    );
    assert_eq!(file_names(&dir.path().join("backups")), archives);
}

#[test]
fn a_backup_without_its_key_is_refused_unless_the_key_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let with_env = |mut cmd: std::process::Command| {
        cmd.env("PI_CRM_SECRET_KEY", key);
        cmd
    };
    let data = dir.path().join("data");
    let mut cmd = with_env(pi_crm(&data));
    cmd.args(["user", "add", "--username", "andy", "--password-stdin"])
        .stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(PASSWORD.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        !data.join("secret.key").exists(),
        "the key lives in the environment"
    );
    assert!(
        with_env(pi_crm(&data))
            .arg("backup")
            .output()
            .unwrap()
            .status
            .success()
    );
    let archive = last_archive(&data.join("backups"));
    let target = dir.path().join("restored");
    let out = pi_crm(&target)
        .arg("restore")
        .arg(&archive)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PI_CRM_SECRET_KEY"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !target.join("pi-crm.sqlite3").exists(),
        "nothing was restored"
    );
    let out = with_env(pi_crm(&target))
        .arg("restore")
        .arg(&archive)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn serve_takes_the_daily_backup_and_copies_it_where_configured() {
    let dir = tempfile::tempdir().unwrap();
    let usb = tempfile::tempdir().unwrap();
    assert!(add_user(dir.path(), "andy", PASSWORD).status.success());
    let usb_path = usb.path().to_string_lossy().into_owned();
    let server = Server::start(
        dir.path(),
        &[
            ("PI_CRM_BACKUP_CRON", "* * * * * *"),
            ("PI_CRM_BACKUP_COPY_TO", &usb_path),
        ],
    );
    let mut copied = false;
    for _ in 0..80 {
        crate::harness::sleep(100).await;
        copied = file_names(usb.path())
            .iter()
            .any(|n| n.ends_with(".tar.gz"));
        if copied {
            break;
        }
    }
    server.stop_gracefully();
    assert!(
        copied,
        "the scheduled backup reached the configured directory"
    );
}
