//! CSRF: every state-changing browser request needs this browser's token, and a foreign Origin
//! is refused even with one.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};

use crate::harness::{csrf_in, spawn_app};

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

#[tokio::test]
async fn state_changing_requests_need_the_token_and_a_matching_origin() {
    let app = spawn_app().await;
    let mut browser = app.signed_in("andy").await;
    let token = browser.csrf().await;
    let count = |app: &crate::harness::TestApp| {
        let user = app::accounts::find_user(app.app(), "andy").unwrap();
        app::workspaces::all_active(app.app(), user.id)
            .unwrap()
            .len()
    };

    // No token.
    let res = browser
        .post_raw("/workspaces", &[("name", "Forged")], headers(&[]))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("Reload the page"));
    // A made-up token.
    let res = browser
        .post_raw(
            "/workspaces",
            &[("name", "Forged"), ("csrf_token", "abc")],
            headers(&[]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The right token but a foreign origin (another port on 127.0.0.1 is another origin).
    for origin in ["http://127.0.0.1:1", "null", "http://evil.example"] {
        let res = browser
            .post_raw(
                "/workspaces",
                &[("name", "Forged"), ("csrf_token", &token)],
                headers(&[("Origin", origin)]),
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "Origin {origin}");
    }
    let res = browser
        .post_raw(
            "/workspaces",
            &[("name", "Forged"), ("csrf_token", &token)],
            headers(&[("Referer", "http://127.0.0.1:1/page")]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "foreign Referer");
    // Another browser's token does not fit this browser's cookie.
    let mut other = app.browser();
    let other_token = other.csrf().await;
    assert_ne!(other_token, token);
    let res = browser
        .post_raw(
            "/workspaces",
            &[("name", "Forged"), ("csrf_token", &other_token)],
            headers(&[]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(count(&app), 0, "no forged request got through");

    // The real thing works, as a form field or as htmx's header.
    let origin = app.url.clone();
    let res = browser
        .post_raw(
            "/workspaces",
            &[("name", "Real"), ("csrf_token", &token)],
            headers(&[("Origin", &origin)]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = browser
        .post_raw(
            "/workspaces",
            &[("name", "Via htmx")],
            headers(&[("X-CSRF-Token", &token), ("HX-Request", "true")]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(&app), 2);
    app.stop().await;
}

#[tokio::test]
async fn pages_embed_the_token_for_forms_and_htmx() {
    let app = spawn_app().await;
    let mut browser = app.signed_in("andy").await;
    let token = browser.csrf().await;
    let (_, html) = browser.get_text("/workspaces").await;
    assert_eq!(csrf_in(&html).as_deref(), Some(token.as_str()));
    assert!(
        html.contains(&format!("X-CSRF-Token&quot;:&quot;{token}")),
        "hx-headers on body"
    );
    // No GET changes state: the sign-out is a POST, a GET of it is not found.
    assert_eq!(browser.get("/logout").await.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}
