//! One contact's page: call, text and email in one tap, pinned notices, the base and custom
//! fields (edited in place), stage and tags, and the communication log with its tabs, notes and
//! calls; more entries load as you scroll (htmx).

use actix_web::{HttpResponse, web};
use app::AppError;
use app::contacts::{ContactPatch, LogCursor, RawValue};
use chrono::{NaiveDateTime, TimeZone, Utc};
use domain::contact::Contact;
use domain::contact_log::{CallOutcome, LogEntry, LogKind};
use domain::custom_field::FieldValue;
use domain::field_definition::CustomFieldDef;
use domain::ids::{ContactId, ListId, LogEntryId};
use domain::list::{List, ListKind};
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::contacts::{ContactForm, custom_input, last_contacted};
use crate::pages::messages::{ComposeForm, compose_card};
use crate::pages::{flash, html, html_unprocessable, safe_next, see_other};
use crate::state::blocking;
use crate::views::components::{csrf_field, form_error, when};
use crate::views::layout::{FlashKind, Section};

const LOG_PAGE: i64 = 30;

struct Loaded {
    contact: Contact,
    stages: Vec<List>,
    defs: Vec<CustomFieldDef>,
    duplicates: Vec<Contact>,
    log: Vec<LogEntry>,
    shares: Vec<domain::contact::Share>,
    ws: domain::workspace::Workspace,
    messaging_notices: Vec<String>,
}

async fn load(who: &SignedIn, id: ContactId, kind: Option<LogKind>) -> Result<Loaded, PageError> {
    let (caller, uid) = (who.caller.clone(), who.user.id);
    Ok(blocking(&who.state.app, move |app| {
        let contact = app::contacts::get(app, &caller, id)?;
        let ws = app::workspaces::get(app, uid, contact.workspace_id)?;
        let stages = app::lists::for_workspace(app, &caller, ws.id, Some(ListKind::Primary))?;
        let defs = app::custom_fields::for_workspace(app, &caller, ws.id)?;
        let duplicates = app::contacts::duplicates_of(app, &caller, id)?;
        let log = app::contacts::log(app, &caller, id, kind, None, LOG_PAGE + 1)?;
        let shares = app::shares::of_contact(app, &caller, id)?;
        let messaging_notices = app::messaging::events::contact_notices(app, &caller, id)?;
        Ok(Loaded {
            messaging_notices,
            contact,
            stages,
            defs,
            duplicates,
            log,
            shares,
            ws,
        })
    })
    .await?)
}

/// Notices pinned above the contact. Later features add kinds (bounces, replies, drafts).
fn notices(l: &Loaded) -> Vec<(&'static str, Markup)> {
    let mut out = Vec::new();
    for text in &l.messaging_notices {
        out.push(("border-red-300 bg-red-50", html! { (text) }));
    }
    if let Some(at) = l.contact.deleted_at {
        out.push((
            "border-red-300 bg-red-50",
            html! { "In the trash since " (when(at)) ". Restore it to keep it." },
        ));
    }
    for d in &l.duplicates {
        out.push(("border-amber-300 bg-amber-50", html! {
            "Possible duplicate: " a ."font-medium underline" href=(format!("/contacts/{}", d.id)) { (d.display_name()) }
            " has the same email or phone. "
            a ."font-medium underline" href=(format!("/contacts/{}/merge?source={}", l.contact.id, d.id)) { "Compare and merge" }
        }));
    }
    for share in &l.shares {
        out.push(("border-emerald-300 bg-emerald-50", html! {
            "Shared with " strong { (share.recipient_username) } " since " (when(share.created_at))
            @if share.include_log { ", with the log" } "."
        }));
    }
    let today = Utc::now().date_naive();
    for v in &l.contact.custom {
        if let FieldValue::Date(date) = &v.value {
            let days = (*date - today).num_days();
            if (0..=14).contains(&days) {
                let when = match days {
                    0 => "today".to_owned(),
                    1 => "tomorrow".to_owned(),
                    n => format!("in {n} days"),
                };
                out.push((
                    "border-blue-300 bg-blue-50",
                    html! { (v.label) " " (when) " (" (v.value.display()) ")" },
                ));
            }
        }
    }
    out
}

fn log_entry(e: &LogEntry) -> Markup {
    html! {
        li ."py-3" {
            details {
                summary ."flex cursor-pointer flex-wrap items-center gap-x-2 gap-y-1" {
                    span ."rounded bg-slate-100 px-2 py-0.5 text-xs" { (e.kind.tab_label()) }
                    span ."text-sm font-medium" { (e.summary) }
                    span ."ml-auto text-xs text-slate-600" { (when(e.occurred_at)) }
                }
                @if !e.body.is_empty() { p ."mt-2 whitespace-pre-line text-sm text-slate-800" { (e.body) } }
                @if let Some(html) = e.meta.as_ref().and_then(|m| m.get("html")).and_then(|h| h.as_str()) {
                    details ."mt-2" {
                        summary ."cursor-pointer text-xs text-blue-700" { "Show the email as it was sent" }
                        // Cleaned when it arrived, and again here: nothing in it can run or load.
                        div ."mt-2 overflow-x-auto rounded border border-slate-200 p-3 text-sm" data-email-html {
                            (maud::PreEscaped(app::messaging::replies::clean_html(html)))
                        }
                    }
                }
            }
        }
    }
}

/// A page of log entries and, if there are more, the button that loads the next page.
fn log_items(contact: ContactId, kind: Option<LogKind>, entries: &[LogEntry]) -> Markup {
    let more = entries.len() as i64 > LOG_PAGE;
    let shown = &entries[..entries.len().min(LOG_PAGE as usize)];
    html! {
        @for e in shown { (log_entry(e)) }
        @if more {
            @if let Some(last) = shown.last() {
                li #log-more ."py-3" {
                    button ."btn w-full" type="button"
                        hx-get=(format!("/contacts/{contact}/log?kind={}&after={}.{}", kind.map(|k| k.as_str()).unwrap_or(""), last.occurred_at.timestamp_millis(), last.id.0))
                        hx-target="#log-more" hx-swap="outerHTML" hx-trigger="click, revealed" { "Load more" }
                }
            }
        }
    }
}

fn page_body(
    csrf: &str,
    l: &Loaded,
    kind: Option<LogKind>,
    error: Option<(&str, &str)>,
    form: Option<&ContactForm>,
    compose: Option<(&ComposeForm, (&str, &str))>,
) -> Markup {
    let c = &l.contact;
    let err = |f: &str| error.filter(|(n, _)| *n == f).map(|(_, m)| m);
    let known = [
        "first_name",
        "last_name",
        "primary_email",
        "primary_phone",
        "company",
    ];
    let general = error
        .filter(|(n, _)| !known.contains(n) && !l.defs.iter().any(|d| d.name.as_str() == *n))
        .map(|(_, m)| m);
    let value = |key: &str, current: String| form.map(|f| f.get(key)).unwrap_or(current);
    let base_input = |name: &str, label: &str, kind: &str, current: String| {
        let v = value(name, current);
        html! {
            div ."space-y-1" {
                label ."label" for=(format!("field-{name}")) { (label) }
                input ."input" id=(format!("field-{name}")) name=(name) type=(kind) value=(v);
                @if let Some(e) = err(name) { p ."text-sm text-red-700" { (e) } }
            }
        }
    };
    let tags_text = c
        .tags
        .iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        div ."mb-4 flex flex-wrap items-center gap-3" {
            h1 ."text-2xl font-semibold" #contact-name { (c.display_name()) }
            span ."rounded bg-blue-100 px-2 py-1 text-sm text-blue-900" #contact-stage { (c.primary_list.name) }
            span ."text-sm text-slate-600" { (last_contacted(c)) }
        }
        // Big targets for a phone between showings.
        div ."mb-4 grid grid-cols-3 gap-2 sm:flex" {
            @if let Some(p) = &c.primary_phone {
                a ."btn btn-primary justify-center" href=(format!("tel:{}", p.as_str())) { "Call" }
                a ."btn justify-center" href=(format!("sms:{}", p.as_str())) { "Text" }
            }
            @if let Some(e) = &c.primary_email {
                a ."btn justify-center" href=(format!("mailto:{}", e.as_str())) { "Email" }
            }
        }
        @let pinned = notices(l);
        @if !pinned.is_empty() {
            ul ."mb-4 space-y-2" #notices aria-label="Notices" {
                @for (tone, text) in pinned { li ."rounded-md border p-3 text-sm" .(tone) { (text) } }
            }
        }
        div ."grid grid-cols-1 gap-6 lg:grid-cols-[minmax(0,2fr)_minmax(0,3fr)]" {
            div ."min-w-0 space-y-6" {
                form ."card space-y-3" method="post" action=(format!("/contacts/{}/stage", c.id))
                    hx-post=(format!("/contacts/{}/stage", c.id)) hx-trigger="change" hx-target="body" {
                    (csrf_field(csrf))
                    input type="hidden" name="return_to" value=(format!("/contacts/{}", c.id));
                    label ."label" for="stage-select" { "Stage" }
                    select ."input" #stage-select name="stage" {
                        @for s in &l.stages { option value=(s.id) selected[s.id == c.primary_list.id] { (s.name) } }
                    }
                    noscript { button ."btn" type="submit" { "Move" } }
                }
                form ."card space-y-4" method="post" action=(format!("/contacts/{}", c.id)) #contact-form {
                    h2 ."text-lg font-semibold" { "Details" }
                    (csrf_field(csrf))
                    (form_error(general))
                    div ."grid gap-3 sm:grid-cols-2" {
                        (base_input("first_name", "First name", "text", c.first_name.clone()))
                        (base_input("last_name", "Last name", "text", c.last_name.clone()))
                        (base_input("primary_email", "Email", "email", c.primary_email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default()))
                        (base_input("primary_phone", "Phone", "tel", c.primary_phone.as_ref().map(|p| p.display()).unwrap_or_default()))
                        (base_input("company", "Company", "text", c.company.clone()))
                        div ."space-y-1" {
                            label ."label" for="field-tags" { "Tags" }
                            input ."input" #field-tags name="tags" value=(value("tags", tags_text.clone()));
                        }
                        @for def in &l.defs {
                            @let current = c.custom_value(def.name.as_str()).map(|v| match v {
                                FieldValue::Json(j) => serde_json::to_string_pretty(j).unwrap_or_default(),
                                other => other.to_stored().text,
                            }).unwrap_or_default();
                            div {
                                (custom_input(def, &value(&format!("cf.{}", def.name.as_str()), current)))
                                @if let Some(v) = c.custom_value(def.name.as_str()) {
                                    @match v {
                                        FieldValue::Url(u) => { a ."text-xs text-blue-700 underline" href=(u) rel="noopener noreferrer" target="_blank" { "Open link" } },
                                        FieldValue::Phone(p) => { a ."text-xs text-blue-700 underline" href=(format!("tel:{}", p.as_str())) { "Call " (p.display()) } },
                                        FieldValue::Email(e) => { a ."text-xs text-blue-700 underline" href=(format!("mailto:{}", e.as_str())) { "Email" } },
                                        _ => {},
                                    }
                                }
                                @if let Some(e) = err(def.name.as_str()) { p ."text-sm text-red-700" { (e) } }
                            }
                        }
                    }
                    @if error.is_some_and(|(f, _)| f == "duplicate") {
                        label ."flex items-center gap-2 text-sm" { input ."h-5 w-5" type="checkbox" name="allow_duplicate" value="1"; "Save anyway" }
                    }
                    button ."btn btn-primary" type="submit" { "Save changes" }
                }
                section ."card space-y-3" #sharing {
                    h2 ."text-lg font-semibold" { "Sharing" }
                    @for share in &l.shares {
                        form ."flex items-center gap-2" method="post" action=(format!("/contacts/{}/shares/revoke", c.id)) {
                            (csrf_field(csrf))
                            input type="hidden" name="username" value=(share.recipient_username);
                            span ."flex-1 text-sm" { "Shared with " strong { (share.recipient_username) } }
                            button ."btn" type="submit" { "Stop sharing" }
                        }
                    }
                    form ."space-y-2" method="post" action=(format!("/contacts/{}/shares", c.id)) {
                        (csrf_field(csrf))
                        label ."label" for="share-username" { "Share with (username)" }
                        input ."input" #share-username name="username" required autocomplete="off";
                        @if let Some(e) = err("username") { p ."text-sm text-red-700" { (e) } }
                        label ."flex min-h-11 items-center gap-2 text-sm" { input ."h-5 w-5" type="checkbox" name="include_log" value="1"; "Also share the log" }
                        button ."btn" type="submit" { "Share" }
                    }
                    p ."text-xs text-slate-600" { "They see this contact read-only and can save a copy of their own. Nothing else of yours is visible to them." }
                }
                @let dnc = l.messaging_notices.iter().any(|n| n == "Do Not Contact");
                form method="post" action=(format!("/contacts/{}/do-not-contact", c.id)) #do-not-contact {
                    (csrf_field(csrf))
                    input type="hidden" name="value" value=(if dnc { "0" } else { "1" });
                    button ."btn" type="submit" { (if dnc { "Allow emails and texts again" } else { "Mark Do Not Contact" }) }
                }
                @if c.deleted_at.is_some() {
                    form method="post" action=(format!("/contacts/{}/restore", c.id)) {
                        (csrf_field(csrf)) button ."btn" type="submit" { "Restore from trash" }
                    }
                } @else {
                    form method="post" action=(format!("/contacts/{}/trash", c.id)) data-confirm="Move this contact to the trash? You can restore it for 30 days." {
                        (csrf_field(csrf)) button ."btn btn-danger" type="submit" { "Move to trash" }
                    }
                }
            }
            div ."min-w-0 self-start" {
            @if c.deleted_at.is_none() {
                (compose_card(csrf, c, compose.map(|(f, _)| f), compose.map(|(_, e)| e)))
            }
            section ."card min-w-0" aria-labelledby="log-heading" {
                h2 #log-heading ."mb-3 text-lg font-semibold" { "Log" }
                form ."mb-3 space-y-2" method="post" action=(format!("/contacts/{}/notes", c.id)) {
                    (csrf_field(csrf))
                    label ."label" for="note-body" { "Add a note" }
                    textarea ."input min-h-20" #note-body name="body" required {}
                    @if let Some(e) = err("body") { p ."text-sm text-red-700" { (e) } }
                    button ."btn btn-primary" type="submit" { "Add note" }
                }
                details ."mb-4" {
                    summary ."cursor-pointer text-sm font-medium text-blue-700" { "Log a call" }
                    form ."mt-2 grid gap-3 sm:grid-cols-3" method="post" action=(format!("/contacts/{}/calls", c.id)) {
                        (csrf_field(csrf))
                        div ."space-y-1" { label ."label" for="call-at" { "When" } input ."input" #call-at type="datetime-local" name="occurred_at"; }
                        div ."space-y-1" { label ."label" for="call-minutes" { "Minutes" } input ."input" #call-minutes type="number" min="0" max="1440" name="duration_minutes" value="0"; }
                        div ."space-y-1" {
                            label ."label" for="call-outcome" { "Outcome" }
                            select ."input" #call-outcome name="outcome" { @for o in CallOutcome::ALL { option value=(o.as_str()) { (o.label()) } } }
                        }
                        div ."space-y-1 sm:col-span-3" { label ."label" for="call-note" { "Note" } textarea ."input" #call-note name="note" {} }
                        button ."btn" type="submit" { "Save call" }
                    }
                }
                nav ."mb-2 flex gap-1 overflow-x-auto" aria-label="Log tabs" {
                    a ."whitespace-nowrap rounded-md px-3 py-2 text-sm" .(if kind.is_none() { "bg-blue-600 text-white" } else { "hover:bg-slate-100" })
                        href=(format!("/contacts/{}", c.id)) { "All" }
                    @for k in LogKind::ALL {
                        a ."whitespace-nowrap rounded-md px-3 py-2 text-sm" .(if kind == Some(*k) { "bg-blue-600 text-white" } else { "hover:bg-slate-100" })
                            href=(format!("/contacts/{}?tab={}", c.id, k.as_str())) { (k.tab_label()) }
                    }
                }
                ul ."divide-y divide-slate-200" #log {
                    @if l.log.is_empty() { li ."py-3 text-sm text-slate-600" { "Nothing here yet." } }
                    (log_items(c.id, kind, &l.log))
                }
            }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct TabQuery {
    tab: Option<String>,
}

async fn render(
    who: &SignedIn,
    id: ContactId,
    kind: Option<LogKind>,
    error: Option<(&str, &str)>,
    form: Option<&ContactForm>,
) -> Result<Markup, PageError> {
    let l = load(who, id, kind).await?;
    let ws = l.ws.clone();
    let title = l.contact.display_name();
    who.render(&title, Some(ws), Section::Contacts, |chrome| {
        page_body(&chrome.csrf, &l, kind, error, form, None)
    })
    .await
}

/// The contact's page with the Write card showing what was typed and why it was not sent.
pub(crate) async fn render_compose(
    who: &SignedIn,
    id: ContactId,
    compose: &ComposeForm,
    error: (&str, &str),
) -> Result<Markup, PageError> {
    let l = load(who, id, None).await?;
    let ws = l.ws.clone();
    let title = l.contact.display_name();
    who.render(&title, Some(ws), Section::Contacts, |chrome| {
        page_body(&chrome.csrf, &l, None, None, None, Some((compose, error)))
    })
    .await
}

pub async fn show(
    who: SignedIn,
    path: web::Path<i64>,
    query: web::Query<TabQuery>,
) -> Result<HttpResponse, PageError> {
    let kind = query.tab.as_deref().and_then(LogKind::parse);
    let id = ContactId(path.into_inner());
    let page = render(&who, id, kind, None, None).await?;
    // Seeing the page reads the contact's replies: they leave the Inbox.
    let caller = who.caller.clone();
    blocking(&who.state.app, move |app| {
        app::messaging::texts::mark_contact_read(app, &caller, id)
    })
    .await?;
    Ok(html(page))
}

pub async fn update(
    who: SignedIn,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let id = ContactId(path.into_inner());
    let form = ContactForm::parse(&body)?;
    let patch = ContactPatch {
        first_name: Some(form.get("first_name")),
        last_name: Some(form.get("last_name")),
        primary_email: Some(form.get("primary_email")),
        primary_phone: Some(form.get("primary_phone")),
        company: Some(form.get("company")),
        stage: None,
        tags: Some(form.tags()),
        custom: form
            .custom()
            .into_iter()
            .map(|(k, v)| (k, Some(RawValue::Text(v))))
            .collect(),
        allow_duplicate: !form.get("allow_duplicate").is_empty(),
    };
    let caller = who.caller.clone();
    match blocking(&who.state.app, move |app| {
        app::contacts::update(app, &caller, id, patch)
    })
    .await
    {
        Ok(_) => {
            flash(&who.session, FlashKind::Success, "Saved.");
            Ok(see_other(&format!("/contacts/{id}")))
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            render(&who, id, None, Some((&v.field, &v.message)), Some(&form)).await?,
        )),
        Err(AppError::Duplicate { message, .. }) => Ok(html_unprocessable(
            render(&who, id, None, Some(("duplicate", &message)), Some(&form)).await?,
        )),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct StageForm {
    #[serde(default)]
    stage: String,
    return_to: Option<String>,
}

pub async fn set_stage(
    who: SignedIn,
    path: web::Path<i64>,
    input: web::Form<StageForm>,
) -> Result<HttpResponse, PageError> {
    let (caller, id) = (who.caller.clone(), ContactId(path.into_inner()));
    let stage = input.stage.trim().parse().map(ListId);
    let contact = blocking(&who.state.app, move |app| {
        app::contacts::get(app, &caller, id)?;
        let stage = stage
            .map_err(|_| domain::validation::ValidationError::new("stage", "Choose a stage."))?;
        app::contacts::set_stage(app, &caller, id, stage)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Success,
        format!(
            "{} moved to {}.",
            contact.display_name(),
            contact.primary_list.name
        ),
    );
    Ok(see_other(&safe_next(input.return_to.as_deref())))
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    body: String,
}

pub async fn add_note(
    who: SignedIn,
    path: web::Path<i64>,
    input: web::Form<NoteForm>,
) -> Result<HttpResponse, PageError> {
    let (caller, id, body) = (
        who.caller.clone(),
        ContactId(path.into_inner()),
        input.body.clone(),
    );
    match blocking(&who.state.app, move |app| {
        app::contacts::add_note(app, &caller, id, &body)
    })
    .await
    {
        Ok(_) => {
            flash(&who.session, FlashKind::Success, "Note added.");
            Ok(see_other(&format!("/contacts/{id}")))
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            render(&who, id, None, Some(("body", &v.message)), None).await?,
        )),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct CallForm {
    #[serde(default)]
    occurred_at: String,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
}

pub async fn log_call(
    who: SignedIn,
    path: web::Path<i64>,
    input: web::Form<CallForm>,
) -> Result<HttpResponse, PageError> {
    let id = ContactId(path.into_inner());
    // The browser sends local time without a zone; read it in the workspace's zone.
    let (caller, uid) = (who.caller.clone(), who.user.id);
    let c = caller.clone();
    let tz = blocking(&who.state.app, move |app| {
        let contact = app::contacts::get(app, &c, id)?;
        Ok(app::workspaces::get(app, uid, contact.workspace_id)?
            .time_zone
            .tz())
    })
    .await?;
    let at = match input.occurred_at.trim() {
        "" => Utc::now(),
        raw => NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
            .ok()
            .and_then(|naive| tz.from_local_datetime(&naive).earliest())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| {
                PageError::BadRequest("The call time could not be read: pick it again.".into())
            })?,
    };
    let minutes: u32 = input.duration_minutes.trim().parse().unwrap_or(0);
    let outcome =
        CallOutcome::parse(&input.outcome).map_err(|e| PageError::BadRequest(e.message))?;
    let note = input.note.clone();
    match blocking(&who.state.app, move |app| {
        app::contacts::log_call(app, &caller, id, at, minutes, outcome, &note)
    })
    .await
    {
        Ok(_) => {
            flash(&who.session, FlashKind::Success, "Call logged.");
            Ok(see_other(&format!("/contacts/{id}")))
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            render(&who, id, None, Some(("body", &v.message)), None).await?,
        )),
        Err(other) => Err(other.into()),
    }
}

pub async fn trash(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let (caller, id) = (who.caller.clone(), ContactId(path.into_inner()));
    let c = blocking(&who.state.app, move |app| {
        app::contacts::trash(app, &caller, id)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Info,
        format!(
            "{} moved to the trash. Restore it from its page within 30 days.",
            c.display_name()
        ),
    );
    Ok(see_other(&format!("/w/{}/contacts", c.workspace_id)))
}

pub async fn restore(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let (caller, id) = (who.caller.clone(), ContactId(path.into_inner()));
    let c = blocking(&who.state.app, move |app| {
        app::contacts::restore(app, &caller, id)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Success,
        format!("{} restored.", c.display_name()),
    );
    Ok(see_other(&format!("/contacts/{id}")))
}

#[derive(Deserialize)]
pub struct MoreQuery {
    kind: Option<String>,
    after: Option<String>,
}

/// The htmx fragment behind "Load more": the next entries of the log.
pub async fn log_more(
    who: SignedIn,
    path: web::Path<i64>,
    query: web::Query<MoreQuery>,
) -> Result<HttpResponse, PageError> {
    let id = ContactId(path.into_inner());
    let kind = query.kind.as_deref().and_then(LogKind::parse);
    let after = query.after.as_deref().and_then(|raw| {
        let (ms, entry) = raw.split_once('.')?;
        Some(LogCursor {
            occurred_at: chrono::DateTime::from_timestamp_millis(ms.parse().ok()?)?,
            id: LogEntryId(entry.parse().ok()?),
        })
    });
    let caller = who.caller.clone();
    let entries = blocking(&who.state.app, move |app| {
        app::contacts::log(app, &caller, id, kind, after, LOG_PAGE + 1)
    })
    .await?;
    Ok(html(log_items(id, kind, &entries)))
}

#[derive(Deserialize)]
pub struct ShareForm {
    #[serde(default)]
    username: String,
    include_log: Option<String>,
}

pub async fn share(
    who: SignedIn,
    path: web::Path<i64>,
    input: web::Form<ShareForm>,
) -> Result<HttpResponse, PageError> {
    let id = ContactId(path.into_inner());
    let (caller, username, include_log) = (
        who.caller.clone(),
        input.username.clone(),
        input.include_log.is_some(),
    );
    match blocking(&who.state.app, move |app| {
        app::contacts::get(app, &caller, id)?;
        app::shares::share(app, &caller, id, &username, include_log)
    })
    .await
    {
        Ok(share) => {
            flash(
                &who.session,
                FlashKind::Success,
                format!("Shared with {}.", share.recipient_username),
            );
            Ok(see_other(&format!("/contacts/{id}")))
        }
        Err(AppError::Validation(v)) => Ok(html_unprocessable(
            render(&who, id, None, Some(("username", &v.message)), None).await?,
        )),
        Err(AppError::Conflict { message, .. }) => Ok(html_unprocessable(
            render(&who, id, None, Some(("username", &message)), None).await?,
        )),
        Err(other) => Err(other.into()),
    }
}

pub async fn unshare(
    who: SignedIn,
    path: web::Path<i64>,
    input: web::Form<ShareForm>,
) -> Result<HttpResponse, PageError> {
    let id = ContactId(path.into_inner());
    let (caller, username) = (who.caller.clone(), input.username.clone());
    blocking(&who.state.app, move |app| {
        app::contacts::get(app, &caller, id)?;
        app::shares::revoke(app, &caller, id, &username)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Success,
        format!("No longer shared with {}.", input.username.trim()),
    );
    Ok(see_other(&format!("/contacts/{id}")))
}
