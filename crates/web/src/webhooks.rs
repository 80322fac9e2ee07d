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

fn twiml(reply: Option<&str>) -> HttpResponse {
    let body = match reply {
        Some(text) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
            text.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        ),
        None => "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response />".to_owned(),
    };
    HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(body)
}

type TwilioUseCase = fn(
    &app::App,
    &str,
    &[(String, String)],
    &str,
    chrono::DateTime<chrono::Utc>,
) -> Result<app::messaging::texts::TwilioOutcome, AppError>;

async fn twilio(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
    use_case: TwilioUseCase,
) -> HttpResponse {
    use app::messaging::texts::TwilioOutcome;
    let Some(body) = read_limited(payload).await else {
        return HttpResponse::build(StatusCode::PAYLOAD_TOO_LARGE).finish();
    };
    let Ok(params) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return HttpResponse::BadRequest().body("the body is not form-encoded");
    };
    let signature = req
        .headers()
        .get("X-Twilio-Signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| req.path().to_owned());
    let result = blocking(&state.app, move |app| {
        use_case(app, &path, &params, &signature, chrono::Utc::now())
    })
    .await;
    match result {
        Ok(TwilioOutcome::Reply(reply)) => twiml(reply.as_deref()),
        Ok(TwilioOutcome::Rejected(why)) => {
            tracing::warn!(reason = %why, "refused a Twilio webhook");
            HttpResponse::Forbidden().body(why)
        }
        Err(e) => {
            tracing::error!(cause = %e, "a Twilio webhook could not be applied");
            HttpResponse::ServiceUnavailable().finish()
        }
    }
}

/// `POST /webhooks/twilio/sms`: a text to one of our numbers; answers TwiML.
pub async fn twilio_inbound(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    twilio(state, req, payload, app::messaging::texts::inbound).await
}

/// `POST /webhooks/twilio/status`: a status callback for a text we sent.
pub async fn twilio_status(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    twilio(state, req, payload, app::messaging::texts::status).await
}
