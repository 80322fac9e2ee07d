//! `/healthz` (the process answers) and `/readyz` (the database answers and is migrated).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::{AppState, blocking};

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let pending = blocking(&state.app, |app| Ok(app.db().pending_migrations()?)).await;
    let scheduler = state
        .scheduler_running
        .load(std::sync::atomic::Ordering::Relaxed);
    match pending {
        Ok(0) if !scheduler => HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "not ready", "database": "ok", "migrations": "applied", "scheduler": "stopped" })),
        Ok(0) => HttpResponse::Ok().json(json!({ "status": "ready", "database": "ok", "migrations": "applied", "scheduler": "running" })),
        Ok(n) => HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "not ready", "database": "ok", "migrations": format!("{n} pending") })),
        Err(e) => {
            tracing::error!(cause = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "not ready", "database": "unreachable" }))
        }
    }
}
