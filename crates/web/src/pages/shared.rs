//! "Shared with me": contacts other users share with this one, read-only, with "Save As" to
//! copy one into a workspace of one's own.

use actix_web::{HttpResponse, web};
use domain::ids::{ShareId, WorkspaceId};
use maud::html;
use serde::Deserialize;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::{flash, html, see_other};
use crate::state::blocking;
use crate::views::components::{csrf_field, when};
use crate::views::layout::{FlashKind, Section};

pub async fn list(who: SignedIn) -> Result<HttpResponse, PageError> {
    let caller = who.caller.clone();
    let items = blocking(&who.state.app, move |app| {
        app::shares::shared_with_me(app, &caller)
    })
    .await?;
    let markup = who
        .render("Shared with me", None, Section::Workspaces, |_| html! {
            h1 ."mb-2 text-2xl font-semibold" { "Shared with me" }
            p ."mb-4 text-sm text-slate-600" { "Contacts other people share with you. Open one to see it or save your own copy." }
            @if items.is_empty() {
                p ."card text-slate-700" { "Nothing is shared with you right now." }
            } @else {
                ul ."space-y-2" #shared-list {
                    @for v in &items {
                        li { a ."card flex flex-wrap items-center gap-2 hover:border-blue-400" href=(format!("/shared/{}", v.share.id)) {
                            span ."font-medium" { (v.contact.display_name()) }
                            span ."text-sm text-slate-600" { "from " (v.share.owner_name) ", " (when(v.share.created_at)) }
                        } }
                    }
                }
            }
        })
        .await?;
    Ok(html(markup))
}

pub async fn show(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let (caller, id, uid) = (who.caller.clone(), ShareId(path.into_inner()), who.user.id);
    let (view, workspaces) = blocking(&who.state.app, move |app| {
        Ok((
            app::shares::view(app, &caller, id)?,
            app::workspaces::all_active(app, uid)?,
        ))
    })
    .await?;
    let c = &view.contact;
    let markup = who
        .render(&c.display_name(), None, Section::Workspaces, |chrome| html! {
            p ."mb-2 text-sm text-slate-600" { "Shared with you by " (view.share.owner_name) " · read-only" }
            h1 ."mb-4 text-2xl font-semibold" #shared-name { (c.display_name()) }
            div ."grid gap-6 lg:grid-cols-2" {
                section ."card" {
                    dl ."grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm" {
                        dt ."text-slate-600" { "Email" } dd { @if let Some(e) = &c.primary_email { a ."text-blue-700 underline" href=(format!("mailto:{}", e.as_str())) { (e.as_str()) } } }
                        dt ."text-slate-600" { "Phone" } dd { @if let Some(p) = &c.primary_phone { a ."text-blue-700 underline" href=(format!("tel:{}", p.as_str())) { (p.display()) } } }
                        dt ."text-slate-600" { "Company" } dd { (c.company) }
                        @for v in &c.custom { dt ."text-slate-600" { (v.label) } dd ."whitespace-pre-line" { (v.value.display()) } }
                    }
                }
                section ."card space-y-3" {
                    h2 ."text-lg font-semibold" { "Save a copy" }
                    p ."text-sm text-slate-600" { "Makes an independent contact in your workspace; it stays yours even if sharing stops." }
                    @if workspaces.is_empty() {
                        p { a ."text-blue-700 underline" href="/workspaces" { "Create a workspace" } " first." }
                    } @else {
                        form ."flex flex-wrap items-end gap-2" method="post" action=(format!("/shared/{}/save-as", view.share.id)) {
                            (csrf_field(&chrome.csrf))
                            div ."space-y-1" {
                                label ."label" for="save-as-workspace" { "Workspace" }
                                select ."input" #save-as-workspace name="workspace_id" { @for w in &workspaces { option value=(w.id) { (w.name.as_str()) } } }
                            }
                            button ."btn btn-primary" type="submit" { "Save As" }
                        }
                    }
                }
            }
            @if !view.log.is_empty() {
                section ."card mt-6" {
                    h2 ."mb-2 text-lg font-semibold" { "Log" }
                    ul ."divide-y divide-slate-200" {
                        @for e in &view.log {
                            li ."py-2 text-sm" { span ."font-medium" { (e.summary) } " · " (when(e.occurred_at)) }
                        }
                    }
                }
            }
        })
        .await?;
    Ok(html(markup))
}

#[derive(Deserialize)]
pub struct SaveAsForm {
    #[serde(default)]
    workspace_id: String,
}

pub async fn save_as(
    who: SignedIn,
    path: web::Path<i64>,
    input: web::Form<SaveAsForm>,
) -> Result<HttpResponse, PageError> {
    let (caller, id) = (who.caller.clone(), ShareId(path.into_inner()));
    let ws = input.workspace_id.trim().parse().map(WorkspaceId);
    let copy = blocking(&who.state.app, move |app| {
        app::shares::view(app, &caller, id)?;
        let ws = ws.map_err(|_| {
            domain::validation::ValidationError::new(
                "workspace_id",
                "Choose one of your workspaces.",
            )
        })?;
        app::shares::save_as(app, &caller, id, ws)
    })
    .await?;
    flash(
        &who.session,
        FlashKind::Success,
        format!("Saved {} to your workspace.", copy.display_name()),
    );
    Ok(see_other(&format!("/contacts/{}", copy.id)))
}
