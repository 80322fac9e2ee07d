//! Messaging pages: writing to a contact (with a live preview), a workspace's queue and Outbox
//! (pending, failed with reasons, unknown; resend, drop, pause), one message with its events,
//! and the email and text provider settings with "Send test email".

use actix_web::{HttpResponse, web};
use app::AppError;
use app::messaging::Draft;
use app::messaging::compose::Rendered;
use app::messaging::providers::{
    EmailProviderInput, EmailProviderView, SmsProviderInput, SmsProviderView,
};
use app::messaging::queue::QueueView;
use domain::contact::Contact;
use domain::ids::{ContactId, MessageId, WorkspaceId};
use domain::messaging::{Channel, EmailProviderKind, Message, MessageEvent, MessageStatus};
use domain::workspace::Workspace;
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::workspaces::load;
use crate::pages::{flash, html, html_unprocessable, see_other};
use crate::state::blocking;
use crate::views::components::{csrf_field, form_error, when};
use crate::views::layout::{FlashKind, Section};

/// What the compose form sends.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct ComposeForm {
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub body: String,
    /// A random token per form, so a double submit queues once.
    #[serde(default)]
    pub token: String,
}

impl ComposeForm {
    fn draft(&self) -> Draft {
        Draft {
            channel: Channel::parse(&self.channel).unwrap_or(Channel::Email),
            subject: self.subject.clone(),
            body: self.body.clone(),
        }
    }
}

/// The "Write" card on a contact's page: email or text, placeholders, a live preview.
pub fn compose_card(
    csrf: &str,
    contact: &Contact,
    form: Option<&ComposeForm>,
    error: Option<(&str, &str)>,
) -> Markup {
    let channel = form
        .map(|f| f.channel.as_str())
        .unwrap_or(if contact.primary_email.is_some() {
            "email"
        } else {
            "sms"
        });
    let token = form
        .map(|f| f.token.clone())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| app::secrets::random_token(12));
    let err = |field: &str| error.filter(|(f, _)| *f == field).map(|(_, m)| m);
    let general = error
        .filter(|(f, _)| !["subject", "body"].contains(f))
        .map(|(_, m)| m);
    let id = contact.id;
    html! {
        section ."card mb-4 space-y-3" #compose aria-labelledby="compose-heading" {
            h2 #compose-heading ."text-lg font-semibold" { "Write" }
            form ."space-y-3" method="post" action=(format!("/contacts/{id}/messages"))
                hx-post=(format!("/contacts/{id}/messages/preview")) hx-trigger="input changed delay:400ms, change"
                hx-target="#compose-preview" hx-swap="innerHTML" {
                (csrf_field(csrf))
                input type="hidden" name="token" value=(token);
                (form_error(general))
                fieldset ."flex gap-4" {
                    legend ."sr-only" { "Send as" }
                    label ."flex min-h-11 items-center gap-2" {
                        input ."h-5 w-5" type="radio" name="channel" value="email" checked[channel == "email"];
                        "Email"
                    }
                    label ."flex min-h-11 items-center gap-2" {
                        input ."h-5 w-5" type="radio" name="channel" value="sms" checked[channel == "sms"];
                        "Text"
                    }
                }
                div ."space-y-1" {
                    label ."label" for="compose-subject" { "Subject " span ."text-xs text-slate-500" { "(emails)" } }
                    input ."input" #compose-subject name="subject" value=(form.map(|f| f.subject.as_str()).unwrap_or(""));
                    @if let Some(e) = err("subject") { p ."text-sm text-red-700" role="alert" { (e) } }
                }
                div ."space-y-1" {
                    label ."label" for="compose-body" { "Message" }
                    textarea ."input min-h-28" #compose-body name="body" { (form.map(|f| f.body.as_str()).unwrap_or("")) }
                    @if let Some(e) = err("body") { p ."text-sm text-red-700" role="alert" { (e) } }
                    p ."text-xs text-slate-600" {
                        "Placeholders: " code { "{{first_name}}" } ", " code { "{{company}}" } ", any custom field by name; a fallback after a bar: " code { "{{first_name|there}}" } "."
                    }
                }
                div #compose-preview ."rounded-md border border-dashed border-slate-300 p-3 text-sm text-slate-600" aria-live="polite" {
                    "The preview for this contact shows here as you type."
                }
                button ."btn btn-primary" type="submit" { "Send" }
            }
        }
    }
}

/// The preview fragment: the message as this contact will get it, or why they cannot.
fn preview_fragment(result: Result<Rendered, (String, String)>) -> Markup {
    match result {
        Ok(r) => html! {
            div ."space-y-1" {
                p ."text-xs uppercase text-slate-500" { "Preview" }
                @if let Some(to) = &r.recipient { p { "To: " strong { (to) } } }
                @if r.channel == Channel::Email { p { "Subject: " strong { (r.subject) } } }
                p ."whitespace-pre-wrap text-slate-900" { (r.body) }
                @if let Some(why) = &r.blocked {
                    p ."font-medium text-red-700" role="alert" { "Will not be sent: " (why) }
                }
            }
        },
        Err((_, message)) => html! { p ."text-amber-800" { (message) } },
    }
}

pub async fn preview(
    who: SignedIn,
    path: web::Path<i64>,
    form: web::Form<ComposeForm>,
) -> Result<HttpResponse, PageError> {
    let (caller, id, draft) = (
        who.caller.clone(),
        ContactId(path.into_inner()),
        form.draft(),
    );
    let result = blocking(&who.state.app, move |app| {
        app::messaging::compose::preview(app, &caller, id, &draft)
    })
    .await;
    let fragment = match result {
        Ok(r) => preview_fragment(Ok(r)),
        Err(AppError::Validation(v)) => preview_fragment(Err((v.field.to_string(), v.message))),
        Err(other) => return Err(other.into()),
    };
    Ok(html(fragment))
}

pub async fn send(
    who: SignedIn,
    path: web::Path<i64>,
    form: web::Form<ComposeForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let (caller, id, draft) = (
        who.caller.clone(),
        ContactId(path.into_inner()),
        form.draft(),
    );
    // The form's token makes a double submit queue once; a post without one still sends.
    let key = match form.token.trim() {
        "" => format!("compose:{}", app::secrets::random_token(12)),
        token => format!("compose:{token}"),
    };
    let result = blocking(&who.state.app, move |app| {
        app::messaging::compose::queue_for_contact(app, &caller, id, &draft, &key, false)
    })
    .await;
    match result {
        Ok(message) => {
            let noun = message.channel.noun();
            flash(
                &who.session,
                FlashKind::Success,
                format!("The {noun} is on its way: it shows in the log when it has left."),
            );
            Ok(see_other(&format!("/contacts/{id}")))
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            crate::pages::contact::render_compose(&who, id, &form, (&*v.field, &v.message)).await?,
        )),
        Err(AppError::Conflict { message, .. }) => Ok(html_unprocessable(
            crate::pages::contact::render_compose(&who, id, &form, ("contact", &message)).await?,
        )),
        Err(other) => Err(other.into()),
    }
}

// ---- The queue and the Outbox ----

fn status_tone(status: MessageStatus) -> &'static str {
    match status {
        MessageStatus::Failed | MessageStatus::Bounced | MessageStatus::Unknown => {
            "bg-red-100 text-red-900"
        }
        MessageStatus::Queued | MessageStatus::Sending => "bg-amber-100 text-amber-900",
        MessageStatus::Skipped | MessageStatus::Dropped => "bg-slate-100 text-slate-700",
        MessageStatus::Sent | MessageStatus::Delivered => "bg-emerald-100 text-emerald-900",
    }
}

fn excerpt(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

fn message_row(csrf: &str, m: &Message) -> Markup {
    html! {
        li ."py-3" data-message=(m.id) {
            div ."flex flex-wrap items-center gap-2" {
                span ."rounded px-2 py-0.5 text-xs font-medium" .(status_tone(m.status)) { (m.status.label()) }
                span ."text-sm text-slate-600" { (if m.channel == Channel::Email { "Email" } else { "Text" }) " to " (m.recipient) }
                a ."text-sm font-medium text-blue-700 underline" href=(format!("/messages/{}", m.id)) {
                    @if m.channel == Channel::Email { (excerpt(&m.subject, 60)) } @else { (excerpt(&m.body_text, 60)) }
                }
                span ."text-xs text-slate-500" { (when(m.created_at)) }
            }
            @if let Some(e) = &m.last_error { p ."mt-1 text-sm text-red-800" { (e) } }
            @if matches!(m.status, MessageStatus::Failed | MessageStatus::Unknown | MessageStatus::Queued) {
                div ."mt-2 flex gap-2" {
                    @if matches!(m.status, MessageStatus::Failed | MessageStatus::Unknown) {
                        form method="post" action=(format!("/messages/{}/resend", m.id)) {
                            (csrf_field(csrf)) button ."btn" type="submit" { "Send again" }
                        }
                    }
                    form method="post" action=(format!("/messages/{}/drop", m.id)) data-confirm="Drop this message? It will not be sent." {
                        (csrf_field(csrf)) button ."btn" type="submit" { "Drop" }
                    }
                }
            }
        }
    }
}

fn queue_body(csrf: &str, ws: &Workspace, view: &QueueView, outbox: &[Message]) -> Markup {
    let count = |s: MessageStatus| {
        view.counts
            .iter()
            .find(|(k, _)| *k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    html! {
        div ."mb-4 flex flex-wrap items-center gap-3" {
            h1 ."text-2xl font-semibold" { "Messages" }
            a ."btn" href=(format!("/w/{}/email", ws.id)) { "Email settings" }
            a ."btn" href="/settings/texts" { "Text settings" }
            a ."btn" href="/inbox" { "Inbox" }
        }
        section ."card mb-4 space-y-3" #queue-state {
            div ."flex flex-wrap gap-4 text-sm" {
                span { "Waiting: " strong #count-queued { (count(MessageStatus::Queued) + count(MessageStatus::Sending)) } }
                span { "Sent: " strong { (count(MessageStatus::Sent) + count(MessageStatus::Delivered)) } }
                span { "Failed: " strong #count-failed { (count(MessageStatus::Failed) + count(MessageStatus::Bounced)) } }
                span { "Unknown: " strong #count-unknown { (count(MessageStatus::Unknown)) } }
            }
            @if let Some(since) = view.paused_since {
                p ."rounded-md border border-amber-300 bg-amber-50 p-3 text-sm" role="status" {
                    "Sending is paused since " (when(since)) ". Messages wait in the queue until you resume."
                }
                form method="post" action=(format!("/w/{}/messages/resume", ws.id)) {
                    (csrf_field(csrf)) button ."btn btn-primary" type="submit" { "Resume sending" }
                }
            } @else {
                form method="post" action=(format!("/w/{}/messages/pause", ws.id)) {
                    (csrf_field(csrf)) button ."btn" type="submit" { "Pause sending" }
                }
            }
        }
        section ."card mb-4" aria-labelledby="attention-heading" {
            h2 #attention-heading ."text-lg font-semibold" { "Waiting and needing attention" }
            @if view.attention.is_empty() {
                p ."py-3 text-sm text-slate-600" { "Nothing waiting: every message has left or been settled." }
            } @else {
                ul ."divide-y divide-slate-200" #attention { @for m in &view.attention { (message_row(csrf, m)) } }
            }
        }
        section ."card mb-4" aria-labelledby="outbox-heading" #outbox {
            h2 #outbox-heading ."text-lg font-semibold" { "Outbox" }
            p ."text-sm text-slate-600" { "Messages kept on this machine instead of sent, exactly as they would have left. A workspace with no email account, and texts with no Twilio number, use the Outbox." }
            @if outbox.is_empty() {
                p ."py-3 text-sm text-slate-600" { "The Outbox is empty." }
            }
            ul ."divide-y divide-slate-200" {
                @for m in outbox {
                    li ."py-3" data-outbox=(m.id) {
                        details {
                            summary ."cursor-pointer text-sm" {
                                strong { @if m.channel == Channel::Email { (m.subject) } @else { "Text" } }
                                " to " (m.recipient) " · " (when(m.created_at))
                            }
                            (message_detail(m))
                        }
                    }
                }
            }
        }
        section ."card" aria-labelledby="recent-heading" {
            h2 #recent-heading ."text-lg font-semibold" { "Recent" }
            ul ."divide-y divide-slate-200" #recent { @for m in &view.recent { (message_row(csrf, m)) } }
        }
    }
}

fn message_detail(m: &Message) -> Markup {
    html! {
        dl ."mt-2 grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm" {
            @for (name, value) in &m.headers {
                dt ."font-medium text-slate-600" { (name) ":" }
                dd ."break-all" { (value) }
            }
        }
        pre ."mt-2 whitespace-pre-wrap rounded bg-slate-50 p-3 text-sm" { (m.body_text) }
        @if let Some(h) = &m.body_html {
            details ."mt-2" {
                summary ."cursor-pointer text-xs text-slate-600" { "HTML part" }
                pre ."whitespace-pre-wrap break-all rounded bg-slate-50 p-3 text-xs" { (h) }
            }
        }
    }
}

pub async fn queue(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let (caller, id) = (who.caller.clone(), ws.id);
    let (view, outbox) = blocking(&who.state.app, move |app| {
        Ok((
            app::messaging::queue::view(app, &caller, id)?,
            app::messaging::queue::outbox(app, &caller, id)?,
        ))
    })
    .await?;
    let body_ws = ws.clone();
    let page = who
        .render("Messages", Some(ws), Section::Messages, move |chrome| {
            queue_body(&chrome.csrf, &body_ws, &view, &outbox)
        })
        .await?;
    Ok(html(page))
}

async fn set_paused(who: SignedIn, ws: i64, paused: bool) -> Result<HttpResponse, PageError> {
    let (caller, id) = (who.caller.clone(), WorkspaceId(ws));
    blocking(&who.state.app, move |app| {
        app::messaging::queue::set_paused(app, &caller, id, paused)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Success,
        if paused {
            "Sending paused."
        } else {
            "Sending resumed."
        },
    );
    Ok(see_other(&format!("/w/{id}/messages")))
}

pub async fn pause(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    set_paused(who, path.into_inner(), true).await
}

pub async fn resume(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    set_paused(who, path.into_inner(), false).await
}

pub async fn resend(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let (caller, id) = (who.caller.clone(), MessageId(path.into_inner()));
    let m = blocking(&who.state.app, move |app| {
        app::messaging::queue::resend(app, &caller, id)
    })
    .await?;
    flash(&who.session, FlashKind::Success, "Back in the queue.");
    Ok(see_other(&format!("/w/{}/messages", m.workspace_id)))
}

pub async fn drop_message(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let (caller, id) = (who.caller.clone(), MessageId(path.into_inner()));
    let m = blocking(&who.state.app, move |app| {
        app::messaging::queue::drop_message(app, &caller, id)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Success,
        "Dropped: it will not be sent.",
    );
    Ok(see_other(&format!("/w/{}/messages", m.workspace_id)))
}

fn events_list(events: &[MessageEvent]) -> Markup {
    html! {
        ol ."space-y-1 text-sm" #events {
            @for e in events {
                li { span ."font-medium" { (e.kind) } " · " (when(e.occurred_at)) @if !e.detail.is_empty() { " · " (e.detail) } }
            }
        }
    }
}

pub async fn show(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let (caller, id) = (who.caller.clone(), MessageId(path.into_inner()));
    let uid = who.user.id;
    let (m, events, ws) = blocking(&who.state.app, move |app| {
        let m = app::messaging::compose::get(app, &caller, id)?;
        let events = app::messaging::compose::events(app, &caller, id)?;
        let ws = app::workspaces::get(app, uid, m.workspace_id)?;
        Ok((m, events, ws))
    })
    .await?;
    let page = who
        .render("Message", Some(ws), Section::Messages, move |chrome| {
            html! {
                div ."mb-4 flex flex-wrap items-center gap-3" {
                    h1 ."text-2xl font-semibold" { @if m.channel == Channel::Email { (m.subject) } @else { "Text" } }
                    span ."rounded px-2 py-1 text-sm" .(status_tone(m.status)) #message-status { (m.status.label()) }
                    a ."btn" href=(format!("/contacts/{}", m.contact_id)) { "Contact" }
                }
                section ."card mb-4" { (message_row(&chrome.csrf, &m)) (message_detail(&m)) }
                section ."card" { h2 ."mb-2 text-lg font-semibold" { "What happened" } (events_list(&events)) }
            }
        })
        .await?;
    Ok(html(page))
}

// ---- Provider settings ----

#[derive(Debug, Deserialize, Default, Clone)]
pub struct EmailForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    webhook_signing_key: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    host: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    tls: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    smtp_oauth: String,
}

impl EmailForm {
    fn input(&self) -> Result<EmailProviderInput, (&'static str, String)> {
        let port = match self.port.trim() {
            "" => None,
            p => Some(p.parse::<u16>().map_err(|_| {
                (
                    "port",
                    "The port is a number such as 587 or 465.".to_owned(),
                )
            })?),
        };
        Ok(EmailProviderInput {
            kind: self.kind.clone(),
            domain: self.domain.clone(),
            region: self.region.clone(),
            api_key: self.api_key.clone(),
            webhook_signing_key: self.webhook_signing_key.clone(),
            from: self.from.clone(),
            base_url: Some(self.base_url.clone()),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            tenant: self.tenant.clone(),
            host: self.host.clone(),
            port,
            tls: self.tls.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            smtp_oauth: self.smtp_oauth.clone(),
        })
    }
}

/// The values shown in the form: what was just typed, else what is stored.
fn email_value(form: Option<&EmailForm>, view: &EmailProviderView, name: &str) -> String {
    if let Some(f) = form {
        return match name {
            "kind" => f.kind.clone(),
            "domain" => f.domain.clone(),
            "region" => f.region.clone(),
            "from" => f.from.clone(),
            "base_url" => f.base_url.clone(),
            "client_id" => f.client_id.clone(),
            "tenant" => f.tenant.clone(),
            "host" => f.host.clone(),
            "port" => f.port.clone(),
            "tls" => f.tls.clone(),
            "username" => f.username.clone(),
            "smtp_oauth" => f.smtp_oauth.clone(),
            _ => String::new(),
        };
    }
    match name {
        "kind" => view.kind.as_str().to_owned(),
        "domain" => view.domain.clone(),
        "region" => view.region.clone(),
        "from" => view.from.clone(),
        "base_url" => view.base_url.clone().unwrap_or_default(),
        "client_id" => view.client_id.clone(),
        "tenant" => view.tenant.clone(),
        "host" => view.host.clone(),
        "port" => view.port.map(|p| p.to_string()).unwrap_or_default(),
        "tls" => view.tls.clone(),
        "username" => view.username.clone(),
        "smtp_oauth" => view.smtp_oauth.clone(),
        _ => String::new(),
    }
}

const EMAIL_FIELDS: &[&str] = &[
    "domain",
    "region",
    "api_key",
    "webhook_signing_key",
    "from",
    "base_url",
    "client_id",
    "client_secret",
    "tenant",
    "host",
    "port",
    "tls",
    "username",
    "password",
    "to",
];

fn email_body(
    csrf: &str,
    ws: &Workspace,
    view: &EmailProviderView,
    form: Option<&EmailForm>,
    error: Option<(&str, &str)>,
    (test_to, test_result): (&str, Option<&str>),
    public_url: &str,
) -> Markup {
    let err = |field: &str| error.filter(|(f, _)| *f == field).map(|(_, m)| m);
    let general = error
        .filter(|(f, _)| !EMAIL_FIELDS.contains(f))
        .map(|(_, m)| m);
    let kind = email_value(form, view, "kind");
    let input = |name: &'static str, label: &str, kind_attr: &str, help: String| {
        let value = if kind_attr == "password" {
            String::new()
        } else {
            email_value(form, view, name)
        };
        html! {
            div ."space-y-1" {
                label ."label" for=(format!("email-{name}")) { (label) }
                input ."input" id=(format!("email-{name}")) name=(name) type=(kind_attr) value=(value) autocomplete="off";
                @if !help.is_empty() { p ."text-xs text-slate-600" { (help) } }
                @if let Some(e) = err(name) { p ."text-sm text-red-700" role="alert" { (e) } }
            }
        }
    };
    let stored_hint = |present: bool| {
        if present {
            "Stored; leave empty to keep it.".to_owned()
        } else {
            String::new()
        }
    };
    let section = |k: EmailProviderKind, body: Markup| {
        html! {
            details ."rounded-md border border-slate-200 p-3" open[kind == k.as_str()] data-section="email-kind" data-kind=(k.as_str()) {
                summary ."cursor-pointer font-medium" { (k.label()) }
                div ."mt-3 grid gap-3 sm:grid-cols-2" { (body) }
            }
        }
    };
    let oauth_help = |k: EmailProviderKind| -> Markup {
        let redirect = format!("{public_url}/oauth/callback");
        html! {
            p ."text-xs text-slate-600 sm:col-span-2" {
                @if k == EmailProviderKind::Google {
                    "Register an OAuth client (type Web application) in Google Cloud for your Workspace, with the redirect URI "
                } @else {
                    "Register an app in Microsoft Entra ID with a client secret and the redirect URI "
                }
                code ."break-all" { (redirect) } ". Save, then press Connect to sign in to the mailbox."
            }
        }
    };
    html! {
        h1 ."mb-4 text-2xl font-semibold" { "Email for " (ws.name.as_str()) }
        section ."card mb-4 space-y-2" {
            p { "Now: " strong #email-kind { (view.label) } @if let Some(at) = view.updated_at { span ."text-sm text-slate-600" { " · since " (when(at)) } } }
            @if matches!(view.kind, EmailProviderKind::Google | EmailProviderKind::Microsoft)
                || (view.kind == EmailProviderKind::Smtp && !view.smtp_oauth.is_empty()) {
                @if let Some(account) = &view.account {
                    p ."text-sm text-emerald-800" #email-account { "Connected to " strong { (account) } "." }
                } @else {
                    p ."text-sm text-amber-800" #email-account { "Not connected yet: press Connect to sign in to the mailbox." }
                }
                form method="post" action=(format!("/w/{}/email/connect", ws.id)) {
                    (csrf_field(csrf))
                    button ."btn btn-primary" type="submit" #email-connect {
                        @if view.account.is_some() { "Reconnect" } @else { "Connect " (view.label) }
                    }
                }
            }
        }
        form ."card mb-4 space-y-3" method="post" action=(format!("/w/{}/email", ws.id)) #email-form {
            (csrf_field(csrf))
            (form_error(general))
            fieldset ."space-y-1" {
                legend ."label" { "Send email through" }
                @for k in EmailProviderKind::ALL {
                    label ."flex min-h-11 items-center gap-2" {
                        input ."h-5 w-5" type="radio" name="kind" value=(k.as_str()) checked[kind == k.as_str()] data-opens="email-kind";
                        (k.label())
                    }
                }
            }
            (section(EmailProviderKind::Mailgun, html! {
                (input("domain", "Mailgun domain", "text", "Such as mg.example.com".into()))
                div ."space-y-1" {
                    label ."label" for="email-region" { "Region" }
                    select ."input" #email-region name="region" {
                        @let r = email_value(form, view, "region");
                        option value="us" selected[r != "eu"] { "US (api.mailgun.net)" }
                        option value="eu" selected[r == "eu"] { "EU (api.eu.mailgun.net)" }
                    }
                }
                (input("api_key", "Sending API key", "password",
                    view.api_key_hint.as_ref().map(|h| format!("Stored (ends {h}); leave empty to keep it.")).unwrap_or_default()))
                (input("webhook_signing_key", "Webhook signing key", "password", stored_hint(view.has_webhook_signing_key)))
                p ."text-sm text-slate-700 sm:col-span-2" {
                    "In Mailgun, point the webhooks (delivered, opened, clicked, unsubscribed, complained, permanent and temporary failures) at "
                    code ."break-all" #webhook-url { (public_url) "/webhooks/mailgun/" (ws.id) }
                }
            }))
            (section(EmailProviderKind::Google, html! {
                (oauth_help(EmailProviderKind::Google))
            }))
            (section(EmailProviderKind::Microsoft, html! {
                (input("tenant", "Tenant", "text", "common, organizations, your tenant id or domain".into()))
                (oauth_help(EmailProviderKind::Microsoft))
            }))
            div ."grid gap-3 sm:grid-cols-2" #oauth-client {
                (input("client_id", "OAuth client ID (Google or Microsoft)", "text", String::new()))
                (input("client_secret", "OAuth client secret (Google or Microsoft)", "password", stored_hint(view.has_client_secret)))
            }
            (section(EmailProviderKind::Smtp, html! {
                (input("host", "Mail server", "text", "Such as smtp.example.com".into()))
                (input("port", "Port", "number", "587 for STARTTLS, 465 for implicit TLS".into()))
                div ."space-y-1" {
                    label ."label" for="email-tls" { "Security" }
                    select ."input" #email-tls name="tls" {
                        @let t = email_value(form, view, "tls");
                        option value="starttls" selected[t != "implicit" && t != "none"] { "STARTTLS (port 587)" }
                        option value="implicit" selected[t == "implicit"] { "TLS (port 465)" }
                        option value="none" selected[t == "none"] { "None (a test server on this machine only)" }
                    }
                    @if let Some(e) = err("tls") { p ."text-sm text-red-700" role="alert" { (e) } }
                }
                (input("username", "Username", "text", String::new()))
                div ."space-y-1" {
                    label ."label" for="email-smtp_oauth" { "Sign in with" }
                    select ."input" #email-smtp_oauth name="smtp_oauth" {
                        @let o = email_value(form, view, "smtp_oauth");
                        option value="password" selected[o != "google" && o != "microsoft"] { "Password" }
                        option value="google" selected[o == "google"] { "Google (XOAUTH2; fill the OAuth client below, then Connect)" }
                        option value="microsoft" selected[o == "microsoft"] { "Microsoft (XOAUTH2; fill the OAuth client below, then Connect)" }
                    }
                    @if let Some(e) = err("smtp_oauth") { p ."text-sm text-red-700" role="alert" { (e) } }
                }
                (input("password", "Password", "password", stored_hint(view.has_password)))
            }))
            div ."grid gap-3 sm:grid-cols-2" {
                (input("from", "From", "text", "Such as Ana Lopez <ana@example.com>; for Google and Microsoft, the connected mailbox when empty".into()))
                (input("base_url", "Base URL (optional)", "url", "Only for a proxy or a test server.".into()))
            }
            button ."btn btn-primary" type="submit" { "Save" }
        }
        form ."card space-y-3" method="post" action=(format!("/w/{}/email/test", ws.id)) #email-test {
            (csrf_field(csrf))
            h2 ."text-lg font-semibold" { "Send a test email" }
            div ."space-y-1" {
                label ."label" for="test-to" { "To" }
                input ."input" #test-to name="to" type="email" required value=(test_to);
                @if let Some(e) = err("to") { p ."text-sm text-red-700" role="alert" #test-error { (e) } }
            }
            @if let Some(r) = test_result { p ."text-sm text-emerald-800" role="status" #test-result { (r) } }
            button ."btn" type="submit" { "Send test email" }
        }
    }
}

fn public_url(who: &SignedIn) -> String {
    who.state.app.settings().public_base()
}

async fn email_page(
    who: &SignedIn,
    ws: Workspace,
    form: Option<&EmailForm>,
    error: Option<(&str, &str)>,
    test: Option<(&str, Option<&str>)>,
) -> Result<Markup, PageError> {
    let (test_to, test_result) = test.unwrap_or(("", None));
    let (caller, id) = (who.caller.clone(), ws.id);
    let view = blocking(&who.state.app, move |app| {
        app::messaging::providers::email_provider(app, &caller, id)
    })
    .await?;
    let public = public_url(who);
    let body_ws = ws.clone();
    who.render(
        "Email settings",
        Some(ws),
        Section::WorkspaceSettings,
        move |chrome| {
            email_body(
                &chrome.csrf,
                &body_ws,
                &view,
                form,
                error,
                (test_to, test_result),
                &public,
            )
        },
    )
    .await
}

pub async fn email_settings(
    who: SignedIn,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    Ok(html(email_page(&who, ws, None, None, None).await?))
}

pub async fn save_email(
    who: SignedIn,
    path: web::Path<i64>,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let form = form.into_inner();
    let input = match form.input() {
        Ok(input) => input,
        Err((field, message)) => {
            return Ok(html_unprocessable(
                email_page(&who, ws, Some(&form), Some((field, &message)), None).await?,
            ));
        }
    };
    let (caller, id) = (who.caller.clone(), ws.id);
    match blocking(&who.state.app, move |app| {
        app::messaging::providers::set_email_provider(app, &caller, id, &input)
    })
    .await
    {
        Ok(view) => {
            flash(
                &who.session,
                FlashKind::Success,
                format!("Email now goes through {}.", view.label),
            );
            Ok(see_other(&format!("/w/{id}/email")))
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            email_page(&who, ws, Some(&form), Some((&*v.field, &v.message)), None).await?,
        )),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct TestForm {
    #[serde(default)]
    to: String,
}

pub async fn test_email(
    who: SignedIn,
    path: web::Path<i64>,
    form: web::Form<TestForm>,
) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let (caller, id, to) = (who.caller.clone(), ws.id, form.to.clone());
    match blocking(&who.state.app, move |app| {
        app::messaging::providers::send_test_email(app, &caller, id, &to)
    })
    .await
    {
        Ok(said) => Ok(html(
            email_page(&who, ws, None, None, Some((&form.to, Some(&said)))).await?,
        )),
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            email_page(
                &who,
                ws,
                None,
                Some(("to", &v.message)),
                Some((&form.to, None)),
            )
            .await?,
        )),
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize, Default, Clone)]
pub struct TextsForm {
    #[serde(default)]
    account_sid: String,
    #[serde(default)]
    auth_token: String,
    #[serde(default)]
    from_number: String,
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    public_url: String,
}

fn texts_body(
    csrf: &str,
    view: Option<&SmsProviderView>,
    form: Option<&TextsForm>,
    error: Option<(&str, &str)>,
    public: &str,
) -> Markup {
    let err = |field: &str| error.filter(|(f, _)| *f == field).map(|(_, m)| m);
    let general = error
        .filter(|(f, _)| {
            ![
                "account_sid",
                "auth_token",
                "from_number",
                "base_url",
                "public_url",
            ]
            .contains(f)
        })
        .map(|(_, m)| m);
    let current = |name: &str| -> String {
        if let Some(f) = form {
            return match name {
                "account_sid" => f.account_sid.clone(),
                "from_number" => f.from_number.clone(),
                "base_url" => f.base_url.clone(),
                "public_url" => f.public_url.clone(),
                _ => String::new(),
            };
        }
        view.map(|v| match name {
            "account_sid" => v.account_sid.clone(),
            "from_number" => v.from_number.clone(),
            "base_url" => v.base_url.clone().unwrap_or_default(),
            "public_url" => v.public_url.clone().unwrap_or_default(),
            _ => String::new(),
        })
        .unwrap_or_default()
    };
    let input = |name: &'static str, label: &str, kind: &str, help: String| {
        html! {
            div ."space-y-1" {
                label ."label" for=(format!("sms-{name}")) { (label) }
                input ."input" id=(format!("sms-{name}")) name=(name) type=(kind) value=(current(name)) autocomplete="off";
                @if !help.is_empty() { p ."text-xs text-slate-600" { (help) } }
                @if let Some(e) = err(name) { p ."text-sm text-red-700" role="alert" { (e) } }
            }
        }
    };
    html! {
        h1 ."mb-4 text-2xl font-semibold" { "Texts (Twilio)" }
        p ."mb-4 text-sm text-slate-700" {
            @if view.is_some() { "Your texts go out from " strong { (current("from_number")) } "." }
            @else { "No Twilio number yet: texts you send are kept in each workspace's Outbox." }
        }
        form ."card space-y-3" method="post" action="/settings/texts" #texts-form {
            (csrf_field(csrf))
            (form_error(general))
            div ."grid gap-3 sm:grid-cols-2" {
                (input("account_sid", "Account SID", "text", "AC followed by 32 characters, from Twilio's console.".into()))
                (input("auth_token", "Auth token", "password",
                    view.and_then(|v| v.auth_token_hint.as_ref()).map(|h| format!("Stored (ends {h}); leave empty to keep it.")).unwrap_or_default()))
                (input("from_number", "Your Twilio number", "tel", String::new()))
                (input("public_url", "Public URL of this pi-crm", "url", format!("The address Twilio calls; now {public}")))
                (input("base_url", "Base URL (optional)", "url", "Only for a proxy or a test server.".into()))
            }
            p ."text-sm text-slate-700" { "In Twilio, set the number's incoming message webhook to " code ."break-all" { (public) "/webhooks/twilio/sms" } "." }
            button ."btn btn-primary" type="submit" { "Save" }
        }
    }
}

async fn texts_page(
    who: &SignedIn,
    form: Option<&TextsForm>,
    error: Option<(&str, &str)>,
) -> Result<Markup, PageError> {
    let caller = who.caller.clone();
    let view = blocking(&who.state.app, move |app| {
        app::messaging::providers::sms_provider(app, &caller)
    })
    .await?;
    let public = view
        .as_ref()
        .and_then(|v| v.public_url.clone())
        .unwrap_or_else(|| public_url(who));
    who.render("Texts", None, Section::Account, move |chrome| {
        texts_body(&chrome.csrf, view.as_ref(), form, error, &public)
    })
    .await
}

pub async fn texts_settings(who: SignedIn) -> Result<HttpResponse, PageError> {
    Ok(html(texts_page(&who, None, None).await?))
}

pub async fn save_texts(
    who: SignedIn,
    form: web::Form<TextsForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let input = SmsProviderInput {
        kind: "twilio".into(),
        account_sid: form.account_sid.clone(),
        auth_token: form.auth_token.clone(),
        from_number: form.from_number.clone(),
        base_url: Some(form.base_url.clone()),
        public_url: Some(form.public_url.clone()),
    };
    let caller = who.caller.clone();
    match blocking(&who.state.app, move |app| {
        app::messaging::providers::set_sms_provider(app, &caller, &input)
    })
    .await
    {
        Ok(view) => {
            flash(
                &who.session,
                FlashKind::Success,
                format!("Texts now go out from {}.", view.from_number),
            );
            Ok(see_other("/settings/texts"))
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            texts_page(&who, Some(&form), Some((&*v.field, &v.message))).await?,
        )),
        Err(other) => Err(other.into()),
    }
}

// ---- Replies needing attention ----

pub async fn inbox(who: SignedIn) -> Result<HttpResponse, PageError> {
    let caller = who.caller.clone();
    let unread = blocking(&who.state.app, move |app| {
        app::messaging::texts::unread(app, &caller)
    })
    .await?;
    let page = who
        .render("Inbox", None, Section::Account, move |chrome| {
            html! {
                h1 ."mb-4 text-2xl font-semibold" { "Inbox" }
                p ."mb-4 text-sm text-slate-700" { "Replies nobody has read yet. Opening the contact reads theirs." }
                @if unread.is_empty() {
                    p ."card text-sm text-slate-600" #inbox-empty { "Nothing needs attention." }
                }
                ul ."card divide-y divide-slate-200" #inbox {
                    @for m in &unread {
                        li ."py-3" data-inbound=(m.id) {
                            div ."flex flex-wrap items-center gap-2 text-sm" {
                                span ."rounded bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-900" { "Unread" }
                                strong { (m.sender) }
                                span ."text-slate-500" { (when(m.received_at)) }
                                @if m.contact_id.is_none() { span ."text-red-800" { "No contact has this number" } }
                            }
                            p ."mt-1 whitespace-pre-wrap" { (m.body) }
                            div ."mt-2 flex gap-2" {
                                @if let Some(c) = m.contact_id {
                                    a ."btn" href=(format!("/contacts/{c}")) { "Open contact" }
                                }
                                form method="post" action=(format!("/inbox/{}/read", m.id)) {
                                    (csrf_field(&chrome.csrf)) button ."btn" type="submit" { "Mark read" }
                                }
                            }
                        }
                    }
                }
            }
        })
        .await?;
    Ok(html(page))
}

pub async fn mark_read(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let (caller, id) = (who.caller.clone(), path.into_inner());
    blocking(&who.state.app, move |app| {
        app::messaging::texts::mark_read(app, &caller, id)
    })
    .await?;
    Ok(see_other("/inbox"))
}

// ---- Writing to a selection ----

/// The form to write to many contacts: who gets it and who is skipped (with the reason),
/// before anything is queued, and a live preview for the first of them.
/// Who a send to many goes to, worked out before the form is shown.
struct BulkPlan {
    /// The fields that say who (see `contacts::bulk_scope`), carried by the form.
    scope: Vec<(String, String)>,
    total: usize,
    eligible: usize,
    skipped: Vec<app::messaging::compose::Skipped>,
    /// The first who gets it, for the preview.
    first: Option<ContactId>,
}

fn bulk_body(
    csrf: &str,
    ws: &Workspace,
    plan: &BulkPlan,
    form: &ComposeForm,
    error: Option<(&str, &str)>,
) -> Markup {
    let (eligible, skipped, first) = (plan.eligible, &plan.skipped, plan.first);
    let err = |field: &str| error.filter(|(f, _)| *f == field).map(|(_, m)| m);
    let general = error
        .filter(|(f, _)| !["subject", "body"].contains(f))
        .map(|(_, m)| m);
    let noun = if form.channel == "sms" {
        "text"
    } else {
        "email"
    };
    html! {
        h1 ."mb-4 text-2xl font-semibold" { "Write " (if noun == "text" { "a text" } else { "an email" }) " to " (plan.total) " contacts" }
        section ."card mb-4 space-y-2" #bulk-plan {
            p { strong #bulk-eligible { (eligible) } " will get it." }
            @if !skipped.is_empty() {
                details open[skipped.len() <= 10] {
                    summary ."cursor-pointer text-sm" { strong #bulk-skipped { (skipped.len()) } " will be skipped:" }
                    ul ."mt-2 list-disc space-y-1 pl-5 text-sm" {
                        @for s in skipped.iter().take(200) {
                            li { a ."underline" href=(format!("/contacts/{}", s.contact_id)) { (s.name) } ": " (s.reason) }
                        }
                        @if skipped.len() > 200 { li { "and " (skipped.len() - 200) " more" } }
                    }
                }
            }
        }
        form ."card space-y-3" method="post" action=(format!("/w/{}/messages/bulk", ws.id)) #bulk-compose
            hx-post=[first.map(|c| format!("/contacts/{c}/messages/preview"))]
            hx-trigger="input changed delay:400ms, change" hx-target="#compose-preview" hx-swap="innerHTML" {
            (csrf_field(csrf))
            @for (name, value) in &plan.scope {
                input type="hidden" name=(name) value=(value);
            }
            input type="hidden" name="channel" value=(if noun == "text" { "sms" } else { "email" });
            input type="hidden" name="token" value=(if form.token.is_empty() { app::secrets::random_token(12) } else { form.token.clone() });
            (form_error(general))
            @if noun == "email" {
                div ."space-y-1" {
                    label ."label" for="compose-subject" { "Subject" }
                    input ."input" #compose-subject name="subject" value=(form.subject);
                    @if let Some(e) = err("subject") { p ."text-sm text-red-700" role="alert" { (e) } }
                }
            }
            div ."space-y-1" {
                label ."label" for="compose-body" { "Message" }
                textarea ."input min-h-28" #compose-body name="body" { (form.body) }
                @if let Some(e) = err("body") { p ."text-sm text-red-700" role="alert" { (e) } }
                p ."text-xs text-slate-600" { "Placeholders are filled for each contact: " code { "{{first_name|there}}" } ", " code { "{{company}}" } ", custom fields by name." }
                @if noun == "email" { p ."text-xs text-slate-600" { "Sent as marketing mail: with an unsubscribe link and the workspace's postal address." } }
            }
            div #compose-preview ."rounded-md border border-dashed border-slate-300 p-3 text-sm text-slate-600" aria-live="polite" {
                "The preview for the first contact shows here as you type."
            }
            button ."btn btn-primary" type="submit" disabled[eligible == 0] { "Send to " (eligible) }
        }
    }
}

async fn bulk_page(
    who: &SignedIn,
    ws: Workspace,
    ids: Vec<ContactId>,
    scope: Vec<(String, String)>,
    form: &ComposeForm,
    error: Option<(&str, &str)>,
) -> Result<Markup, PageError> {
    let channel = Channel::parse(&form.channel).unwrap_or(Channel::Email);
    let (caller, id, plan_ids) = (who.caller.clone(), ws.id, ids.clone());
    let (eligible, skipped) = blocking(&who.state.app, move |app| {
        app::messaging::compose::plan_for_many(app, &caller, id, &plan_ids, channel)
    })
    .await?;
    let plan = BulkPlan {
        scope,
        total: ids.len(),
        eligible,
        first: ids
            .iter()
            .copied()
            .find(|c| !skipped.iter().any(|s| s.contact_id == *c)),
        skipped,
    };
    let body_ws = ws.clone();
    who.render(
        "Write to many",
        Some(ws),
        Section::Contacts,
        move |chrome| bulk_body(&chrome.csrf, &body_ws, &plan, form, error),
    )
    .await
}

/// From the contacts table's bulk bar: the selection (or all matching) to write to.
pub async fn bulk_compose(
    who: &SignedIn,
    ws: Workspace,
    ids: Vec<ContactId>,
    channel: Channel,
    scope: Vec<(String, String)>,
) -> Result<HttpResponse, PageError> {
    if ids.is_empty() {
        return Err(PageError::BadRequest(
            "Tick the contacts to write to, or choose all matching.".into(),
        ));
    }
    let form = ComposeForm {
        channel: channel.as_str().into(),
        ..ComposeForm::default()
    };
    Ok(html(bulk_page(who, ws, ids, scope, &form, None).await?))
}

/// Sends the draft to who the form's scope names, worked out again now (a contact added to
/// "all matching" since the form was shown gets it too; the skipped are skipped again).
pub async fn bulk_send(
    who: SignedIn,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let pairs = crate::pages::contacts::ContactForm::parse(&body)?.pairs;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let compose = ComposeForm {
        channel: field("channel"),
        subject: field("subject"),
        body: field("body"),
        token: field("token"),
    };
    let draft = compose.draft();
    let key = match compose.token.trim() {
        "" => format!("bulk:{}", app::secrets::random_token(12)),
        token => format!("bulk:{token}"),
    };
    let scope = crate::pages::contacts::bulk_scope(&pairs);
    let (caller, id) = (who.caller.clone(), ws.id);
    let result = blocking(&who.state.app, move |app| {
        let target = crate::pages::contacts::bulk_target(app, &caller, id, &pairs)?;
        let ids = app::bulk::resolve_ids(app, &caller, id, &target)?;
        let outcome = app::messaging::compose::queue_for_many(app, &caller, id, &ids, &draft, &key);
        Ok((ids, outcome))
    })
    .await?;
    match result {
        (_, Ok(outcome)) => {
            let mut text = format!(
                "{} message(s) on their way.",
                outcome.queued + outcome.already
            );
            if !outcome.skipped.is_empty() {
                text.push_str(&format!(" {} contact(s) skipped.", outcome.skipped.len()));
            }
            flash(&who.session, FlashKind::Success, text);
            Ok(see_other(&format!("/w/{id}/messages")))
        }
        (ids, Err(AppError::Validation(v))) => Ok(html_unprocessable(
            bulk_page(
                &who,
                ws,
                ids,
                scope,
                &compose,
                Some((&*v.field, &v.message)),
            )
            .await?,
        )),
        (_, Err(other)) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct DoNotContactForm {
    #[serde(default)]
    value: String,
}

/// The Do Not Contact switch on a contact's page.
pub async fn do_not_contact(
    who: SignedIn,
    path: web::Path<i64>,
    form: web::Form<DoNotContactForm>,
) -> Result<HttpResponse, PageError> {
    let (caller, id, value) = (
        who.caller.clone(),
        ContactId(path.into_inner()),
        form.value == "1",
    );
    blocking(&who.state.app, move |app| {
        app::messaging::compose::set_do_not_contact(app, &caller, id, value)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Success,
        if value {
            "Marked Do Not Contact: no email or text will go to them."
        } else {
            "Do Not Contact cleared."
        },
    );
    Ok(see_other(&format!("/contacts/{id}")))
}

/// "Connect": off to the provider's consent page.
pub async fn connect(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let (caller, id) = (who.caller.clone(), ws.id);
    match blocking(&who.state.app, move |app| {
        app::messaging::connect::start(app, &caller, id)
    })
    .await
    {
        Ok(url) => Ok(see_other(&url)),
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            email_page(&who, ws, None, Some((&*v.field, &v.message)), None).await?,
        )),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Back from the provider's consent page.
pub async fn oauth_callback(
    who: SignedIn,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, PageError> {
    let q = query.into_inner();
    if !q.error.is_empty() {
        let why = if q.error == "access_denied" {
            "The connection was cancelled on the sign-in page: nothing changed.".to_owned()
        } else {
            format!(
                "The provider refused the connection: {} {}",
                q.error, q.error_description
            )
        };
        flash(&who.session, FlashKind::Error, why);
        return Ok(see_other("/"));
    }
    let caller = who.caller.clone();
    match blocking(&who.state.app, move |app| {
        app::messaging::connect::finish(app, &caller, &q.state, &q.code)
    })
    .await
    {
        Ok((ws, account)) => {
            flash(
                &who.session,
                FlashKind::Success,
                format!("Connected to {account}."),
            );
            Ok(see_other(&format!("/w/{ws}/email")))
        }
        Err(AppError::Validation(v)) => {
            flash(&who.session, FlashKind::Error, v.message);
            Ok(see_other("/"))
        }
        Err(other) => Err(other.into()),
    }
}
