//! Texts coming back through Twilio's webhooks: replies (logged on the contact with that
//! number, or listed as needing attention), STOP and START (the user's own opt-out list, kept
//! whatever Twilio does), HELP (answered with the workspace's help text), and status callbacks
//! for texts we sent. Each webhook is checked against `X-Twilio-Signature` over the public URL
//! Twilio called, and applied once.

use chrono::{DateTime, Utc};
use domain::audit::{Actor, NewAuditEntry};
use domain::contact_log::{LogKind, NewLogEntry};
use domain::ids::{ContactId, UserId};
use domain::messaging::{Channel, MessageStatus, SuppressionReason, TextKeyword, text_keyword};
use integrations::webhooks::verify_twilio;

use crate::messaging::providers::{self, SmsSender};
use crate::{App, AppError, Caller};

/// How a Twilio webhook went, for the HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioOutcome {
    /// Accepted; answer TwiML, with this reply text if any.
    Reply(Option<String>),
    /// Not from Twilio, or about nothing we know: answer 403 and change nothing.
    Rejected(String),
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn job() -> Actor {
    Actor::Job {
        name: "twilio-webhook".into(),
    }
}

/// Checks the signature with `sender`'s token over the public URL this path was called at.
fn signed(
    app: &App,
    sender: &SmsSender,
    path_and_query: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    let Some(base) = sender
        .public_url
        .clone()
        .or_else(|| app.settings().public_url.clone())
    else {
        return false;
    };
    let url = format!("{}{}", base.trim_end_matches('/'), path_and_query);
    verify_twilio(&sender.auth_token, &url, params, signature).is_ok()
}

fn log_text(
    conn: &mut storage::Conn,
    contact: ContactId,
    summary: &str,
    body: &str,
    meta: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    storage::contact_log::insert(
        conn,
        contact,
        &NewLogEntry::new(LogKind::Text, summary, now)
            .body(body)
            .meta(meta),
        None,
        now,
    )?;
    storage::contacts::reindex(conn, contact)?;
    Ok(())
}

/// `POST /webhooks/twilio/sms`: a text someone sent to one of our users' numbers.
pub fn inbound(
    app: &App,
    path_and_query: &str,
    params: &[(String, String)],
    signature: &str,
    now: DateTime<Utc>,
) -> Result<TwilioOutcome, AppError> {
    let (Some(sid), Some(from), Some(to)) = (
        param(params, "MessageSid"),
        param(params, "From"),
        param(params, "To"),
    ) else {
        return Ok(TwilioOutcome::Rejected("not a Twilio message".into()));
    };
    let body = param(params, "Body").unwrap_or("");
    let Some((owner, sender)) = providers::sms_owner_of_number(app, to)? else {
        return Ok(TwilioOutcome::Rejected("no user has this number".into()));
    };
    if !signed(app, &sender, path_and_query, params, signature) {
        return Ok(TwilioOutcome::Rejected(
            "the signature does not match".into(),
        ));
    }
    app.db().write(|conn| {
        if !storage::webhook_receipts::record(conn, "twilio", sid, now)? {
            return Ok(TwilioOutcome::Reply(None));
        }
        let contacts = storage::contacts::with_phone(conn, owner, from)?;
        let workspaces = storage::workspaces::ids_for_owner(conn, owner)?;
        let meta = serde_json::json!({ "from": from, "message_sid": sid });
        let keyword = text_keyword(body);
        let reply = match keyword {
            Some(TextKeyword::OptOut) => {
                for ws in &workspaces {
                    storage::suppressions::add(
                        conn,
                        *ws,
                        Channel::Sms,
                        from,
                        SuppressionReason::OptedOut,
                        now,
                    )?;
                }
                for c in &contacts {
                    log_text(conn, *c, "Asked for no more texts", body, meta.clone(), now)?;
                }
                // Twilio confirms its own keywords; a plain-language request gets one
                // confirmation from us, as the rules allow.
                let carrier_keyword = body.split_whitespace().count() <= 2;
                (!carrier_keyword)
                    .then(|| "You will not get more texts from us. Reply START to undo.".to_owned())
            }
            Some(TextKeyword::OptIn) => {
                for ws in &workspaces {
                    storage::suppressions::remove(conn, *ws, Channel::Sms, from)?;
                }
                for c in &contacts {
                    log_text(
                        conn,
                        *c,
                        "Texts allowed again (START)",
                        body,
                        meta.clone(),
                        now,
                    )?;
                }
                None
            }
            Some(TextKeyword::Help) => {
                for c in &contacts {
                    log_text(conn, *c, "Asked for HELP", body, meta.clone(), now)?;
                }
                Some(help_text(conn, owner, &contacts)?)
            }
            None => {
                let first = contacts.first().copied();
                let workspace = match first {
                    Some(c) => storage::contacts::load(conn, &[c])?
                        .pop()
                        .map(|c| c.workspace_id),
                    None => None,
                };
                let id = storage::inbound::insert(
                    conn,
                    &storage::inbound::NewInbound {
                        user: owner,
                        workspace,
                        contact: first,
                        channel: Channel::Sms,
                        provider_message_id: sid,
                        sender: from,
                        recipient: to,
                        body,
                    },
                    now,
                )?;
                for c in &contacts {
                    let mut meta = meta.clone();
                    meta["inbound_id"] = serde_json::json!(id);
                    log_text(conn, *c, "Text received", body, meta, now)?;
                }
                None
            }
        };
        storage::audit::insert(
            conn,
            &NewAuditEntry::new(job(), "text.received", "inbound_message")
                .owner(Some(owner))
                .after(&serde_json::json!({
                    "keyword": keyword.map(|k| format!("{k:?}")),
                    "contacts": contacts.len(),
                })),
            now,
        )?;
        Ok::<_, AppError>(TwilioOutcome::Reply(reply))
    })
}

/// The HELP answer: the help text of the workspace the texter is a contact of, else the
/// user's first workspace that has one.
fn help_text(
    conn: &mut storage::Conn,
    owner: UserId,
    contacts: &[ContactId],
) -> Result<String, AppError> {
    let mut candidates = Vec::new();
    for c in storage::contacts::load(conn, contacts)? {
        candidates.push(c.workspace_id);
    }
    candidates.extend(storage::workspaces::ids_for_owner(conn, owner)?);
    for ws in candidates {
        let w = storage::workspaces::get(conn, owner, ws)?;
        if !w.help_text.trim().is_empty() {
            return Ok(w.help_text.trim().to_owned());
        }
    }
    Ok("Reply STOP to stop texts, START to get them again.".to_owned())
}

/// What a Twilio error code means, for a person.
fn text_error(code: &str) -> String {
    let meaning = match code {
        "30003" => "the phone is unreachable or off",
        "30004" => "the recipient blocked texts",
        "30005" => "the number does not exist",
        "30006" => "the number cannot take texts (a landline?)",
        "30007" => "the carrier filtered it as spam",
        "30008" => "an unknown carrier error",
        "30034" => "the sending number is not registered for US texting (A2P 10DLC)",
        _ => "the carrier did not take it",
    };
    format!("Twilio could not deliver the text (error {code}: {meaning}).")
}

/// `POST /webhooks/twilio/status`: what became of a text we sent.
pub fn status(
    app: &App,
    path_and_query: &str,
    params: &[(String, String)],
    signature: &str,
    now: DateTime<Utc>,
) -> Result<TwilioOutcome, AppError> {
    let (Some(sid), Some(status)) = (param(params, "MessageSid"), param(params, "MessageStatus"))
    else {
        return Ok(TwilioOutcome::Rejected(
            "not a Twilio status callback".into(),
        ));
    };
    let Some(message) = app
        .db()
        .read(|c| storage::messages::find_by_provider_id(c, "twilio", sid))?
    else {
        return Ok(TwilioOutcome::Rejected("no text with this SID".into()));
    };
    let owner = app
        .db()
        .read(|c| storage::workspaces::owner_of(c, message.workspace_id))?;
    let Some(sender) = providers::sms_sender(app, owner)? else {
        return Ok(TwilioOutcome::Rejected(
            "the sender has no Twilio settings".into(),
        ));
    };
    if !signed(app, &sender, path_and_query, params, signature) {
        return Ok(TwilioOutcome::Rejected(
            "the signature does not match".into(),
        ));
    }
    app.db().write(|conn| {
        if !storage::webhook_receipts::record(
            conn,
            "twilio-status",
            &format!("{sid}:{status}"),
            now,
        )? {
            return Ok(TwilioOutcome::Reply(None));
        }
        let meta = serde_json::json!({ "message_id": message.id, "status": status });
        match status {
            "delivered" => {
                storage::messages::transition(
                    conn,
                    message.id,
                    &[MessageStatus::Sent, MessageStatus::Unknown],
                    MessageStatus::Delivered,
                    now,
                )?;
                storage::messages::add_event(conn, message.id, "delivered", "", now)?;
                log_text(conn, message.contact_id, "Text delivered", "", meta, now)?;
            }
            "undelivered" | "failed" => {
                let why = text_error(param(params, "ErrorCode").unwrap_or(""));
                storage::messages::transition(
                    conn,
                    message.id,
                    &[
                        MessageStatus::Sent,
                        MessageStatus::Unknown,
                        MessageStatus::Delivered,
                    ],
                    MessageStatus::Failed,
                    now,
                )?;
                storage::messages::set_error(
                    conn,
                    message.id,
                    MessageStatus::Failed,
                    &why,
                    None,
                    now,
                )?;
                storage::messages::add_event(conn, message.id, "failed", &why, now)?;
                log_text(
                    conn,
                    message.contact_id,
                    "Text not delivered",
                    &why,
                    meta,
                    now,
                )?;
            }
            other => {
                storage::messages::transition(
                    conn,
                    message.id,
                    &[MessageStatus::Unknown],
                    MessageStatus::Sent,
                    now,
                )?;
                storage::messages::add_event(conn, message.id, other, "", now)?;
            }
        }
        storage::audit::insert(
            conn,
            &NewAuditEntry::new(job(), "message.event", "message")
                .workspace(message.workspace_id)
                .entity(message.id)
                .after(&serde_json::json!({ "status": status })),
            now,
        )?;
        Ok::<_, AppError>(TwilioOutcome::Reply(None))
    })
}

/// The caller's unread replies (the "needs attention" list).
pub fn unread(
    app: &App,
    caller: &Caller,
) -> Result<Vec<domain::messaging::InboundMessage>, AppError> {
    Ok(app
        .db()
        .read(|c| storage::inbound::unread(c, caller.user_id, 200))?)
}

pub fn unread_count(app: &App, caller: &Caller) -> Result<i64, AppError> {
    Ok(app
        .db()
        .read(|c| storage::inbound::unread_count(c, caller.user_id))?)
}

/// Marks one reply read; another user's is "not found".
pub fn mark_read(app: &App, caller: &Caller, id: i64) -> Result<(), AppError> {
    let now = Utc::now();
    app.db().write(|conn| {
        if !storage::inbound::mark_read(conn, caller.user_id, id, now)? {
            return Err(AppError::NotFound);
        }
        storage::audit::insert(
            conn,
            &caller.audit("inbound.read", "inbound_message").entity(id),
            now,
        )?;
        Ok(())
    })
}

/// Opening a contact's page reads their replies.
pub fn mark_contact_read(app: &App, caller: &Caller, contact: ContactId) -> Result<(), AppError> {
    let unread = app.db().read(|c| {
        storage::contacts::get(c, caller.user_id, contact)?;
        Ok::<_, AppError>(storage::inbound::unread_from(c, contact)?)
    })?;
    if unread == 0 {
        return Ok(());
    }
    let now = Utc::now();
    app.db().write(|conn| {
        storage::inbound::mark_contact_read(conn, caller.user_id, contact, now)?;
        storage::audit::insert(
            conn,
            &caller.audit("inbound.read", "contact").entity(contact),
            now,
        )?;
        Ok(())
    })
}
