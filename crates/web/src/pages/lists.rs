//! A workspace's stages (the pipeline, in board order) and tags: add, rename, reorder, remove.
//! Removing a stage that holds contacts asks where they go.

use actix_web::{HttpResponse, web};
use app::AppError;
use domain::ids::ListId;
use domain::list::{List, ListKind};
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::workspaces::load;
use crate::pages::{flash, html, see_other};
use crate::state::blocking;
use crate::views::components::csrf_field;
use crate::views::layout::{FlashKind, Section};

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
}

#[derive(Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    direction: String,
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    move_to: String,
}

fn rows(csrf: &str, lists: &[List], stages: &[List]) -> Markup {
    html! {
        ul ."divide-y divide-slate-200" {
            @for l in lists {
                li ."flex flex-wrap items-center gap-2 py-3" data-list=(l.id) {
                    form ."flex flex-1 gap-2" method="post" action=(format!("/lists/{}/rename", l.id)) {
                        (csrf_field(csrf))
                        label ."sr-only" for=(format!("list-{}", l.id)) { "Name" }
                        input ."input" id=(format!("list-{}", l.id)) name="name" value=(l.name) required;
                        button ."btn" type="submit" { "Rename" }
                    }
                    span ."text-sm text-slate-600" { (l.contacts) " contacts" }
                    form method="post" action=(format!("/lists/{}/move", l.id)) {
                        (csrf_field(csrf)) input type="hidden" name="direction" value="up";
                        button ."btn px-2" type="submit" aria-label=(format!("Move {} up", l.name)) { "↑" }
                    }
                    form method="post" action=(format!("/lists/{}/move", l.id)) {
                        (csrf_field(csrf)) input type="hidden" name="direction" value="down";
                        button ."btn px-2" type="submit" aria-label=(format!("Move {} down", l.name)) { "↓" }
                    }
                    form ."flex gap-2" method="post" action=(format!("/lists/{}/delete", l.id))
                        data-confirm=(format!("Remove '{}'?", l.name)) {
                        (csrf_field(csrf))
                        // Trashed contacts hold their stage too, so offer the move for any stage.
                        @if l.kind == ListKind::Primary && stages.len() > 1 {
                            label ."sr-only" for=(format!("move-to-{}", l.id)) { "Move its contacts to" }
                            select ."input py-1 text-sm" id=(format!("move-to-{}", l.id)) name="move_to" {
                                @for s in stages.iter().filter(|s| s.id != l.id) { option value=(s.id) { "Move contacts to " (s.name) } }
                            }
                        }
                        button ."btn btn-danger" type="submit" { "Remove" }
                    }
                }
            }
        }
    }
}

pub async fn show(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let (caller, id) = (who.caller.clone(), ws.id);
    let lists = blocking(&who.state.app, move |app| {
        app::lists::for_workspace(app, &caller, id, None)
    })
    .await?;
    let (stages, tags): (Vec<List>, Vec<List>) =
        lists.into_iter().partition(|l| l.kind == ListKind::Primary);
    let ws_id = ws.id;
    let markup = who
        .render("Stages and tags", Some(ws), Section::WorkspaceSettings, |chrome| html! {
            h1 ."mb-4 text-2xl font-semibold" { "Stages and tags" }
            div ."grid max-w-3xl gap-6" {
                section ."card" #stages {
                    h2 ."mb-1 text-lg font-semibold" { "Stages" }
                    p ."text-sm text-slate-600" { "Every contact is in exactly one stage; the board shows them in this order." }
                    (rows(&chrome.csrf, &stages, &stages))
                }
                section ."card" #tags {
                    h2 ."mb-1 text-lg font-semibold" { "Tags" }
                    p ."text-sm text-slate-600" { "A contact can have any number of tags, for segments such as Hot Leads or Q3 Campaign." }
                    @if tags.is_empty() { p ."mt-2 text-slate-600" { "No tags yet." } } @else { (rows(&chrome.csrf, &tags, &stages)) }
                }
                form ."card flex flex-wrap items-end gap-3" method="post" action=(format!("/w/{ws_id}/lists")) {
                    (csrf_field(&chrome.csrf))
                    div ."flex-1 space-y-1" { label ."label" for="new-list-name" { "Name" } input ."input" #new-list-name name="name" required; }
                    div ."space-y-1" {
                        label ."label" for="new-list-kind" { "Kind" }
                        select ."input" #new-list-kind name="kind" { option value="secondary" { "Tag" } option value="primary" { "Stage" } }
                    }
                    button ."btn btn-primary" type="submit" { "Add" }
                }
            }
        })
        .await?;
    Ok(html(markup))
}

fn back(ws: domain::ids::WorkspaceId) -> String {
    format!("/w/{ws}/lists")
}

fn report(who: &SignedIn, result: Result<(), AppError>, done: &str) -> Result<(), PageError> {
    match result {
        Ok(()) => {
            flash(&who.session, FlashKind::Success, done);
            Ok(())
        }
        Err(AppError::Validation(v)) => {
            flash(&who.session, FlashKind::Error, v.message);
            Ok(())
        }
        Err(AppError::Conflict { message, .. }) => {
            flash(&who.session, FlashKind::Error, message);
            Ok(())
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn create(
    who: SignedIn,
    path: web::Path<i64>,
    input: web::Form<CreateForm>,
) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let kind = ListKind::parse(&input.kind).unwrap_or(ListKind::Secondary);
    let (caller, id, name) = (who.caller.clone(), ws.id, input.name.clone());
    let result = blocking(&who.state.app, move |app| {
        app::lists::create(app, &caller, id, kind, &name).map(|_| ())
    })
    .await;
    report(&who, result, "Added.")?;
    Ok(see_other(&back(ws.id)))
}

async fn workspace_of(who: &SignedIn, id: ListId) -> Result<domain::ids::WorkspaceId, PageError> {
    let caller = who.caller.clone();
    let lists = blocking(&who.state.app, move |app| app::lists::get(app, &caller, id)).await?;
    Ok(lists.workspace_id)
}

pub async fn rename(
    who: SignedIn,
    path: web::Path<i64>,
    input: web::Form<RenameForm>,
) -> Result<HttpResponse, PageError> {
    let id = ListId(path.into_inner());
    let ws = workspace_of(&who, id).await?;
    let (caller, name) = (who.caller.clone(), input.name.clone());
    let result = blocking(&who.state.app, move |app| {
        app::lists::rename(app, &caller, id, &name).map(|_| ())
    })
    .await;
    report(&who, result, "Renamed.")?;
    Ok(see_other(&back(ws)))
}

pub async fn move_list(
    who: SignedIn,
    path: web::Path<i64>,
    input: web::Form<MoveForm>,
) -> Result<HttpResponse, PageError> {
    let id = ListId(path.into_inner());
    let ws = workspace_of(&who, id).await?;
    let (caller, up) = (who.caller.clone(), input.direction == "up");
    blocking(&who.state.app, move |app| {
        app::lists::reorder(app, &caller, id, up)
    })
    .await?;
    Ok(see_other(&back(ws)))
}

pub async fn delete(
    who: SignedIn,
    path: web::Path<i64>,
    input: web::Form<DeleteForm>,
) -> Result<HttpResponse, PageError> {
    let id = ListId(path.into_inner());
    let ws = workspace_of(&who, id).await?;
    let move_to = input.move_to.trim().parse().ok().map(ListId);
    let caller = who.caller.clone();
    let result = blocking(&who.state.app, move |app| {
        app::lists::delete(app, &caller, id, move_to)
    })
    .await;
    report(&who, result, "Removed.")?;
    Ok(see_other(&back(ws)))
}
