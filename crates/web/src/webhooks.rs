//! Public endpoints whose only security is a signature: provider webhooks (Mailgun events)
//! and the unsubscribe link with its RFC 8058 one-click POST. No session, no CSRF token: the
//! provider's HMAC or pi-crm's signed link is the authority, checked in `app`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use app::AppError;
use app::messaging::events::WebhookOutcome;
use domain::ids::{ContactId, WorkspaceId};
use maud::html;

use crate::errors::PageError;
use crate::pages::html;
use crate::state::{AppState, blocking};
use crate::views::layout;

/// Webhook bodies are small JSON documents; anything larger is not Mailgun's.
const MAX_WEBHOOK_BYTES: usize = 256 * 1024;

async fn read_limited(mut payload: web::Payload) -> Option<web::Bytes> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.ok()?;
        if body.len() + chunk.len() > MAX_WEBHOOK_BYTES {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body.freeze())
}

/// `POST /webhooks/mailgun/{workspace_id}`: 200 when applied or already applied, 406 (which
/// Mailgun does not retry) when the signature, timestamp or token is refused.
pub async fn mailgun(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    payload: web::Payload,
) -> HttpResponse {
    let ws = WorkspaceId(path.into_inner());
    let Some(body) = read_limited(payload).await else {
        return HttpResponse::build(StatusCode::PAYLOAD_TOO_LARGE).finish();
    };
    let result = blocking(&state.app, move |app| {
        app::messaging::events::mailgun(app, ws, &body, chrono::Utc::now())
    })
    .await;
    match result {
        Ok(WebhookOutcome::Applied) | Ok(WebhookOutcome::Ignored) => HttpResponse::Ok().body("ok"),
        Ok(WebhookOutcome::Rejected(why)) => {
            tracing::warn!(workspace = ws.0, reason = %why, "refused a Mailgun webhook");
            HttpResponse::build(StatusCode::NOT_ACCEPTABLE).body(why)
        }
        Err(e) => {
            tracing::error!(cause = %e, "a Mailgun webhook could not be applied");
            // A 5xx makes Mailgun retry later, which is what a busy database needs.
            HttpResponse::ServiceUnavailable().finish()
        }
    }
}

type UnsubscribePath = web::Path<(i64, i64, String)>;

/// The page an unsubscribe link opens: a button, because mail scanners follow links and a GET
/// must not unsubscribe anyone.
pub async fn unsubscribe_page(
    state: web::Data<AppState>,
    path: UnsubscribePath,
) -> Result<HttpResponse, PageError> {
    let (ws, contact, sig) = path.into_inner();
    let (ws, contact) = (WorkspaceId(ws), ContactId(contact));
    if !app::messaging::compose::unsubscribe_link_valid(&state.app, ws, contact, &sig) {
        return Err(PageError::NotFound);
    }
    Ok(html(layout::bare(
        "Unsubscribe",
        html! {
            div ."card mx-auto max-w-md space-y-4" {
                h1 ."text-xl font-semibold" { "Unsubscribe" }
                p { "Stop receiving these emails?" }
                form method="post" {
                    button ."btn btn-primary w-full" type="submit" { "Unsubscribe" }
                }
            }
        },
    )))
}

/// The button of that page, and the one-click POST mail programs send (RFC 8058).
pub async fn unsubscribe(
    state: web::Data<AppState>,
    path: UnsubscribePath,
) -> Result<HttpResponse, PageError> {
    let (ws, contact, sig) = path.into_inner();
    let (ws, contact) = (WorkspaceId(ws), ContactId(contact));
    match blocking(&state.app, move |app| {
        app::messaging::events::unsubscribe(app, ws, contact, &sig)
    })
    .await
    {
        Ok(_) => Ok(html(layout::bare(
            "Unsubscribed",
            html! {
                div ."card mx-auto max-w-md space-y-4" #unsubscribed {
                    h1 ."text-xl font-semibold" { "You are unsubscribed" }
                    p { "You will not get these emails any more." }
                }
            },
        ))),
        Err(AppError::NotFound) => Err(PageError::NotFound),
        Err(other) => Err(other.into()),
    }
}
