//! The app shell: security headers, friendly errors without internals, assets, health, limits,
//! and markup in user data staying text.

use reqwest::StatusCode;

use crate::harness::{assert_envelope, json, spawn_app};

#[tokio::test]
async fn pages_carry_the_security_headers() {
    let app = spawn_app().await;
    let browser = app.signed_in("andy").await;
    let res = browser.get("/workspaces").await;
    let h = res.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    let script_src = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert!(!script_src.contains("unsafe"), "{csp}");
    for directive in [
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "style-src 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        !h.contains_key("strict-transport-security"),
        "no HSTS on plain HTTP"
    );
    app.stop().await;
}

#[tokio::test]
async fn errors_are_friendly_and_show_no_internals() {
    let app = spawn_app().await;
    let browser = app.signed_in("andy").await;
    for path in ["/no/such/page", "/w/999999", "/w/not-a-number/settings"] {
        let (status, html) = browser.get_text(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("Page not found"), "{path}: {html}");
        for internal in ["diesel", "sqlite", "panicked", "src/", "Error("] {
            assert!(
                !html.to_lowercase().contains(&internal.to_lowercase()),
                "{path} shows {internal}"
            );
        }
    }
    let (status, body) = json(
        reqwest::get(format!("{}/api/v1/nothing", app.url))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_envelope(&body, "not_found");
    app.stop().await;
}

#[tokio::test]
async fn assets_are_embedded_and_cacheable() {
    let app = spawn_app().await;
    let (_, html) = app.browser().get_text("/setup").await;
    for (name, kind) in [
        ("app.css", "text/css"),
        ("htmx.min.js", "text/javascript"),
        ("app.js", "text/javascript"),
    ] {
        let url = regex_lite::Regex::new(&format!(
            r#"/assets/{}\?v=[0-9a-f]+"#,
            regex_lite::escape(name)
        ))
        .unwrap()
        .find(&html)
        .unwrap_or_else(|| panic!("{name} linked from the page"))
        .as_str()
        .to_owned();
        let res = reqwest::get(format!("{}{url}", app.url)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert!(
            res.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        assert!(res.bytes().await.unwrap().len() > 200, "{name} has content");
    }
    assert!(
        html.contains("includeIndicatorStyles&quot;:false"),
        "htmx may not inject inline styles"
    );
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let (status, body) = json(reqwest::get(format!("{}/healthz", app.url)).await.unwrap()).await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::OK, serde_json::json!("ok"))
    );
    let (status, body) = json(reqwest::get(format!("{}/readyz", app.url)).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["migrations"], "applied");
    assert_eq!(body["scheduler"], "running");
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_and_nothing_is_saved() {
    let app = spawn_app().await;
    let mut browser = app.signed_in("andy").await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let res = browser.post("/workspaces", &[("name", &huge)]).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.text().await.unwrap().contains("Nothing was saved"));
    let api = app.api(&app.api_key("andy", "workspaces:write,workspaces:read"));
    let res = api
        .request(reqwest::Method::POST, "/api/v1/workspaces")
        .header("content-type", "application/json")
        .body(format!(r#"{{"name":"{huge}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_envelope(&json(res).await.1, "payload_too_large");
    let (_, list) = api.get("/api/v1/workspaces").await;
    assert_eq!(list["total"], 0);
    // A long but legal name gets a message, not a crash.
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/workspaces",
            serde_json::json!({"name": "x".repeat(81)}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "name");
    app.stop().await;
}

#[tokio::test]
async fn markup_in_a_workspace_name_stays_text() {
    let app = spawn_app().await;
    let mut browser = app.signed_in("andy").await;
    let evil = r#"<img src=x onerror=alert(1)>"#;
    let id = browser.create_workspace(evil).await;
    for path in [
        "/workspaces".to_owned(),
        format!("/w/{id}"),
        format!("/w/{id}/settings"),
        format!("/w/{id}/audit"),
    ] {
        let (status, html) = browser.get_text(&path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains(evil), "{path} renders the name as markup");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{path} shows the name as text"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_new_user_is_taught_what_to_do_first() {
    let app = spawn_app().await;
    let mut browser = app.signed_in("andy").await;
    assert_eq!(
        crate::harness::location(&browser.get("/").await),
        "/workspaces"
    );
    let id = browser.create_workspace("Loan Factory").await;
    assert_eq!(
        crate::harness::location(&browser.get("/").await),
        format!("/w/{id}")
    );
    let (_, html) = browser.get_text(&format!("/w/{id}")).await;
    assert!(html.contains("Get this workspace ready"));
    assert!(
        html.contains("Workspace &#39;Loan Factory&#39; created.")
            || html.contains("Workspace 'Loan Factory' created."),
        "toast after create"
    );
    let (_, html) = browser.get_text(&format!("/w/{id}")).await;
    assert!(!html.contains("created."), "a toast shows once");
    app.stop().await;
}
