//! The send queue's worker: takes due messages one at a time, checks again that the contact
//! may get them (suppression, Do Not Contact, quiet hours for texts), hands them to the
//! provider, and records the outcome with its log entry in one transaction.
//!
//! A message is claimed (`queued` -> `sending`) in its own committed transaction before the
//! provider is called, so a crash between the call and the record leaves it in `sending`;
//! [`recover`] turns those into `unknown` at the next start, for provider events or a person
//! to settle. That is how a crash never sends twice and never drops a message silently.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::audit::{Actor, NewAuditEntry};
use domain::contact_log::NewLogEntry;
use domain::ids::{MessageId, WorkspaceId};
use domain::messaging::{self as dm, Channel, Message, MessageStatus, SuppressionReason};
use integrations::mime::OutgoingEmail;
use integrations::outbound::SendError;
use integrations::twilio::Text;
use rand::Rng;

use crate::messaging::compose::{blocked_reason, log_kind};
use crate::messaging::providers::{self, EmailSender};
use crate::{App, AppError, Caller};

/// After this many attempts a message that keeps failing is given up on.
pub const MAX_ATTEMPTS: i64 = 8;

/// Wakes the worker when a message is queued, so it leaves within a moment.
#[derive(Debug, Default)]
pub struct QueueSignal {
    pending: Mutex<bool>,
    wake: Condvar,
}

impl QueueSignal {
    pub fn notify(&self) {
        if let Ok(mut pending) = self.pending.lock() {
            *pending = true;
            self.wake.notify_all();
        }
    }

    /// Waits until notified or `timeout` passes.
    pub fn wait(&self, timeout: Duration) {
        let Ok(pending) = self.pending.lock() else {
            return;
        };
        if let Ok((mut pending, _)) = self.wake.wait_timeout_while(pending, timeout, |p| !*p) {
            *pending = false;
        }
    }
}

/// Spaces out calls to each provider (Twilio: about one text a second per number).
#[derive(Debug, Default)]
pub struct Pacer {
    last: HashMap<String, Instant>,
}

impl Pacer {
    fn wait_turn(&mut self, provider: &str) {
        let gap = match provider {
            "twilio" => Duration::from_millis(1000),
            "mailgun" => Duration::from_millis(50),
            _ => Duration::ZERO,
        };
        if let Some(last) = self.last.get(provider) {
            let since = last.elapsed();
            if since < gap {
                std::thread::sleep(gap - since);
            }
        }
        self.last.insert(provider.to_owned(), Instant::now());
    }
}

fn job() -> Actor {
    Actor::Job {
        name: "send-queue".into(),
    }
}

/// The wait before the next attempt, after `attempts` tries: what the provider asked for in
/// `Retry-After` (plus a little jitter, so many waiting messages do not return at once), else
/// exponential from 2 s, capped at 30 min, with jitter.
pub fn backoff(attempts: i64, retry_after: Option<Duration>) -> Duration {
    let mut rng = rand::thread_rng();
    if let Some(after) = retry_after {
        let spread = (after.as_millis() as u64 / 4).max(1);
        return after + Duration::from_millis(rng.gen_range(0..=spread));
    }
    let base_ms = 2_000u64
        .saturating_mul(1 << attempts.clamp(0, 12) as u64)
        .min(30 * 60 * 1000);
    Duration::from_millis(base_ms / 2 + rng.gen_range(0..=base_ms / 2))
}

/// At start: messages left in `sending` by a process that stopped become `unknown`.
pub fn recover(app: &App) -> Result<usize, AppError> {
    let now = Utc::now();
    app.db().write(|conn| {
        let ids = storage::messages::in_flight(conn)?;
        for id in &ids {
            storage::messages::transition(
                conn,
                *id,
                &[MessageStatus::Sending],
                MessageStatus::Unknown,
                now,
            )?;
            storage::messages::add_event(
                conn,
                *id,
                "unknown",
                "pi-crm stopped while sending this message: it may or may not have left. \
                 Provider events will settle it; otherwise resend or drop it.",
                now,
            )?;
        }
        if !ids.is_empty() {
            storage::audit::insert(
                conn,
                &NewAuditEntry::new(job(), "message.recover", "message")
                    .after(&serde_json::json!({ "unknown": ids.len() })),
                now,
            )?;
        }
        Ok::<_, AppError>(ids.len())
    })
}

/// Sends what is due now, at most `limit` messages; answers how many were handled.
pub fn run_due(app: &App, pacer: &mut Pacer, limit: i64) -> Result<usize, AppError> {
    let due = app
        .db()
        .read(|c| storage::messages::due(c, Utc::now(), limit))?;
    let count = due.len();
    for message in due {
        process(app, pacer, message)?;
    }
    Ok(count)
}

/// How long the worker may sleep: until the next message falls due, at most `max`.
pub fn sleep_for(app: &App, max: Duration) -> Duration {
    match app.db().read(storage::messages::next_due) {
        Ok(Some(at)) => (at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(max),
        _ => max,
    }
}

enum Route {
    Email(EmailSender),
    Sms(Option<providers::SmsSender>),
}

impl Route {
    fn provider(&self) -> &'static str {
        match self {
            Route::Email(sender) => sender.provider(),
            Route::Sms(Some(_)) => "twilio",
            Route::Sms(None) => "outbox",
        }
    }
}

fn process(app: &App, pacer: &mut Pacer, message: Message) -> Result<(), AppError> {
    let now = Utc::now();
    let owner = app
        .db()
        .read(|c| storage::workspaces::owner_of(c, message.workspace_id))?;
    let route = match message.channel {
        Channel::Email => Route::Email(providers::email_sender(app, message.workspace_id)?),
        Channel::Sms => Route::Sms(providers::sms_sender(app, owner)?),
    };
    // Check again at send time, and claim, in one transaction.
    let claimed = app.db().write(|conn| {
        let Some(contact) = storage::contacts::load(conn, &[message.contact_id])?.pop() else {
            return Ok(false);
        };
        if let Some(reason) = blocked_reason(conn, &contact, message.channel)? {
            if storage::messages::transition(
                conn,
                message.id,
                &[MessageStatus::Queued],
                MessageStatus::Skipped,
                now,
            )? {
                storage::messages::set_error(
                    conn,
                    message.id,
                    MessageStatus::Skipped,
                    &format!("Not sent: {reason}"),
                    None,
                    now,
                )?;
                storage::messages::add_event(conn, message.id, "skipped", &reason, now)?;
                log(
                    conn,
                    &message,
                    &format!("{} not sent", title(message.channel)),
                    &reason,
                    now,
                )?;
            }
            return Ok(false);
        }
        if message.channel == Channel::Sms {
            let workspace = storage::workspaces::get_any(conn, message.workspace_id)?;
            let opens = dm::text_window_opens(now, workspace.time_zone.tz());
            if opens > now {
                storage::messages::requeue(conn, message.id, opens, now)?;
                storage::messages::add_event(
                    conn,
                    message.id,
                    "waiting",
                    &format!(
                        "quiet hours (9 pm to 8 am): waits until {}",
                        opens.to_rfc3339()
                    ),
                    now,
                )?;
                return Ok(false);
            }
        }
        Ok::<_, AppError>(storage::messages::claim(
            conn,
            message.id,
            route.provider(),
            now,
        )?)
    })?;
    if !claimed {
        return Ok(());
    }
    pacer.wait_turn(route.provider());
    let result = deliver(app, &route, &message);
    record(app, &message, route.provider(), result)
}

fn title(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "Email",
        Channel::Sms => "Text",
    }
}

/// Hands the message to its provider; answers the provider's id and the headers as sent.
fn deliver(
    app: &App,
    route: &Route,
    message: &Message,
) -> Result<(String, Vec<(String, String)>), SendError> {
    match route {
        Route::Email(sender) => {
            let email = OutgoingEmail {
                from: sender.from().to_owned(),
                to: message.recipient.clone(),
                subject: message.subject.clone(),
                text: message.body_text.clone(),
                html: message.body_html.clone(),
                message_id: message.rfc_message_id.clone(),
                headers: message
                    .headers
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("Message-ID"))
                    .cloned()
                    .collect(),
            };
            let id =
                providers::deliver_email(app, sender, &email, Some(message.id), message.marketing)?;
            let mut headers = vec![
                ("From".to_owned(), email.from.clone()),
                ("To".to_owned(), message.recipient.clone()),
                ("Subject".to_owned(), message.subject.clone()),
            ];
            headers.extend(message.headers.iter().cloned());
            Ok((id, headers))
        }
        Route::Sms(None) => Ok((
            format!("outbox-sms-{}", message.id.0),
            vec![("To".to_owned(), message.recipient.clone())],
        )),
        Route::Sms(Some(sender)) => {
            let callback = sender
                .public_url
                .as_ref()
                .map(|base| format!("{}/webhooks/twilio/status", base.trim_end_matches('/')));
            let sid = sender.client.send(&Text {
                from: sender.from_number.clone(),
                to: message.recipient.clone(),
                body: message.body_text.clone(),
                status_callback: callback,
            })?;
            Ok((
                sid,
                vec![
                    ("From".to_owned(), sender.from_number.clone()),
                    ("To".to_owned(), message.recipient.clone()),
                ],
            ))
        }
    }
}

fn log(
    conn: &mut storage::Conn,
    message: &Message,
    summary: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    storage::contact_log::insert(
        conn,
        message.contact_id,
        &NewLogEntry::new(log_kind(message.channel), summary, now)
            .body(body)
            .meta(serde_json::json!({ "message_id": message.id })),
        None,
        now,
    )?;
    storage::contacts::reindex(conn, message.contact_id)?;
    Ok(())
}

/// Records what the provider said, with the contact's log entry, in one transaction.
fn record(
    app: &App,
    message: &Message,
    provider: &str,
    result: Result<(String, Vec<(String, String)>), SendError>,
) -> Result<(), AppError> {
    let now = Utc::now();
    app.db().write(|conn| {
        let noun = title(message.channel);
        match result {
            Ok((provider_id, headers)) => {
                storage::messages::set_sent(conn, message.id, &provider_id, &headers, now)?;
                storage::messages::add_event(conn, message.id, "sent", provider, now)?;
                let summary = match message.channel {
                    Channel::Email if provider == "outbox" => {
                        format!("Email kept in the Outbox: {}", message.subject)
                    }
                    Channel::Email => format!("Email sent: {}", message.subject),
                    Channel::Sms if provider == "outbox" => "Text kept in the Outbox".to_owned(),
                    Channel::Sms => "Text sent".to_owned(),
                };
                log(conn, message, &summary, &message.body_text, now)?;
                storage::contacts::touch_contacted(conn, message.contact_id, now)?;
            }
            Err(err) if err.is_retryable() && message.attempts + 1 < MAX_ATTEMPTS => {
                let after = match &err {
                    SendError::Retry { after, .. } => *after,
                    _ => None,
                };
                let wait = backoff(message.attempts, after);
                let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                storage::messages::set_error(
                    conn,
                    message.id,
                    MessageStatus::Queued,
                    &err.to_string(),
                    Some(at),
                    now,
                )?;
                storage::messages::add_event(conn, message.id, "retry", &err.to_string(), now)?;
            }
            Err(err) => {
                storage::messages::set_error(
                    conn,
                    message.id,
                    MessageStatus::Failed,
                    &err.to_string(),
                    None,
                    now,
                )?;
                storage::messages::add_event(conn, message.id, "failed", &err.to_string(), now)?;
                if let SendError::OptedOut { .. } = err {
                    storage::suppressions::add(
                        conn,
                        message.workspace_id,
                        Channel::Sms,
                        &message.recipient,
                        SuppressionReason::OptedOut,
                        now,
                    )?;
                }
                log(
                    conn,
                    message,
                    &format!("{noun} failed"),
                    &err.to_string(),
                    now,
                )?;
            }
        }
        storage::audit::insert(
            conn,
            &NewAuditEntry::new(job(), "message.send", "message")
                .workspace(message.workspace_id)
                .entity(message.id),
            now,
        )?;
        Ok::<_, AppError>(())
    })
}

/// A person puts a failed or unknown message back in the queue.
pub fn resend(app: &App, caller: &Caller, id: MessageId) -> Result<Message, AppError> {
    let now = Utc::now();
    app.db().write(|conn| {
        let message = storage::messages::get(conn, caller.user_id, id)?;
        if !storage::messages::transition(
            conn,
            id,
            &[MessageStatus::Failed, MessageStatus::Unknown],
            MessageStatus::Queued,
            now,
        )? {
            return Err(AppError::Conflict {
                field: "status",
                message: format!(
                    "Only a failed or unknown message can be sent again; this one is {}.",
                    message.status.label().to_lowercase()
                ),
            });
        }
        storage::messages::requeue(conn, id, now, now)?;
        storage::messages::add_event(conn, id, "resent", "sent again by a person", now)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("message.resend", "message")
                .workspace(message.workspace_id)
                .entity(id),
            now,
        )?;
        Ok::<_, AppError>(())
    })?;
    app.queue_signal().notify();
    crate::messaging::compose::get(app, caller, id)
}

/// A person gives up on a queued, failed or unknown message.
pub fn drop_message(app: &App, caller: &Caller, id: MessageId) -> Result<Message, AppError> {
    let now = Utc::now();
    app.db().write(|conn| {
        let message = storage::messages::get(conn, caller.user_id, id)?;
        if !storage::messages::transition(
            conn,
            id,
            &[
                MessageStatus::Queued,
                MessageStatus::Failed,
                MessageStatus::Unknown,
            ],
            MessageStatus::Dropped,
            now,
        )? {
            return Err(AppError::Conflict {
                field: "status",
                message: "This message is already on its way or settled: it cannot be dropped."
                    .into(),
            });
        }
        storage::messages::add_event(conn, id, "dropped", "dropped by a person", now)?;
        storage::audit::insert(
            conn,
            &caller
                .audit("message.drop", "message")
                .workspace(message.workspace_id)
                .entity(id),
            now,
        )?;
        Ok::<_, AppError>(())
    })?;
    crate::messaging::compose::get(app, caller, id)
}

/// Pauses or resumes a workspace's sending; queued messages wait while paused.
pub fn set_paused(
    app: &App,
    caller: &Caller,
    ws: WorkspaceId,
    paused: bool,
) -> Result<(), AppError> {
    let now = Utc::now();
    app.db().write(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        if paused {
            storage::suppressions::pause(conn, ws, now)?;
        } else {
            storage::suppressions::resume(conn, ws)?;
        }
        storage::audit::insert(
            conn,
            &caller
                .audit(
                    if paused {
                        "queue.pause"
                    } else {
                        "queue.resume"
                    },
                    "workspace",
                )
                .workspace(ws)
                .entity(ws),
            now,
        )?;
        Ok::<_, AppError>(())
    })?;
    if !paused {
        app.queue_signal().notify();
    }
    Ok(())
}

/// A workspace's queue as its page shows it.
#[derive(Debug, Clone)]
pub struct QueueView {
    pub paused_since: Option<DateTime<Utc>>,
    pub counts: Vec<(MessageStatus, i64)>,
    pub attention: Vec<Message>,
    pub recent: Vec<Message>,
}

pub fn view(app: &App, caller: &Caller, ws: WorkspaceId) -> Result<QueueView, AppError> {
    app.db().read(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        Ok(QueueView {
            paused_since: storage::suppressions::paused_since(conn, ws)?,
            counts: storage::messages::counts(conn, ws)?,
            attention: storage::messages::list(
                conn,
                caller.user_id,
                ws,
                &[
                    MessageStatus::Queued,
                    MessageStatus::Sending,
                    MessageStatus::Failed,
                    MessageStatus::Unknown,
                ],
                None,
                200,
            )?,
            recent: storage::messages::list(
                conn,
                caller.user_id,
                ws,
                MessageStatus::ALL,
                None,
                50,
            )?,
        })
    })
}

/// The messages the Outbox kept instead of sending, newest first.
pub fn outbox(app: &App, caller: &Caller, ws: WorkspaceId) -> Result<Vec<Message>, AppError> {
    app.db().read(|conn| {
        storage::workspaces::get(conn, caller.user_id, ws)?;
        Ok(storage::messages::list(
            conn,
            caller.user_id,
            ws,
            MessageStatus::ALL,
            Some("outbox"),
            200,
        )?)
    })
}
