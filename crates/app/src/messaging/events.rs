//! What providers tell pi-crm about messages: Mailgun's signed events, and a person's
//! unsubscribe. Each delivery is applied exactly once: its event id is recorded under a UNIQUE
//! key in the same transaction as its effect (message status, the contact's log, the
//! suppression list), so a repeat answers success and changes nothing.

use chrono::{DateTime, TimeZone, Utc};
use domain::audit::{Actor, NewAuditEntry};
use domain::contact_log::{LogKind, NewLogEntry};
use domain::ids::{ContactId, MessageId, WorkspaceId};
use domain::messaging::{Channel, Message, MessageStatus, SuppressionReason};
use integrations::webhooks::{SignatureError, verify_mailgun};
use serde::Deserialize;

use crate::messaging::compose::{recipient_of, unsubscribe_link_valid};
use crate::messaging::providers;
use crate::{App, AppError};

/// How a webhook delivery went, for the HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Applied now.
    Applied,
    /// Seen before, or about nothing pi-crm sent: nothing changed.
    Ignored,
    /// Not from the provider (bad signature, stale, replayed token): answer 406 so Mailgun
    /// does not retry, and change nothing.
    Rejected(String),
}

#[derive(Deserialize)]
struct Signature {
    timestamp: serde_json::Value,
    token: String,
    signature: String,
}

#[derive(Deserialize)]
struct MailgunBody {
    signature: Signature,
    #[serde(rename = "event-data")]
    event: MailgunEvent,
}

#[derive(Deserialize)]
struct MailgunEvent {
    id: String,
    event: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    recipient: Option<String>,
    #[serde(default)]
    timestamp: Option<f64>,
    #[serde(default, rename = "user-variables")]
    user_variables: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default, rename = "delivery-status")]
    delivery_status: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<serde_json::Value>,
}

fn job() -> Actor {
    Actor::Job {
        name: "mailgun-webhook".into(),
    }
}

/// Applies one Mailgun webhook delivery for workspace `ws`.
pub fn mailgun(
    app: &App,
    ws: WorkspaceId,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<WebhookOutcome, AppError> {
    let Some(key) = providers::mailgun_signing_key(app, ws).unwrap_or(None) else {
        return Ok(WebhookOutcome::Rejected(
            "this workspace does not send through Mailgun".into(),
        ));
    };
    let parsed: MailgunBody = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(_) => {
            return Ok(WebhookOutcome::Rejected(
                "the body is not a Mailgun event".into(),
            ));
        }
    };
    let timestamp = match &parsed.signature.timestamp {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if let Err(e) = verify_mailgun(
        &key,
        &timestamp,
        &parsed.signature.token,
        &parsed.signature.signature,
        now.timestamp(),
    ) {
        let why = match e {
            SignatureError::Stale => "the timestamp is too old",
            _ => "the signature does not match",
        };
        return Ok(WebhookOutcome::Rejected(why.into()));
    }
    let event = parsed.event;
    let token = parsed.signature.token;
    app.db()
        .write(|conn| {
            let event_key = format!("{}:{}", ws.0, event.id);
            if !storage::webhook_receipts::record(conn, "mailgun", &event_key, now)? {
                return Ok(WebhookOutcome::Ignored);
            }
            if !storage::webhook_receipts::record(conn, "mailgun-token", &token, now)? {
                // A fresh event under a token already used: a replay. Roll back the receipt.
                return Err(AppError::Conflict {
                    field: "token",
                    message: "replayed token".into(),
                });
            }
            let Some(message) = find_message(conn, ws, &event)? else {
                return Ok(WebhookOutcome::Ignored);
            };
            let at = event
                .timestamp
                .and_then(|t| Utc.timestamp_opt(t as i64, 0).single())
                .unwrap_or(now);
            apply(conn, &message, &event, at, now)?;
            storage::audit::insert(
                conn,
                &NewAuditEntry::new(job(), "message.event", "message")
                    .workspace(ws)
                    .entity(message.id)
                    .after(
                        &serde_json::json!({ "event": event.event, "severity": event.severity }),
                    ),
                now,
            )?;
            Ok(WebhookOutcome::Applied)
        })
        .or_else(|e| match e {
            AppError::Conflict { field: "token", .. } => Ok(WebhookOutcome::Rejected(
                "the token was used before (a replay)".into(),
            )),
            other => Err(other),
        })
}

/// The message an event is about: by pi-crm's own id in the user variables (works for
/// messages whose send outcome is unknown), else by Mailgun's message id.
fn find_message(
    conn: &mut storage::Conn,
    ws: WorkspaceId,
    event: &MailgunEvent,
) -> Result<Option<Message>, AppError> {
    let ours = event
        .user_variables
        .get("pi_crm_message_id")
        .and_then(|v| match v {
            serde_json::Value::String(s) => s.parse::<i64>().ok(),
            serde_json::Value::Number(n) => n.as_i64(),
            _ => None,
        });
    if let Some(id) = ours {
        match storage::messages::get_any(conn, MessageId(id)) {
            Ok(m) if m.workspace_id == ws && m.channel == Channel::Email => return Ok(Some(m)),
            Ok(_) | Err(storage::StorageError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let provider_id = event
        .message
        .as_ref()
        .and_then(|m| m.get("headers")?.get("message-id")?.as_str())
        .map(|s| {
            s.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        });
    if let Some(pid) = provider_id
        && let Some(m) = storage::messages::find_by_provider_id(conn, "mailgun", &pid)?
        && m.workspace_id == ws
    {
        return Ok(Some(m));
    }
    Ok(None)
}

fn apply(
    conn: &mut storage::Conn,
    message: &Message,
    event: &MailgunEvent,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    // Any event proves the message left: an unknown one becomes sent.
    if message.status == MessageStatus::Unknown {
        storage::messages::transition(
            conn,
            message.id,
            &[MessageStatus::Unknown],
            MessageStatus::Sent,
            now,
        )?;
        storage::messages::add_event(
            conn,
            message.id,
            "sent",
            "confirmed by Mailgun's events",
            at,
        )?;
        if let Some(pid) = event
            .message
            .as_ref()
            .and_then(|m| m.get("headers")?.get("message-id")?.as_str())
        {
            storage::messages::set_provider_id(conn, message.id, pid)?;
        }
    }
    let address = event
        .recipient
        .clone()
        .unwrap_or_else(|| message.recipient.clone())
        .to_lowercase();
    let description = event
        .delivery_status
        .as_ref()
        .and_then(|d| {
            d.get("description")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .or_else(|| d.get("message").and_then(|v| v.as_str()))
        })
        .unwrap_or("")
        .to_owned();
    let subject = &message.subject;
    let log = |conn: &mut storage::Conn, summary: String, body: String| -> Result<(), AppError> {
        storage::contact_log::insert(
            conn,
            message.contact_id,
            &NewLogEntry::new(LogKind::Email, summary, at)
                .body(body)
                .meta(serde_json::json!({ "message_id": message.id, "event": event.event })),
            None,
            now,
        )?;
        storage::contacts::reindex(conn, message.contact_id)?;
        Ok(())
    };
    let sent_states = [MessageStatus::Sent, MessageStatus::Unknown];
    match (event.event.as_str(), event.severity.as_deref()) {
        ("delivered", _) => {
            storage::messages::transition(
                conn,
                message.id,
                &sent_states,
                MessageStatus::Delivered,
                now,
            )?;
            storage::messages::add_event(conn, message.id, "delivered", &description, at)?;
            log(conn, format!("Email delivered: {subject}"), String::new())?;
        }
        ("opened", _) => {
            let first = !storage::messages::events(conn, message.id)?
                .iter()
                .any(|e| e.kind == "opened");
            storage::messages::add_event(conn, message.id, "opened", "", at)?;
            if first {
                log(conn, format!("Email opened: {subject}"), String::new())?;
            }
        }
        ("clicked", _) => {
            let url = event.url.clone().unwrap_or_default();
            storage::messages::add_event(conn, message.id, "clicked", &url, at)?;
            log(conn, format!("Link clicked in: {subject}"), url)?;
        }
        ("failed", Some("permanent")) => {
            storage::messages::transition(
                conn,
                message.id,
                &[
                    MessageStatus::Sent,
                    MessageStatus::Unknown,
                    MessageStatus::Delivered,
                ],
                MessageStatus::Bounced,
                now,
            )?;
            let why = if description.is_empty() {
                event
                    .reason
                    .clone()
                    .unwrap_or_else(|| "the address does not take mail".into())
            } else {
                description.clone()
            };
            storage::messages::add_event(conn, message.id, "bounced", &why, at)?;
            storage::suppressions::add(
                conn,
                message.workspace_id,
                Channel::Email,
                &address,
                SuppressionReason::Bounced,
                now,
            )?;
            log(conn, format!("Email bounced: {subject}"), why)?;
        }
        ("failed", _) => {
            storage::messages::add_event(conn, message.id, "deferred", &description, at)?;
        }
        ("unsubscribed", _) => {
            storage::messages::add_event(conn, message.id, "unsubscribed", "", at)?;
            storage::suppressions::add(
                conn,
                message.workspace_id,
                Channel::Email,
                &address,
                SuppressionReason::Unsubscribed,
                now,
            )?;
            log(
                conn,
                "Unsubscribed from email".into(),
                format!("through: {subject}"),
            )?;
        }
        ("complained", _) => {
            storage::messages::add_event(conn, message.id, "complained", "", at)?;
            storage::suppressions::add(
                conn,
                message.workspace_id,
                Channel::Email,
                &address,
                SuppressionReason::Complained,
                now,
            )?;
            log(
                conn,
                "Marked an email as spam".into(),
                format!("about: {subject}"),
            )?;
        }
        (other, _) => {
            storage::messages::add_event(conn, message.id, other, "", at)?;
        }
    }
    Ok(())
}

/// A person (or their mail program, by one click) unsubscribes through a signed link. Answers
/// the contact's display name; a repeat changes nothing.
pub fn unsubscribe(
    app: &App,
    ws: WorkspaceId,
    contact: ContactId,
    signature: &str,
) -> Result<String, AppError> {
    if !unsubscribe_link_valid(app, ws, contact, signature) {
        return Err(AppError::NotFound);
    }
    let now = Utc::now();
    app.db().write(|conn| {
        let Some(c) = storage::contacts::load(conn, &[contact])?.pop() else {
            return Err(AppError::NotFound);
        };
        if c.workspace_id != ws {
            return Err(AppError::NotFound);
        }
        if let Some(address) = recipient_of(&c, Channel::Email)
            && storage::suppressions::add(
                conn,
                ws,
                Channel::Email,
                &address,
                SuppressionReason::Unsubscribed,
                now,
            )?
        {
            storage::contact_log::insert(
                conn,
                contact,
                &NewLogEntry::new(LogKind::Email, "Unsubscribed from email", now)
                    .body("through the unsubscribe link"),
                None,
                now,
            )?;
            storage::contacts::reindex(conn, contact)?;
            storage::audit::insert(
                conn,
                &NewAuditEntry::new(Actor::Anonymous, "contact.unsubscribe", "contact")
                    .workspace(ws)
                    .entity(contact),
                now,
            )?;
        }
        Ok(c.first_name.clone())
    })
}

/// The pinned notices a contact's page shows about messaging ("Email bounced",
/// "Unsubscribed", "Texts: replied STOP").
pub fn notices(
    conn: &mut storage::Conn,
    c: &domain::contact::Contact,
) -> Result<Vec<String>, AppError> {
    let mut out = Vec::new();
    if storage::contacts::do_not_contact(conn, c.id)? {
        out.push("Do Not Contact".to_owned());
    }
    for channel in [Channel::Email, Channel::Sms] {
        if let Some(address) = recipient_of(c, channel)
            && let Some((reason, _)) =
                storage::suppressions::find(conn, c.workspace_id, channel, &address)?
        {
            out.push(
                match reason {
                    SuppressionReason::Bounced => "Email bounced",
                    SuppressionReason::Unsubscribed => "Unsubscribed",
                    SuppressionReason::Complained => "Marked email as spam",
                    SuppressionReason::OptedOut => "Texts: replied STOP",
                }
                .to_owned(),
            );
        }
    }
    Ok(out)
}

/// [`notices`] for a contact of the caller's.
pub fn contact_notices(
    app: &App,
    caller: &crate::Caller,
    id: ContactId,
) -> Result<Vec<String>, AppError> {
    app.db().read(|conn| {
        let contact = storage::contacts::get(conn, caller.user_id, id)?;
        notices(conn, &contact)
    })
}
