//! `spawn_app()`: boots the real server on port 0 against a fresh SQLite file (a copy of a
//! database migrated once per test run, which keeps each test fast), and hands out clients with
//! their own cookie jars and helpers to sign in and make API keys.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use pi_crm::serve::{Running, ServeOptions};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

pub const PASSWORD: &str = "correct horse battery staple";

/// A migrated database, made once per test process.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("template-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = app::Db::open_in(&dir).expect("open template");
        db.migrate().expect("migrate template");
        db.checkpoint().expect("checkpoint template");
        drop(db);
        dir.join(storage_file())
    })
}

fn storage_file() -> &'static str {
    "pi-crm.sqlite3"
}

pub struct TestApp {
    pub url: String,
    /// Removed when the app is dropped.
    _data_dir: tempfile::TempDir,
    running: Option<Running>,
}

/// Knobs a test may turn before the server starts.
pub struct Options {
    pub settings: app::Settings,
    pub web: web::WebConfig,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Options)) -> TestApp {
    // The test clients speak TLS through rustls with ring, like the server.
    pi_crm::tls::install_crypto();
    let data_dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(template(), data_dir.path().join(storage_file())).expect("copy template");
    let mut options = Options {
        settings: app::Settings::new(data_dir.path().to_owned()),
        web: web::WebConfig {
            // Tests sign in often; the limits get their own tests.
            login_per_ip_per_minute: 1000,
            login_per_account_per_minute: 1000,
            api_per_minute: 1000,
            workers: 1,
            ..web::WebConfig::default()
        },
    };
    configure(&mut options);
    let running = pi_crm::serve::start(ServeOptions {
        settings: options.settings,
        web: options.web,
        bind: "127.0.0.1:0".into(),
        housekeeping_cron: "0 30 3 * * *".into(),
        backup_cron: "0 0 2 * * *".into(),
        tls: None,
    })
    .await
    .expect("server starts");
    TestApp {
        url: running.url(),
        _data_dir: data_dir,
        running: Some(running),
    }
}

impl TestApp {
    pub fn data_dir(&self) -> &Path {
        self._data_dir.path()
    }

    pub fn app(&self) -> &app::App {
        &self.running.as_ref().expect("running").app
    }

    /// A new browser: its own cookie jar, redirects not followed (tests look at them).
    pub fn browser(&self) -> Browser {
        Browser {
            base: self.url.clone(),
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            csrf: None,
        }
    }

    /// An API client with no cookies at all.
    pub fn api(&self, key: &str) -> Api {
        Api {
            base: self.url.clone(),
            key: key.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    pub fn add_user(&self, username: &str) -> domain::user::User {
        app::accounts::add_user(
            self.app(),
            app::accounts::NewUser {
                username,
                display_name: None,
                password: PASSWORD,
            },
        )
        .expect("add user")
    }

    pub fn api_key(&self, username: &str, scopes: &str) -> String {
        app::api_keys::create_for_username(self.app(), username, "test key", scopes)
            .expect("create key")
            .secret
    }

    /// A user, signed in in a fresh browser.
    pub async fn signed_in(&self, username: &str) -> Browser {
        self.add_user(username);
        let mut browser = self.browser();
        let res = browser.login(username, PASSWORD).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {username} failed"
        );
        browser
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}

pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    csrf: Option<String>,
}

/// The value of the first `name="csrf_token"` input in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let re = regex_lite::Regex::new(r#"name="csrf_token" value="([^"]+)""#).expect("regex");
    re.captures(html).map(|c| c[1].to_owned())
}

impl Browser {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let res = self.get(path).await;
        let status = res.status();
        (status, res.text().await.expect("body"))
    }

    /// This browser's CSRF token, read from a page the way a browser gets it.
    pub async fn csrf(&mut self) -> String {
        if let Some(token) = &self.csrf {
            return token.clone();
        }
        // The sign-in page, or the setup page while there is no user yet.
        let (_, login) = self.get_text("/login").await;
        let token = match csrf_in(&login) {
            Some(token) => token,
            None => csrf_in(&self.get_text("/setup").await.1).expect("a page with a CSRF token"),
        };
        self.csrf = Some(token.clone());
        token
    }

    /// Posts a form with this browser's CSRF token, as a page would.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        self.client
            .post(format!("{}{path}", self.base))
            .header("Origin", &self.base)
            .form(&form)
            .send()
            .await
            .expect("POST")
    }

    /// Posts a form exactly as given: no token added, custom headers.
    pub async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: HeaderMap,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .headers(headers)
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    pub async fn login(&mut self, username: &str, password: &str) -> reqwest::Response {
        self.post("/login", &[("username", username), ("password", password)])
            .await
    }

    /// Creates a workspace through the page and returns its id.
    pub async fn create_workspace(&mut self, name: &str) -> i64 {
        let res = self
            .post(
                "/workspaces",
                &[
                    ("name", name),
                    ("color", "#2563eb"),
                    ("time_zone", "America/Chicago"),
                ],
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "create workspace {name}"
        );
        location(&res)
            .trim_start_matches("/w/")
            .parse()
            .expect("redirect to the new workspace")
    }
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

pub struct Api {
    pub base: String,
    pub key: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, serde_json::Value) {
        json(
            self.request(reqwest::Method::GET, path)
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        json(
            self.request(method, path)
                .json(&body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }
}

pub async fn json(res: reqwest::Response) -> (StatusCode, serde_json::Value) {
    let status = res.status();
    let text = res.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, value)
}

/// Asserts the API error envelope: `{"error":{"code","message","field"}}`.
pub fn assert_envelope(body: &serde_json::Value, code: &str) {
    let error = body
        .get("error")
        .unwrap_or_else(|| panic!("no error envelope in {body}"));
    assert_eq!(error["code"], code, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        error.get("field").is_some(),
        "field key must be present: {body}"
    );
}

pub async fn sleep(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
