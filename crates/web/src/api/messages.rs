//! Messaging through the API: a workspace's email provider, the caller's text provider,
//! writing to a contact (queued, answered with the message id) and following a message.

use actix_web::{HttpResponse, web};
use app::messaging::Draft;
use app::messaging::providers::{EmailProviderInput, SmsProviderInput};
use domain::api_key::Scope;
use domain::ids::{ContactId, MessageId, WorkspaceId};
use domain::messaging::{Channel, Message, MessageEvent};
use domain::validation::ValidationError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::ApiCaller;
use crate::errors::{ApiError, ErrorEnvelope};
use crate::state::blocking;

#[derive(Serialize, ToSchema)]
pub struct EmailProviderJson {
    /// `outbox`, `mailgun`, `google`, `microsoft` or `smtp`.
    pub kind: String,
    pub from: String,
    pub domain: String,
    pub region: String,
    pub base_url: Option<String>,
    /// The last characters of the stored API key; the key itself is never shown.
    pub api_key_hint: Option<String>,
    pub has_webhook_signing_key: bool,
    /// Google and Microsoft: the OAuth client, and the mailbox connected (in the browser).
    pub client_id: String,
    pub has_client_secret: bool,
    pub tenant: String,
    pub account: Option<String>,
    /// SMTP.
    pub host: String,
    pub port: Option<u16>,
    pub tls: String,
    pub username: String,
    pub has_password: bool,
    pub smtp_oauth: String,
    pub updated_at: Option<String>,
}

impl From<app::messaging::providers::EmailProviderView> for EmailProviderJson {
    fn from(v: app::messaging::providers::EmailProviderView) -> Self {
        Self {
            kind: v.kind.as_str().to_owned(),
            from: v.from,
            domain: v.domain,
            region: v.region,
            base_url: v.base_url,
            api_key_hint: v.api_key_hint,
            has_webhook_signing_key: v.has_webhook_signing_key,
            client_id: v.client_id,
            has_client_secret: v.has_client_secret,
            tenant: v.tenant,
            account: v.account,
            host: v.host,
            port: v.port,
            tls: v.tls,
            username: v.username,
            has_password: v.has_password,
            smtp_oauth: v.smtp_oauth,
            updated_at: v.updated_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// The body of `PUT /api/v1/workspaces/{ws}/email-provider`.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct EmailProviderBody {
    /// `mailgun`, `google`, `microsoft`, `smtp` or `outbox`. Google and Microsoft take the
    /// OAuth client here and are connected in the browser (Connect on the email settings page).
    kind: String,
    domain: Option<String>,
    /// `us` or `eu`.
    region: Option<String>,
    api_key: Option<String>,
    webhook_signing_key: Option<String>,
    /// `Name <address@domain>`.
    from: Option<String>,
    /// Overrides the provider's URL (tests, proxies).
    base_url: Option<String>,
    /// Google and Microsoft.
    client_id: Option<String>,
    client_secret: Option<String>,
    /// Microsoft: `common` by default.
    tenant: Option<String>,
    /// SMTP.
    host: Option<String>,
    port: Option<u16>,
    /// `starttls` (default), `implicit`, or `none` for a test server on this machine.
    tls: Option<String>,
    username: Option<String>,
    password: Option<String>,
    /// SMTP: `password` (default), or `google` / `microsoft` to sign in with XOAUTH2 through
    /// an OAuth connection (client id and secret here, connected in the browser).
    smtp_oauth: Option<String>,
}

/// Set a workspace's email provider. Secrets are encrypted at rest and never shown back; an
/// empty secret keeps the stored one.
#[utoipa::path(put, path = "/api/v1/workspaces/{workspace_id}/email-provider", tag = "messages",
    params(("workspace_id" = i64, Path, description = "Workspace id")),
    request_body = EmailProviderBody,
    responses((status = 200, body = EmailProviderJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["settings:write"])))]
pub async fn put_email_provider(
    api: ApiCaller,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::SettingsWrite)?;
    let ws = WorkspaceId(path.into_inner());
    let uid = api.caller.user_id;
    let input: EmailProviderInput = api
        .body_for(move |app, _| app::workspaces::get(app, uid, ws), body)
        .await?;
    let view = api
        .run(move |app, c| app::messaging::providers::set_email_provider(app, c, ws, &input))
        .await?;
    Ok(HttpResponse::Ok().json(EmailProviderJson::from(view)))
}

/// A workspace's email provider, without its secrets.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace_id}/email-provider", tag = "messages",
    params(("workspace_id" = i64, Path, description = "Workspace id")),
    responses((status = 200, body = EmailProviderJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["workspaces:read"])))]
pub async fn get_email_provider(
    api: ApiCaller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::WorkspacesRead)?;
    let ws = WorkspaceId(path.into_inner());
    let view = api
        .run(move |app, c| app::messaging::providers::email_provider(app, c, ws))
        .await?;
    Ok(HttpResponse::Ok().json(EmailProviderJson::from(view)))
}

#[derive(Serialize, ToSchema)]
pub struct SmsProviderJson {
    pub kind: String,
    pub account_sid: String,
    pub from_number: String,
    pub base_url: Option<String>,
    pub public_url: Option<String>,
    pub auth_token_hint: Option<String>,
    pub updated_at: String,
}

/// The body of `PUT /api/v1/sms-provider`.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct SmsProviderBody {
    /// `twilio`.
    kind: String,
    account_sid: String,
    auth_token: Option<String>,
    /// E.164, such as +14155550100.
    from_number: String,
    base_url: Option<String>,
    /// The address Twilio calls, used to check signatures (or `PI_CRM_PUBLIC_URL`).
    public_url: Option<String>,
}

/// Set the caller's own text provider (one Twilio number per user).
#[utoipa::path(put, path = "/api/v1/sms-provider", tag = "messages",
    request_body = SmsProviderBody,
    responses((status = 200, body = SmsProviderJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["settings:write"])))]
pub async fn put_sms_provider(
    api: ApiCaller,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::SettingsWrite)?;
    let input: SmsProviderInput = api.body_for(|_, _| Ok(()), body).await?;
    let view = api
        .run(move |app, c| app::messaging::providers::set_sms_provider(app, c, &input))
        .await?;
    Ok(HttpResponse::Ok().json(SmsProviderJson {
        kind: view.kind.to_owned(),
        account_sid: view.account_sid,
        from_number: view.from_number,
        base_url: view.base_url,
        public_url: view.public_url,
        auth_token_hint: view.auth_token_hint,
        updated_at: view.updated_at.to_rfc3339(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    /// `email` or `sms`.
    channel: String,
    #[serde(default)]
    subject: String,
    body: String,
    /// Send the same key again and the message already queued is answered, not a second one.
    #[serde(default)]
    idempotency_key: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageEventJson {
    pub kind: String,
    pub detail: String,
    pub occurred_at: String,
}

impl From<MessageEvent> for MessageEventJson {
    fn from(e: MessageEvent) -> Self {
        Self {
            kind: e.kind,
            detail: e.detail,
            occurred_at: e.occurred_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessageJson {
    pub id: i64,
    pub workspace_id: i64,
    pub contact_id: i64,
    /// `email` or `sms`.
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// `queued`, `sending`, `sent`, `failed`, `unknown`, `delivered`, `bounced`, `skipped` or
    /// `dropped`.
    pub status: String,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub message_id_header: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub events: Vec<MessageEventJson>,
}

fn message_json(m: Message, events: Vec<MessageEvent>) -> MessageJson {
    MessageJson {
        id: m.id.0,
        workspace_id: m.workspace_id.0,
        contact_id: m.contact_id.0,
        channel: m.channel.as_str().to_owned(),
        recipient: m.recipient,
        subject: m.subject,
        body: m.body_text,
        status: m.status.as_str().to_owned(),
        provider: m.provider,
        provider_message_id: m.provider_message_id,
        message_id_header: m.rfc_message_id,
        attempts: m.attempts,
        last_error: m.last_error,
        created_at: m.created_at.to_rfc3339(),
        sent_at: m.sent_at.map(|t| t.to_rfc3339()),
        events: events.into_iter().map(MessageEventJson::from).collect(),
    }
}

/// Write to a contact: the message is queued (placeholders filled in for the contact) and
/// leaves within seconds. Refused with 409 and the reason when the contact must not get it
/// (Do Not Contact, unsubscribed, bounced, opted out, no address).
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/messages", tag = "messages",
    params(("contact_id" = i64, Path, description = "Contact id")),
    request_body = MessageBody,
    responses((status = 202, body = MessageJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = ["messages:write"])))]
pub async fn create(
    api: ApiCaller,
    path: web::Path<i64>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    api.require(Scope::MessagesWrite)?;
    let id = ContactId(path.into_inner());
    let req: MessageBody = api
        .body_for(move |app, c| app::contacts::get(app, c, id), body)
        .await?;
    let channel = Channel::parse(req.channel.trim()).ok_or_else(|| {
        ApiError::from(app::AppError::from(ValidationError::new(
            "channel",
            "The channel is email or sms.",
        )))
    })?;
    let key = match req.idempotency_key.as_deref().map(str::trim) {
        Some(k) if !k.is_empty() && k.len() <= 200 => format!("api:{k}"),
        Some(k) if k.len() > 200 => {
            return Err(app::AppError::from(ValidationError::new(
                "idempotency_key",
                "Keep the idempotency key under 200 characters.",
            ))
            .into());
        }
        _ => format!("api:{}", app::secrets::random_token(16)),
    };
    let draft = Draft {
        channel,
        subject: req.subject,
        body: req.body,
    };
    let caller = api.caller.clone();
    let (m, events) = blocking(&api.state.app, move |app| {
        let m = app::messaging::compose::queue_for_contact(app, &caller, id, &draft, &key, false)?;
        let events = app::messaging::compose::events(app, &caller, m.id)?;
        Ok((m, events))
    })
    .await?;
    Ok(HttpResponse::Accepted().json(message_json(m, events)))
}

/// A message: its status, the provider's id, and what happened to it.
#[utoipa::path(get, path = "/api/v1/messages/{message_id}", tag = "messages",
    params(("message_id" = i64, Path, description = "Message id")),
    responses((status = 200, body = MessageJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)),
    security(("bearer" = ["messages:read"])))]
pub async fn get(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::MessagesRead)?;
    let id = MessageId(path.into_inner());
    let (m, events) = api
        .run(move |app, c| {
            Ok((
                app::messaging::compose::get(app, c, id)?,
                app::messaging::compose::events(app, c, id)?,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(message_json(m, events)))
}

/// Put a failed or unknown message back in the queue.
#[utoipa::path(post, path = "/api/v1/messages/{message_id}/resend", tag = "messages",
    params(("message_id" = i64, Path, description = "Message id")),
    responses((status = 200, body = MessageJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = ["messages:write"])))]
pub async fn resend(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::MessagesWrite)?;
    let id = MessageId(path.into_inner());
    let (m, events) = api
        .run(move |app, c| {
            Ok((
                app::messaging::queue::resend(app, c, id)?,
                app::messaging::compose::events(app, c, id)?,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(message_json(m, events)))
}

/// Give up on a queued, failed or unknown message.
#[utoipa::path(post, path = "/api/v1/messages/{message_id}/drop", tag = "messages",
    params(("message_id" = i64, Path, description = "Message id")),
    responses((status = 200, body = MessageJson), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = ["messages:write"])))]
pub async fn drop_message(api: ApiCaller, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    api.require(Scope::MessagesWrite)?;
    let id = MessageId(path.into_inner());
    let (m, events) = api
        .run(move |app, c| {
            Ok((
                app::messaging::queue::drop_message(app, c, id)?,
                app::messaging::compose::events(app, c, id)?,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(message_json(m, events)))
}
