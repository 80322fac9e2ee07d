//! The command line, run as the real binary: the forms scripts rely on.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::harness::PASSWORD;

pub fn pi_crm(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pi-crm"));
    cmd.env("RUST_LOG", "warn")
        .env_remove("PI_CRM_DATA_DIR")
        .env_remove("PI_CRM_BIND");
    cmd.arg("--data-dir").arg(data_dir);
    cmd
}

fn run_with_stdin(mut cmd: Command, input: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pi-crm");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub fn add_user(
    data_dir: &std::path::Path,
    username: &str,
    password: &str,
) -> std::process::Output {
    let mut cmd = pi_crm(data_dir);
    cmd.args([
        "user",
        "add",
        "--username",
        username,
        "--display-name",
        "Andy N",
        "--password-stdin",
    ]);
    run_with_stdin(cmd, &format!("{password}\n"))
}

#[test]
fn migrate_user_add_and_apikey_create() {
    let dir = tempfile::tempdir().unwrap();
    let out = pi_crm(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("pi-crm.sqlite3").exists());

    let out = add_user(dir.path(), "andy", PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Bad input: clear message, non-zero exit, nothing added.
    let out = add_user(dir.path(), "andy", PASSWORD);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("taken"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = add_user(dir.path(), "monalisa", "short");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));
    let mut cmd = pi_crm(dir.path());
    cmd.args(["user", "add", "--username", "x-user"]);
    let out = run_with_stdin(cmd, "");
    assert!(!out.status.success(), "--password-stdin is required");

    let out = pi_crm(dir.path())
        .args([
            "apikey",
            "create",
            "--username",
            "andy",
            "--label",
            "backup script",
            "--scopes",
            "workspaces:read,workspaces:write",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.lines().last().unwrap().to_owned();
    assert!(
        key.starts_with("pcrm_") && !key.contains(' '),
        "the key alone on the last line: {stdout:?}"
    );

    let out = pi_crm(dir.path())
        .args([
            "apikey",
            "create",
            "--username",
            "andy",
            "--label",
            "x",
            "--scopes",
            "everything",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Known scopes"));

    // The key is stored only as a hash.
    let db = std::fs::read(dir.path().join("pi-crm.sqlite3")).unwrap();
    let wal = std::fs::read(dir.path().join("pi-crm.sqlite3-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "the key is in the database in clear"
        );
        assert!(
            !bytes
                .windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes()),
            "the password is in the database"
        );
    }

    // And it works against the server on the same data directory.
    let server = Server::start(dir.path(), &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let res = reqwest::Client::new()
            .get(format!("{}/api/v1/workspaces", server.url))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    });
    server.stop_gracefully();
}

pub struct Server {
    pub child: std::process::Child,
    pub url: String,
}

impl Server {
    pub fn start(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        pi_crm::tls::install_crypto();
        let mut cmd = pi_crm(data_dir);
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .envs(env.iter().copied());
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        Self { child, url }
    }

    pub fn stop_gracefully(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        for _ in 0..100 {
            if let Some(exit) = self.child.try_wait().unwrap() {
                assert!(exit.success(), "pi-crm exits cleanly on SIGTERM: {exit}");
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("pi-crm did not stop within 10 s of SIGTERM");
    }
}

#[test]
fn serve_prints_the_real_port_and_creates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let server = Server::start(&data, &[]);
    let port: u16 = server.url.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0);
    assert!(server.url.starts_with("http://127.0.0.1:"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let res = reqwest::get(format!("{}/readyz", server.url))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    });
    assert!(data.join("pi-crm.sqlite3").exists());
    assert!(data.join("secret.key").exists());
    server.stop_gracefully();
}

#[test]
fn serve_reads_its_settings_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pi-crm"));
    cmd.env("RUST_LOG", "warn")
        .env("PI_CRM_DATA_DIR", dir.path())
        .env("PI_CRM_BIND", "127.0.0.1:0")
        .arg("serve");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
    assert!(dir.path().join("pi-crm.sqlite3").exists());
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let exit = child.wait().unwrap();
    assert!(
        exit.success(),
        "SIGINT (what PM2 sends) also stops it cleanly: {exit}"
    );
}

#[test]
fn seed_fills_a_workspace_with_searchable_contacts() {
    let dir = tempfile::tempdir().unwrap();
    assert!(add_user(dir.path(), "andy", PASSWORD).status.success());
    let out = pi_crm(dir.path())
        .args([
            "seed",
            "--username",
            "andy",
            "--contacts",
            "120",
            "--workspace",
            "Demo",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("seeded 120 contacts"));
    let app = app::App::open(app::Settings::new(dir.path().to_owned())).unwrap();
    let user = app::accounts::find_user(&app, "andy").unwrap();
    let caller = app::Caller::browser(user.id, None);
    let ws = app::workspaces::all_active(&app, user.id).unwrap()[0].id;
    let all =
        app::contacts::search(&app, &caller, ws, &Default::default(), Default::default()).unwrap();
    assert_eq!(all.total, 120);
    let with_values = all.items.iter().filter(|c| c.custom.len() == 10).count();
    assert_eq!(
        with_values,
        all.items.len(),
        "every contact has its 10 custom values"
    );
    let query =
        app::contacts::query_from_params(&app, &caller, ws, &[("q".into(), "example".into())])
            .unwrap();
    assert_eq!(
        app::contacts::search(&app, &caller, ws, &query, Default::default())
            .unwrap()
            .total,
        120
    );
    let out = pi_crm(dir.path())
        .args(["seed", "--username", "nobody"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn serve_over_https_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("PI_CRM_TLS_SELF_SIGNED", "true")]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let cert = dir.path().join("tls").join("cert.pem");
    assert!(cert.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("tls").join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is private");
    }
    pi_crm::tls::install_crypto();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
            )
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let port = server.url.rsplit(':').next().unwrap();
        let res = client
            .get(format!("https://localhost:{port}/login"))
            .send()
            .await
            .unwrap();
        // The setup page redirects: what matters is the TLS answer and its headers.
        assert!(
            res.status().is_redirection() || res.status().is_success(),
            "{}",
            res.status()
        );
        assert!(
            res.headers().contains_key("strict-transport-security"),
            "HSTS on TLS"
        );
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.contains("pi-crm-csrf"))
            .expect("a CSRF cookie")
            .to_owned();
        assert!(
            cookie.starts_with("__Host-pi-crm-csrf=") && cookie.contains("Secure"),
            "{cookie}"
        );
    });
    server.stop_gracefully();
    // A second start reuses the certificate.
    let before = std::fs::read(&cert).unwrap();
    let again = Server::start(dir.path(), &[("PI_CRM_TLS_SELF_SIGNED", "true")]);
    again.stop_gracefully();
    assert_eq!(std::fs::read(&cert).unwrap(), before);
}
