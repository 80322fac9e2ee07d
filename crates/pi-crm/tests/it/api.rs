//! The JSON API: bearer keys, scopes, the error envelope, workspaces, OpenAPI.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{assert_envelope, json, spawn_app, spawn_app_with};

const ALL: &str = "workspaces:read,workspaces:write,contacts:read,contacts:write,audit:read";

#[tokio::test]
async fn auth_errors_use_the_envelope() {
    let app = spawn_app().await;
    app.add_user("andy");
    let key = app.api_key("andy", "workspaces:read");
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/workspaces", app.url);

    let (status, body) = json(client.get(&url).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "unauthorized");

    let (status, body) = json(
        client
            .get(&url)
            .bearer_auth("pcrm_not-a-real-key")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "unauthorized");

    // A key in the query string is refused, even alongside a good header.
    for query in [
        format!("?api_key={key}"),
        format!("?token={key}"),
        format!("?q={key}"),
    ] {
        let res = client
            .get(format!("{url}{query}"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        let (status, body) = json(res).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{query}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Authorization"),
            "{body}"
        );
    }

    // Scopes: a read key cannot write.
    let api = app.api(&key);
    assert_eq!(api.get("/api/v1/workspaces").await.0, StatusCode::OK);
    let (status, body) = api
        .send(Method::POST, "/api/v1/workspaces", json!({"name": "X"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_envelope(&body, "forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("workspaces:write")
    );

    // Revoked keys fail at once.
    let created =
        app::api_keys::create_for_username(app.app(), "andy", "temp", "workspaces:read").unwrap();
    let temp = app.api(&created.secret);
    assert_eq!(temp.get("/api/v1/me").await.0, StatusCode::OK);
    let caller = app::Caller::browser(created.key.user_id, None);
    app::api_keys::revoke(app.app(), &caller, created.key.id).unwrap();
    let (status, body) = temp.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "unauthorized");
    app.stop().await;
}

#[tokio::test]
async fn the_api_ignores_session_cookies() {
    let app = spawn_app().await;
    let browser = app.signed_in("andy").await;
    let res = browser.get("/api/v1/workspaces").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn too_many_requests_answer_429_with_retry_after() {
    let app = spawn_app_with(|o| o.web.api_per_minute = 3).await;
    app.add_user("andy");
    let api = app.api(&app.api_key("andy", "workspaces:read"));
    for _ in 0..3 {
        assert_eq!(api.get("/api/v1/workspaces").await.0, StatusCode::OK);
    }
    let res = api
        .request(Method::GET, "/api/v1/workspaces")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let (_, body) = json(res).await;
    assert_envelope(&body, "rate_limited");
    app.stop().await;
}

#[tokio::test]
async fn workspaces_through_the_api() {
    let app = spawn_app().await;
    app.add_user("andy");
    app.add_user("monalisa");
    let api = app.api(&app.api_key("andy", ALL));

    let (status, ws) = api
        .send(Method::POST, "/api/v1/workspaces", json!({
            "name": "Loan Factory", "color": "#059669", "time_zone": "America/New_York",
            "postal_address": "1 Main St\nSpringfield", "requires_approval": true, "approvers": ["andy"]
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    for key in [
        "id",
        "name",
        "color",
        "time_zone",
        "postal_address",
        "requires_approval",
    ] {
        assert!(ws.get(key).is_some(), "missing {key}: {ws}");
    }
    assert_eq!(ws["name"], "Loan Factory");
    assert_eq!(ws["color"], "#059669");
    assert_eq!(ws["requires_approval"], true);
    assert_eq!(ws["approvers"], json!(["andy"]));
    let id = ws["id"].as_i64().unwrap();

    let (status, _) = api
        .send(
            Method::POST,
            "/api/v1/workspaces",
            json!({"name": "MaiStory"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, list) = api.get("/api/v1/workspaces?per_page=1&page=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 2);
    assert_eq!(list["page"], 2);
    assert_eq!(list["per_page"], 1);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let (status, got) = api.get(&format!("/api/v1/workspaces/{id}")).await;
    assert_eq!(
        (status, got["name"].clone()),
        (StatusCode::OK, json!("Loan Factory"))
    );

    let path = format!("/api/v1/workspaces/{id}");
    let (status, patched) = api
        .send(
            Method::PATCH,
            &path,
            json!({"name": "Loan Factory West", "approvers": ["andy", "monalisa"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "Loan Factory West");
    assert_eq!(
        patched["time_zone"], "America/New_York",
        "untouched fields stay"
    );
    assert_eq!(patched["approvers"], json!(["andy", "monalisa"]));

    // Bad input: a clear message naming the field, and nothing changes.
    let cases = [
        (
            json!({"owner_user_id": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("owner_user_id"),
        ),
        (
            json!({"id": 99}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("id"),
        ),
        (
            json!({"time_zone": "Mars/Olympus"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("time_zone"),
        ),
        (
            json!({"color": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("color"),
        ),
        (
            json!({"name": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("name"),
        ),
        (
            json!({"requires_approval": "yes"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            None,
        ),
        (
            json!({"approvers": ["nobody"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("approvers"),
        ),
        (
            json!({"name": "MaiStory"}),
            StatusCode::CONFLICT,
            "conflict",
            Some("name"),
        ),
        (
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            None,
        ),
    ];
    for (body, status, code, field) in cases {
        let (got, answer) = api.send(Method::PATCH, &path, body.clone()).await;
        assert_eq!(got, status, "{body} -> {answer}");
        assert_envelope(&answer, code);
        if let Some(field) = field {
            assert_eq!(answer["error"]["field"], field, "{body} -> {answer}");
        }
    }
    let raw = api
        .request(Method::PATCH, &path)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, answer) = json(raw).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_envelope(&answer, "invalid_json");
    let (_, unchanged) = api.get(&path).await;
    assert_eq!(unchanged["name"], "Loan Factory West");

    // Archive and restore.
    let (_, archived) = api
        .send(Method::PATCH, &path, json!({"archived": true}))
        .await;
    assert_eq!(archived["archived"], true);
    let (_, list) = api.get("/api/v1/workspaces").await;
    assert_eq!(list["total"], 1, "archived ones are hidden by default");
    let (_, list) = api.get("/api/v1/workspaces?include_archived=true").await;
    assert_eq!(list["total"], 2);

    // Every change is in the audit log, attributed to the key.
    let (status, audit) = api.get(&format!("/api/v1/workspaces/{id}/audit")).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["workspace.archive", "workspace.update", "workspace.create"],
        "{audit}"
    );
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor_kind"] == "api_key")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_is_served_without_a_key() {
    let app = spawn_app().await;
    let (status, doc) = json(
        reqwest::get(format!("{}/api/v1/openapi.json", app.url))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for route in web::routes::all()
        .iter()
        .filter(|r| r.access == web::routes::Access::ApiKey)
    {
        let method = route.method.as_str().to_lowercase();
        assert!(
            paths.get(route.path).and_then(|p| p.get(&method)).is_some(),
            "{} {} is not in the OpenAPI document",
            route.method,
            route.path
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    app.stop().await;
}
