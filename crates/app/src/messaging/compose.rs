//! Writing to contacts: placeholders filled from the contact, a preview, the checks that stop
//! a message to someone who must not get it, and queueing (one row per message and recipient,
//! so a repeated request cannot queue it twice).

use chrono::Utc;
use domain::contact::Contact;
use domain::contact_log::LogKind;
use domain::field_definition::CustomFieldDef;
use domain::ids::{ContactId, MessageId, UserId, WorkspaceId};
use domain::messaging::{Channel, Message, NewMessage};
use domain::placeholders;
use domain::validation::ValidationError;
use domain::workspace::Workspace;
use serde::Serialize;
use storage::Conn;

use crate::messaging::providers;
use crate::secrets::random_token;
use crate::{App, AppError, Caller};

/// What a person wrote, before it is filled in for each contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub channel: Channel,
    pub subject: String,
    pub body: String,
}

/// A draft filled in for one contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rendered {
    pub channel: Channel,
    pub recipient: Option<String>,
    pub subject: String,
    pub body: String,
    /// Why this contact cannot get it, in words; `None` when it can be sent.
    pub blocked: Option<String>,
}

/// A contact left out of a send, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    pub contact_id: ContactId,
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulkOutcome {
    pub queued: usize,
    /// Already queued by an earlier submission of the same form.
    pub already: usize,
    pub skipped: Vec<Skipped>,
}

pub const BASE_PLACEHOLDERS: &[&str] = &[
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "company",
    "stage",
];

const MAX_SUBJECT: usize = 300;
// Within what a browser form may post (64 KiB) even with accented text.
const MAX_EMAIL_BODY: usize = 20_000;
const MAX_TEXT_BODY: usize = 1_600;

/// The value a placeholder takes for a contact: a base field, or a custom field by name (or
/// its label, ignoring case).
pub fn placeholder_value(contact: &Contact, name: &str) -> Option<String> {
    let base = match name {
        "first_name" => Some(contact.first_name.clone()),
        "last_name" => Some(contact.last_name.clone()),
        "full_name" | "name" => Some(
            format!("{} {}", contact.first_name, contact.last_name)
                .trim()
                .to_owned(),
        ),
        "email" | "primary_email" => contact
            .primary_email
            .as_ref()
            .map(|e| e.as_str().to_owned()),
        "phone" | "primary_phone" => contact.primary_phone.as_ref().map(|p| p.display()),
        "company" => Some(contact.company.clone()),
        "stage" => Some(contact.primary_list.name.clone()),
        _ => None,
    };
    if base.is_some() {
        return base;
    }
    contact
        .custom
        .iter()
        .find(|v| v.name.as_str() == name || v.label.eq_ignore_ascii_case(name))
        .map(|v| v.value.display())
}

fn known(fields: &[CustomFieldDef], name: &str) -> bool {
    BASE_PLACEHOLDERS.contains(&name)
        || matches!(name, "name" | "primary_email" | "primary_phone")
        || fields
            .iter()
            .any(|f| f.name.as_str() == name || f.label.eq_ignore_ascii_case(name))
}

/// Checks a draft before anything is filled in or queued.
pub fn check_draft(draft: &Draft, fields: &[CustomFieldDef]) -> Result<(), ValidationError> {
    if draft.channel == Channel::Email {
        if draft.subject.trim().is_empty() {
            return Err(ValidationError::new("subject", "Give the email a subject."));
        }
        if draft.subject.chars().count() > MAX_SUBJECT || draft.subject.contains(['\r', '\n']) {
            return Err(ValidationError::new(
                "subject",
                "Keep the subject to one line of at most 300 characters.",
            ));
        }
    }
    if draft.body.trim().is_empty() {
        return Err(ValidationError::new("body", "Write the message first."));
    }
    let max = match draft.channel {
        Channel::Email => MAX_EMAIL_BODY,
        Channel::Sms => MAX_TEXT_BODY,
    };
    if draft.body.chars().count() > max {
        return Err(ValidationError::new(
            "body",
            format!("The message is too long: keep it under {max} characters."),
        ));
    }
    let mut unknown = placeholders::unknown_names(&draft.subject, |n| known(fields, n));
    for name in placeholders::unknown_names(&draft.body, |n| known(fields, n)) {
        if !unknown.contains(&name) {
            unknown.push(name);
        }
    }
    if let Some(first) = unknown.first() {
        let field = if placeholders::unknown_names(&draft.subject, |n| known(fields, n)).is_empty()
        {
            "body"
        } else {
            "subject"
        };
        return Err(ValidationError::new(
            field,
            format!(
                "{{{{{first}}}}} is not a field of these contacts: use one of {}, or a custom field's name.",
                BASE_PLACEHOLDERS
                    .iter()
                    .map(|n| format!("{{{{{n}}}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(())
}

/// Why `contact` must not get a message on `channel` now, in words; `None` if it may.
pub fn blocked_reason(
    conn: &mut Conn,
    contact: &Contact,
    channel: Channel,
) -> Result<Option<String>, AppError> {
    let name = contact.display_name();
    if contact.deleted_at.is_some() {
        return Ok(Some(format!("{name} is in the trash.")));
    }
    if storage::contacts::do_not_contact(conn, contact.id)? {
        return Ok(Some(format!("{name} is marked Do Not Contact.")));
    }
    let Some(address) = recipient_of(contact, channel) else {
        return Ok(Some(match channel {
            Channel::Email => format!("{name} has no email address."),
            Channel::Sms => format!("{name} has no phone number."),
        }));
    };
    if let Some((reason, _)) =
        storage::suppressions::find(conn, contact.workspace_id, channel, &address)?
    {
        return Ok(Some(format!("{name} {}.", reason.why_not_sent())));
    }
    Ok(None)
}

/// The address a message on `channel` goes to: the lower-cased email or the E.164 phone.
pub fn recipient_of(contact: &Contact, channel: Channel) -> Option<String> {
    match channel {
        Channel::Email => contact.primary_email.as_ref().map(|e| e.normalized()),
        Channel::Sms => contact
            .primary_phone
            .as_ref()
            .map(|p| p.as_str().to_owned()),
    }
}

fn render(contact: &Contact, draft: &Draft) -> (String, String) {
    let value = |name: &str| placeholder_value(contact, name);
    (
        placeholders::render(&draft.subject, value),
        placeholders::render(&draft.body, value),
    )
}

/// The draft filled in for one contact, with the reason it cannot be sent if there is one.
pub fn preview(
    app: &App,
    caller: &Caller,
    id: ContactId,
    draft: &Draft,
) -> Result<Rendered, AppError> {
    app.db().read(|conn| {
        let contact = storage::contacts::get(conn, caller.user_id, id)?;
        let fields =
            storage::custom_fields::for_workspace(conn, caller.user_id, contact.workspace_id)?;
        check_draft(draft, &fields)?;
        let (subject, body) = render(&contact, draft);
        Ok(Rendered {
            channel: draft.channel,
            recipient: recipient_of(&contact, draft.channel),
            subject,
            body,
            blocked: blocked_reason(conn, &contact, draft.channel)?,
        })
    })
}

/// The signed address of a contact's unsubscribe page (also the one-click endpoint).
pub fn unsubscribe_url(app: &App, ws: WorkspaceId, contact: ContactId) -> String {
    let base = app.settings().public_base();
    let signature = app
        .secrets()
        .sign("unsubscribe", format!("{}:{}", ws.0, contact.0).as_bytes());
    format!(
        "{}/u/{}/{}/{}",
        base.trim_end_matches('/'),
        ws.0,
        contact.0,
        signature
    )
}

/// Checks an unsubscribe link's signature.
pub fn unsubscribe_link_valid(app: &App, ws: WorkspaceId, contact: ContactId, sig: &str) -> bool {
    app.secrets().verify(
        "unsubscribe",
        format!("{}:{}", ws.0, contact.0).as_bytes(),
        sig,
    )
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Plain text as simple HTML: paragraphs on blank lines, line breaks kept.
fn text_to_html(text: &str) -> String {
    let paragraphs: Vec<String> = text
        .replace("\r\n", "\n")
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", escape_html(p.trim()).replace('\n', "<br>\n")))
        .collect();
    format!(
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif;line-height:1.5\">\n{}\n</body></html>",
        paragraphs.join("\n")
    )
}

/// Builds the message for one contact: filled-in text, HTML, headers, footer for marketing
/// mail (postal address and unsubscribe link).
/// One send of a draft: what makes it unique, and whether it is marketing mail.
struct Sending<'a> {
    draft: &'a Draft,
    dedupe_key: &'a str,
    marketing: bool,
}

fn build(
    app: &App,
    workspace: &Workspace,
    sender_from: &str,
    contact: &Contact,
    recipient: String,
    sending: &Sending<'_>,
) -> NewMessage {
    let Sending {
        draft,
        dedupe_key,
        marketing,
    } = *sending;
    let (subject, mut body) = render(contact, draft);
    let mut headers = Vec::new();
    let mut html = None;
    let mut rfc_message_id = None;
    if draft.channel == Channel::Email {
        let domain = sender_from
            .rsplit('@')
            .next()
            .unwrap_or("pi-crm.invalid")
            .trim_end_matches('>')
            .trim();
        let id = format!("pi-crm.{}@{}", random_token(18), domain);
        headers.push(("Message-ID".to_owned(), format!("<{id}>")));
        rfc_message_id = Some(id);
        let mut html_body = text_to_html(&body);
        if marketing {
            let url = unsubscribe_url(app, workspace.id, contact.id);
            headers.push(("List-Unsubscribe".to_owned(), format!("<{url}>")));
            headers.push((
                "List-Unsubscribe-Post".to_owned(),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
            let address = workspace.postal_address.trim();
            body.push_str(&format!(
                "\n\n--\n{}\n{}\nUnsubscribe: {url}\n",
                workspace.name.as_str(),
                address
            ));
            let footer = format!(
                "<hr><p style=\"font-size:12px;color:#555\">{}<br>{}<br><a href=\"{}\">Unsubscribe</a></p>",
                escape_html(workspace.name.as_str()),
                escape_html(address).replace('\n', "<br>"),
                escape_html(&url)
            );
            html_body = html_body.replace("\n</body>", &format!("\n{footer}\n</body>"));
        }
        html = Some(html_body);
    }
    NewMessage {
        contact_id: contact.id,
        channel: draft.channel,
        dedupe_key: dedupe_key.to_owned(),
        recipient,
        subject,
        body_text: body,
        body_html: html,
        marketing,
        headers,
        rfc_message_id,
    }
}

/// Queues a message to one contact. A second call with the same `dedupe_key` answers the
/// message queued the first time. Refused, with the reason, when the contact must not get it.
pub fn queue_for_contact(
    app: &App,
    caller: &Caller,
    id: ContactId,
    draft: &Draft,
    dedupe_key: &str,
    marketing: bool,
) -> Result<Message, AppError> {
    let contact = app
        .db()
        .read(|c| storage::contacts::get(c, caller.user_id, id))?;
    let sender_from = sender_from(app, contact.workspace_id, draft.channel, caller.user_id)?;
    let now = Utc::now();
    let id = app.db().write(|conn| {
        let workspace = storage::workspaces::get(conn, caller.user_id, contact.workspace_id)?;
        let fields = storage::custom_fields::for_workspace(conn, caller.user_id, workspace.id)?;
        check_draft(draft, &fields)?;
        if let Some(reason) = blocked_reason(conn, &contact, draft.channel)? {
            return Err(AppError::Conflict {
                field: "contact",
                message: format!("Not sent: {reason}"),
            });
        }
        let recipient = recipient_of(&contact, draft.channel).unwrap_or_default();
        let sending = Sending {
            draft,
            dedupe_key,
            marketing,
        };
        let new = build(app, &workspace, &sender_from, &contact, recipient, &sending);
        let (id, created) =
            storage::messages::insert(conn, workspace.id, Some(caller.user_id), &new, now, now)?;
        if created {
            storage::messages::add_event(conn, id, "queued", "", now)?;
            storage::audit::insert(
                conn,
                &caller
                    .audit("message.queue", "message")
                    .workspace(workspace.id)
                    .entity(id)
                    .after(&serde_json::json!({
                        "contact_id": contact.id,
                        "channel": draft.channel.as_str(),
                    })),
                now,
            )?;
        }
        Ok::<_, AppError>(id)
    })?;
    app.queue_signal().notify();
    get(app, caller, id)
}

/// Queues the same draft to many contacts of one workspace (a selection, or all matching),
/// skipping, with the reason, those who must not get it.
pub fn queue_for_many(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    ids: &[ContactId],
    draft: &Draft,
    dedupe_key: &str,
) -> Result<BulkOutcome, AppError> {
    let sender_from = sender_from(app, ws, draft.channel, caller.user_id)?;
    let now = Utc::now();
    let mut outcome = BulkOutcome {
        queued: 0,
        already: 0,
        skipped: Vec::new(),
    };
    // In chunks, so a send to thousands does not hold the write lock for long.
    for chunk in ids.chunks(500) {
        app.db().write(|conn| {
            let workspace = storage::workspaces::get(conn, caller.user_id, ws)?;
            let fields = storage::custom_fields::for_workspace(conn, caller.user_id, ws)?;
            check_draft(draft, &fields)?;
            for contact in storage::contacts::load(conn, chunk)? {
                if contact.workspace_id != ws {
                    continue;
                }
                if let Some(reason) = blocked_reason(conn, &contact, draft.channel)? {
                    outcome.skipped.push(Skipped {
                        contact_id: contact.id,
                        name: contact.display_name(),
                        reason,
                    });
                    continue;
                }
                let recipient = recipient_of(&contact, draft.channel).unwrap_or_default();
                let sending = Sending {
                    draft,
                    dedupe_key,
                    marketing: true,
                };
                let new = build(app, &workspace, &sender_from, &contact, recipient, &sending);
                let (id, created) =
                    storage::messages::insert(conn, ws, Some(caller.user_id), &new, now, now)?;
                if created {
                    storage::messages::add_event(conn, id, "queued", "", now)?;
                    outcome.queued += 1;
                } else {
                    outcome.already += 1;
                }
            }
            storage::audit::insert(
                conn,
                &caller
                    .audit("message.queue_many", "workspace")
                    .workspace(ws)
                    .entity(ws)
                    .after(&serde_json::json!({
                        "channel": draft.channel.as_str(),
                        "contacts": chunk.len(),
                    })),
                now,
            )?;
            Ok::<_, AppError>(())
        })?;
    }
    app.queue_signal().notify();
    Ok(outcome)
}

/// Who would get a send to these contacts and who would be skipped, before anything is queued.
pub fn plan_for_many(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    ids: &[ContactId],
    channel: Channel,
) -> Result<(usize, Vec<Skipped>), AppError> {
    app.db().read(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        let mut eligible = 0;
        let mut skipped = Vec::new();
        for chunk in ids.chunks(500) {
            for contact in storage::contacts::load(conn, chunk)? {
                if contact.workspace_id != ws {
                    continue;
                }
                match blocked_reason(conn, &contact, channel)? {
                    Some(reason) => skipped.push(Skipped {
                        contact_id: contact.id,
                        name: contact.display_name(),
                        reason,
                    }),
                    None => eligible += 1,
                }
            }
        }
        Ok((eligible, skipped))
    })
}

fn sender_from(
    app: &App,
    ws: WorkspaceId,
    channel: Channel,
    user: UserId,
) -> Result<String, AppError> {
    Ok(match channel {
        Channel::Email => providers::email_sender(app, ws)?.from().to_owned(),
        Channel::Sms => providers::sms_sender(app, user)?
            .map(|s| s.from_number)
            .unwrap_or_else(|| "outbox".into()),
    })
}

/// A message of the caller's, with what happened to it.
pub fn get(app: &App, caller: &Caller, id: MessageId) -> Result<Message, AppError> {
    Ok(app
        .db()
        .read(|c| storage::messages::get(c, caller.user_id, id))?)
}

pub fn events(
    app: &App,
    caller: &Caller,
    id: MessageId,
) -> Result<Vec<domain::messaging::MessageEvent>, AppError> {
    app.db().read(|c| {
        storage::messages::get(c, caller.user_id, id)?;
        Ok(storage::messages::events(c, id)?)
    })
}

/// The log kind for a channel.
pub fn log_kind(channel: Channel) -> LogKind {
    match channel {
        Channel::Email => LogKind::Email,
        Channel::Sms => LogKind::Text,
    }
}

/// Marks a contact Do Not Contact (no email, no text from any workspace send) or clears it;
/// the change goes in the contact's log.
pub fn set_do_not_contact(
    app: &App,
    caller: &Caller,
    id: ContactId,
    value: bool,
) -> Result<(), AppError> {
    let now = Utc::now();
    app.db().write(|conn| {
        let contact = storage::contacts::get(conn, caller.user_id, id)?;
        if storage::contacts::do_not_contact(conn, id)? == value {
            return Ok(());
        }
        storage::contacts::set_do_not_contact(conn, id, value)?;
        storage::contact_log::insert(
            conn,
            id,
            &domain::contact_log::NewLogEntry::new(
                LogKind::System,
                if value {
                    "Marked Do Not Contact"
                } else {
                    "Do Not Contact cleared"
                },
                now,
            ),
            Some(caller.user_id),
            now,
        )?;
        storage::contacts::reindex(conn, id)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("contact.do_not_contact", "contact")
                .workspace(contact.workspace_id)
                .entity(id)
                .after(&serde_json::json!({ "do_not_contact": value })),
            now,
        )?;
        Ok::<_, AppError>(())
    })
}
