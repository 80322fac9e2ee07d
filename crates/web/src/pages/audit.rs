//! The audit log pages: per workspace, and for the whole account. Filters live in the URL (so
//! a view can be bookmarked); htmx swaps just the table when they change.

use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, TimeZone, Utc};
use domain::audit::{AuditEntry, AuditFilter};
use domain::ids::WorkspaceId;
use domain::pagination::{Page, PageRequest};
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::account::{Tab, tabs};
use crate::pages::html;
use crate::pages::workspaces::load;
use crate::state::blocking;
use crate::views::components::when;
use crate::views::layout::Section;

#[derive(Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<u32>,
}

const ACTOR_KINDS: &[(&str, &str)] = &[
    ("", "Anyone"),
    ("user", "You, in the browser"),
    ("api_key", "API keys"),
    ("cli", "Command line"),
    ("job", "Scheduled jobs"),
    ("anonymous", "Not signed in"),
];

impl AuditQuery {
    fn filter(&self) -> AuditFilter {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        AuditFilter {
            action_prefix: Some(self.action.trim().to_owned()).filter(|s| !s.is_empty()),
            actor_kind: Some(self.actor.trim().to_owned()).filter(|s| !s.is_empty()),
            since: day(&self.from)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| Utc.from_utc_datetime(&d)),
            until: day(&self.to)
                .and_then(|d| d.succ_opt())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| Utc.from_utc_datetime(&d)),
        }
    }

    fn url(&self, base: &str, page: u32) -> String {
        let q = serde_urlencoded::to_string([
            ("action", self.action.as_str()),
            ("actor", self.actor.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("{base}?{q}")
    }
}

fn filters(base: &str, q: &AuditQuery) -> Markup {
    html! {
        form ."mb-4 grid gap-3 sm:grid-cols-5 sm:items-end" method="get" action=(base)
            hx-get=(base) hx-target="#audit-table" hx-select="#audit-table" hx-swap="outerHTML" hx-push-url="true"
            hx-trigger="change, submit" {
            div ."space-y-1" {
                label ."label" for="audit-action" { "Action starts with" }
                input ."input" #audit-action name="action" value=(q.action) placeholder="workspace.";
            }
            div ."space-y-1" {
                label ."label" for="audit-actor" { "Who" }
                select ."input" #audit-actor name="actor" {
                    @for (value, label) in ACTOR_KINDS {
                        option value=(value) selected[q.actor == *value] { (label) }
                    }
                }
            }
            div ."space-y-1" {
                label ."label" for="audit-from" { "From" }
                input ."input" #audit-from type="date" name="from" value=(q.from);
            }
            div ."space-y-1" {
                label ."label" for="audit-to" { "To" }
                input ."input" #audit-to type="date" name="to" value=(q.to);
            }
            button ."btn h-11" type="submit" { "Filter" }
        }
    }
}

fn table(base: &str, q: &AuditQuery, page: &Page<AuditEntry>) -> Markup {
    html! {
        div #audit-table {
            p ."mb-2 text-sm text-slate-600" { (page.total) " entries" }
            @if page.items.is_empty() {
                p ."card text-slate-600" { "Nothing matches these filters." }
            } @else {
                ul ."divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white" {
                    @for e in &page.items {
                        li ."p-3" {
                            details {
                                summary ."flex cursor-pointer flex-wrap items-center gap-x-3 gap-y-1" {
                                    code ."rounded bg-slate-100 px-1 text-sm" { (e.action) }
                                    span ."text-sm" { (e.actor_label) }
                                    span ."ml-auto text-xs text-slate-600" { (when(e.at)) }
                                }
                                div ."mt-2 grid gap-2 text-xs md:grid-cols-2" {
                                    @if let Some(b) = &e.before {
                                        div { p ."font-semibold" { "Before" } pre ."overflow-x-auto rounded bg-slate-50 p-2" { (serde_json::to_string_pretty(b).unwrap_or_default()) } }
                                    }
                                    @if let Some(a) = &e.after {
                                        div { p ."font-semibold" { "After" } pre ."overflow-x-auto rounded bg-slate-50 p-2" { (serde_json::to_string_pretty(a).unwrap_or_default()) } }
                                    }
                                    p ."text-slate-600" { (e.entity_type) " " (e.entity_id.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
                nav ."mt-3 flex gap-2" aria-label="Pages" {
                    @if page.page > 1 {
                        a ."btn" href=(q.url(base, page.page - 1)) { "Newer" }
                    }
                    @if page.has_next() {
                        a ."btn" href=(q.url(base, page.page + 1)) { "Older" }
                    }
                }
            }
        }
    }
}

pub async fn workspace(
    who: SignedIn,
    path: web::Path<i64>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let q = query.into_inner();
    let (caller, id, filter, req) = (
        who.caller.clone(),
        ws.id,
        q.filter(),
        PageRequest::new(q.page, Some(50)),
    );
    let page = blocking(&who.state.app, move |app| {
        app::audit::for_workspace(app, &caller, WorkspaceId(id.0), &filter, req)
    })
    .await?;
    let base = format!("/w/{}/audit", ws.id);
    let markup = who
        .render("Audit log", Some(ws), Section::WorkspaceAudit, |_| html! {
            h1 ."mb-4 text-2xl font-semibold" { "Audit log" }
            p ."mb-4 text-sm text-slate-600" { "Every change in this workspace: who made it, when, and what it was before and after." }
            (filters(&base, &q))
            (table(&base, &q, &page))
        })
        .await?;
    Ok(html(markup))
}

pub async fn account(
    who: SignedIn,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let q = query.into_inner();
    let (caller, filter, req) = (
        who.caller.clone(),
        q.filter(),
        PageRequest::new(q.page, Some(50)),
    );
    let page = blocking(&who.state.app, move |app| {
        app::audit::for_account(app, &caller, &filter, req)
    })
    .await?;
    let base = "/settings/audit";
    let markup = who
        .render("Activity", None, Section::Account, |_| html! {
            (tabs(Tab::Activity))
            p ."mb-4 text-sm text-slate-600" { "Sign-ins, keys, settings and changes across all your workspaces, plus the server's own housekeeping." }
            (filters(base, &q))
            (table(base, &q, &page))
        })
        .await?;
    Ok(html(markup))
}
