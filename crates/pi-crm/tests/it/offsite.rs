//! Off-site backup copies against a real S3-compatible server (moto, started on 127.0.0.1):
//! Backup Now reaches the USB directory and the bucket, the copy in the bucket is encrypted,
//! and one command restores it on a clean data directory.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;

use crate::cli::pi_crm;
use crate::harness::{sleep, spawn_app_with};

const PASSPHRASE: &str = "pale otter carries nine lanterns";

/// A moto S3 server on a free port, stopped when dropped.
struct Moto {
    child: Child,
    url: String,
}

fn moto_binary() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("PI_CRM_MOTO_SERVER") {
        return path.into();
    }
    // Where `cargo xtask ci` installs it.
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/tools/moto/bin/moto_server");
    if venv.is_file() {
        return venv;
    }
    "moto_server".into()
}

impl Moto {
    async fn start() -> Self {
        pi_crm::tls::install_crypto();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let binary = moto_binary();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): run the tests with `cargo xtask ci`, which installs moto, or `pip install 'moto[server]'`",
                    binary.display()
                )
            });
        let moto = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if reqwest::get(&moto.url).await.is_ok() {
                return moto;
            }
            sleep(100).await;
        }
        panic!("moto did not answer on {} within 20 s", moto.url);
    }

    async fn create_bucket(&self, bucket: &str) {
        let res = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.url))
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "bucket created: {}",
            res.status()
        );
    }

    async fn object(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let res = reqwest::get(format!("{}/{path}", self.url)).await.unwrap();
        (res.status(), res.bytes().await.unwrap().to_vec())
    }

    fn s3(&self, bucket: &str) -> integrations::offsite::S3Config {
        integrations::offsite::S3Config {
            bucket: bucket.into(),
            prefix: "pi-crm".into(),
            endpoint: Some(self.url.clone()),
            region: "us-east-1".into(),
            access_key_id: "testing".into(),
            secret_access_key: "testing".to_owned().into(),
            retries: 1,
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PI_CRM_BACKUP_S3_ENDPOINT", self.url.clone()),
            ("PI_CRM_BACKUP_S3_ACCESS_KEY_ID", "testing".into()),
            ("PI_CRM_BACKUP_S3_SECRET_ACCESS_KEY", "testing".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn add_contacts(app: &app::App, username: &str, n: usize) {
    let user = app::accounts::find_user(app, username).unwrap();
    let caller = app::Caller::browser(user.id, None);
    let ws = app::workspaces::create(
        app,
        &caller,
        app::workspaces::CreateWorkspace {
            name: "Realty".into(),
            ..Default::default()
        },
    )
    .unwrap();
    for i in 0..n {
        let input = app::contacts::ContactInput {
            first_name: format!("Client {i}"),
            ..Default::default()
        };
        app::contacts::create(app, &caller, ws.id, input).unwrap();
    }
}

fn first_names(data_dir: &std::path::Path) -> Vec<String> {
    let app = app::App::open(app::Settings::new(data_dir.to_owned())).unwrap();
    assert_eq!(app.db().integrity_check().unwrap(), "ok");
    let user = app::accounts::find_user(&app, "andy").unwrap();
    let caller = app::Caller::browser(user.id, None);
    let mut names = Vec::new();
    for ws in app::workspaces::all_active(&app, user.id).unwrap() {
        let page = app::contacts::search(
            &app,
            &caller,
            ws.id,
            &Default::default(),
            domain::pagination::PageRequest::new(None, Some(100)),
        )
        .unwrap();
        names.extend(page.items.into_iter().map(|c| c.first_name));
    }
    names.sort();
    names
}

#[tokio::test]
async fn backup_now_reaches_the_usb_drive_and_the_bucket_and_restores_from_the_bucket() {
    let moto = Moto::start().await;
    moto.create_bucket("family-backups").await;
    let usb = tempfile::tempdir().unwrap();
    let app = spawn_app_with(|o| {
        o.settings.backup_copy_to = Some(usb.path().to_owned());
        o.settings.backup_offsite = Some(app::settings::Offsite {
            s3: moto.s3("family-backups"),
            passphrase: PASSPHRASE.to_owned().into(),
        });
    })
    .await;
    let mut admin = app.signed_in("andy").await;
    add_contacts(app.app(), "andy", 25);
    let before = first_names(app.data_dir());
    assert_eq!(before.len(), 25);

    let res = admin.post("/backups", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = admin.get_text("/backups").await;
    assert!(html.contains("Backups are up to date."), "{html}");
    let record = app::backup::recent(app.app(), 1).unwrap().remove(0);
    assert!(record.ok, "{:?}", record.error);
    let name = record.file_name.clone().unwrap();
    assert!(usb.path().join(&name).is_file(), "on the USB drive");
    let url = format!("s3://family-backups/pi-crm/{name}.age");
    assert_eq!(
        record.copies,
        vec![usb.path().join(&name).display().to_string(), url.clone()]
    );
    assert!(html.contains(&url), "the page says where the copy went");
    assert!(
        !std::fs::read_dir(app.data_dir().join("backups"))
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains(".age")),
        "no encrypted leftovers on the disk"
    );
    let (status, sealed) = moto
        .object(&format!("family-backups/pi-crm/{name}.age"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(sealed.starts_with(b"age-encryption.org/v1"), "encrypted");
    let plain = std::fs::read(usb.path().join(&name)).unwrap();
    assert!(
        !sealed.windows(64).any(|w| w == &plain[100..164]),
        "nothing of the archive readable in the bucket"
    );
    app.stop().await;

    // Without the passphrase, or with a wrong one: refused, and nothing lands.
    let fresh = tempfile::tempdir().unwrap();
    let target = fresh.path().join("new-pi");
    for passphrase in [None, Some("not the passphrase at all")] {
        let mut cmd = pi_crm(&target);
        cmd.args(["restore", &url]).envs(moto.env());
        if let Some(p) = passphrase {
            cmd.env("PI_CRM_BACKUP_PASSPHRASE", p);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("PI_CRM_BACKUP_PASSPHRASE"), "{stderr}");
        assert!(!target.join("pi-crm.sqlite3").exists());
    }
    // A name the bucket does not hold.
    let out = pi_crm(&target)
        .args(["restore", "s3://family-backups/pi-crm/nothing.tar.gz.age"])
        .envs(moto.env())
        .env("PI_CRM_BACKUP_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not in the bucket"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // One command on a clean data directory brings every contact back.
    let out = pi_crm(&target)
        .args(["restore", &url])
        .envs(moto.env())
        .env("PI_CRM_BACKUP_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(first_names(&target), before);
    assert!(
        !target.join(".fetching").exists(),
        "the download is cleaned up"
    );
}

#[tokio::test]
async fn an_unreachable_bucket_fails_the_backup_visibly_and_keeps_the_local_archive() {
    let moto = Moto::start().await;
    // Nothing listens on port 1, and no other test's server can be given it (a port freed
    // after binding it could be: another test's server once took it mid-test).
    let closed = 1;
    let mut s3 = moto.s3("family-backups");
    s3.endpoint = Some(format!("http://127.0.0.1:{closed}"));
    s3.retries = 0;
    let app = spawn_app_with(|o| {
        o.settings.backup_offsite = Some(app::settings::Offsite {
            s3,
            passphrase: PASSPHRASE.to_owned().into(),
        });
    })
    .await;
    let admin = app.signed_in("andy").await;
    let err = app::backup::take(app.app(), domain::audit::Actor::Cli, None, "cli").unwrap_err();
    assert!(
        err.to_string().contains("could not be reached"),
        "says what to check: {err}"
    );
    let record = app::backup::recent(app.app(), 1).unwrap().remove(0);
    assert!(!record.ok);
    let name = record.file_name.unwrap();
    assert!(app.data_dir().join("backups").join(&name).is_file());
    let (_, html) = admin.get_text("/backups").await;
    assert!(html.contains("The copy to the S3 bucket failed"), "{html}");
    let (_, html) = admin.get_text("/workspaces").await;
    assert!(html.contains("The last backup failed."));
    // A bucket that does not exist is named as such.
    let mut missing = moto.s3("no-such-bucket");
    missing.retries = 0;
    let err = app::backup::offsite::fetch(
        "s3://no-such-bucket/pi-crm/x.tar.gz.age",
        &app::backup::offsite::Access {
            s3: Some(missing),
            passphrase: Some(PASSPHRASE.to_owned().into()),
        },
        &app.data_dir().join(".fetching"),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("bucket does not exist")
            || err.to_string().contains("not in the bucket"),
        "{err}"
    );
    drop(admin);
    app.stop().await;
}

#[test]
fn serve_refuses_an_unencrypted_or_half_configured_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("PI_CRM_BACKUP_S3", "s3://b/pi-crm")],
            "PI_CRM_BACKUP_S3_ACCESS_KEY_ID",
        ),
        (
            &[
                ("PI_CRM_BACKUP_S3", "s3://b/pi-crm"),
                ("PI_CRM_BACKUP_S3_ACCESS_KEY_ID", "k"),
                ("PI_CRM_BACKUP_S3_SECRET_ACCESS_KEY", "s"),
            ],
            "PI_CRM_BACKUP_PASSPHRASE is not",
        ),
        (
            &[
                ("PI_CRM_BACKUP_S3", "s3://b/pi-crm"),
                ("PI_CRM_BACKUP_S3_ACCESS_KEY_ID", "k"),
                ("PI_CRM_BACKUP_S3_SECRET_ACCESS_KEY", "s"),
                ("PI_CRM_BACKUP_PASSPHRASE", "short"),
            ],
            "too short",
        ),
    ];
    for (env, expected) in cases {
        let out = pi_crm(dir.path())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert!(!stderr.contains("PI_CRM_BACKUP_S3_SECRET_ACCESS_KEY=s"));
    }
}

#[tokio::test]
async fn serve_copies_the_daily_backup_to_the_bucket_from_its_environment() {
    let moto = Moto::start().await;
    moto.create_bucket("nightly").await;
    let dir = tempfile::tempdir().unwrap();
    let mut env: Vec<(&str, String)> = moto.env();
    env.push(("PI_CRM_BACKUP_S3", "s3://nightly".into()));
    env.push(("PI_CRM_BACKUP_PASSPHRASE", PASSPHRASE.into()));
    env.push(("PI_CRM_BACKUP_CRON", "* * * * * *".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = crate::cli::Server::start(dir.path(), &env);
    let mut listed = String::new();
    for _ in 0..100 {
        sleep(100).await;
        let (_, body) = moto.object("nightly?list-type=2").await;
        listed = String::from_utf8_lossy(&body).into_owned();
        if listed.contains(".tar.gz.age</Key>") {
            break;
        }
    }
    server.stop_gracefully();
    assert!(
        listed.contains("<Key>pi-crm-backup-") && listed.contains(".tar.gz.age</Key>"),
        "the scheduled backup reached the bucket: {listed}"
    );
}
