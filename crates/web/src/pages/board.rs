//! The board: contacts as cards in columns by stage. Moving a card (the stage picker on it)
//! changes the stage and writes it to the contact's log.

use actix_web::{HttpResponse, web};
use domain::contact::{ContactQuery, ContactSort};
use domain::list::ListKind;
use domain::pagination::PageRequest;
use maud::html;

use crate::auth::SignedIn;
use crate::errors::PageError;
use crate::pages::html;
use crate::pages::workspaces::load;
use crate::state::blocking;
use crate::views::components::csrf_field;
use crate::views::layout::Section;

/// Cards shown per column; the rest are a click away in the filtered table.
const PER_COLUMN: u32 = 50;

pub async fn show(who: SignedIn, path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let ws = load(&who, path.into_inner()).await?;
    let (caller, id) = (who.caller.clone(), ws.id);
    let columns = blocking(&who.state.app, move |app| {
        let stages = app::lists::for_workspace(app, &caller, id, Some(ListKind::Primary))?;
        let mut columns = Vec::new();
        for stage in stages {
            let query = ContactQuery {
                stage: Some(stage.id),
                sort: ContactSort::Updated,
                ..Default::default()
            };
            let page = app::contacts::search(
                app,
                &caller,
                id,
                &query,
                PageRequest::new(Some(1), Some(PER_COLUMN)),
            )?;
            columns.push((stage, page));
        }
        Ok(columns)
    })
    .await?;
    let stages: Vec<_> = columns
        .iter()
        .map(|(s, _)| (s.id, s.name.clone()))
        .collect();
    let ws_id = ws.id;
    let markup = who
        .render("Board", Some(ws), Section::Board, |chrome| html! {
            h1 ."mb-4 text-2xl font-semibold" { "Board" }
            div #board ."flex snap-x gap-4 overflow-x-auto pb-4" {
                @for (stage, page) in &columns {
                    section ."w-72 shrink-0 snap-start rounded-lg bg-slate-100 p-3" aria-label=(stage.name) data-stage=(stage.id) {
                        h2 ."mb-2 flex items-center justify-between font-semibold" {
                            a ."hover:underline" href=(format!("/w/{ws_id}/contacts?list={}", stage.id)) { (stage.name) }
                            span ."rounded bg-white px-2 text-sm text-slate-600" { (page.total) }
                        }
                        ul ."space-y-2" {
                            @for c in &page.items {
                                li ."rounded-md border border-slate-200 bg-white p-3 shadow-sm" data-contact=(c.id) {
                                    a ."font-medium text-blue-700 hover:underline" href=(format!("/contacts/{}", c.id)) { (c.display_name()) }
                                    @if !c.company.is_empty() { p ."text-sm text-slate-600" { (c.company) } }
                                    form ."mt-2" method="post" action=(format!("/contacts/{}/stage", c.id))
                                        hx-post=(format!("/contacts/{}/stage", c.id)) hx-trigger="change" hx-target="#board" hx-select="#board" hx-swap="outerHTML" {
                                        (csrf_field(&chrome.csrf))
                                        input type="hidden" name="return_to" value=(format!("/w/{ws_id}/board"));
                                        label ."sr-only" for=(format!("move-{}", c.id)) { "Move " (c.display_name()) " to" }
                                        select ."input py-1 text-sm" id=(format!("move-{}", c.id)) name="stage" {
                                            @for (sid, name) in &stages { option value=(sid) selected[*sid == stage.id] { (name) } }
                                        }
                                        noscript { button ."btn mt-1" type="submit" { "Move" } }
                                    }
                                }
                            }
                            @if page.total > i64::from(PER_COLUMN) {
                                li { a ."text-sm text-blue-700 underline" href=(format!("/w/{ws_id}/contacts?list={}", stage.id)) { "All " (page.total) } }
                            }
                        }
                    }
                }
            }
        })
        .await?;
    Ok(html(markup))
}
