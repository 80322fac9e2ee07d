//! Setup, sign-in, sessions, throttling and the second factor.

use std::time::Duration;

use reqwest::StatusCode;

use crate::harness::{PASSWORD, location, sleep, spawn_app, spawn_app_with};

const BAD_CREDENTIALS: &str = "That username and password do not match";

#[tokio::test]
async fn setup_page_is_offered_only_while_there_is_no_user() {
    let app = spawn_app().await;
    let mut browser = app.browser();
    let res = browser.get("/").await;
    assert_eq!(location(&res), "/login", "anonymous / goes to sign-in");
    assert_eq!(location(&browser.get("/login").await), "/setup");
    let (status, html) = browser.get_text("/setup").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Create account"));

    // Bad input keeps what was typed and says what to do.
    let res = browser
        .post(
            "/setup",
            &[
                ("username", "andy"),
                ("display_name", "Andy"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("at least 8 characters"), "{html}");
    assert!(html.contains(r#"value="andy""#));

    let res = browser
        .post(
            "/setup",
            &[
                ("username", "andy"),
                ("display_name", "Andy"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/workspaces");
    let (status, html) = browser.get_text("/workspaces").await;
    assert_eq!(status, StatusCode::OK, "signed in right after setup");
    assert!(html.contains("Create your first workspace"));

    // Once a user exists the setup page is gone, also for a second, anonymous browser.
    let mut other = app.browser();
    assert_eq!(location(&other.get("/setup").await), "/login");
    let res = other
        .post(
            "/setup",
            &[
                ("username", "mallory"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&res), "/login");
    assert!(
        app::accounts::find_user(app.app(), "mallory").is_err(),
        "no second setup"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_failed_sign_in_never_says_which_part_was_wrong() {
    let app = spawn_app().await;
    app.add_user("monalisa");
    let mut browser = app.browser();
    let wrong_password = browser.login("monalisa", "not the password").await;
    assert_eq!(wrong_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let a = wrong_password.text().await.unwrap();
    let unknown_user = browser.login("nobody", "not the password").await;
    assert_eq!(unknown_user.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let b = unknown_user.text().await.unwrap();
    assert!(a.contains(BAD_CREDENTIALS) && b.contains(BAD_CREDENTIALS));
    // The username is case-insensitive; the password is not.
    assert_eq!(
        browser.login("MonaLisa", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let mut again = app.browser();
    assert_eq!(
        again
            .login("monalisa", &PASSWORD.to_uppercase())
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    app.stop().await;
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("pi-crm-session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn the_session_cookie_is_httponly_and_dies_at_sign_out() {
    let app = spawn_app().await;
    app.add_user("andy");
    let mut browser = app.browser();
    let res = browser.login("andy", PASSWORD).await;
    let raw = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("pi-crm-session="))
        .expect("session cookie")
        .to_owned();
    assert!(
        raw.contains("HttpOnly") && raw.contains("SameSite=Lax") && raw.contains("Path=/"),
        "{raw}"
    );
    let cookie = session_cookie(&res).unwrap();

    let replay = |cookie: String| {
        let url = format!("{}/workspaces", app.url);
        async move {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .get(url)
                .header("Cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(replay(cookie.clone()).await, StatusCode::OK);
    assert_eq!(
        browser.post("/logout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        replay(cookie).await,
        StatusCode::SEE_OTHER,
        "the old cookie no longer signs in"
    );
    app.stop().await;
}

#[tokio::test]
async fn sessions_end_when_idle() {
    let app = spawn_app_with(|o| o.settings.session_idle = Duration::from_secs(1)).await;
    let browser = app.signed_in("andy").await;
    assert_eq!(browser.get("/workspaces").await.status(), StatusCode::OK);
    sleep(2200).await;
    let res = browser.get("/workspaces").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).starts_with("/login?next=%2Fworkspaces"),
        "{}",
        location(&res)
    );
    app.stop().await;
}

#[tokio::test]
async fn sessions_end_at_the_absolute_limit_however_active() {
    let app = spawn_app_with(|o| o.settings.session_absolute = Duration::from_secs(2)).await;
    let browser = app.signed_in("andy").await;
    for _ in 0..4 {
        assert_eq!(browser.get("/workspaces").await.status(), StatusCode::OK);
        sleep(400).await;
    }
    sleep(800).await;
    assert_eq!(
        browser.get("/workspaces").await.status(),
        StatusCode::SEE_OTHER
    );
    app.stop().await;
}

#[tokio::test]
async fn sign_in_is_throttled_per_address_with_retry_after() {
    let app = spawn_app_with(|o| o.web.login_per_ip_per_minute = 3).await;
    app.add_user("andy");
    let mut browser = app.browser();
    for _ in 0..3 {
        assert_eq!(
            browser.login("andy", "wrong password").await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let res = browser.login("andy", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Too many sign-in attempts")
    );
    app.stop().await;
}

#[tokio::test]
async fn guessing_at_an_account_is_throttled_but_cannot_lock_its_owner_out() {
    let app = spawn_app_with(|o| o.web.login_per_account_per_minute = 3).await;
    app.add_user("andy");
    // The owner signed in from this browser before, so it holds a device cookie.
    let mut owner = app.browser();
    assert_eq!(
        owner.login("andy", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        owner.post("/logout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );

    // The owner's first sign-in, from a browser without the cookie, used one of the 3 tries.
    let mut attacker = app.browser();
    for _ in 0..2 {
        assert_eq!(
            attacker.login("andy", "guess").await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    // The account's budget is spent: even the right password is refused to a stranger, so the
    // limit tells an attacker nothing.
    assert_eq!(
        attacker.login("andy", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attacker.login("ANDY", "guess").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // The owner's browser still gets in.
    assert_eq!(
        owner.login("andy", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    app.stop().await;
}

#[tokio::test]
async fn password_rules_and_change_password() {
    let app = spawn_app().await;
    let mut browser = app.signed_in("andy").await;
    let other_device = {
        let mut b = app.browser();
        assert_eq!(
            b.login("andy", PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        b
    };
    let change = |current: &'static str, new: String| (current, new);
    let cases = [
        (
            change("wrong current", "a fine new passphrase".into()),
            "not your current password",
        ),
        (change(PASSWORD, "short".into()), "at least 8 characters"),
        (change(PASSWORD, "Password1".into()), "common passwords"),
    ];
    for ((current, new), message) in cases {
        let res = browser
            .post(
                "/settings/password",
                &[
                    ("current_password", current),
                    ("new_password", &new),
                    ("new_password_confirm", &new),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{new}");
        assert!(res.text().await.unwrap().contains(message), "{message}");
    }
    // 64 characters are accepted and kept exactly.
    let long: String = "Tr0ub4dor&3 horse ".repeat(4).chars().take(64).collect();
    let res = browser
        .post(
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", &long),
                ("new_password_confirm", &long),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        browser.get("/workspaces").await.status(),
        StatusCode::OK,
        "this device stays signed in"
    );
    assert_eq!(
        other_device.get("/workspaces").await.status(),
        StatusCode::SEE_OTHER,
        "other devices are signed out"
    );
    let mut fresh = app.browser();
    assert_eq!(
        fresh.login("andy", PASSWORD).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        fresh.login("andy", &long).await.status(),
        StatusCode::SEE_OTHER
    );
    app.stop().await;
}

#[tokio::test]
async fn a_person_can_list_and_end_their_sessions() {
    let app = spawn_app().await;
    let mut laptop = app.signed_in("andy").await;
    let mut phone = app.browser();
    assert_eq!(
        phone.login("andy", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, html) = laptop.get_text("/settings/security").await;
    assert!(html.contains("This device"));
    let ids: Vec<String> = regex_lite::Regex::new(r"/settings/sessions/(\d+)/end")
        .unwrap()
        .captures_iter(&html)
        .map(|c| c[1].to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "one other session listed: {html}");
    let res = laptop
        .post(&format!("/settings/sessions/{}/end", ids[0]), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        phone.get("/workspaces").await.status(),
        StatusCode::SEE_OTHER,
        "the phone is signed out"
    );
    assert_eq!(laptop.get("/workspaces").await.status(), StatusCode::OK);
    app.stop().await;
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn totp_second_factor_with_codes_that_work_once() {
    let app = spawn_app().await;
    let mut browser = app.signed_in("andy").await;
    let wrong = browser
        .post("/settings/totp/start", &[("current_password", "not it")])
        .await;
    assert_eq!(
        wrong.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "setting up needs the password"
    );
    let res = browser
        .post("/settings/totp/start", &[("current_password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = browser.get_text("/settings/security").await;
    let secret = regex_lite::Regex::new(r#"id="totp-secret"[^>]*>([A-Z2-7=]+)<"#)
        .unwrap()
        .captures(&html)
        .map(|c| c[1].to_owned())
        .unwrap_or_else(|| panic!("secret shown: {html}"));
    let bad = browser
        .post("/settings/totp/enable", &[("code", "000000")])
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let code = app::accounts::code_at(&secret, now()).unwrap();
    assert_eq!(
        browser
            .post("/settings/totp/enable", &[("code", &code)])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        browser.post("/logout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );

    // The password alone is not enough now.
    let mut fresh = app.browser();
    let res = fresh.login("andy", PASSWORD).await;
    assert!(
        location(&res).starts_with("/login/code"),
        "{}",
        location(&res)
    );
    let pending_cookie = session_cookie(&res).expect("a pending session");
    assert_eq!(
        fresh.get("/workspaces").await.status(),
        StatusCode::SEE_OTHER,
        "not signed in yet"
    );
    // The code used to turn TOTP on cannot be used again.
    let reused = fresh.post("/login/code", &[("code", &code)]).await;
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let next = app::accounts::code_at(&secret, now() + 30).unwrap();
    let res = fresh.post("/login/code", &[("code", &next)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(session_cookie(&res).is_some(), "a new session cookie");
    assert_eq!(fresh.get("/workspaces").await.status(), StatusCode::OK);
    // The session id is renewed at sign-in: the cookie from before the code step is dead, it
    // neither signs in nor still waits for a code.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/workspaces", "/login/code"] {
        let res = replay
            .get(format!("{}{path}", app.url))
            .header("Cookie", &pending_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{path} with the old cookie"
        );
        assert!(
            location(&res).starts_with("/login"),
            "{path}: {}",
            location(&res)
        );
        assert_ne!(location(&res), "/login/code");
    }
    // While it is on, it cannot be replaced without turning it off (which needs the password).
    let again = fresh
        .post("/settings/totp/start", &[("current_password", PASSWORD)])
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Failed codes are in the audit log.
    let user = app::accounts::find_user(app.app(), "andy").unwrap();
    let filter = domain::audit::AuditFilter {
        action_prefix: Some("auth.code_failed".into()),
        ..Default::default()
    };
    let caller = app::Caller::browser(user.id, None);
    let failed = app::audit::for_account(app.app(), &caller, &filter, Default::default()).unwrap();
    assert_eq!(failed.total, 1, "the reused code was recorded");
    // And the same code does not work a second time either.
    let mut third = app.browser();
    third.login("andy", PASSWORD).await;
    assert_eq!(
        third.post("/login/code", &[("code", &next)]).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    app.stop().await;
}

#[tokio::test]
async fn a_strangers_failed_sign_ins_are_not_in_anyones_activity() {
    let app = spawn_app().await;
    let andy = app.signed_in("andy").await;
    let mut stranger = app.browser();
    stranger.login("nobody-here", "some password").await;
    stranger.login("andy", "wrong password").await;
    let (_, html) = andy
        .get_text("/settings/audit?action=auth.login_failed")
        .await;
    assert!(
        html.contains("1 entries"),
        "only the failure against andy's account: {html}"
    );
    app.stop().await;
}
